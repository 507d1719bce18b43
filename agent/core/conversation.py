"""A conversation the loop works on: the user's main one, or a side one (an architect phase).

The main conversation is recorded by the hooks (session log), compacted when it fills the window
and sent after the repository pack. A side conversation is none of these: its messages stay out of
the session log and the user's history, and it may see a narrower toolset (the plan is read-only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.messages import Message
from tools import Toolset

if TYPE_CHECKING:
    from agent.core.toolcalls import ToolRunner


@dataclass
class Conversation:
    messages: list[Message]
    toolset: Toolset
    main: bool = False
    """The user's conversation (recorded, compacted, packed)."""
    record: Callable[[Message], None] | None = None
    """Called for each message appended (the hooks' on_message, for the main conversation)."""
    runner: ToolRunner | None = field(default=None, repr=False)
    """The tool runner of the current step: its open calls are answered if the turn is interrupted."""

    def append(self, message: Message) -> None:
        self.messages.append(message)
        if self.record is not None:
            self.record(message)

    def close_open_calls(self, reason: str) -> None:
        """Answer every tool call still without a result, so the conversation stays valid."""
        if self.runner is not None:
            self.runner.close_open_calls(reason)
