"""Fixtures for the TUI tests: an app wired to a scripted model server in a real git repo."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agent import Agent
from agent.config import AgentConfig
from agent.git.checkpoints import Checkpointer, CheckpointHook
from agent.policy.permissions import Approver
from agent.session import data_dir, find_session, load_conversation
from agent.testing import ScriptedServer
from agent.tui.app import QAgentApp
from agent.wiring import build_agent
from tests.conftest import config_for
from tools import ToolContext, ToolResult, ToolRetry, tool
from tools.diffs import unified


class ReplaceArgs(BaseModel):
    path: str
    old: str
    new: str


def _replace_preview(args: ReplaceArgs, ctx: ToolContext) -> str:
    path = ctx.root / args.path
    text = path.read_text()
    return unified(args.path, text, text.replace(args.old, args.new, 1))


@tool(kind="edit", preview=_replace_preview)
def replace_text(args: ReplaceArgs, ctx: ToolContext) -> ToolResult:
    """Replace the first occurrence of `old` with `new` in a file (test stand-in for edit_file)."""
    path = ctx.root / args.path
    text = path.read_text()
    if args.old not in text:
        raise ToolRetry(f"{args.old!r} not found in {args.path}")
    new = text.replace(args.old, args.new, 1)
    path.write_text(new)
    return ToolResult(True, f"edited {args.path}", {"diff": unified(args.path, text, new), "path": args.path})


def make_app(
    workspace: Path,
    config: AgentConfig,
    *,
    prompt: str | None = None,
    extra: tuple[Any, ...] = (replace_text,),
    checkpoints: bool = False,
    **kwargs: Any,
) -> QAgentApp:
    """The app with the real ``build_agent``; ``checkpoints``/resume stand in for wiring it may not do yet."""

    def factory(approver: Approver, resume: str | None) -> Agent:
        agent = build_agent(config, workspace, resume=resume, interactive=True, approver=approver)
        for item in extra:
            agent.toolset.add(item)
        if checkpoints and not any(isinstance(h, CheckpointHook) for h in agent.hooks):
            agent.hooks.append(CheckpointHook(Checkpointer(workspace, "tui-test")))
        if resume is not None and not agent.messages:
            info = find_session(data_dir(config), resume, workspace)
            agent.messages.extend(load_conversation(info.path)[1])
        return agent

    return QAgentApp(workspace, config, factory, prompt=prompt, **kwargs)


@pytest.fixture
def tui_app(git_repo: Path, scripted_server: Callable[..., ScriptedServer]) -> Callable[..., QAgentApp]:
    """``tui_app(script, approval="ask")`` → (app, server) on the git_repo fixture."""

    def build(
        script: list[dict[str, Any]], *, approval: str = "ask", dialect: str = "vllm", **kwargs: Any
    ) -> QAgentApp:
        """The app on ``git_repo`` talking to a scripted server (available as ``app.server``)."""
        server = scripted_server(script, dialect=dialect)
        config = config_for(
            git_repo,
            local=server,
            routing={"mode": "local"},
            permissions={"approval": approval},
            session={"data_dir": str(git_repo.parent / "data")},
        )
        app = make_app(git_repo, config, **kwargs)
        app.server = server  # type: ignore[attr-defined]
        return app

    return build


async def until(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Let the app run until ``condition()`` holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            app = pilot.app
            names = [type(w).__name__ for w in app.query("*")]
            raise AssertionError(f"timed out waiting for {what or condition} "
                                 f"(busy={getattr(app, 'busy', None)}, "
                                 f"queued={getattr(app, 'queued', None)}, "
                                 f"blocks={[n for n in names if n.endswith(('Message', 'Line'))]})")
        await pilot.pause(0.02)
    await asyncio.sleep(0)
