"""``find_symbols``: where a name is defined and which files use it, from the repository map's index.

Cheaper and more precise than grep for "where is X defined": the index already holds every
definition (with its line and signature) and every reference count per file, and stays current
by re-parsing only files changed since the last call.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tools import ToolContext, ToolResult, ToolRetry, tool

MAX_LINES = 60


class FindSymbolsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(
        description="An identifier (QuerySet), Class.method (QuerySet.filter), "
        "or a prefix ending in * (bulk_*)"
    )
    kind: Literal["definition", "reference"] | None = Field(
        default=None, description="Only definitions or only references; both when omitted"
    )


def _names(query: str, known: dict[str, set[str]]) -> list[str]:
    if query.endswith("*"):
        prefix = query[:-1]
        return sorted(n for n in known if n.startswith(prefix))[:20]
    if query in known:
        return [query]
    folded = query.lower()
    return sorted(n for n in known if n.lower() == folded)[:20]


@tool(kind="read")
def find_symbols(args: FindSymbolsArgs, ctx: ToolContext) -> ToolResult:
    """Find where a symbol is defined (path:line and signature) and which files reference it.

    Uses the repository map's tree-sitter index (Python, JS/TS, Go, Rust, Java, C/C++, Ruby).
    Accepts a plain identifier, Class.method, or a prefix ending in *.
    """
    query = args.query.strip()
    if not query:
        raise ToolRetry("query is empty; give an identifier such as QuerySet or QuerySet.filter")
    if ctx.repo_map is None:
        raise ToolRetry("find_symbols needs the repository map, which this run does not have; use grep")
    rm = ctx.repo_map()
    rm.refresh()
    owner, _, member = query.rpartition(".") if "." in query and not query.endswith("*") else ("", "", query)
    defines, users = rm.graph.defines, rm.graph.users
    names = _names(member, {**users, **defines})
    if not names:
        raise ToolRetry(
            f"no symbol named {query!r} in the index; try a prefix such as {member[:4]}* or use grep"
        )
    owner_files = defines.get(owner, set()) if owner else None
    lines: list[str] = []
    found_defs: list[dict[str, object]] = []
    found_refs: list[dict[str, object]] = []
    for name in names:
        if args.kind in (None, "definition"):
            for path in sorted(defines.get(name, ())):
                if owner_files is not None and path not in owner_files:
                    continue
                for d_name, line, category, signature in rm.entries[path].defs:
                    if d_name == name:
                        lines.append(f"def {path}:{line + 1}: {signature.strip()}  [{category}]")
                        found_defs.append(
                            {"name": name, "path": path, "line": line + 1, "category": category}
                        )
        if args.kind in (None, "reference"):
            for path in sorted(users.get(name, ())):
                count = dict(rm.entries[path].refs).get(name, 0)
                lines.append(f"ref {path}: {name} used {count}×")
                found_refs.append({"name": name, "path": path, "count": count})
    if not lines:
        what = args.kind or "definition or reference"
        return ToolResult(True, f"no {what} of {query!r} found", {"definitions": [], "references": []})
    shown = lines[:MAX_LINES]
    if len(lines) > MAX_LINES:
        shown.append(f"… {len(lines) - MAX_LINES} more; narrow the query or pass kind")
    return ToolResult(True, "\n".join(shown), {"definitions": found_defs, "references": found_refs})
