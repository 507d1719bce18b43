"""Small drivers shared by the adversarial tests: run one tool like the loop does, run one agent turn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent import Agent
from agent.config import AgentConfig
from agent.events import Event, Notice, ToolCallFinished, TurnFinished
from tools import ToolContext, ToolResult, ToolSession, Toolset, builtin_tools, execute

TOOLSET = Toolset(builtin_tools())


async def call(
    name: str,
    args: dict[str, Any],
    root: Path,
    *,
    session: ToolSession | None = None,
    config: AgentConfig | None = None,
    cancelled: Any = None,
) -> ToolResult:
    """One built-in tool call with validation and errors as results, as the loop runs it."""
    ctx = ToolContext(
        root=root.resolve(),
        session=session or ToolSession(),
        config=config,
        call_id="adv",
        cancelled=cancelled,
    )
    return await execute(TOOLSET.get(name), name, args, ctx, known=TOOLSET.names())


async def turn(agent: Agent, prompt: str) -> list[Event]:
    """Every event of one prompt (the agent's connections closed afterwards)."""
    try:
        return [event async for event in agent.run(prompt)]
    finally:
        await agent.aclose()


def finished(events: list[Event]) -> TurnFinished:
    last = events[-1]
    assert isinstance(last, TurnFinished), last
    return last


def results(events: list[Event]) -> list[ToolCallFinished]:
    return [e for e in events if isinstance(e, ToolCallFinished)]


def notices(events: list[Event]) -> str:
    return "\n".join(e.text for e in events if isinstance(e, Notice))
