"""Parse the two patch dialects models write into one structure.

* The ``*** Begin Patch`` envelope Codex-trained models write (``*** Update File:``, ``@@ anchor``
  hunks, ``*** Move to:``, ``*** End of File``).
* Unified diffs as models write them: git-style or bare ``---/+++`` headers, several files,
  ``/dev/null`` for new/deleted files, renames, ``\\ No newline at end of file``, and hunk headers
  whose line counts are often wrong (the body decides; the counts are only used to tell a trailing
  empty context line from a separator).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from tools import ToolRetry

_HUNK = re.compile(r"^@@+ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@+")


@dataclass
class Hunk:
    lines: list[tuple[str, str]] = field(default_factory=list)
    """(op, text) with op one of ' ', '-', '+'."""
    anchors: list[str] = field(default_factory=list)
    old_start: int | None = None
    old_count: int | None = None
    eof: bool = False
    old_no_eol: bool = False
    new_no_eol: bool = False

    def side(self, ops: str) -> list[str]:
        return [text for op, text in self.lines if op in ops]

    def render(self) -> str:
        head = [f"@@ {a}".rstrip() for a in self.anchors] or (
            [f"@@ -{self.old_start} @@"] if self.old_start is not None else [])
        return "\n".join(head + [op + text for op, text in self.lines])


@dataclass
class FilePatch:
    kind: Literal["add", "delete", "update"]
    path: str
    move_to: str | None = None
    hunks: list[Hunk] = field(default_factory=list)


def parse(patch: str) -> list[FilePatch]:
    """Either dialect; raises ToolRetry naming the offending patch line."""
    text = patch.replace("\r\n", "\n").rstrip("\n")
    if re.search(r"^\s*\*\*\* Begin Patch\s*$", text, re.MULTILINE):
        files = _parse_envelope(text.split("\n"))
    else:
        files = _parse_unified(text.split("\n"))
    if not files:
        raise ToolRetry("the patch contains no file changes; send a '*** Begin Patch' envelope or a unified "
                        "diff with ---/+++ headers and @@ hunks")
    return files


def _bad(number: int, line: str, expected: str) -> ToolRetry:
    return ToolRetry(f"patch line {number + 1} ({line[:80]!r}): {expected}; nothing was applied")


def _parse_envelope(lines: list[str]) -> list[FilePatch]:
    begin = next(i for i, line in enumerate(lines) if line.strip() == "*** Begin Patch")
    end = max((i for i, line in enumerate(lines) if line.strip() == "*** End Patch"), default=None)
    if end is None or end < begin:
        raise ToolRetry("the patch has no '*** End Patch' line (it may have been cut off); "
                        "send the whole patch")
    files: list[FilePatch] = []
    current: FilePatch | None = None
    hunk: Hunk | None = None
    for n in range(begin + 1, end):
        line = lines[n]
        header = re.match(r"^\*\*\* (Add|Delete|Update) File: (.+?)\s*$", line)
        if header:
            current = FilePatch(header.group(1).lower(), header.group(2))  # type: ignore[arg-type]
            files.append(current)
            hunk = None
            continue
        if current is None:
            if not line.strip():
                continue
            raise _bad(n, line, "expected '*** Add File:', '*** Delete File:' or '*** Update File:'")
        if current.kind == "add":
            if not line.startswith("+"):
                raise _bad(n, line, "every line of an added file must start with '+'")
            current.hunks = current.hunks or [Hunk()]
            current.hunks[0].lines.append(("+", line[1:]))
            continue
        if current.kind == "delete":
            if line.strip():
                raise _bad(n, line, "'*** Delete File:' takes no content")
            continue
        if line.startswith("*** Move to: ") and not current.hunks:
            current.move_to = line[len("*** Move to: "):].strip()
            continue
        if line.strip() == "*** End of File":
            if hunk is None:
                raise _bad(n, line, "'*** End of File' must follow a hunk")
            hunk.eof = True
            continue
        if line.startswith("@@"):
            if hunk is None or hunk.lines:
                hunk = Hunk()
                current.hunks.append(hunk)
            numbers = _HUNK.match(line)
            if numbers:  # a unified-diff header inside the envelope: a line-number hint, not an anchor
                hunk.old_start = int(numbers.group(1))
            elif line[2:].strip():
                hunk.anchors.append(line[2:].strip())
            continue
        if line[:1] in (" ", "-", "+") or line == "":
            if hunk is None:
                hunk = Hunk()
                current.hunks.append(hunk)
            hunk.lines.append((line[:1] or " ", line[1:]))
            continue
        raise _bad(n, line, "expected a hunk line starting with ' ', '-', '+' or '@@'")
    for fp in files:
        if fp.kind == "update" and not fp.hunks and not fp.move_to:
            raise ToolRetry(f"'*** Update File: {fp.path}' has no hunks; nothing was applied")
        for h in fp.hunks:
            while fp.kind == "update" and h.lines and h.lines[-1] == (" ", ""):
                h.lines.pop()  # blank separator lines models leave before the next header
    return files


def _header_path(raw: str) -> str:
    path = raw.split("\t")[0].strip()
    if len(path) > 1 and path[0] == path[-1] == '"':
        path = path[1:-1]
    return path


def _parse_unified(lines: list[str]) -> list[FilePatch]:
    files: list[FilePatch] = []
    git: dict[str, str] = {}

    def flush() -> None:  # a git header with no ---/+++ (pure rename, empty new or deleted file)
        if git.get("rename"):
            files.append(FilePatch("update", git["old"], move_to=git["new"]))
        elif git.get("mode") in ("add", "delete"):
            files.append(FilePatch(git["mode"], git["new"] if git["mode"] == "add" else git["old"]))  # type: ignore[arg-type]

    n = 0
    while n < len(lines):
        line = lines[n]
        if line.startswith("diff --git "):
            flush()
            names = re.match(r"^diff --git (?:a/)?(.+?) (?:b/)?(.+)$", line)
            git = {"old": names.group(1), "new": names.group(2)} if names else {}
        elif line.startswith(("rename from ", "rename to ")) and git:
            git["old" if line.startswith("rename from ") else "new"] = line.split(" ", 2)[2].strip()
            git["rename"] = "yes"
        elif line.startswith(("new file mode", "deleted file mode")) and git:
            git["mode"] = "add" if line.startswith("new") else "delete"
        elif line.startswith(("Binary files ", "GIT binary patch")):
            raise _bad(n, line, "binary patches are not supported")
        elif line.startswith("--- ") and n + 1 < len(lines) and lines[n + 1].startswith("+++ "):
            fp = _file_patch(_header_path(line[4:]), _header_path(lines[n + 1][4:]))
            if git.get("rename"):
                fp.path, fp.move_to = git["old"], git["new"]
            git = {}
            n = _parse_hunks(lines, n + 2, fp)
            files.append(fp)
            continue
        n += 1
    flush()
    return files


def _file_patch(old: str, new: str) -> FilePatch:
    if (old.startswith("a/") or old == "/dev/null") and (new.startswith("b/") or new == "/dev/null"):
        old, new = old.removeprefix("a/"), new.removeprefix("b/")  # git's a/ b/ prefixes
    if old == "/dev/null":
        return FilePatch("add", new)
    if new == "/dev/null":
        return FilePatch("delete", old)
    return FilePatch("update", old, move_to=new if new != old else None)


def _parse_hunks(lines: list[str], n: int, fp: FilePatch) -> int:
    """Read the hunks of one file; returns the index of the first line after them."""
    while n < len(lines):
        head = _HUNK.match(lines[n])
        if not head:
            break
        hunk = Hunk(old_start=int(head.group(1)), old_count=int(head.group(2) or 1))
        if hunk.old_count == 0:
            hunk.old_start += 1  # "-12,0" means: insert after line 12
        fp.hunks.append(hunk)
        n += 1
        while n < len(lines):
            line = lines[n]
            if line.startswith("--- ") and n + 1 < len(lines) and lines[n + 1].startswith("+++ "):
                break
            if line.startswith("\\"):
                last = hunk.lines[-1][0] if hunk.lines else " "
                hunk.old_no_eol |= last in " -"
                hunk.new_no_eol |= last in " +"
            elif line[:1] in (" ", "-", "+") or line == "":
                hunk.lines.append((line[:1] or " ", line[1:]))
            else:
                break
            n += 1
        while hunk.lines and hunk.lines[-1] == (" ", "") and len(hunk.side(" -")) > (hunk.old_count or 0):
            hunk.lines.pop()  # blank lines after the hunk, not context the header counted
    return n
