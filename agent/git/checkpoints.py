"""Never lose work: per-turn checkpoints of the working tree, and undo.

A checkpoint is a git commit object built with a *temporary* index file (``GIT_INDEX_FILE``) and
stored under ``refs/qagent/checkpoints/<session>/<n>``: the user's branch, index, HEAD and stash are
never touched and ``.git`` is never moved. It covers tracked changes and untracked, non-ignored files,
so undo also covers what shell commands changed. Blobs are stored without git's clean filters
(autocrlf, ``text``/``eol`` attributes, LFS) and written back by us, so a restore is byte-exact.

Undo restores only the paths the last turn changed (before → after), so edits the user made before
the turn stay as they were, and files the user never gave us (ignored ones) are never deleted.
Outside git, named files are copied to a backup folder instead (see :mod:`agent.git.backups`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.core.ports import ChangeRefused, TurnHook
from agent.git.backups import BackupStore
from agent.git.plumbing import (
    EMPTY_TREE,
    IDENTITY,
    MAX_UNTRACKED_BYTES,
    GitError,
    Snapshot,
    find_repo,
    has_head,
    has_identity,
    ignored_paths,
    is_linked_worktree,
    read_tree,
    remove_file,
    run_git,
    snapshot_tree,
    write_blobs,
)
from agent.git.refs import (  # noqa: F401 - list/prune are part of this module's API
    AFTER_ROOT,
    REF_ROOT,
    CheckpointInfo,
    list_checkpoints,
    meta_of,
    prune_checkpoints,
)


@dataclass(frozen=True)
class UndoResult:
    restored: list[str]
    deleted: list[str]
    message: str


@dataclass
class _Turn:
    number: int
    commit: str | None = None
    forced: set[str] = field(default_factory=set)
    """Ignored paths the tools named: snapshotted with ``git add -f``."""
    named: set[str] = field(default_factory=set)
    skipped: frozenset[str] = frozenset()
    """Untracked files too big to snapshot (see gitplumbing.MAX_UNTRACKED_BYTES)."""


class Checkpointer:
    """Checkpoints for one session. The loop calls ``begin_turn`` then ``before_change`` before
    every tool that may change files; ``end_turn`` records what the turn left behind."""

    def __init__(self, root: Path, session_id: str, *, backup_dir: Path | None = None) -> None:
        self.root = Path(root).resolve()
        self.session_id = re.sub(r"[^A-Za-z0-9._-]", "-", session_id) or "session"
        found = find_repo(self.root)
        self.top, self.git_dir = found if found else (None, None)
        self.ref_session = self.session_id
        """The session's ref folder; linked worktrees share refs, so theirs carry a suffix."""
        if found and is_linked_worktree(*found):
            self.ref_session += "--wt-" + hashlib.sha256(str(found[0]).encode()).hexdigest()[:8]
        self.available = found is not None
        self.notice: str | None = None
        if self.available:
            try:
                prune_checkpoints(self.root)
            except GitError:  # housekeeping must never block a session
                pass
        self._turn: _Turn | None = None
        self._backups: BackupStore | None = None
        if not self.available:
            base = backup_dir or _default_backup_dir()
            self._backups = BackupStore(base, self.root, self.session_id)
            self.notice = (
                f"{self.root} is not a git repository: undo keeps copies of the files qagent edits, "
                "but changes made by shell commands cannot be undone. Run `git init` for full checkpoints."
            )

    # ------------------------------------------------------------------ turns

    def begin_turn(self, turn: int) -> None:
        self._turn = _Turn(turn)
        if self._backups is not None:
            self._backups.begin_turn(turn)

    def before_change(self, paths: list[Path] | None = None) -> None:
        """Checkpoint before the first change of the turn (idempotent within a turn)."""
        if self._turn is None:
            self.begin_turn(self._next_turn_number())
        assert self._turn is not None
        if self._backups is not None:
            self._backups.save([self._abs(p) for p in paths or []])
            return
        named = {r for r in (self._rel(p) for p in paths or []) if r is not None} - self._turn.named
        self._turn.named |= named
        ignored = ignored_paths(self.top, named)  # the only ones `git add -A` would miss
        if self._turn.commit is not None and not ignored:
            return
        self._turn.forced |= ignored
        if self._turn.commit is None:  # a resumed session restarts at 1: never reuse a number
            self._turn.number = max(self._turn.number, self._next_turn_number())
            snap = self._snapshot(self._turn.forced)
            tree, self._turn.skipped = snap.tree, snap.skipped
        else:  # ignored files first named later in the turn: add them if the checkpoint lacks them
            base = self._tree_of(self._turn.commit)
            missing = ignored - set(read_tree(self.top, base))
            tree = self._snapshot(missing, base_tree=base, all_files=False).tree
        self._turn.commit = self._commit(tree, f"qagent checkpoint before turn {self._turn.number}")
        run_git(self.top, "update-ref", self._ref(self._turn.number), self._turn.commit)

    def end_turn(self) -> None:
        """Record the tree the turn left, so a later undo ignores edits the user makes afterwards."""
        if self._backups is not None or self._turn is None or self._turn.commit is None:
            return
        tree = self._snapshot(self._turn.forced, skip=self._turn.skipped).tree
        commit = self._commit(tree, f"qagent after turn {self._turn.number}", parent=self._turn.commit)
        run_git(self.top, "update-ref", f"{AFTER_ROOT}/{self.ref_session}/{self._turn.number}", commit)
        self._turn = None

    # ------------------------------------------------------------------ undo

    def list(self) -> list[CheckpointInfo]:
        """This session's checkpoints, oldest first."""
        return (
            [c for c in list_checkpoints(self.root) if c.session == self.ref_session]
            if self.available
            else []
        )

    def undo(self) -> UndoResult:
        """Restore the files of the last checkpointed turn exactly as they were before it."""
        if self._backups is not None:
            restored, deleted = self._backups.undo_last()
            return UndoResult(restored, deleted, _describe(restored, deleted, "backup"))
        self._turn = None
        return undo_latest(self.root, self.list())

    def turn_diff(self, max_chars: int = 20_000) -> str:
        """The last turn's changes as a unified diff (for an auto-commit message or a review)."""
        change = self._last_change()
        if change is None or not change[2]:
            return ""
        before, now, _paths, _forced = change
        text = run_git(self.top, "diff", "--no-ext-diff", "--no-color", "--stat", "-p", before, now).decode(
            errors="replace"
        )
        return text if len(text) <= max_chars else text[:max_chars] + "\n[... diff truncated]\n"

    def auto_commit(self, message: str) -> str | None:
        """Commit the paths the current/last turn changed on the user's branch (opt-in mode).

        Only those paths are committed (``--only``); anything else the user staged stays staged,
        and ignored files stay uncommitted. Returns the new commit id, or None when nothing changed.
        """
        change = self._last_change()
        if change is None:
            return None
        paths = [p for p in change[2] if p not in change[3]]
        if not paths:
            return None
        run_git(self.top, "add", "-A", "--", *paths)
        base = "HEAD" if has_head(self.top) else EMPTY_TREE
        staged = subprocess.run(["git", "diff", "--cached", "--quiet", base, "--", *paths], cwd=self.top,
                                capture_output=True, check=False)  # fmt: skip
        if staged.returncode == 0:
            return None
        env = {} if has_identity(self.top) else IDENTITY
        run_git(self.top, "commit", "--no-verify", "--only", "-q", "-m", message, "--", *paths, env=env)
        return run_git(self.top, "rev-parse", "HEAD").decode().strip()

    def _last_change(self) -> tuple[str, str, list[str], set[str]] | None:
        """(before tree, current tree, changed paths, forced paths) of the newest checkpoint."""
        points = self.list()
        if not points:
            return None
        before = self._tree_of(points[-1].commit)
        forced, skipped = meta_of(self.top, points[-1].commit)
        now = self._snapshot(forced, skip=skipped).tree
        old, new = read_tree(self.top, before), read_tree(self.top, now)
        return before, now, sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p)), forced

    # ------------------------------------------------------------------ internals

    def _next_turn_number(self) -> int:
        points = self.list()
        return points[-1].turn + 1 if points else 1

    def _ref(self, turn: int) -> str:
        return f"{REF_ROOT}/{self.ref_session}/{turn}"

    def _abs(self, path: Path) -> Path:
        path = Path(path)
        return path if path.is_absolute() else self.root / path

    def _rel(self, path: Path) -> str | None:
        assert self.top is not None
        full = Path(os.path.abspath(self._abs(path)))  # noqa: PTH100 - keep symlinks as named
        try:
            return full.relative_to(self.top).as_posix()
        except ValueError:
            return None

    def _tree_of(self, commit: str) -> str:
        return run_git(self.top, "rev-parse", f"{commit}^{{tree}}").decode().strip()

    def _commit(self, tree: str, title: str, parent: str | None = None) -> str:
        assert self._turn is not None
        meta = {
            "top": str(self.top),
            "forced": sorted(self._turn.forced),
            "skipped": sorted(self._turn.skipped),
        }
        body = json.dumps(meta)
        args = ["commit-tree", tree, "-m", title, "-m", body] + (["-p", parent] if parent else [])
        return run_git(self.top, *args, env=IDENTITY).decode().strip()

    def _snapshot(self, forced: set[str], **options: Any) -> Snapshot:
        assert self.top is not None and self.git_dir is not None
        return snapshot_tree(self.top, self.git_dir, forced, **options)


# ---------------------------------------------------------------------- snapshot & restore


def undo_latest(root: Path, points: list[CheckpointInfo]) -> UndoResult:
    """Undo the newest of ``points`` that changed something (turns that changed nothing, e.g. a
    test run, are retired on the way, so /undo always undoes a real change)."""
    for point in reversed(points):
        result = undo_checkpoint(root, point)
        if result.restored or result.deleted:
            return result
    return UndoResult([], [], "nothing to undo: no checkpointed turn changed any file")


def undo_checkpoint(root: Path, point: CheckpointInfo) -> UndoResult:
    """Restore the paths changed by ``point``'s turn to their state before it, then retire it.

    The state just before undo is saved under ``refs/qagent/undone/...`` so nothing is lost.
    """
    found = find_repo(Path(root))
    if not found:
        return UndoResult([], [], "not a git repository")
    top, git_dir = found
    forced, skipped = meta_of(top, point.commit)
    before = read_tree(top, f"{point.commit}^{{tree}}")
    now_snap = snapshot_tree(top, git_dir, forced, skip=skipped)
    now_tree = now_snap.tree
    now = read_tree(top, now_tree)
    after_ref = f"{AFTER_ROOT}/{point.session}/{point.turn}"
    after = read_tree(top, f"{after_ref}^{{tree}}") if point.has_after else now
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    todo = [p for p in changed if before.get(p) != now.get(p)]
    later_edits = [p for p in todo if point.has_after and now.get(p) != after.get(p)]
    title = f"qagent state before undoing turn {point.turn}"
    saved = run_git(top, "commit-tree", now_tree, "-m", title, env=IDENTITY).decode().strip()
    run_git(top, "update-ref", f"refs/qagent/undone/{point.session}/{point.turn}", saved)  # nothing is lost
    deleted = [p for p in todo if p not in before and p in now]
    for path in sorted(deleted, reverse=True):
        remove_file(top, path)
    restored = [p for p in todo if p in before and before[p].mode != "160000"]
    write_blobs(top, {p: before[p] for p in restored})
    run_git(top, "update-ref", "-d", point.ref)
    if point.has_after:
        run_git(top, "update-ref", "-d", after_ref)
    message = _describe(restored, deleted, f"turn {point.turn}")
    undone = f"refs/qagent/undone/{point.session}/{point.turn}"
    if later_edits:
        message += f"; also reverted later edits to {', '.join(later_edits)}"
    if later_edits or deleted:
        example = (later_edits or deleted)[0]
        message += f". The state before this undo is kept: `git show {undone}:{example}` prints a file"
    if now_snap.skipped:
        big = ", ".join(sorted(now_snap.skipped))
        message += (
            f"; not covered (untracked files over {MAX_UNTRACKED_BYTES >> 20} MB, left as they are): {big}"
        )
    return UndoResult(restored, deleted, message)


def _describe(restored: list[str], deleted: list[str], what: str) -> str:
    if not restored and not deleted:
        return f"undo of {what}: nothing had changed"
    parts = []
    if restored:
        parts.append(f"restored {len(restored)} file(s): {', '.join(restored)}")
    if deleted:
        parts.append(f"deleted {len(deleted)} file(s) it created: {', '.join(deleted)}")
    return f"undid {what}: " + "; ".join(parts)


def _default_backup_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("qagent")) / "backups"


class CheckpointError(ChangeRefused):
    """No checkpoint could be taken, so the change must not run; the message says why."""


class CheckpointHook(TurnHook):
    """Checkpoints as a turn hook: ``begin_turn(n)``, ``before_change(tool, args)`` (after approval,
    before any non-read tool) and ``end_turn()``.

    ``before_change`` raises :class:`CheckpointError` when git fails: the loop should answer the
    call with that message instead of running it (a change that cannot be undone is not made)."""

    def __init__(self, checkpointer: Checkpointer) -> None:
        self.checkpointer = checkpointer
        self.error: str | None = None
        """The last end-of-turn snapshot failure, for a Notice (undo then compares with the tree as it is)."""

    def begin_turn(self, turn: int) -> None:
        self.checkpointer.begin_turn(turn)

    def before_change(self, tool: str, args: dict[str, Any]) -> None:
        from agent.policy.permissions import needs_checkpoint, paths_of

        if not needs_checkpoint(tool, args):
            return
        named = [Path(p) for p in paths_of(tool, args) if p != args.get("cwd")]
        try:
            self.checkpointer.before_change(named)
        except (GitError, OSError) as exc:
            raise CheckpointError(
                f"not run: qagent could not checkpoint the working tree first, so this change could not be "
                f"undone ({exc}). Fix the repository (e.g. disk space, .git permissions) and try again."
            ) from exc

    def end_turn(self) -> None:
        try:
            self.checkpointer.end_turn()
            self.error = None
        except (GitError, OSError) as exc:
            self.error = f"end-of-turn checkpoint failed: {exc}"
