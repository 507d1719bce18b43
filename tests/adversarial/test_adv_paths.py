"""Paths: escapes, symlinks (also swapped in between read and write), odd names, case-only renames."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversarial.advhelpers import call
from tools import ToolSession

OUTSIDE = b"the user's file outside the workspace\n"


@pytest.fixture
def ws(git_repo: Path, tmp_path: Path, ledger) -> Path:
    secret_dir = tmp_path / "outside"
    secret_dir.mkdir()
    (secret_dir / "target.txt").write_bytes(OUTSIDE)
    ledger.keep(secret_dir / "target.txt")
    (git_repo / "link_file").symlink_to(secret_dir / "target.txt")
    (git_repo / "link_dir").symlink_to(secret_dir)
    (git_repo / "dangling").symlink_to(secret_dir / "not-yet.txt")
    return git_repo


ESCAPES = [
    "../outside/target.txt",
    "{outside}/target.txt",
    "link_file",
    "link_dir/target.txt",
    "link_dir/new.txt",
    "dangling",
    "sub/../../outside/target.txt",
]
CALLS = {
    "read_file": lambda p: {"path": p},
    "write_file": lambda p: {"path": p, "content": "pwned\n"},
    "edit_file": lambda p: {"path": p, "old_string": "the user's", "new_string": "pwned"},
    "list_files": lambda p: {"path": p},
    "grep": lambda p: {"pattern": "user", "path": p},
    "apply_patch": lambda p: {"patch": f"*** Begin Patch\n*** Add File: {p}\n+pwned\n*** End Patch\n"},
}


@pytest.mark.parametrize("tool", sorted(CALLS))
@pytest.mark.parametrize("path", ESCAPES)
async def test_escapes_are_refused_and_nothing_outside_changes(ws: Path, tool: str, path: str) -> None:
    outside = ws.parent / "outside"
    path = path.format(outside=outside)
    result = await call(tool, CALLS[tool](path), ws)
    assert not result.ok, result.text
    assert "outside the workspace" in result.text or "symlink" in result.text, result.text
    assert "pwned" not in (outside / "target.txt").read_text()
    assert sorted(p.name for p in outside.iterdir()) == ["target.txt"]  # nothing created there either


async def test_file_swapped_for_a_symlink_between_read_and_write(ws: Path) -> None:
    session = ToolSession()
    (ws / "notes.txt").write_text("mine\n")
    assert (await call("read_file", {"path": "notes.txt"}, ws, session=session)).ok
    (ws / "notes.txt").unlink()
    (ws / "notes.txt").symlink_to(ws.parent / "outside" / "target.txt")  # the swap
    for tool, args in [
        ("write_file", {"path": "notes.txt", "content": "pwned\n"}),
        ("edit_file", {"path": "notes.txt", "old_string": "mine", "new_string": "pwned"}),
    ]:
        result = await call(tool, args, ws, session=session)
        assert not result.ok, (tool, result.text)


async def test_directory_swapped_for_a_symlink_between_read_and_write(ws: Path) -> None:
    session = ToolSession()
    (ws / "pkg").mkdir()
    (ws / "pkg" / "target.txt").write_bytes(OUTSIDE)
    assert (await call("read_file", {"path": "pkg/target.txt"}, ws, session=session)).ok
    (ws / "pkg").rename(ws / "pkg.old")
    (ws / "pkg").symlink_to(ws.parent / "outside")  # same file name, now outside
    result = await call(
        "edit_file",
        {"path": "pkg/target.txt", "old_string": "the user's", "new_string": "pwned"},
        ws,
        session=session,
    )
    assert not result.ok, result.text


@pytest.mark.parametrize(
    "name",
    [
        "with space/a file.txt",
        "ünïcødé/naïve €.txt",
        "line\nbreak.txt",
        "tab\there.txt",
        "-dash-first.txt",
        "日本語/ファイル.py",
    ],
)
async def test_odd_names_round_trip(git_repo: Path, name: str, ledger) -> None:
    session = ToolSession()
    created = await call("write_file", {"path": name, "content": "alpha\nbeta\n"}, git_repo, session=session)
    assert created.ok, created.text
    assert (git_repo / name).read_bytes() == b"alpha\nbeta\n"
    read = await call("read_file", {"path": name}, git_repo, session=session)
    assert read.ok and "beta" in read.text
    edit = await call(
        "edit_file", {"path": name, "old_string": "beta", "new_string": "gamma"}, git_repo, session=session
    )
    assert edit.ok, edit.text
    assert (git_repo / name).read_bytes() == b"alpha\ngamma\n"
    listed = await call("list_files", {"path": "."}, git_repo)
    assert listed.ok and name in listed.data["files"]
    assert len(listed.text.splitlines()) == len(listed.data["files"])  # one file never reads as two
    ledger.keep(git_repo / "README.md")


async def test_case_only_rename_is_noticed_not_recreated(git_repo: Path) -> None:
    session = ToolSession()
    (git_repo / "Config.py").write_text("DEBUG = False\n")
    assert (await call("read_file", {"path": "Config.py"}, git_repo, session=session)).ok
    (git_repo / "Config.py").rename(git_repo / "config.py")  # the user renamed it meanwhile
    result = await call(
        "edit_file",
        {"path": "Config.py", "old_string": "False", "new_string": "True"},
        git_repo,
        session=session,
    )
    assert not result.ok and "config.py" in result.text  # points at the new name
    assert sorted(p.name for p in git_repo.iterdir() if p.suffix == ".py") == ["config.py"]
    assert (git_repo / "config.py").read_text() == "DEBUG = False\n"


async def test_case_only_rename_by_the_agent_is_undone(git_repo: Path, tmp_path: Path) -> None:
    from agent.git.checkpoints import Checkpointer

    (git_repo / "Makefile").write_text("all:\n\techo hi\n")
    checkpointer = Checkpointer(git_repo, "case")
    checkpointer.begin_turn(1)
    checkpointer.before_change()
    (git_repo / "Makefile").rename(git_repo / "makefile")
    checkpointer.end_turn()
    checkpointer.undo()
    assert sorted(p.name for p in git_repo.iterdir() if p.name.lower() == "makefile") == ["Makefile"]
    assert (git_repo / "Makefile").read_text() == "all:\n\techo hi\n"
