"""A turn (one prompt) and the ways it stops.

A turn ends normally when the model answers without calling a tool. Every other ending is a
:class:`StopTurn` subclass raised wherever it is detected (the step limit, the cost cap, the
repetition detector, a cut-off reply, a failed model, an empty reply): one way to stop, caught in
one place, each turning into the event the user sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from agent.core.ports import Emit
from agent.core.routing import StepSignals
from agent.events import Error, Event, Notice
from agent.messages import ImagePart
from agent.providers.types import ProviderError


@dataclass
class Turn:
    """What the loop knows about the prompt it is running."""

    number: int
    prompt: str
    images: Sequence[ImagePart]
    signals: StepSignals
    emit: Emit


class StopTurn(Exception):
    """The turn stops before the model finished its answer. ``text`` is the last answer text."""

    reason: ClassVar[str] = "error"
    """TurnFinished's stop_reason."""

    def __init__(self, message: str, text: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.text = text

    def event(self) -> Event:
        """What the user is told."""
        return Notice(level="warning", text=self.message)


class MaxTurns(StopTurn):
    reason = "max_turns"


class MaxCost(StopTurn):
    reason = "max_cost"


class Repetition(StopTurn):
    reason = "repetition"


class CutOff(StopTurn):
    """The reply hit the output limit and was cut off."""

    reason = "length"


class EmptyReply(StopTurn):
    """The model answered with nothing twice: a failure, never a completed task."""


class ModelFailed(StopTurn):
    """A request failed for good (unreachable, refused, out of context...)."""

    def __init__(self, error: ProviderError, text: str = "") -> None:
        super().__init__(error.message, text)
        self.error = error

    def event(self) -> Event:
        return Error(kind=self.error.kind, message=self.error.message, retryable=self.error.retryable)
