"""Where checkpoints live: ``refs/qagent/{checkpoints,after,undone}/<session>/<turn>``.

Listing (only this working tree's: linked worktrees share refs), the metadata each checkpoint
commit carries in its message, and pruning of old ones.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from agent.git.plumbing import find_repo, run_git

REF_ROOT = "refs/qagent/checkpoints"
AFTER_ROOT = "refs/qagent/after"


@dataclass(frozen=True)
class CheckpointInfo:
    session: str
    turn: int
    ref: str
    commit: str
    time: int
    has_after: bool


def meta_of(top: Path, commit: str) -> tuple[set[str], set[str]]:
    """(forced, skipped) paths recorded in a checkpoint commit's message."""
    message = run_git(top, "log", "-1", "--format=%b", commit).decode()
    for line in message.splitlines():
        if line.startswith("{"):
            meta = json.loads(line)
            return set(meta.get("forced", [])), set(meta.get("skipped", []))
    return set(), set()


def meta_top(body: str) -> str | None:
    for line in body.splitlines():
        if line.startswith("{"):
            try:
                return json.loads(line).get("top")
            except ValueError:
                return None
    return None


def list_checkpoints(root: Path) -> list[CheckpointInfo]:
    """Every checkpoint of this working tree (all sessions), oldest first."""
    found = find_repo(Path(root))
    if not found:
        return []
    top = found[0]
    fmt = "%(refname)%00%(objectname)%00%(committerdate:unix)%00%(contents:body)%01"
    out = run_git(top, "for-each-ref", f"--format={fmt}", REF_ROOT + "/", AFTER_ROOT + "/").decode()
    afters = set()
    rows = []
    for record in out.split("\x01"):
        if not record.strip():
            continue
        ref, commit, when, body = record.strip("\n").split("\0")
        parts = ref.split("/")
        if not parts[-1].isdigit() or meta_top(body) not in (None, str(top)):
            continue  # another worktree's checkpoint: never apply it here
        if ref.startswith(AFTER_ROOT + "/"):
            afters.add((parts[-2], int(parts[-1])))
        else:
            rows.append((parts[-2], int(parts[-1]), ref, commit, int(when)))
    infos = [CheckpointInfo(s, n, ref, c, t, (s, n) in afters) for s, n, ref, c, t in rows]
    return sorted(infos, key=lambda c: (c.time, c.turn))


def prune_checkpoints(root: Path, *, keep_per_session: int = 50, max_age_days: float = 30,
                      now: float | None = None) -> int:  # fmt: skip
    """Drop old checkpoint refs (their objects then go with the user's next ``git gc``): all but
    the newest ``keep_per_session`` turns of each session, and sessions idle for ``max_age_days``.
    Returns how many refs were deleted."""
    found = find_repo(Path(root))
    if not found:
        return 0
    top = found[0]
    fmt = "%(refname)%00%(committerdate:unix)"
    out = run_git(top, "for-each-ref", f"--format={fmt}", "refs/qagent/").decode()
    by_session: dict[str, list[tuple[int, str, int]]] = {}
    for line in out.splitlines():
        ref, when = line.split("\0")
        parts = ref.split("/")
        if len(parts) == 5 and parts[-1].isdigit():
            by_session.setdefault(parts[3], []).append((int(parts[4]), ref, int(when)))
    limit = (now if now is not None else time.time()) - max_age_days * 86400
    doomed = []
    for refs in by_session.values():
        turns = sorted({turn for turn, _, _ in refs})
        if max(when for _, _, when in refs) < limit:
            doomed += [ref for _, ref, _ in refs]
        elif len(turns) > keep_per_session:
            old = set(turns[:-keep_per_session])
            doomed += [ref for turn, ref, _ in refs if turn in old]
    if doomed:
        run_git(top, "update-ref", "--stdin", stdin="".join(f"delete {r}\n" for r in doomed).encode())
    return len(doomed)
