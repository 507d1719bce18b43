"""Turning untrusted text (tool output, diffs, arguments) into inert Rich ``Text``.

Tool output comes from programs the model ran and files it read: it may hold terminal escape
sequences (cursor moves, title changes, OSC 52 clipboard writes) or text that looks like Rich
markup. Everything shown here goes through :func:`inert`, which drops control sequences and
builds ``Text`` objects directly, so nothing in the output is ever interpreted.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.text import Text

# CSI, OSC (BEL or ST terminated), DCS/SOS/PM/APC strings, two-byte escapes, then lone C0/C1 controls.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]"
)


def clean(text: str) -> str:
    """``text`` without terminal control sequences; tabs and newlines kept, ``\\r\\n`` → ``\\n``."""
    return _ESCAPES.sub("", text.replace("\r\n", "\n"))


def inert(text: str, style: str = "") -> Text:
    """A Rich ``Text`` that shows ``text`` literally (no markup, no escapes)."""
    return Text(clean(text), style=style, end="")


def args_summary(args: dict[str, Any], limit: int = 160) -> str:
    """One line describing tool arguments, for a card title."""
    if "command" in args and isinstance(args["command"], str):
        line = args["command"]
    elif "path" in args and isinstance(args["path"], str):
        line = args["path"]
    else:
        line = json.dumps(args, ensure_ascii=False)
    line = clean(line).replace("\n", " ⏎ ")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def args_detail(args: dict[str, Any], limit: int = 4000) -> Text:
    """Pretty JSON of the arguments, shown inside an expanded card."""
    body = json.dumps(args, indent=2, ensure_ascii=False)
    if len(body) > limit:
        body = body[:limit] + f"\n… ({len(body) - limit} more characters)"
    return inert(body, "dim")


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def diff_text(diff: str, max_lines: int = 400) -> Text:
    """A unified diff coloured like ``git diff``, each line numbered with its old and new line."""
    out = Text(end="")
    old = new = 0
    lines = clean(diff).splitlines()
    for count, line in enumerate(lines):
        if count >= max_lines:
            out.append(f"… {len(lines) - max_lines} more diff lines\n", "dim italic")
            break
        if line.startswith(("--- ", "+++ ", "diff --git", "index ", "new file", "deleted file")):
            out.append(line + "\n", "bold")
            continue
        hunk = _HUNK.match(line)
        if hunk:
            old, new = int(hunk.group(1)), int(hunk.group(2))
            out.append(line + "\n", "cyan")
            continue
        if line.startswith("+"):
            out.append(f"{'':>5} {new:>5} ", "dim")
            out.append(line + "\n", "green")
            new += 1
        elif line.startswith("-"):
            out.append(f"{old:>5} {'':>5} ", "dim")
            out.append(line + "\n", "red")
            old += 1
        elif line.startswith("\\"):
            out.append(f"{'':>12}{line}\n", "dim italic")
        else:
            out.append(f"{old:>5} {new:>5} ", "dim")
            out.append(line + "\n")
            old += 1
            new += 1
    out.rstrip()
    return out


def tail_lines(text: str, max_lines: int) -> tuple[str, int]:
    """The last ``max_lines`` lines of ``text`` and how many lines were left out before them."""
    lines = text.split("\n")
    if len(lines) <= max_lines:
        return text, 0
    return "\n".join(lines[-max_lines:]), len(lines) - max_lines
