"""Property: whatever a turn does to the files, undo gives back the exact tree from before it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.git.checkpoints import Checkpointer
from tests.repos import git, git_state, make_repo, tree_state

NAMES = ["a.txt", "b.txt", "dir/c.py", "dir/d.py", "dir/sub/e.bin", "new/f.txt", "run.sh", "dir"]
CONTENT = st.sampled_from([b"", b"x", b"alpha\n", b"line\r\nwindows\r\n", b"\x00\xff binary", b"y" * 5000])

op = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(NAMES), CONTENT),
    st.tuples(st.just("delete"), st.sampled_from(NAMES), st.just(b"")),
    st.tuples(st.just("rename"), st.sampled_from(NAMES), st.sampled_from(NAMES)),
    st.tuples(st.just("chmod"), st.sampled_from(NAMES), st.booleans()),
    st.tuples(st.just("symlink"), st.sampled_from(NAMES), st.sampled_from(["a.txt", "../outside", "dir"])),
)


def apply(root: Path, action: tuple[str, str, object]) -> None:
    kind, name, arg = action
    path = root / name
    if kind == "write":
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        for parent in reversed(path.relative_to(root).parents[:-1]):
            if (root / parent).is_file() or (root / parent).is_symlink():
                (root / parent).unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        path.write_bytes(arg)  # type: ignore[arg-type]
    elif kind == "delete":
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
    elif kind == "rename":
        target = root / str(arg)
        if (
            (path.is_file() or path.is_symlink())
            and not target.exists()
            and not target.is_symlink()
            and target.parent.is_dir()
            and not str(arg).startswith(name + "/")
        ):
            path.rename(target)
    elif kind == "chmod":
        if path.is_file() and not path.is_symlink():
            path.chmod(0o755 if arg else 0o644)
    elif kind == "symlink" and not path.exists() and not path.is_symlink() and path.parent.is_dir():
        path.symlink_to(str(arg))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    user=st.lists(op, max_size=4),
    stage=st.booleans(),
    agent=st.lists(op, min_size=1, max_size=8),
    end_turn=st.booleans(),
)
def test_undo_restores_the_exact_pre_turn_tree(user, stage, agent, end_turn) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp) / "repo")
        for action in user:
            apply(repo, action)
        if stage:
            git(repo, "add", "-A")
        before, before_git = tree_state(repo), git_state(repo)
        cp = Checkpointer(repo, "prop", backup_dir=Path(tmp) / "backups")
        cp.begin_turn(1)
        cp.before_change()
        for action in agent:
            apply(repo, action)
        if end_turn:
            cp.end_turn()
        cp.undo()
        assert tree_state(repo) == before
        assert git_state(repo) == before_git


FILE_NAMES = [n for n in NAMES if n != "dir"]
file_op = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(FILE_NAMES), CONTENT),
    st.tuples(st.just("delete"), st.sampled_from(FILE_NAMES), st.just(b"")),
    st.tuples(st.just("rename"), st.sampled_from(FILE_NAMES), st.sampled_from(FILE_NAMES)),
    st.tuples(st.just("chmod"), st.sampled_from(FILE_NAMES), st.booleans()),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(agent=st.lists(file_op, min_size=1, max_size=8))
def test_backup_mode_restores_every_file_a_tool_named(agent) -> None:  # type: ignore[no-untyped-def]
    """Outside git, tools name their files before changing them; undo restores exactly those."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "plain"
        for name, data in [("a.txt", b"alpha\n"), ("dir/c.py", b"c\n"), ("run.sh", b"#!/bin/sh\n")]:
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_bytes(data)
        before = tree_state(work)
        cp = Checkpointer(work, "prop", backup_dir=Path(tmp) / "backups")
        cp.begin_turn(1)
        for action in agent:
            named = [work / action[1]] + ([work / str(action[2])] if action[0] == "rename" else [])
            cp.before_change(named)
            apply(work, action)
        cp.undo()
        assert tree_state(work) == before
