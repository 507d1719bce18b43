"""Bringing finished batch branches home: merge them into the base branch, or write patches.

Merges go one branch at a time in task order and stop at the first conflict (the merge is aborted,
so the base branch is left at the last clean merge) with a message saying how to continue by hand.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from agent.batch.tasks import BatchReport
from agent.git.plumbing import GitError, run_git

COMMIT_ID = ["-c", "user.name=qagent batch", "-c", "user.email=qagent@localhost"]


class ApplyError(RuntimeError):
    """The repository is not in a state to merge into (wrong branch checked out, local changes)."""


@dataclass
class ApplyOutcome:
    applied: list[str]
    stopped_at: str | None = None
    message: str = ""


def _git(repo: Path, *args: str) -> str:
    return run_git(repo, *args).decode(errors="replace").strip()


def merge_branches(repo: Path, report: BatchReport, base: str) -> ApplyOutcome:
    """Merge every succeeded task's branch into ``base`` (which must be checked out and clean)."""
    try:
        current = _git(repo, "symbolic-ref", "--short", "HEAD")
    except GitError:
        current = ""
    wanted = current if base == "HEAD" else base
    if not current or current != wanted:
        raise ApplyError(
            f"--apply merge merges into {base}, but {current or 'a detached HEAD'} is checked out; "
            f"run `git switch {base}` first (or use --apply patches)"
        )
    if _git(repo, "status", "--porcelain", "--untracked-files=no"):
        raise ApplyError("--apply merge needs a clean working tree; commit or stash your changes first")
    identity = [] if _has_identity(repo) else COMMIT_ID
    outcome = ApplyOutcome(applied=[])
    for row in report.tasks:
        if row.status != "succeeded" or row.commit is None:
            continue
        try:
            _git(
                repo,
                *identity,
                "merge",
                "--no-ff",
                "--no-edit",
                "-m",
                f"Merge qagent batch task {row.id}",
                row.branch,
            )
        except GitError:
            conflicted = _git(repo, "diff", "--name-only", "--diff-filter=U").split()
            with contextlib.suppress(GitError):
                _git(repo, "merge", "--abort")
            row.applied = "conflict"
            outcome.stopped_at = row.id
            outcome.message = (
                f"merging task {row.id} ({row.branch}) conflicts in {', '.join(conflicted) or 'files'}; "
                f"stopped there (merged so far: {', '.join(outcome.applied) or 'none'}). Resolve by "
                f"hand with `git merge {row.branch}`, then merge the remaining branches."
            )
            return outcome
        row.applied = "merged"
        outcome.applied.append(row.id)
    outcome.message = f"merged {len(outcome.applied)} branch(es) into {wanted}"
    return outcome


def write_patches(repo: Path, report: BatchReport, base_commit: str, folder: Path) -> ApplyOutcome:
    """One ``<id>.patch`` (git format-patch, so ``git am`` applies it) per succeeded task with changes."""
    folder.mkdir(parents=True, exist_ok=True)
    outcome = ApplyOutcome(applied=[])
    for row in report.tasks:
        if row.status != "succeeded" or row.commit is None:
            continue
        patch = run_git(repo, "format-patch", "--stdout", f"{base_commit}..{row.branch}")
        path = folder / f"{row.id}.patch"
        path.write_bytes(patch)
        row.applied = f"patch:{path}"
        outcome.applied.append(row.id)
    outcome.message = f"wrote {len(outcome.applied)} patch(es) to {folder}"
    return outcome


def _has_identity(repo: Path) -> bool:
    try:
        return bool(_git(repo, "config", "user.email"))
    except GitError:
        return False
