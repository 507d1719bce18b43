"""Cutting a streaming Markdown answer into parts that render exactly like the whole.

Re-rendering a growing answer on every frame costs more the longer it gets. The answer is instead
cut between top-level blocks into finished parts, each rendered once, plus a short live tail. For
the parts to read exactly like the whole:

* a cut is only made where a new top-level block starts: after a blank line outside a code fence,
  before a complete line that is neither indented (a list item's continuation, indented code) nor
  a list item (CommonMark joins lists separated by blank lines into one loose list);
* the blank lines Rich puts between two blocks depend on their kinds (a list brings its own, a
  rule has none after it), so the gap at each cut is measured by rendering the two blocks that
  meet there.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_LIST_ITEM = re.compile(r"(?:[-*+]|\d{1,9}[.)])(?:\s|$)")
_FENCE = ("```", "~~~")


def _cut_points(text: str) -> list[int]:
    """Offsets where a new top-level block starts after a blank line, outside code fences."""
    points: list[int] = []
    in_fence, pos, after_blank = False, 0, False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        starts_block = line.endswith("\n") and not line[:1].isspace() and not _LIST_ITEM.match(line)
        if after_blank and not in_fence and stripped and starts_block:
            points.append(pos)
        if line.lstrip().startswith(_FENCE):
            in_fence = not in_fence
        after_blank = not in_fence and not stripped
        pos += len(line)
    return points


def block_boundary(text: str, limit: int) -> int:
    """Where a streaming answer can be cut (0: not yet): the last block start once ``text`` is
    ``limit`` long. The block after the cut has begun, so the cut can no longer move."""
    if len(text) < limit:
        return 0
    points = _cut_points(text)
    return points[-1] if points else 0


def first_block(text: str) -> str:
    points = _cut_points(text)
    return text[: points[0]] if points else text


def last_block(text: str) -> str:
    points = _cut_points(text)
    return text[points[-1] :] if points else text


_HEADING = re.compile(r"(#{1,6})(?:\s|$)")
_RULE = re.compile(r"(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,})$")
_TABLE_DELIMITER = re.compile(r"\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_SETEXT = re.compile(r"\s*(?:=+|-+)\s*$")


def block_kind(block: str) -> str:
    """What Markdown element a block opens with, from its first two lines."""
    lines = block.splitlines()[:2]
    first, second = (lines + ["", ""])[:2]
    opening = first.lstrip()
    heading = _HEADING.match(opening)
    if opening.startswith(_FENCE):
        return "fence"
    if heading:
        return f"h{len(heading.group(1))}"
    if _RULE.match(opening):
        return "rule"
    if opening.startswith(">"):
        return "quote"
    if _LIST_ITEM.match(opening):
        return "ordered" if opening[0].isdigit() else "bullet"
    if "|" in first and _TABLE_DELIMITER.match(second):
        return "table"
    if second and _SETEXT.match(second):
        return "setext"
    return "html" if opening.startswith("<") else "paragraph"


class JoinGaps:
    """Blank lines between two parts: ``len(render(a + b)) - len(render(a)) - len(render(b))`` for
    the last block of the one and the opening of the next's first block. The gap depends on what
    ends the one and the kind of block that opens the next, so it is measured once per finished
    part and kind of what follows: the live tail does not pay three renders on every frame."""

    def __init__(self, count_lines: Callable[[str], int]) -> None:
        self._count = count_lines
        self._known: dict[tuple[str, str], int] = {}

    def gap(self, before: str, after: str) -> int:
        if not before.strip() or not after.strip():
            return 0
        ending, opening = last_block(before).rstrip("\n"), first_block(after)
        key = (ending, block_kind(opening))
        if key not in self._known:
            if len(self._known) > 256:  # a long answer's joins; all are cheap to measure again
                self._known.clear()
            opening = "".join(opening.splitlines(keepends=True)[:2]).rstrip("\n")
            joined = self._count(ending + "\n\n" + opening)
            self._known[key] = max(0, joined - self._count(ending) - self._count(opening))
        return self._known[key]

    def clear(self) -> None:
        """Forget measured gaps (the width changed)."""
        self._known.clear()
