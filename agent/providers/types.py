"""What every provider hands the loop: one finished :class:`Completion`, or a :class:`ProviderError`.

Kept apart from the HTTP client so the loop, the doctor and the in-process scripted provider of
``agent.testing`` can speak the same types without importing ``openai``.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.messages import Message, Usage


class ProviderError(Exception):
    """A request that failed for good; ``kind`` lets the loop and router react."""

    def __init__(self, kind: str, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class Completion:
    """One model reply, assembled from the stream."""

    message: Message
    usage: Usage
    finish_reason: str

    @property
    def truncated(self) -> bool:
        """The reply stopped at the output limit (its tool calls may be cut off)."""
        return self.finish_reason == "length"
