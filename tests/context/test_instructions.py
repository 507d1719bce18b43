"""AGENTS.md at the root goes to the system prompt; nested ones apply to files under them."""

from __future__ import annotations

from pathlib import Path

from agent.context.instructions import InstructionTracker, for_paths, load_instructions
from tests.repos import make_repo


def layout(repo: Path) -> None:
    (repo / "AGENTS.md").write_text("Root rule: run make check.\n")
    for folder, rule in [
        ("frontend", "Use pnpm."),
        ("frontend/legacy", "Do not touch jQuery."),
        ("backend", "Python 3.12, ruff."),
    ]:
        (repo / folder).mkdir(parents=True, exist_ok=True)
        (repo / folder / "AGENTS.md").write_text(rule + "\n")
    (repo / "frontend" / "legacy" / "old.js").write_text("$()\n")
    (repo / "frontend" / "app.ts").write_text("x\n")
    (repo / "backend" / "api.py").write_text("y\n")
    (repo / "docs").mkdir()
    (repo / "docs" / "CLAUDE.md").write_text("Docs are in British English.\n")


def test_root_instructions_and_fallbacks(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", commit=False)
    assert load_instructions(repo) == ""
    (repo / "CONVENTIONS.md").write_text("Conventions: 4 spaces.\n")
    assert "4 spaces" in load_instructions(repo)
    (repo / "CLAUDE.md").write_text("Claude file.\n")
    assert "Claude file" in load_instructions(repo) and "4 spaces" not in load_instructions(repo)
    (repo / "AGENTS.md").write_text("Agents file wins.\n")
    text = load_instructions(repo)
    assert "Agents file wins" in text and "Claude file" not in text and "AGENTS.md" in text


def test_workspace_in_a_subfolder_gets_the_repo_root_file_first(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", commit=False)
    layout(repo)
    text = load_instructions(repo / "backend")
    assert text.index("Root rule") < text.index("Python 3.12")


def test_nested_agents_md_is_picked_for_the_right_files(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", commit=False)
    layout(repo)
    legacy = for_paths(repo, ["frontend/legacy/old.js"])
    assert "Use pnpm" in legacy and "Do not touch jQuery" in legacy
    assert legacy.index("Use pnpm") < legacy.index("jQuery")  # outer first, inner (more specific) last
    assert "Python" not in legacy and "Root rule" not in legacy  # root is already in the system prompt
    app = for_paths(repo, [repo / "frontend" / "app.ts"])
    assert "Use pnpm" in app and "jQuery" not in app
    assert for_paths(repo, ["backend/api.py"]).count("## Instructions") == 1
    assert "British English" in for_paths(repo, ["docs/new_page.md"])  # a file about to be created
    assert for_paths(repo, ["README.md", "../outside.txt", "/etc/passwd"]) == ""


def test_tracker_reports_each_file_once(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", commit=False)
    layout(repo)
    tracker = InstructionTracker(repo)
    first = tracker.new_for_paths(["frontend/app.ts"])
    assert "Use pnpm" in first
    again = tracker.new_for_paths(["frontend/legacy/old.js", "frontend/app.ts"])
    assert "jQuery" in again and "pnpm" not in again
    assert tracker.new_for_paths(["frontend/legacy/old.js"]) == ""


def test_huge_instruction_file_is_capped(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", commit=False)
    (repo / "AGENTS.md").write_text("rule\n" * 50_000)
    text = load_instructions(repo)
    assert len(text) < 40_000 and "truncated" in text


def test_tool_results_carry_nested_instructions_once(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", commit=False)
    layout(repo)
    tracker = InstructionTracker(repo)
    first = tracker.annotate("read_file", {"path": "backend/api.py"}, "1\ty")
    assert first.startswith("1\ty\n\n## Instructions from backend/AGENTS.md") and "ruff" in first
    assert tracker.annotate("edit_file", {"path": "backend/api.py"}, "ok") == "ok"
    patch = "--- a/frontend/app.ts\n+++ b/frontend/app.ts\n@@ -1 +1 @@\n-x\n+z\n"
    assert "Use pnpm" in tracker.annotate("apply_patch", {"patch": patch}, "applied")
