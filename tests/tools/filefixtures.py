"""Fixtures for the file, edit, patch and search tool tests (imported by those test modules).

A real workspace in tmp_path and one ToolSession per test, so stale-edit tracking works as in the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools import ToolResult, ToolSession, run_tool

__all__ = ["call", "read", "session", "ws"]

Call = Callable[..., ToolResult]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def session() -> ToolSession:
    return ToolSession()


@pytest.fixture
def call(ws: Path, session: ToolSession) -> Call:
    """Run a tool by name exactly as the agent loop would, in the workspace, in one session."""

    def run(name: str, **arguments: Any) -> ToolResult:
        return run_tool(name, arguments, root=ws, session=session)

    return run


@pytest.fixture
def read(call: Call) -> Callable[[str], ToolResult]:
    """read_file a path (so later edits are not refused as edits of an unread file)."""

    def run(path: str) -> ToolResult:
        result = call("read_file", path=path)
        assert result.ok, result.text
        return result

    return run
