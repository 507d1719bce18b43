"""Git worktrees for batch runs: each job edits its own checkout on its own branch."""

from __future__ import annotations

import shutil
from pathlib import Path

from agent.git.plumbing import GitError, run_git


def create_worktree(repo: Path, base_ref: str, branch: str, path: Path) -> Path:
    """A new worktree at ``path`` on a new ``branch`` from ``base_ref`` (for isolated batch jobs)."""
    run_git(Path(repo), "worktree", "add", "-q", "-b", branch, str(path), base_ref)
    return Path(path)


def remove_worktree(repo: Path, path: Path, *, branch: str | None = None) -> None:
    """Remove a worktree made by :func:`create_worktree` (and its branch when given).

    Works on half-made or already-deleted worktrees too (an interrupted job): the folder is
    removed and git's record of it pruned, so nothing is left behind."""
    try:
        run_git(Path(repo), "worktree", "remove", "--force", "--force", str(path))
    except GitError:
        shutil.rmtree(path, ignore_errors=True)
        run_git(Path(repo), "worktree", "prune")
    if branch:
        run_git(Path(repo), "branch", "-D", branch)
