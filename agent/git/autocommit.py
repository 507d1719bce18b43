"""Opt-in auto-commit: the turn's files committed with a message the local model writes.

Off by default (``[session] auto_commit``): checkpoints already make every turn undoable without
touching the user's branch. When on, only the paths the turn changed are committed, after the
turn completed (a failed or interrupted turn is left for the user to judge).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import prompts
from agent.core.ports import Emit, TurnHook
from agent.events import Notice
from agent.git.checkpoints import Checkpointer
from agent.providers.types import ProviderError


class AutoCommitHook(TurnHook):
    """``summarise`` writes the message (``Agent.summarise``: local model first)."""

    def __init__(self, checkpointer: Checkpointer, summarise: Callable[[str], Awaitable[str]]) -> None:
        self.checkpointer = checkpointer
        self.summarise = summarise

    async def after_turn(self, prompt: str, stop_reason: str, emit: Emit) -> None:
        if stop_reason != "completed":
            return
        diff = self.checkpointer.turn_diff()
        if not diff:
            return
        try:
            message = (await self.summarise(prompts.render("commit", request=prompt, diff=diff))).strip()
        except (ProviderError, RuntimeError) as exc:
            emit(Notice(level="warning", text=f"auto-commit skipped: no model could write the message ({exc})"))
            return
        message = message or f"qagent: {prompt[:60]}"
        sha = self.checkpointer.auto_commit(message)
        if sha:
            emit(Notice(text=f"committed {sha[:10]}: {message.splitlines()[0]}"))
