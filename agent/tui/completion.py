"""What the prompt can complete: slash commands and ``@`` file paths (fuzzy over ``git ls-files``)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

SLASH_COMMANDS: dict[str, str] = {
    "/model": "pin a model for the session: /model NAME (or auto)",
    "/mode": "thinking switch: /mode auto|thinking|fast",
    "/route": "routing: /route auto|local|remote",
    "/undo": "restore the files the last turn changed",
    "/diff": "show uncommitted changes (git diff)",
    "/cost": "tokens and cost of this session",
    "/compact": "summarise older turns to free context",
    "/clear": "forget the conversation and clear the screen",
    "/resume": "list sessions, or /resume ID to continue one",
    "/init": "write a starter AGENTS.md for this repo",
    "/doctor": "check endpoints, models and this machine",
    "/image": "attach an image: /image PATH",
    "/help": "keys and commands",
    "/quit": "leave qagent",
}
ARGUMENT_CHOICES: dict[str, tuple[str, ...]] = {
    "/mode": ("auto", "thinking", "fast"),
    "/route": ("auto", "local", "remote"),
}


@dataclass(frozen=True)
class Candidate:
    value: str
    """Replaces the token being completed."""
    hint: str = ""


def fuzzy_score(query: str, path: str) -> int | None:
    """Higher is better; None when ``query`` is not a subsequence of ``path`` (case-insensitive).

    Rewards consecutive matches, matches at word starts and matches in the file name, so ``calc``
    ranks ``src/calc.py`` above ``docs/calculus/notes.md``. Every start position of the first
    character is tried, so an early stray match (the ``c`` of ``src``) does not spoil the alignment.
    """
    q, p = query.lower(), path.lower()
    if not q:
        return 0
    name_start = p.rfind("/") + 1
    best: int | None = None
    start = p.find(q[0])
    while start >= 0:
        score = _align(q, p, start, name_start)
        if score is None:
            break
        best = score if best is None else max(best, score)
        start = p.find(q[0], start + 1)
    if best is None:
        return None
    name = p[name_start:]
    if q in name:
        best += 10 + (10 if name.startswith(q) else 0)
    return best * 100 - len(p)


def _align(q: str, p: str, first: int, name_start: int) -> int | None:
    score, at, previous = 0, first, -2
    for char in q:
        found = p.find(char, at)
        if found < 0:
            return None
        score += 1
        if found == previous + 1:
            score += 5
        if found == 0 or p[found - 1] in "/_-. ":
            score += 3
        if found >= name_start:
            score += 2
        previous, at = found, found + 1
    return score


class FileIndex:
    """Tracked and untracked-but-not-ignored files of the workspace, for ``@`` completion."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[str] = []

    def refresh(self) -> None:
        try:
            out = subprocess.run(
                ["git", "-C", str(self.root), "ls-files", "--cached", "--others", "--exclude-standard"],
                capture_output=True,
                text=True,
                timeout=10,
            )
        except (OSError, subprocess.TimeoutExpired):
            return
        if out.returncode == 0:
            self.files = sorted(set(out.stdout.splitlines()))

    def match(self, query: str, limit: int = 12) -> list[str]:
        scored = [(s, f) for f in self.files if (s := fuzzy_score(query, f)) is not None]
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [f for _, f in scored[:limit]]


_AT_TOKEN = re.compile(r"(?:^|(?<=\s))@([^\s@]*)$")


def completions(
    text_before_cursor: str, files: FileIndex, models: tuple[str, ...] = ()
) -> tuple[int, list[Candidate]]:
    """(start offset of the token to replace, candidates) for the text left of the cursor."""
    if text_before_cursor.startswith("/") and "\n" not in text_before_cursor:
        head, _, arg = text_before_cursor.partition(" ")
        if not _:
            return 0, [Candidate(c, hint) for c, hint in SLASH_COMMANDS.items() if c.startswith(head)]
        choices = ("auto", *models) if head == "/model" else ARGUMENT_CHOICES.get(head, ())
        start = len(head) + 1
        return start, [Candidate(c) for c in choices if c.startswith(arg) and c != arg]
    found = _AT_TOKEN.search(text_before_cursor)
    if found:
        return found.start(1) - 1, [Candidate("@" + f) for f in files.match(found.group(1))]
    return 0, []
