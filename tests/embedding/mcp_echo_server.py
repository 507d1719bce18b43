"""A small MCP server for the embedding tests, written with the ``mcp`` package.

``python mcp_echo_server.py`` serves over stdio; ``--http PORT`` serves streamable HTTP on
127.0.0.1. Tools: ``echo`` (text, times), ``add`` (structured output), ``crash`` (the process
dies at once, like a server hitting a fatal bug mid-session) and ``broken`` (raises).
"""

from __future__ import annotations

import os
import sys

try:
    from mcp.server.mcpserver import MCPServer
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as MCPServer  # type: ignore[no-redef]

app = MCPServer("echo")


@app.tool()
def echo(text: str, times: int = 1) -> str:
    """Repeat a text, separated by spaces."""
    return " ".join([text] * times)


@app.tool()
def add(a: int, b: int) -> dict[str, int]:
    """Add two integers."""
    return {"sum": a + b}


@app.tool()
def crash() -> str:
    """Stop the server process immediately."""
    print("echo server: fatal error, exiting", file=sys.stderr, flush=True)
    os._exit(3)


@app.tool()
def broken() -> str:
    """Always fails."""
    raise RuntimeError("the broken tool is broken")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--http"]:
        app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        app.run()
