"""Opt-in auto-commit: the turn's files committed with a message the local model writes.

Off by default (``[session] auto_commit``): checkpoints already make every turn undoable without
touching the user's branch. When on, only the paths the turn changed are committed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import prompts
from agent.events import Notice
from agent.providers.openai_compat import ProviderError

if TYPE_CHECKING:
    from agent.core.agent import Agent


async def commit_turn(agent: Agent, prompt: str, emit: Any) -> None:
    diff = agent.checkpointer.turn_diff()
    if not diff:
        return
    try:
        message = (await agent.context.summarise(prompts.render("commit", request=prompt, diff=diff))).strip()
    except (ProviderError, RuntimeError) as exc:
        emit(Notice(level="warning", text=f"auto-commit skipped: no model could write the message ({exc})"))
        return
    message = message or f"qagent: {prompt[:60]}"
    sha = agent.checkpointer.auto_commit(message)
    if sha:
        emit(Notice(text=f"committed {sha[:10]}: {message.splitlines()[0]}"))
