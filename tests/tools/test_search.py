"""grep through the real rg binary: matches, context, caps with counts, .gitignore, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from filefixtures import *  # noqa: F403

from tools.search import find_rg


def tree(ws: Path) -> None:
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    (ws / ".gitignore").write_text("node_modules/\n")
    (ws / "node_modules").mkdir()
    (ws / "node_modules" / "dep.js").write_text("const TODO = 1;\n")
    (ws / "src").mkdir()
    (ws / "src" / "a.py").write_text("def alpha():\n    # TODO: speed up\n    return 1\n")
    (ws / "src" / "b.ts").write_text("// todo later\nexport const b = 2;\n")


def test_grep_finds_matches_with_paths_and_line_numbers(call, ws):
    tree(ws)
    result = call("grep", pattern="TODO")
    assert result.ok
    assert result.text == "src/a.py:2:    # TODO: speed up"  # node_modules is gitignored
    assert result.data["matches"] == [{"path": "src/a.py", "line": 2, "text": "    # TODO: speed up"}]


def test_grep_options_ignore_case_glob_path_and_context(call, ws):
    tree(ws)
    assert {m["path"] for m in call("grep", pattern="todo", ignore_case=True).data["matches"]} == {
        "src/a.py", "src/b.ts"}
    only_ts = call("grep", pattern="todo", ignore_case=True, glob="*.ts")
    assert [m["path"] for m in only_ts.data["matches"]] == ["src/b.ts"]
    assert call("grep", pattern="return", path="src/a.py").data["total"] == 1
    around = call("grep", pattern="TODO", context=1)
    assert around.text.splitlines() == ["src/a.py-1-def alpha():", "src/a.py:2:    # TODO: speed up",
                                        "src/a.py-3-    return 1"]


def test_grep_caps_results_and_counts_the_rest(call, ws):
    (ws / "many.txt").write_text("".join(f"hit {n}\n" for n in range(1000)))
    result = call("grep", pattern="hit", max_results=50)
    assert len(result.data["matches"]) == 50 and result.data["total"] == 1000 and result.data["truncated"]
    assert "950 more matching lines not shown (1000 in all)" in result.text
    assert len(result.text.splitlines()) == 51


def test_grep_cap_with_context_drops_context_of_cut_matches(call, ws):
    (ws / "many.txt").write_text("".join(f"hit {n}\nfiller\n" for n in range(300)))
    result = call("grep", pattern="hit", context=1, max_results=3)
    assert result.data["total"] == 300
    lines = result.text.splitlines()
    assert lines[-2] == "many.txt:5:hit 2" and lines[-1].startswith("[297 more")


def test_grep_invalid_regex_is_a_clear_error(call, ws):
    tree(ws)
    result = call("grep", pattern="foo(")
    assert not result.ok and "invalid regular expression" in result.text and "unclosed group" in result.text


def test_grep_no_matches_and_outside_paths(call, ws, tmp_path):
    tree(ws)
    result = call("grep", pattern="zzz_nothing")
    assert result.ok and result.text == "No matches for 'zzz_nothing'." and result.data["total"] == 0
    outside = call("grep", pattern="x", path=str(tmp_path))
    assert not outside.ok and "outside the workspace" in outside.text


def test_grep_uses_the_rg_installed_beside_python():
    assert Path(find_rg()).parent == Path(sys.executable).parent
