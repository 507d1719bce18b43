"""``!command`` in the prompt: the user's own shell command, run like the agent's (same sandbox) and
drawn as a tool card, but never shown to the model."""

from __future__ import annotations

import asyncio
import time

from agent.core.agent import Agent
from agent.events import Notice, ToolCallFinished, ToolOutputDelta
from agent.tui.pump import EventPump
from tools import ToolContext, execute


async def run_user_shell(agent: Agent, pump: EventPump, call_id: str, command: str) -> None:
    shell = agent.toolset.get("shell")
    if shell is None:
        pump.push(Notice(level="warning", text="this agent has no shell tool"))
        return
    await pump.start_card(call_id, "shell", {"command": command}, by_user=True)
    ctx = ToolContext(root=agent.cwd, session=agent.tool_session, config=agent.config, call_id=call_id,
                      on_output=lambda text: pump.push(ToolOutputDelta(id=call_id, text=text)),
                      on_notice=lambda level, text: pump.push(Notice(level=level, text=text)))  # type: ignore[arg-type]
    started = time.monotonic()
    try:
        result = await execute(shell, "shell", {"command": command}, ctx)
    except asyncio.CancelledError:
        pump.push(ToolCallFinished(id=call_id, name="shell", ok=False, output="interrupted",
                                   duration_s=time.monotonic() - started))
        raise
    pump.push(ToolCallFinished(id=call_id, name="shell", ok=result.ok, output=result.text,
                               duration_s=round(time.monotonic() - started, 3)))
