"""apply_patch: a multi-file patch applied all-or-nothing.

Every hunk is located with the edit_file engine (tools.editmatch), so context lines may drift in
whitespace, indentation or blank lines, and line numbers in hunk headers are only hints. When a hunk's
context occurs more than once, something must say which place is meant: an ``@@ anchor`` line, a
header line number that points exactly at one of them, or the order of hunks (each hunk comes after
the previous one). Otherwise the patch is refused, quoting the hunk. All files are computed in memory
first; the disk is only touched when every hunk of every file applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from tools import ToolContext, ToolResult, ToolRetry, textio, tool
from tools.diffs import stats, unified
from tools.editmatch import Candidate, find_candidates, merge, no_match_message
from tools.files import load_existing
from tools.patchparse import FilePatch, Hunk, parse
from tools.paths import display_path, resolve_in_workspace

_LOOSE = ("indentation", "blank-lines")
_LETTER = {"add": "A", "update": "M", "delete": "D", "move": "R"}


@dataclass
class _Entry:
    """One path the patch touches: what is on disk, and what the patch makes of it."""

    path: Path
    rel: str
    doc: textio.TextFile | None
    """How to encode the result (the file's own style; for a moved file, the source's)."""
    data: bytes | None
    original: str | None
    text: str | None
    seen: bool
    moved_from: _Entry | None = None

    @property
    def renamed_from(self) -> str | None:
        return self.moved_from.rel if self.moved_from else None


class _Workspace:
    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx
        self.entries: dict[Path, _Entry] = {}

    def get(self, given: str) -> _Entry:
        path = resolve_in_workspace(self.ctx.root, given)
        if path not in self.entries:
            rel = display_path(self.ctx.root, path)
            if path.exists() or path.is_symlink():
                doc, data = load_existing(self.ctx.root, path, given)
                seen = textio.check_fresh(self.ctx.session, self.ctx.root, path, data)
                self.entries[path] = _Entry(path, rel, doc, data, doc.text, doc.text, seen)
            else:
                self.entries[path] = _Entry(path, rel, None, None, None, None, False)
        return self.entries[path]


def _apply_file(fp: FilePatch, ws: _Workspace) -> list[str]:
    """Apply one file's part of the patch to the in-memory workspace; returns notes on loose matches."""
    entry = ws.get(fp.path)
    if fp.kind == "add":
        if entry.text is not None:
            raise ToolRetry(f"{entry.rel} already exists; change it with an update ('*** Update File:' or a "
                            "diff against its current content), nothing was applied")
        hunk = fp.hunks[0] if fp.hunks else Hunk()
        lines = hunk.side("+")
        entry.text = "\n".join(lines) + ("\n" if lines and not hunk.new_no_eol else "")
        return []
    if entry.text is None:
        raise ToolRetry(f"{fp.path!r} does not exist, so the patch cannot {fp.kind} it; nothing was applied")
    if fp.kind == "delete":
        expected = [line for h in fp.hunks for line in h.side(" -")]
        actual = entry.text.split("\n")[: len(expected)] if expected else []
        if expected and [x.strip() for x in expected] != [x.strip() for x in actual]:
            raise ToolRetry(f"the patch deletes {entry.rel} but the lines it shows differ from the file's "
                            "content; read_file it and check, nothing was applied")
        entry.text = None
        return []
    new_text, notes = apply_hunks(entry.text, fp.hunks, entry.rel, entry.seen)
    if fp.move_to and resolve_in_workspace(ws.ctx.root, fp.move_to) != entry.path:
        dest = ws.get(fp.move_to)
        if dest.text is not None:
            raise ToolRetry(f"cannot move {entry.rel} to {dest.rel}: it already exists; nothing was applied")
        dest.text, dest.doc, dest.moved_from = new_text, _like(entry.doc, new_text), entry
        entry.text = None
    else:
        entry.text = new_text
    return notes


def _like(doc: textio.TextFile | None, text: str) -> textio.TextFile | None:
    """Encoding and newline style for a moved file: the source's, minus per-line history."""
    if doc is None:
        return None
    return textio.TextFile(text, doc.encoding, doc.newline)


def apply_hunks(text: str, hunks: list[Hunk], rel: str, seen: bool = True) -> tuple[str, list[str]]:
    """The text with every hunk applied in order, or ToolRetry quoting the hunk that does not fit."""
    lines = text.split("\n")
    final_newline = text.endswith("\n")
    if final_newline or not text:
        lines.pop()
    cursor = offset = 0
    notes = []
    for number, hunk in enumerate(hunks, 1):
        label = f"hunk {number} of {rel}"
        for anchor in hunk.anchors:
            cursor = _find_anchor(lines, anchor, cursor, label)
        old, new = hunk.side(" -"), hunk.side(" +")
        hint = hunk.old_start - 1 + offset if hunk.old_start is not None else None
        if not any(line.strip() for line in old):
            pos = _insertion_point(lines, hunk, old, cursor, hint, label)
            lines[pos:pos + len(old)] = new
            cursor, offset = pos + len(new), offset + len(new) - len(old)
        else:
            cand = _locate(lines, hunk, old, cursor, hint, label)
            if not seen and cand.level in _LOOSE:
                raise ToolRetry(f"{label} only matches loosely ({cand.level} differ) and you have not read "
                                f"{rel} in this session; read_file it and send the patch again (nothing was "
                                "applied)")
            if cand.level != "whitespace":
                notes.append(f"{label} matched ignoring {cand.level}")
            region = merge(lines, old, new, cand)
            lines[cand.lo:cand.hi + 1] = region
            cursor = cand.lo + len(region)
            offset += len(region) - (cand.hi - cand.lo + 1)
        if hunk.new_no_eol:
            final_newline = False
        elif hunk.old_no_eol:
            final_newline = True
    return "\n".join(lines) + ("\n" if final_newline and lines else ""), notes


def _find_anchor(lines: list[str], anchor: str, cursor: int, label: str) -> int:
    for same in (lambda a, b: a == b, lambda a, b: a.strip() == b.strip()):
        for j in range(cursor, len(lines)):
            if same(lines[j], anchor):
                return j + 1
    raise ToolRetry(f"{label}: the @@ anchor line {anchor!r} was not found (after the previous hunk); "
                    "nothing was applied. Anchor lines must be copied exactly from the file.")


def _insertion_point(lines: list[str], hunk: Hunk, old: list[str], cursor: int, hint: int | None,
                     label: str) -> int:
    """Where a hunk without non-blank context goes: only places that need no guessing."""
    if hunk.eof or (not hunk.anchors and hint is None and not old):
        pos = len(lines) - len(old)
    elif hunk.anchors:
        pos = cursor
    elif hint is not None and (hint <= 0 or hint >= len(lines) - len(old)):
        pos = 0 if hint <= 0 else len(lines) - len(old)
    else:
        raise ToolRetry(f"{label} has no unchanged context lines, so where it goes cannot be checked; "
                        "include 2-3 unchanged lines around the change. Nothing was applied.\n"
                        + hunk.render())
    if [line.strip() for line in lines[pos:pos + len(old)]] != [""] * len(old):
        raise ToolRetry(f"{label} does not match the file; nothing was applied.\n{hunk.render()}")
    return pos


def _locate(lines: list[str], hunk: Hunk, old: list[str], cursor: int, hint: int | None,
            label: str) -> Candidate:
    found = find_candidates(lines, old)
    after = [c for c in found if c.lo >= cursor]
    pool = after or found
    if hunk.eof:
        pool = [c for c in pool if c.hi >= len(lines) - 1] or pool
    if len(pool) == 1 and (len(found) == 1 or after):
        return pool[0]
    if not pool:
        detail = no_match_message(lines, old, rel_name(label))
        raise ToolRetry(f"{label} does not match the file; nothing was applied.\n{hunk.render()}\n{detail}")
    if hunk.anchors and after:
        return after[0]
    if hint is not None:
        pointed = [c for c in pool if c.lo == hint]
        if len(pointed) == 1:
            return pointed[0]
    starts = ", ".join(str(c.lo + 1) for c in pool[:12])
    raise ToolRetry(f"{label} matches {len(pool)} places (lines {starts}); nothing was applied. Add more "
                    f"unchanged context lines or an '@@ <line above the change>' anchor.\n{hunk.render()}")


def rel_name(label: str) -> str:
    return label.split(" of ", 1)[1]


class ApplyPatchArgs(BaseModel):
    patch: str = Field(description="The patch: a '*** Begin Patch' envelope or a unified diff")


@dataclass(frozen=True)
class _PatchPlan:
    entries: list[_Entry]
    notes: list[str]


def _plan_patch(args: ApplyPatchArgs, ctx: ToolContext) -> _PatchPlan:
    ws = _Workspace(ctx)
    notes: list[str] = []
    for fp in parse(args.patch):
        notes += _apply_file(fp, ws)
    changed = [e for e in ws.entries.values() if e.text != e.original or e.renamed_from]
    if not changed:
        raise ToolRetry("the patch changes nothing (every hunk leaves the file as it is)")
    return _PatchPlan(changed, notes)


def _entry_diff(entry: _Entry) -> str:
    if entry.moved_from:
        return unified(entry.moved_from.rel, entry.moved_from.original, entry.text, entry.rel)
    return unified(entry.rel, entry.original, entry.text)


def _preview_patch(args: BaseModel, ctx: ToolContext) -> str:
    try:
        plan = _plan_patch(args, ctx)  # type: ignore[arg-type]
    except ToolRetry as exc:
        return f"(apply_patch will fail: {exc})"
    return "".join(_entry_diff(e) for e in plan.entries if not _is_move_source(e, plan.entries))


def _is_move_source(entry: _Entry, entries: list[_Entry]) -> bool:
    return entry.text is None and any(e.renamed_from == entry.rel for e in entries)


def _commit(ctx: ToolContext, entries: list[_Entry]) -> None:
    """Write every file; if one write fails, put back the ones already written."""
    done: list[_Entry] = []
    try:
        for entry in sorted(entries, key=lambda e: e.text is None):  # writes first, then deletions
            if entry.text is None:
                textio.delete(ctx.root, entry.path)
            else:
                textio.atomic_write(ctx.root, entry.path, textio.encode(entry.text, entry.doc))
            done.append(entry)
    except (OSError, ToolRetry) as exc:
        for entry in reversed(done):
            if entry.data is not None:
                textio.atomic_write(ctx.root, entry.path, entry.data)
            else:
                textio.delete(ctx.root, entry.path)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ToolRetry(f"writing {entry.rel} failed ({reason}); files already written were "
                        "restored, nothing was applied") from None
    for entry in entries:
        textio.note_written(ctx.session, entry.path,
                            None if entry.text is None else textio.encode(entry.text, entry.doc))


@tool(kind="edit", preview=_preview_patch)
def apply_patch(args: ApplyPatchArgs, ctx: ToolContext) -> ToolResult:
    """Apply a patch to one or more files, all or nothing. Accepts the '*** Begin Patch' format
    (*** Add File / *** Update File with @@ hunks / *** Delete File / *** Move to, then *** End Patch)
    or a unified diff (---/+++ headers, @@ hunks; several files, new, deleted and renamed files).
    Hunk line numbers may be off; context lines must match the file (whitespace differences are
    tolerated). A hunk that does not match, or matches several places, rejects the whole patch."""
    first = _plan_patch(args, ctx)
    locks = sorted({e.path for e in first.entries}, key=str)
    for path in locks:
        ctx.session.lock(path).acquire()
    try:
        plan = _plan_patch(args, ctx)  # again under the locks: the files may have changed meanwhile
        _commit(ctx, plan.entries)
    finally:
        for path in reversed(locks):
            ctx.session.lock(path).release()
    files, lines = [], []
    for entry in plan.entries:
        if _is_move_source(entry, plan.entries):
            continue
        diff = _entry_diff(entry)
        added, removed = stats(diff)
        action = ("move" if entry.renamed_from else "add" if entry.original is None
                  else "delete" if entry.text is None else "update")
        files.append({"path": entry.rel, "action": action, "diff": diff, "from": entry.renamed_from})
        shown = f"{entry.renamed_from} -> {entry.rel}" if entry.renamed_from else entry.rel
        lines.append(f"  {_LETTER[action]} {shown} +{added} -{removed}")
    text = f"Applied patch to {len(files)} file{'s' * (len(files) != 1)}:\n" + "\n".join(lines + plan.notes)
    return ToolResult(True, text, {"files": files, "diff": "".join(f["diff"] for f in files)})
