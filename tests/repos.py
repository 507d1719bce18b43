"""Real git repositories for tests: one ``git`` helper, one ``make_repo``, and snapshots of what a
user owns (the work tree, and what is in .git) so a test can prove nothing of it was lost."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

GIT_ID = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]
SAMPLE = {
    "a.txt": "alpha\n",
    "b.txt": "bravo\n",
    "dir/c.py": "print('c')\n",
    "run.sh": "#!/bin/sh\necho run\n",
    ".gitignore": "build/\n*.log\n",
}
"""The files of ``make_repo``'s first commit (run.sh is executable)."""


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` with a test identity; its stdout."""
    return subprocess.run(["git", "-C", str(root), *GIT_ID, *args], check=True, capture_output=True,
                          text=True).stdout


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def make_repo(path: Path, files: dict[str, str] | None = None, *, commit: bool = True) -> Path:
    """A git repository on branch main, with ``files`` (default: SAMPLE) in its first commit."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Test User")
    git(path, "config", "user.email", "user@example.com")
    if commit:
        write(path, SAMPLE if files is None else files)
        if (path / "run.sh").exists():
            (path / "run.sh").chmod(0o755)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "initial")
    return path


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
