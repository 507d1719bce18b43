"""Conversation types that cross the loop/provider boundary.

Provider-neutral: reasoning is stored with the model that produced it (``reasoning_model``)
so a dialect never replays another provider's reasoning into its own fields (PROTOCOLS.md §1.6).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class ToolCall(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: str
    """Raw JSON text as the model wrote it (always replayed as a string)."""

    def parsed_arguments(self) -> dict[str, Any]:
        """Arguments as a dict; raises ValueError with a readable message when not a JSON object."""
        try:
            value = json.loads(self.arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ValueError(f"arguments are not valid JSON ({exc.msg} at char {exc.pos})") from None
        if not isinstance(value, dict):
            raise ValueError(f"arguments must be a JSON object, got {type(value).__name__}")
        return value


class ImagePart(BaseModel):
    model_config = ConfigDict(frozen=True)

    media_type: str = "image/png"
    data_b64: str


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    reasoning: str | None = None
    reasoning_model: str | None = None
    """Model entry name whose reasoning this is; only that dialect family gets it back."""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    images: tuple[ImagePart, ...] = ()


class Usage(BaseModel):
    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hit_tokens: int = 0
    cache_miss_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{k: getattr(self, k) + getattr(other, k) for k in Usage.model_fields})
