"""The seams of the core: what the loop needs from the world outside it, as narrow interfaces.

The core owns these; providers, the session log, checkpoints and front ends implement them, so
imports point one way (outside → core) and a test can swap any of them for a fake:

- :class:`ProviderPool` hands out one :class:`Provider` per ``[models.NAME]`` entry
  (``agent.providers.pool.ModelPool`` over HTTP, ``agent.testing.ScriptedPool`` in-process);
- :class:`TurnHook` observes a turn (session log, checkpoints, auto-commit) and may refuse a
  change with :class:`ChangeRefused`;
- :data:`Emit` is where events go;
- :class:`StepRunner` runs model steps on a conversation (the architect's phases use it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Protocol

from agent.events import Event, Notice, ReasoningDelta, TextDelta
from agent.messages import Message
from agent.providers.types import Completion
from tools import Toolset

if TYPE_CHECKING:
    from agent.core.conversation import Conversation
    from agent.core.routing import RouteDecision, StepMode, StepSignals

Emit = Callable[[Event], None]
"""Where the loop sends each event, in order."""

StreamItem = ReasoningDelta | TextDelta | Notice | Completion


class Provider(Protocol):
    """One model endpoint: streams deltas, then exactly one Completion, or raises ProviderError."""

    name: str

    def stream(self, messages: list[Message], tools: list[dict[str, Any]], mode: StepMode
               ) -> AsyncIterator[StreamItem]: ...

    async def aclose(self) -> None: ...


class ProviderPool(Protocol):
    """The providers of one or more agents (batch tasks share one pool and its connections)."""

    def get(self, name: str) -> Provider:
        """The provider for ``[models.NAME]``, created on first use."""
        ...

    def contacted(self) -> list[str]:
        """Names of the entries a request was made to (for "no model reachable" advice)."""
        ...

    async def aclose(self) -> None: ...


class ChangeRefused(Exception):
    """A hook refuses a change before it is made (the checkpoint failed, so it could not be
    undone); the message goes back to the model as the call's result."""


class TurnHook:
    """Observes a turn. Every method is optional: this base does nothing, subclasses override what
    they need. The loop calls them in this order: ``begin_turn``, then ``on_event`` and
    ``on_message`` as they happen (``replace_conversation`` after compaction or ``/clear``),
    ``before_change`` before every tool call that may change files (after approval), ``end_turn``
    when the turn stops however it stops, and ``after_turn`` once the turn completed."""

    error: str | None = None
    """A problem to report as a warning after the turn (e.g. a failed end-of-turn snapshot)."""

    def begin_turn(self, turn: int) -> None:
        """A prompt starts; ``turn`` counts prompts in this session."""

    def on_event(self, event: Event) -> None:
        """Every event of the main conversation, before front ends see it."""

    def on_message(self, message: Message) -> None:
        """A message joined the main conversation."""

    def replace_conversation(self, messages: list[Message]) -> None:
        """From here on the main conversation is ``messages`` (compaction, ``/clear``)."""

    def before_change(self, tool: str, args: dict[str, Any]) -> None:
        """A tool that may change files is about to run; raise ChangeRefused to stop it."""

    def end_turn(self) -> None:
        """The turn stopped (completed, failed or interrupted)."""

    async def after_turn(self, prompt: str, stop_reason: str, emit: Emit) -> None:
        """The turn stopped; runs before ``TurnFinished`` (auto-commit writes its commit here)."""


class ToolSource(Protocol):
    """Tools that come from outside the process (MCP servers): attached to the toolset at the start of
    each turn, (re)started when the event loop changed."""

    async def attach(self, toolset: Toolset, emit: Emit | None = None) -> None: ...

    async def aclose(self) -> None: ...


class UndoOutcome(Protocol):
    restored: list[str]
    deleted: list[str]
    message: str
    """What was done, for people."""


class Checkpoints(Protocol):
    """The session's checkpoints (``agent.git.checkpoints.Checkpointer``), for ``Agent.undo``."""

    def undo(self) -> UndoOutcome:
        """Restore the working tree to before the latest checkpointed turn."""
        ...


class StepRunner(Protocol):
    """Runs model steps on a conversation until the model answers without calling a tool."""

    async def run_steps(self, conversation: Conversation, signals: StepSignals, emit: Emit, *,
                        fixed: RouteDecision | None = None, max_steps: int | None = None) -> str:
        """The final answer; raises a StopTurn subclass when the steps stop any other way."""
        ...
