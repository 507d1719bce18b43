"""Helpers for the shell, sandbox, web and browser tool tests: workspaces, loopback servers."""

from __future__ import annotations

import asyncio
import http.server
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.config import AgentConfig
from tests.repos import make_repo
from tools import ToolContext, ToolResult, ToolSession, Toolset, builtin_tools, execute
from tools import sandbox as sandboxes


def bwrap_works() -> bool:
    return sandboxes.detect("auto").kind == "bwrap"


needs_bwrap = pytest.mark.skipif(
    not bwrap_works(),
    reason=f"bubblewrap cannot sandbox here ({sandboxes.detect('auto').detail}); "
    "install it with apt-get install bubblewrap and allow unprivileged user namespaces",
)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A git repository (one commit) as the tool workspace."""
    return make_repo(tmp_path / "ws", {"README.md": "# sample\n"})


def make_config(**sections: Any) -> AgentConfig:
    return AgentConfig.model_validate(sections)


async def call(name: str, args: dict[str, Any], root: Path, *, config: AgentConfig | None = None,
               on_output: Callable[[str], None] | None = None,
               cancelled: asyncio.Event | None = None) -> ToolResult:
    """Run one built-in tool the way the loop does (validation, errors as results)."""
    toolset = Toolset(builtin_tools())
    ctx = ToolContext(root=root.resolve(), session=ToolSession(), config=config, call_id="call-1",
                      on_output=on_output, cancelled=cancelled)
    return await execute(toolset.get(name), name, args, ctx, known=toolset.names())


def pids_with(token: str) -> list[int]:
    """Host pids whose command line contains ``token`` (works across pid namespaces)."""
    found = []
    for entry in os.listdir("/proc"):  # noqa: PTH208 - names only, many entries
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if token in cmdline and state != "Z" and int(entry) != os.getpid():
            found.append(int(entry))
    return found


async def wait_gone(token: str, within: float = 3.0) -> list[int]:
    """Pids still alive with ``token`` after up to ``within`` s (killed processes take a moment to go)."""
    deadline = time.monotonic() + within
    while (alive := pids_with(token)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return alive


Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 whose routes are plain functions."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        routes_ = routes

        class _Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                handler = routes_.get(self.path.split("?")[0])
                if handler is None:
                    self.send_error(404, "Not Found")
                    return
                handler(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Handler]], LoopbackServer]]:
    servers: list[LoopbackServer] = []

    def start(routes: dict[str, Handler]) -> LoopbackServer:
        server = LoopbackServer(routes).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def reply(body: bytes | str, content_type: str = "text/html; charset=utf-8", status: int = 200,
          headers: dict[str, str] | None = None) -> Handler:
    data = body.encode() if isinstance(body, str) else body

    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        req.send_response(status)
        req.send_header("Content-Type", content_type)
        req.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            req.send_header(key, value)
        req.end_headers()
        req.wfile.write(data)

    return handle
