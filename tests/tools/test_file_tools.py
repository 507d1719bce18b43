"""read_file, write_file, list_files and workspace confinement, on real files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from filefixtures import *  # noqa: F403

from tools import builtin_tools


def test_read_file_numbers_lines_and_pages_long_files(call, ws):
    (ws / "long.txt").write_text("".join(f"line {n}\n" for n in range(1, 31)))
    first = call("read_file", path="long.txt", limit=10)
    assert first.ok
    assert first.text.splitlines()[0] == "     1\tline 1"
    assert "showing lines 1-10 of 30" in first.text and "offset=11" in first.text
    assert first.data["truncated"] is True
    rest = call("read_file", path="long.txt", offset=25)
    assert rest.text.splitlines()[0] == "    25\tline 25" and "line 30" in rest.text
    assert rest.data["truncated"] is False and "offset=" not in rest.text


def test_read_file_cuts_very_long_lines_and_says_so(call, ws):
    (ws / "min.js").write_text("x" * 5000 + "\n")
    result = call("read_file", path="min.js")
    assert "line cut: 5000 characters" in result.text and len(result.text) < 2200


def test_read_file_errors_are_actionable(call, ws):
    (ws / "pkg").mkdir()
    (ws / "pkg" / "models.py").write_text("x = 1\n")
    assert "list_files" in call("read_file", path="pkg").text
    missing = call("read_file", path="pkg/model.py")
    assert not missing.ok and "pkg/models.py" in missing.text
    (ws / "empty.txt").write_text("")
    assert call("read_file", path="empty.txt").text == "empty.txt is empty."
    past = call("read_file", path="pkg/models.py", offset=9)
    assert not past.ok and "has 1 lines" in past.text


def test_write_file_creates_parents_and_reports(call, ws):
    result = call("write_file", path="src/pkg/new.py", content="a = 1\nb = 2\n")
    assert result.ok and result.text == "Created src/pkg/new.py (2 lines)."
    assert (ws / "src/pkg/new.py").read_text() == "a = 1\nb = 2\n"
    assert result.data["path"] == "src/pkg/new.py" and "+a = 1" in result.data["diff"]


def test_write_file_will_not_overwrite_a_file_the_model_has_not_read(call, read, ws):
    (ws / "keep.py").write_text("precious = True\n")
    refused = call("write_file", path="keep.py", content="oops\n")
    assert not refused.ok and "read_file" in refused.text
    assert (ws / "keep.py").read_text() == "precious = True\n"
    read("keep.py")
    assert call("write_file", path="keep.py", content="precious = False\n").ok
    assert (ws / "keep.py").read_text() == "precious = False\n"


def test_write_file_refuses_when_the_file_changed_since_it_was_read(call, read, ws):
    (ws / "a.py").write_text("v = 1\n")
    read("a.py")
    (ws / "a.py").write_text("v = 2  # the user edited this meanwhile\n")
    result = call("write_file", path="a.py", content="v = 3\n")
    assert not result.ok and "changed on disk" in result.text
    assert "user edited" in (ws / "a.py").read_text()


def test_consecutive_writes_by_the_agent_are_not_stale(call, ws):
    assert call("write_file", path="a.py", content="v = 1\n").ok
    assert call("write_file", path="a.py", content="v = 2\n").ok
    assert call("edit_file", path="a.py", old_string="v = 2", new_string="v = 3").ok
    assert (ws / "a.py").read_text() == "v = 3\n"


def test_write_file_preview_shows_the_diff_without_writing(ws, session):
    from tools import ToolContext

    tool = next(t for t in builtin_tools() if t.name == "write_file")
    (ws / "a.py").write_text("v = 1\n")
    session.note_read((ws / "a.py").resolve())
    ctx = ToolContext(root=ws.resolve(), session=session)
    preview = tool.preview(tool.parse({"path": "a.py", "content": "v = 2\n"}), ctx)
    assert "-v = 1" in preview and "+v = 2" in preview
    assert (ws / "a.py").read_text() == "v = 1\n"


def _git(ws: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(ws), *args], check=True, capture_output=True)


def test_list_files_respects_gitignore_and_hides_git(call, ws):
    _git(ws, "init", "-q")
    (ws / ".gitignore").write_text("build/\n*.log\n")
    (ws / "build").mkdir()
    (ws / "build" / "out.js").write_text("x")
    (ws / "debug.log").write_text("x")
    (ws / "src").mkdir()
    (ws / "src" / "app.py").write_text("x")
    (ws / ".github").mkdir()
    (ws / ".github" / "ci.yml").write_text("x")
    result = call("list_files")
    assert result.data["files"] == [".github/ci.yml", ".gitignore", "src/app.py"]
    assert call("list_files", path="src").data["files"] == ["src/app.py"]
    assert call("list_files", pattern="*.py").data["files"] == ["src/app.py"]


def test_list_files_caps_with_a_count(call, ws):
    for n in range(520):
        (ws / f"f{n:03}.txt").write_text("x")
    result = call("list_files")
    assert len(result.data["files"]) == 500 and result.data["total"] == 520
    assert "20 more files not shown (520 in all)" in result.text


@pytest.mark.parametrize("tool", ["read_file", "edit_file", "write_file", "list_files"])
@pytest.mark.parametrize("bad", ["../outside.txt", "sub/../../outside.txt", "ABS", "link_out/x.txt",
                                 "file_link"])
def test_paths_outside_the_workspace_are_refused(call, ws, tmp_path, tool, bad):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    (ws / "sub").mkdir()
    (ws / "link_out").symlink_to(tmp_path)
    (ws / "file_link").symlink_to(outside)
    path = str(outside) if bad == "ABS" else bad
    args = {"path": path}
    if tool == "edit_file":
        args |= {"old_string": "secret", "new_string": "pwned"}
    if tool == "write_file":
        args |= {"content": "pwned\n"}
    result = call(tool, **args)
    assert not result.ok and "outside the workspace" in result.text
    assert outside.read_text() == "secret\n"


def test_dangling_symlink_pointing_outside_cannot_create_a_file(call, ws, tmp_path):
    (ws / "dangling").symlink_to(tmp_path / "created_outside.txt")
    result = call("write_file", path="dangling", content="x\n")
    assert not result.ok and "outside the workspace" in result.text
    assert not (tmp_path / "created_outside.txt").exists()


def test_symlinks_inside_the_workspace_are_followed(call, read, ws):
    (ws / "real.py").write_text("a = 1\n")
    (ws / "alias.py").symlink_to("real.py")
    read("alias.py")
    assert call("edit_file", path="alias.py", old_string="a = 1", new_string="a = 2").ok
    assert (ws / "real.py").read_text() == "a = 2\n" and (ws / "alias.py").is_symlink()


def test_git_directory_is_off_limits(call, ws):
    _git(ws, "init", "-q")
    result = call("write_file", path=".git/hooks/pre-commit", content="#!/bin/sh\n")
    assert not result.ok and ".git" in result.text
