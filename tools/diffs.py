"""Unified diffs and numbered snippets: what front ends show and what the model reads back after an edit."""

from __future__ import annotations

import difflib

NO_EOL = "\\ No newline at end of file\n"


def unified(rel: str, old: str | None, new: str | None, new_rel: str | None = None) -> str:
    """A git-style unified diff of one file (``None`` = the file does not exist on that side;
    ``new_rel`` when the file was renamed)."""
    a = (old or "").splitlines(keepends=True)
    b = (new or "").splitlines(keepends=True)
    fromfile = "/dev/null" if old is None else f"a/{rel}"
    tofile = "/dev/null" if new is None else f"b/{new_rel or rel}"
    if a == b and new_rel and old is not None and new is not None:
        return f"--- {fromfile}\n+++ {tofile}\n"  # a pure rename
    out = []
    for line in difflib.unified_diff(a, b, fromfile, tofile, lineterm="\n"):
        out.append(line if line.endswith("\n") else line + "\n" + NO_EOL)
    return "".join(out)


def stats(diff: str) -> tuple[int, int]:
    """Lines added and removed in a unified diff."""
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++ "):
            added += 1
        elif line.startswith("-") and not line.startswith("--- "):
            removed += 1
    return added, removed


def numbered(lines: list[str], first: int, width: int = 6) -> str:
    """Lines prefixed with their 1-based line numbers, the read_file format."""
    return "\n".join(f"{n:>{width}}\t{line}" for n, line in enumerate(lines, start=first))


def snippet(text: str, start: int, end: int, context: int = 3, cap: int = 24) -> str:
    """Numbered lines ``start..end`` (1-based, inclusive) of ``text`` plus context, at most ``cap`` lines."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    lo = max(1, start - context)
    hi = min(len(lines), max(end, start) + context)
    if hi - lo + 1 > cap:
        head = numbered(lines[lo - 1:lo - 1 + cap // 2], lo)
        tail_start = hi - cap // 2 + 1
        tail = numbered(lines[tail_start - 1:hi], tail_start)
        return f"{head}\n   ...\n{tail}"
    return numbered(lines[lo - 1:hi], lo) if lines else "(file is now empty)"


def changed_span(old: str, new: str) -> tuple[int, int]:
    """First and last line (1-based, in ``new``) that differ from ``old``, for the snippet."""
    a, b = old.split("\n"), new.split("\n")
    first = 0
    while first < min(len(a), len(b)) and a[first] == b[first]:
        first += 1
    tail = 0
    while tail < min(len(a), len(b)) - first and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return first + 1, max(first + 1, len(b) - tail)
