"""MCP servers' tools as qagent tools.

Every ``[mcp.servers.NAME]`` entry (stdio: ``command`` + ``args`` + ``env``; streamable HTTP:
``url``) becomes a set of tools named ``NAME__tool`` whose JSON schemas go to the model unchanged.
They are of kind ``exec``, so the permission layer asks before each call exactly as it does for
``shell`` (and "always allow" remembers the tool for the session).

Each server is owned by one supervisor task: anyio cancel scopes inside the MCP transports must be
entered and left by the same task, and the agent calls tools from other tasks. A server that does
not start, or dies mid-session, costs only its own tools: the user gets a Notice, the model gets a
failed tool result it can read, and the session goes on.

    async with McpTools(config, cwd=repo) as mcp:
        agent = Agent(config, cwd=repo, extra_tools=mcp.tools)
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import BaseExceptionGroup

from agent.config import AgentConfig, MCPConfig, MCPServer
from agent.core.ports import Emit
from agent.events import Notice
from tools import Tool, ToolContext, ToolResult, ToolRetry, Toolset

Status = Literal["pending", "connected", "failed"]
SEPARATOR = "__"
"""Between the server name and the tool name: ``github__create_issue``."""

_NAME_OK = re.compile(r"[^A-Za-z0-9_-]")
_CONNECTION_CLOSED = -32000
_STDERR_TAIL = 600


class McpArgs(BaseModel):
    """Arguments of an MCP tool call: validated against the server's JSON schema, kept as given."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class McpTool(Tool):
    """A tool served by an MCP server; its schema is the server's, not a pydantic model's."""

    server: str = ""
    remote_name: str = ""
    """The tool's name on its server (the model sees ``server__remote_name``)."""
    input_schema: dict[str, Any] = field(default_factory=dict)

    def schema(self) -> dict[str, Any]:
        function = {"name": self.name, "description": self.description, "parameters": self.input_schema}
        return {"type": "function", "function": function}

    def parse(self, raw: str | dict[str, Any]) -> BaseModel:
        """JSON object check plus JSON-schema validation, so the model hears what to fix."""
        if isinstance(raw, str):
            try:
                raw = json.loads(raw or "{}")
            except json.JSONDecodeError as exc:
                raise ToolRetry(f"arguments for {self.name} are not valid JSON ({exc.msg} at char "
                                f"{exc.pos}); send a single JSON object") from None
        if not isinstance(raw, dict):
            raise ToolRetry(f"arguments for {self.name} must be a JSON object")
        problems = _schema_problems(self.input_schema, raw)
        if problems:
            raise ToolRetry(f"invalid arguments for {self.name}: {'; '.join(problems)}")
        return McpArgs.model_validate(raw)


@dataclass
class _Server:
    name: str
    spec: MCPServer
    status: Status = "pending"
    error: str = ""
    session: Any = None
    tools: list[McpTool] = field(default_factory=list)
    errlog: IO[str] | None = None
    task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    told: bool = False
    """Whether the user already got a Notice about this server failing."""


class McpTools:
    """The MCP servers of one session: start them, offer their tools, stop them.

    Use it as an async context manager, or call :meth:`attach` from inside the agent loop, which
    (re)starts the servers when the event loop changed (each ``run_sync`` has its own) and adds
    their tools to a toolset.
    """

    def __init__(self, config: AgentConfig | MCPConfig | Mapping[str, MCPServer], *,
                 cwd: Path | str | None = None, startup_timeout_s: float = 30.0,
                 call_timeout_s: float = 600.0) -> None:
        if isinstance(config, AgentConfig):
            config = config.mcp
        self.specs: dict[str, MCPServer] = dict(config.servers if isinstance(config, MCPConfig) else config)
        self.cwd = Path(cwd).resolve() if cwd is not None else None
        self.startup_timeout_s = startup_timeout_s
        self.call_timeout_s = call_timeout_s
        self.notices: list[Notice] = []
        """Notices about servers that failed to start (the latest start)."""
        self._servers: dict[str, _Server] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._attached: set[str] = set()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> list[Notice]:
        """Start every configured server concurrently; returns a Notice per server that failed."""
        self._loop = asyncio.get_running_loop()
        self._servers = {name: _Server(name, spec) for name, spec in self.specs.items()}
        for server in self._servers.values():
            server.task = asyncio.create_task(self._supervise(server), name=f"mcp-{server.name}")
        waits = [asyncio.create_task(s.ready.wait()) for s in self._servers.values()]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=self.startup_timeout_s)
            for waiter in pending:
                waiter.cancel()
        for server in self._servers.values():
            if server.status == "pending":
                server.status, server.error = "failed", f"no answer within {self.startup_timeout_s:g} s"
                server.stop.set()
                if server.task is not None:
                    server.task.cancel()
        failed = [s for s in self._servers.values() if s.status == "failed"]
        self.notices = [self._notice(s, "did not start") for s in failed]
        return self.notices

    async def aclose(self) -> None:
        """Stop every server (stdio processes are terminated) and wait for them."""
        tasks = [s.task for s in self._servers.values() if s.task is not None and not s.task.done()]
        for server in self._servers.values():
            server.stop.set()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=10.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for server in self._servers.values():
            if server.errlog is not None:
                server.errlog.close()
                server.errlog = None
        self._loop = None  # the next attach() starts the servers again

    async def __aenter__(self) -> McpTools:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def attach(self, toolset: Toolset, emit: Emit | None = None) -> None:
        """Make the servers' tools part of ``toolset``; start (or restart) them if this event loop has
        none running. Start-up failures are emitted as Notices once per start."""
        if self._loop is not asyncio.get_running_loop():
            await self.start()
            for notice in self.notices:
                if emit is not None:
                    emit(notice)
        for name in self._attached:
            toolset.remove(name)
        self._attached = set()
        for item in self.tools:
            toolset.add(item)
            self._attached.add(item.name)

    # ------------------------------------------------------------------ state
    @property
    def tools(self) -> list[Tool]:
        """Tools of the servers that are connected, in configuration order."""
        return [t for s in self._servers.values() if s.status == "connected" for t in s.tools]

    def statuses(self) -> list[dict[str, str]]:
        """``[{"name", "status"}]`` per configured server (pending | connected | failed)."""
        return [{"name": name, "status": self._servers[name].status if name in self._servers else "pending"}
                for name in self.specs]

    # ------------------------------------------------------------------ one server
    async def _supervise(self, server: _Server) -> None:
        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport(server))
                from mcp import ClientSession

                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                server.tools = [self._wrap(server.name, t) for t in await _list_tools(session)]
                server.session = session
                server.status = "connected"
                server.ready.set()
                await server.stop.wait()
        except Exception as exc:  # any failure of one server stays with that server
            if server.status != "failed":
                server.status, server.error = "failed", self._reason(server, exc)
        finally:
            server.session = None
            server.ready.set()

    @asynccontextmanager
    async def _transport(self, server: _Server) -> AsyncIterator[tuple[Any, Any]]:
        spec = server.spec
        if bool(spec.command) == bool(spec.url):
            raise ValueError("set either command (stdio) or url (streamable HTTP) in [mcp.servers."
                             f"{server.name}]")
        if spec.command:
            from mcp.client.stdio import StdioServerParameters, get_default_environment, stdio_client

            env = {**get_default_environment(), **spec.env} if spec.env else None
            params = StdioServerParameters(command=spec.command, args=list(spec.args), env=env, cwd=self.cwd)
            # The server's stderr is kept (not shown: it would garble the TUI) for failure messages.
            server.errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
            async with stdio_client(params, errlog=server.errlog) as streams:
                yield streams[0], streams[1]
        else:
            from mcp.client import streamable_http

            # mcp 2 renamed streamablehttp_client; both yield (read, write, ...).
            connect = getattr(streamable_http, "streamable_http_client", None)
            connect = connect or streamable_http.streamablehttp_client  # type: ignore[attr-defined]
            async with connect(spec.url) as streams:
                yield streams[0], streams[1]

    def _wrap(self, server: str, remote: Any) -> McpTool:
        name = _NAME_OK.sub("_", f"{server}{SEPARATOR}{remote.name}")[:64]
        schema = dict(getattr(remote, "input_schema", None) or getattr(remote, "inputSchema", None) or {})
        schema.pop("$schema", None)
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        description = (remote.description or remote.name).strip()

        async def call(args: McpArgs, ctx: ToolContext) -> ToolResult:
            return await self._call(server, remote.name, args.model_dump(), ctx)

        return McpTool(name=name, description=f"{description}\n(Tool of the MCP server '{server}'.)",
                       args_model=McpArgs, fn=call, kind="exec", server=server, remote_name=remote.name,
                       input_schema=schema)

    async def _call(self, name: str, remote: str, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        server = self._servers.get(name)
        if server is None or server.session is None or server.status != "connected":
            why = server.error if server is not None and server.error else "not connected"
            return ToolResult(False, f"MCP server '{name}' is not running ({why}); {name}{SEPARATOR}{remote} "
                              "cannot be used in this session, continue without it")
        try:
            result = await asyncio.wait_for(server.session.call_tool(remote, arguments), self.call_timeout_s)
        except asyncio.TimeoutError:
            return ToolResult(False, f"MCP server '{name}' did not answer {remote} within "
                              f"{self.call_timeout_s:g} s")
        except Exception as exc:
            if not _is_connection_loss(exc):
                return ToolResult(False, f"MCP server '{name}' refused {remote}: {exc}")
            server.status, server.error = "failed", self._reason(server, exc)
            server.stop.set()
            if not server.told:
                ctx.notify(self._notice(server, "stopped").text, "warning")
            return ToolResult(False, f"MCP server '{name}' stopped while running {remote} ({server.error}); "
                              "its tools are unavailable for the rest of this session")
        return _to_result(name, remote, result)

    def _notice(self, server: _Server, what: str) -> Notice:
        server.told = True
        return Notice(level="warning", text=f"MCP server '{server.name}' {what}: {server.error}; "
                      "its tools are unavailable for the rest of this session")

    @staticmethod
    def _reason(server: _Server, exc: BaseException) -> str:
        leaves = _leaf_exceptions(exc)
        text = "; ".join(dict.fromkeys(f"{str(e) or type(e).__name__}" for e in leaves)) or type(exc).__name__
        if server.errlog is not None:
            try:
                server.errlog.flush()
                server.errlog.seek(0)
                tail = server.errlog.read()[-_STDERR_TAIL:].strip()
            except (OSError, ValueError):
                tail = ""
            if tail:
                text += f"; its stderr ends with: {tail.splitlines()[-1][:200]}"
        return text


async def _list_tools(session: Any) -> list[Any]:
    found: list[Any] = []
    cursor: str | None = None
    for _ in range(100):  # a server that paginates forever must not hang start-up
        if cursor is None:
            page = await session.list_tools()
        else:
            from mcp.types import PaginatedRequestParams

            page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor))
        found.extend(page.tools)
        cursor = getattr(page, "next_cursor", None) or getattr(page, "nextCursor", None)
        if not cursor:
            break
    return found


def _to_result(server: str, remote: str, result: Any) -> ToolResult:
    """MCP content blocks as text for the model; structured content kept for front ends."""
    parts: list[str] = []
    for block in getattr(result, "content", None) or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource":
            inner = block.resource
            mime = getattr(inner, "mime_type", None) or "binary"
            parts.append(getattr(inner, "text", None) or f"[resource {inner.uri} ({mime})]")
        elif kind == "resource_link":
            parts.append(f"[resource link {block.uri}: {block.name}]")
        else:
            parts.append(f"[{kind} content ({getattr(block, 'mime_type', None) or 'binary'}) not shown]")
    structured = getattr(result, "structured_content", None)
    if structured is None:
        structured = getattr(result, "structuredContent", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False))
    is_error = bool(getattr(result, "is_error", None) or getattr(result, "isError", None))
    data: dict[str, Any] = {"server": server, "tool": remote}
    if structured is not None:
        data["structured"] = structured
    return ToolResult(not is_error, "\n".join(parts) or "(no output)", data)


def _schema_problems(schema: dict[str, Any], value: dict[str, Any]) -> list[str]:
    try:
        from jsonschema import exceptions, validators
    except ModuleNotFoundError:  # jsonschema comes with mcp; without it the server validates
        return []
    try:
        validator_cls = validators.validator_for(schema)
        validator_cls.check_schema(schema)
    except exceptions.SchemaError:
        return []  # a server's broken schema is its own business: let it validate
    errors = sorted(validator_cls(schema).iter_errors(value), key=lambda e: list(e.path))
    return [f"{'.'.join(str(p) for p in e.path) or 'arguments'}: {e.message}" for e in errors[:5]]


def _is_connection_loss(exc: BaseException) -> bool:
    code = getattr(getattr(exc, "error", None), "code", None)
    if code == _CONNECTION_CLOSED or "connection closed" in str(exc).lower():
        return True
    import anyio

    return isinstance(exc, (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream,
                            BrokenPipeError, ConnectionError, EOFError))


def _leaf_exceptions(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaf_exceptions(inner)]
    return [exc]
