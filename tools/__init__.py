"""Tool registry: ``@tool`` turns a typed function into a model-facing tool.

A tool is one function, one pydantic argument model and ``@tool``; its docstring is its
description. Errors the model can fix raise :class:`ToolRetry` and go back to the model as a failed
result; the loop never crashes on a tool. ``run_tool`` runs one built-in tool exactly as the loop
would (same validation, confinement and errors), for scripts, tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import importlib
import inspect
import json
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

ToolKind = Literal["read", "edit", "exec", "network"]
"""What a tool does, for the permission layer: read is always allowed, the others may ask."""

BUILTIN_MODULES = (
    "tools.files",
    "tools.edit",
    "tools.patch",
    "tools.search",
    "tools.symbols",
    "tools.shell",
    "tools.web",
    "tools.browser",
    "tools.todo",
)


class ToolRetry(Exception):
    """An error the model can fix (bad path, ambiguous edit...): returned to it as the tool result."""


@dataclass(frozen=True)
class ToolResult:
    """What a tool call returns: ``ok`` and ``text`` go back to the model, ``data`` to front ends."""

    ok: bool
    """False for failures the model should see as such (it is told, the session goes on)."""
    text: str
    """What the model sees."""
    data: dict[str, Any] = field(default_factory=dict)
    """Structured data for front ends (e.g. ``diff``, ``path``, ``exit_code``)."""


class FileStamp(NamedTuple):
    mtime_ns: int
    size: int
    sha256: str


def stamp_of(path: Path) -> FileStamp:
    """The identity of a file's current content (used to refuse stale edits)."""
    data = path.read_bytes()
    stat = path.stat()
    return FileStamp(stat.st_mtime_ns, stat.st_size, hashlib.sha256(data).hexdigest())


class ToolSession:
    """State shared by the tool calls of one agent session.

    Tracks what the model has read (so an edit to a file changed on disk since is refused),
    which files changed, and per-path locks so parallel calls never interleave on one file.
    """

    def __init__(self) -> None:
        self.read_stamps: dict[Path, FileStamp] = {}
        self.changed_files: dict[Path, None] = {}
        self.todos: list[dict[str, str]] = []
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, path: Path) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(path, threading.Lock())

    def note_read(self, path: Path) -> None:
        self.read_stamps[path] = stamp_of(path)

    def note_written(self, path: Path) -> None:
        """After our own write the file is, by definition, what the model last saw."""
        self.changed_files[path] = None
        if path.exists():
            self.read_stamps[path] = stamp_of(path)
        else:
            self.read_stamps.pop(path, None)


@dataclass
class ToolContext:
    """What a running tool may use besides its arguments (declare a ``ctx: ToolContext`` parameter).

    The tools package never imports the agent: what it needs of it arrives here, as plain values
    and callbacks the loop fills in.
    """

    root: Path
    """The workspace; resolve paths with ``tools.paths.resolve_in_workspace`` to stay inside it."""
    session: ToolSession
    """Read stamps, changed files and per-path locks shared by the calls of one agent session."""
    config: Any = None
    """The agent's ``AgentConfig`` (tools read its sandbox, web and routing sections), or None."""
    call_id: str = ""
    """The model's id for this call (matches the ToolCallStarted/ToolCallFinished events)."""
    on_output: Callable[[str], None] | None = None
    """Receives live output (e.g. a shell command's) for front ends while the tool runs."""
    on_notice: Callable[[str, str], None] | None = None
    """Receives ``(level, text)`` notices for the user (info, warning, error)."""
    repo_map: Callable[[], Any] | None = None
    """The session's repository map (``agent.context.repomap.RepoMap``), made on first use."""
    cancelled: asyncio.Event | None = None

    def output(self, text: str) -> None:
        """Show live output of this call to the user (dropped when nobody listens)."""
        if self.on_output is not None:
            self.on_output(text)

    def notify(self, text: str, level: str = "info") -> None:
        """Tell the user something while the tool runs (dropped when nobody listens)."""
        if self.on_notice is not None:
            self.on_notice(level, text)


ToolFn = Callable[..., Awaitable[Any] | Any]


@dataclass(frozen=True)
class Tool:
    """A model-facing tool; made by :func:`tool`, offered with ``Agent(tools=...)``/``extra_tools=...``."""

    name: str
    """The name the model calls (``^[A-Za-z0-9_-]{1,64}$``)."""
    description: str
    """What the model reads to decide when to call it (the function's docstring)."""
    args_model: type[BaseModel]
    """Validates the model's arguments; its JSON schema is what the model sees."""
    fn: ToolFn
    kind: ToolKind = "read"
    takes_context: bool = True
    """Whether ``fn`` takes a ToolContext."""
    spread_args: bool = False
    """Whether ``fn`` takes plain keyword parameters instead of one argument model."""
    preview: Callable[[BaseModel, ToolContext], str] | None = None
    """Text shown when approval is asked (a diff for edits, the command for shell)."""

    def schema(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry for this tool."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description,
                         "parameters": json.loads(_parameters_json(self.args_model))},
        }

    def parse(self, raw: str | dict[str, Any]) -> BaseModel:
        """Validate model-written arguments; raises ToolRetry with a message the model can act on."""
        if isinstance(raw, str):
            try:
                raw = json.loads(raw or "{}")
            except json.JSONDecodeError as exc:
                raise ToolRetry(
                    f"arguments for {self.name} are not valid JSON ({exc.msg} at char {exc.pos}); "
                    "send a single JSON object"
                ) from None
        if not isinstance(raw, dict):
            raise ToolRetry(f"arguments for {self.name} must be a JSON object")
        try:
            return self.args_model.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            raise ToolRetry(f"invalid arguments for {self.name}: {problems}") from None

    async def invoke(self, args: BaseModel, ctx: ToolContext) -> ToolResult:
        """Run the function on parsed arguments (sync functions in a worker thread); a plain return
        value becomes a successful result (strings as is, anything else as JSON)."""
        call_args: list[Any]
        if self.spread_args:
            kwargs = args.model_dump()
            if self.takes_context:
                kwargs["ctx"] = ctx
            result = await _call(self.fn, (), kwargs)
        else:
            call_args = [args, ctx] if self.takes_context else [args]
            result = await _call(self.fn, tuple(call_args), {})
        if isinstance(result, ToolResult):
            return result
        return ToolResult(ok=True, text=result if isinstance(result, str) else json.dumps(result))


async def _call(fn: ToolFn, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)


@functools.cache
def _parameters_json(args_model: type[BaseModel]) -> str:
    """The argument model's JSON schema without titles, made once per model: pydantic takes ~3 ms
    per model and every request sends every tool (a fresh copy each time, callers may mutate it)."""
    params = args_model.model_json_schema()
    params.pop("title", None)
    for prop in params.get("properties", {}).values():
        prop.pop("title", None)
    return json.dumps(params)


def tool(
    fn: ToolFn | None = None,
    *,
    name: str | None = None,
    kind: ToolKind = "read",
    preview: Callable[[BaseModel, ToolContext], str] | None = None,
) -> Any:
    """Make a function a tool. Two shapes are accepted::

        @tool(kind="edit")
        async def write_file(args: WriteFileArgs, ctx: ToolContext) -> ToolResult: ...

        @tool
        def lookup_ticket(ticket_id: int) -> str:   # plain parameters: a model is built for you
            '''Fetch a ticket from the tracker.'''

    The docstring's first paragraph is the description the model reads.
    """

    def wrap(func: ToolFn) -> Tool:
        hints = get_type_hints(func)
        params = [p for p in inspect.signature(func).parameters.values()]
        takes_context = any(hints.get(p.name) is ToolContext for p in params)
        value_params = [p for p in params if hints.get(p.name) is not ToolContext]
        first = hints.get(value_params[0].name) if value_params else None
        if len(value_params) == 1 and isinstance(first, type) and issubclass(first, BaseModel):
            args_model, spread = first, False
        else:
            fields: dict[str, Any] = {
                p.name: (hints.get(p.name, Any), ... if p.default is inspect.Parameter.empty else p.default)
                for p in value_params
            }
            args_model = create_model(  # type: ignore[call-overload]
                f"{func.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields
            )
            spread = True
        doc = inspect.getdoc(func) or func.__name__
        return Tool(
            name=name or func.__name__,
            description=doc.split("\n\n")[0].strip() if len(doc) > 1024 else doc,
            args_model=args_model,
            fn=func,
            kind=kind,
            takes_context=takes_context,
            spread_args=spread,
            preview=preview,
        )

    return wrap(fn) if fn is not None else wrap


class Toolset:
    """The tools one agent offers the model, by name."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for item in tools:
            self.add(item)

    def add(self, item: Tool) -> None:
        if not isinstance(item, Tool):
            raise TypeError(f"{item!r} is not a tool; decorate it with @tool")
        self._tools[item.name] = item

    def remove(self, name: str) -> None:
        self._tools.pop(name, None)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema() for t in self._tools.values()]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._tools.values())


_builtin_cache: list[Tool] | None = None


def builtin_tools() -> list[Tool]:
    """Every built-in tool whose module imports (optional extras such as the browser may be absent)."""
    global _builtin_cache
    if _builtin_cache is None:
        found: list[Tool] = []
        for module_name in BUILTIN_MODULES:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:  # not written yet, or an optional extra is missing
                continue
            found.extend(v for v in vars(module).values() if isinstance(v, Tool))
        _builtin_cache = found
    return list(_builtin_cache)


async def execute(tool_: Tool | None, name: str, raw_args: str | dict[str, Any], ctx: ToolContext,
                  *, known: Iterable[str] = ()) -> ToolResult:
    """Validate and run one call; every failure becomes a ToolResult the model can read."""
    if tool_ is None:
        options = ", ".join(sorted(known))
        return ToolResult(False, f"unknown tool {name!r}; available tools: {options}")
    try:
        args = tool_.parse(raw_args)
        return await tool_.invoke(args, ctx)
    except ToolRetry as exc:
        return ToolResult(False, str(exc))
    except Exception as exc:  # a bug in a tool must not kill the session
        return ToolResult(False, f"{name} failed: {type(exc).__name__}: {exc}")


def run_tool(
    name: str,
    arguments: dict[str, Any],
    *,
    root: Path | str,
    session: ToolSession | None = None,
    config: Any = None,
    repo_map: Callable[[], Any] | None = None,
) -> ToolResult:
    """Run one built-in tool synchronously, exactly as the loop would. ``config`` is an AgentConfig;
    ``repo_map`` gives find_symbols its index (e.g. ``lambda: RepoMap(root)``)."""
    toolset = Toolset(builtin_tools())
    ctx = ToolContext(root=Path(root).resolve(), session=session or ToolSession(), config=config,
                      repo_map=repo_map)
    return asyncio.run(execute(toolset.get(name), name, arguments, ctx, known=toolset.names()))
