"""Fixtures for the safety tests: real git repositories in tmp dirs, isolated from the user's git config."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_INDEX_FILE", raising=False)
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def make_repo(path: Path, *, commit: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Test User")
    git(path, "config", "user.email", "user@example.com")
    if commit:
        (path / "a.txt").write_text("alpha\n")
        (path / "b.txt").write_text("bravo\n")
        (path / "dir").mkdir()
        (path / "dir" / "c.py").write_text("print('c')\n")
        (path / "run.sh").write_text("#!/bin/sh\necho run\n")
        (path / "run.sh").chmod(0o755)
        (path / ".gitignore").write_text("build/\n*.log\n")
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def tree_state(root: Path) -> dict[str, tuple[str, bytes, bool]]:
    """Every file under root except .git: (kind, bytes or link target, executable)."""
    state: dict[str, tuple[str, bytes, bool]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if full.is_symlink():
                state[rel] = ("link", str(full.readlink()).encode(), False)
            else:
                state[rel] = ("file", full.read_bytes(), bool(full.stat().st_mode & 0o100))
    return state


def git_state(repo: Path) -> dict[str, object]:
    """What the user owns in .git: HEAD, branches, tags, stash, index bytes."""
    dot = repo / ".git"
    index = dot / "index"
    return {
        "HEAD": (dot / "HEAD").read_text(),
        "refs": git(
            repo,
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/heads",
            "refs/tags",
            "refs/stash",
            "refs/remotes",
        ),
        "index": hashlib.sha256(index.read_bytes()).hexdigest() if index.exists() else None,
        "stash": git(repo, "stash", "list"),
    }
