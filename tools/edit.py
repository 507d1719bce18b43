"""edit_file: replace one unique piece of a file, or nothing (matching rules in tools.editmatch).

Stale edits are refused: if the file changed on disk since the model last read (or wrote) it, the
model's idea of the file is out of date. A file the model never read in this session may still be
edited, but only when old_string matches it exactly (up to trailing whitespace): the match itself
then proves the model knows that part of the file. Looser matches on unread files ask for a read_file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from tools import ToolContext, ToolResult, ToolRetry, editmatch, textio, tool
from tools.diffs import changed_span, snippet, stats, unified
from tools.files import load_existing, missing_file_error
from tools.paths import display_path, resolve_in_workspace

_HOW = {
    "exact": "",
    "whitespace": " (matched ignoring trailing whitespace)",
    "indentation": " (matched with different indentation; new lines re-indented to the file's)",
    "blank-lines": " (matched ignoring blank lines and indentation; new lines re-indented)",
    "created": "",
}


class EditFileArgs(BaseModel):
    path: str = Field(description="File path relative to the workspace root")
    old_string: str = Field(description="The exact text to replace, copied from the file (without line "
                                        "numbers); include enough surrounding lines to make it unique")
    new_string: str = Field(description="The text to put in its place")
    replace_all: bool = Field(False, description="Replace every occurrence instead of requiring exactly one")


@dataclass(frozen=True)
class _EditPlan:
    path: Path
    rel: str
    old: str | None
    new: str
    data: bytes
    level: str
    lines: tuple[int, ...]


def _plan_edit(args: EditFileArgs, ctx: ToolContext) -> _EditPlan:
    path = resolve_in_workspace(ctx.root, args.path)
    rel = display_path(ctx.root, path)
    if not path.exists() and not path.is_symlink():
        if args.old_string:
            raise missing_file_error(ctx.root, path, args.path)
        text = args.new_string.replace("\r\n", "\n")
        return _EditPlan(path, rel, None, text, textio.encode(text), "created", (1,))
    doc, data = load_existing(ctx.root, path, args.path)
    seen = textio.check_fresh(ctx.session, ctx.root, path, data)
    result = editmatch.plan(doc.text, args.old_string, args.new_string, replace_all=args.replace_all,
                            name=rel)
    if not seen and result.level not in ("exact", "whitespace"):
        raise ToolRetry(f"you have not read {rel} in this session and old_string only matches it loosely "
                        f"({result.level} differ); read_file it, then copy the text to replace exactly")
    data = textio.encode(result.text, doc)
    return _EditPlan(path, rel, doc.text, result.text, data, result.level, result.lines)


def _preview_edit(args: BaseModel, ctx: ToolContext) -> str:
    try:
        plan = _plan_edit(args, ctx)  # type: ignore[arg-type]
    except ToolRetry as exc:
        return f"(edit_file will fail: {exc})"
    return unified(plan.rel, plan.old, plan.new)


@tool(kind="edit", preview=_preview_edit)
def edit_file(args: EditFileArgs, ctx: ToolContext) -> ToolResult:
    """Replace old_string with new_string in a file. old_string must match exactly one place (copy it from
    read_file output without the line numbers, with a few lines of context); small whitespace or
    indentation differences are tolerated, but an ambiguous or missing match changes nothing and says
    why. With an empty old_string on a path that does not exist, creates the file. Read the file first."""
    path = resolve_in_workspace(ctx.root, args.path)
    with ctx.session.lock(path):
        plan = _plan_edit(args, ctx)
        textio.atomic_write(ctx.root, plan.path, plan.data)
        textio.note_written(ctx.session, plan.path, plan.data)
    diff = unified(plan.rel, plan.old, plan.new)
    added, removed = stats(diff)
    first, last = changed_span(plan.old or "", plan.new)
    verb = "Created" if plan.old is None else "Edited"
    count = f", {len(plan.lines)} places" if len(plan.lines) > 1 else ""
    text = f"{verb} {plan.rel}: +{added} -{removed}{count}{_HOW[plan.level]}\n"
    data = {"path": plan.rel, "diff": diff, "match": plan.level, "lines": list(plan.lines)}
    return ToolResult(True, text + snippet(plan.new, first, last), data)
