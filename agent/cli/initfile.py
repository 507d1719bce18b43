"""The starter AGENTS.md written by ``qagent init``: detected commands plus a map of the code.

The layout comes from the repository map (``agent.context.repomap``) when it is available, else
from a ``git ls-files`` summary of folders and file counts.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import prompts


def starter_agents_md(root: Path, tokens: int = 800) -> str:
    return prompts.render("init", project=root.name, commands=_commands(root), layout=_layout(root, tokens))


def _commands(root: Path) -> str:
    """Build/test/lint commands guessed from the project's own files (only what is there)."""
    found: list[str] = []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        text = pyproject.read_text(errors="replace")
        if "pytest" in text or (root / "tests").is_dir():
            found.append("- Tests: `pytest`")
        if "ruff" in text:
            found.append("- Lint: `ruff check .`")
    package = root / "package.json"
    if package.is_file():
        runner = (
            "pnpm"
            if (root / "pnpm-lock.yaml").exists()
            else "yarn"
            if (root / "yarn.lock").exists()
            else "npm"
        )
        try:
            scripts = json.loads(package.read_text(errors="replace")).get("scripts", {})
        except ValueError:
            scripts = {}
        for name in ("build", "test", "lint", "typecheck"):
            if name in scripts:
                found.append(f"- {name.capitalize()}: `{runner} run {name}`")
    if (root / "Cargo.toml").is_file():
        found += ["- Build: `cargo build`", "- Tests: `cargo test`"]
    if (root / "go.mod").is_file():
        found += ["- Build: `go build ./...`", "- Tests: `go test ./...`"]
    makefile = root / "Makefile"
    if makefile.is_file():
        targets = re.findall(r"^([A-Za-z][\w-]*):", makefile.read_text(errors="replace"), re.M)
        found += [f"- `make {t}`" for t in ("build", "test", "check", "lint") if t in targets]
    return "\n".join(dict.fromkeys(found)) or "TODO: how to build, test and lint (exact commands)."


def _layout(root: Path, tokens: int) -> str:
    try:
        from agent.context.repomap import RepoMap

        text = RepoMap(root).render(tokens).strip()
    except Exception:  # an optional part: fall back to a plain file summary
        text = ""
    if text:
        return (
            "Most referenced files and their definitions (from the repository map):\n\n```\n" + text + "\n```"
        )
    return _file_summary(root)


def _file_summary(root: Path) -> str:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    files = (
        [f for f in out.stdout.decode(errors="replace").split("\0") if f]
        if out.returncode == 0
        else sorted(
            p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts
        )
    )
    folders = Counter(f.split("/", 1)[0] + "/" for f in files if "/" in f)
    top = sorted(f for f in files if "/" not in f)
    lines = [f"- `{name}` ({count} files)" for name, count in sorted(folders.items())]
    lines += [f"- `{name}`" for name in top[:20]]
    return "\n".join(lines) or "TODO: describe the main folders."
