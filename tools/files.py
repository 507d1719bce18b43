"""read_file, write_file, list_files: the model's view of the workspace and its one whole-file writer."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from tools import ToolContext, ToolResult, ToolRetry, textio, tool
from tools.diffs import numbered, stats, unified
from tools.paths import display_path, resolve_in_workspace
from tools.sandbox import secret_file_refusal
from tools.search import list_paths

MAX_LINE_CHARS = 2000
LIST_CAP = 500


def missing_file_error(root: Path, path: Path, given: str) -> ToolRetry:
    """'No such file', with the nearest names in that directory (models often misspell paths)."""
    parent = path.parent
    hint = ""
    if parent.is_dir():
        close = difflib.get_close_matches(path.name, [p.name for p in parent.iterdir()], n=3, cutoff=0.6)
        if close:
            hint = " Did you mean: " + ", ".join(display_path(root, parent / c) for c in close) + "?"
    return ToolRetry(f"{given!r} does not exist.{hint} Use list_files or grep to find the right path.")


def load_existing(root: Path, path: Path, given: str) -> tuple[textio.TextFile, bytes]:
    """Load a file that must exist, with actionable errors for the usual mistakes."""
    refusal = secret_file_refusal(path, display_path(root, path))
    if refusal:
        raise ToolRetry(refusal)
    try:
        return textio.load(root, path)
    except FileNotFoundError:
        raise missing_file_error(root, path, given) from None
    except IsADirectoryError:
        raise ToolRetry(f"{given!r} is a directory; use list_files to see what it contains") from None


class ReadFileArgs(BaseModel):
    path: str = Field(description="File path relative to the workspace root")
    offset: int = Field(1, ge=1, description="1-based line number to start from")
    limit: int = Field(2000, ge=1, le=20000, description="Number of lines to return")


@tool(kind="read")
def read_file(args: ReadFileArgs, ctx: ToolContext) -> ToolResult:
    """Read a text file. Lines come numbered ("   12\\tcode"); the numbers are not part of the file.
    Long files are returned in pages: use offset/limit to read further. Binary files and secret files
    (.env, private keys) are refused."""
    path = resolve_in_workspace(ctx.root, args.path)
    rel = display_path(ctx.root, path)
    doc, data = load_existing(ctx.root, path, args.path)
    textio.note_read(ctx.session, path, data)
    lines = doc.text.split("\n")
    if doc.final_newline or not doc.text:
        lines.pop()
    total = len(lines)
    base = {"path": rel, "total_lines": total, "encoding": doc.encoding}
    if total == 0:
        return ToolResult(True, f"{rel} is empty.", {**base, "start": 0, "end": 0, "truncated": False})
    if args.offset > total:
        raise ToolRetry(f"offset {args.offset} is past the end of {rel}, which has {total} lines")
    end = min(total, args.offset + args.limit - 1)
    shown = [_clip(line) for line in lines[args.offset - 1:end]]
    text = numbered(shown, args.offset)
    notes = []
    if end < total or args.offset > 1:
        notes.append(f"showing lines {args.offset}-{end} of {total}")
    if end < total:
        notes.append(f"call read_file with offset={end + 1} to continue")
    if not doc.final_newline:
        notes.append("no newline at end of file")
    if doc.encoding not in ("utf-8",):
        notes.append(f"encoding {doc.encoding}")
    if notes:
        text += "\n[" + "; ".join(notes) + "]"
    return ToolResult(True, text, {**base, "start": args.offset, "end": end, "truncated": end < total})


def _clip(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    return f"{line[:MAX_LINE_CHARS]}… [line cut: {len(line)} characters]"


class WriteFileArgs(BaseModel):
    path: str = Field(description="File path relative to the workspace root (parent folders are created)")
    content: str = Field(description="The complete new content of the file")


@dataclass(frozen=True)
class _WritePlan:
    path: Path
    rel: str
    old: str | None
    new: str
    data: bytes


def _plan_write(args: WriteFileArgs, ctx: ToolContext) -> _WritePlan:
    path = resolve_in_workspace(ctx.root, args.path)
    rel = display_path(ctx.root, path)
    if path.is_dir():
        raise ToolRetry(f"{args.path!r} is a directory; give a file path")
    if len(args.content) > textio.MAX_BYTES:
        raise ToolRetry(f"content is over the {textio.MAX_BYTES:,}-byte limit for file tools")
    text = args.content.replace("\r\n", "\n")
    if not path.exists():
        return _WritePlan(path, rel, None, text, textio.encode(text))
    doc, data = load_existing(ctx.root, path, args.path)
    if not textio.check_fresh(ctx.session, ctx.root, path, data):
        raise ToolRetry(f"{rel} already exists and you have not read it in this session; read_file it "
                        "first (and prefer edit_file for changes to existing files)")
    text = textio.match_final_newline(text, doc)
    return _WritePlan(path, rel, doc.text, text, textio.encode(text, doc))


def _preview_write(args: BaseModel, ctx: ToolContext) -> str:
    try:
        plan = _plan_write(args, ctx)  # type: ignore[arg-type]
    except ToolRetry as exc:
        return f"(write_file will fail: {exc})"
    return unified(plan.rel, plan.old, plan.new) or f"(no change to {plan.rel})"


@tool(kind="edit", preview=_preview_write)
def write_file(args: WriteFileArgs, ctx: ToolContext) -> ToolResult:
    """Create a file, or replace an existing file's whole content (read it first). Keeps the file's
    line endings, encoding and permissions. For changes to part of a file use edit_file instead."""
    path = resolve_in_workspace(ctx.root, args.path)
    with ctx.session.lock(path):
        plan = _plan_write(args, ctx)
        diff = unified(plan.rel, plan.old, plan.new)
        if plan.old == plan.new:
            return ToolResult(True, f"{plan.rel} already has exactly this content; nothing written.",
                              {"path": plan.rel, "diff": ""})
        textio.atomic_write(ctx.root, plan.path, plan.data)
        textio.note_written(ctx.session, plan.path, plan.data)
    added, removed = stats(diff)
    if plan.old is None:
        text = f"Created {plan.rel} ({len(plan.new.splitlines())} lines)."
    else:
        text = f"Wrote {plan.rel}: +{added} -{removed}."
    return ToolResult(True, text, {"path": plan.rel, "diff": diff, "created": plan.old is None})


class ListFilesArgs(BaseModel):
    path: str = Field(".", description="Directory to list, relative to the workspace root")
    pattern: str | None = Field(None, description='Glob on workspace-relative paths: "*.py" matches at any '
                                'depth, "tests/**/test_*.py" only under tests/')


@tool(kind="read")
def list_files(args: ListFilesArgs, ctx: ToolContext) -> ToolResult:
    """List files under a directory, recursively, skipping what .gitignore ignores and .git itself.
    Paths are relative to the workspace root. Long listings are capped with a count of the rest."""
    target = resolve_in_workspace(ctx.root, args.path)
    if not target.exists():
        raise missing_file_error(ctx.root, target, args.path)
    files = list_paths(ctx.root, args.path, args.pattern)
    shown = files[:LIST_CAP]
    data = {"files": shown, "total": len(files), "truncated": len(files) > LIST_CAP}
    if not files:
        what = f" matching {args.pattern!r}" if args.pattern else ""
        return ToolResult(True, f"No files{what} under {display_path(ctx.root, target)}.", data)
    text = "\n".join(_listed(name) for name in shown)
    if len(files) > LIST_CAP:
        text += (f"\n[{len(files) - LIST_CAP} more files not shown ({len(files)} in all); "
                 "narrow with path or pattern]")
    return ToolResult(True, text, data)


def _listed(name: str) -> str:
    """One name per line: names with newlines or other control characters are shown JSON-quoted
    (``"line\\nbreak.txt"``) so a single file never looks like two."""
    return json.dumps(name, ensure_ascii=False) if any(ord(c) < 32 or c == "\x7f" for c in name) else name
