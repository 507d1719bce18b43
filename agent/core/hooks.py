"""The hooks of one agent, called as one: :class:`HookChain` fans each call out in order."""

from __future__ import annotations

from typing import Any

from agent.core.ports import Emit, TurnHook
from agent.events import Event
from agent.messages import Message


class HookChain(TurnHook):
    """Calls every hook of ``hooks`` (a live list: hooks added later are called too)."""

    def __init__(self, hooks: list[TurnHook]) -> None:
        self.hooks = hooks

    def begin_turn(self, turn: int) -> None:
        for hook in self.hooks:
            hook.begin_turn(turn)

    def on_event(self, event: Event) -> None:
        for hook in self.hooks:
            hook.on_event(event)

    def on_message(self, message: Message) -> None:
        for hook in self.hooks:
            hook.on_message(message)

    def replace_conversation(self, messages: list[Message]) -> None:
        for hook in self.hooks:
            hook.replace_conversation(messages)

    def before_change(self, tool: str, args: dict[str, Any]) -> None:
        for hook in self.hooks:
            hook.before_change(tool, args)

    def end_turn(self) -> None:
        for hook in self.hooks:
            hook.end_turn()

    async def after_turn(self, prompt: str, stop_reason: str, emit: Emit) -> None:
        for hook in self.hooks:
            await hook.after_turn(prompt, stop_reason, emit)

    def errors(self) -> list[str]:
        """Problems the hooks want reported after the turn."""
        return [hook.error for hook in self.hooks if hook.error]
