"""The one event stream every front end reads (TUI, CLI stream-json, scripts).

Each event is a frozen pydantic model whose ``type`` field is the discriminator; the names are
public API. ``to_json_line``/``from_json_line`` give the ``--output-format stream-json`` lines.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TurnStarted(_Event):
    """A prompt started running (``turn`` counts prompts in this session)."""

    type: Literal["turn_started"] = "turn_started"
    turn: int
    route: str = ""
    prompt: str = ""


class RouteDecided(_Event):
    """The router chose the model entry and mode for the next model request, and says why."""

    type: Literal["route_decided"] = "route_decided"
    model: str
    endpoint: str
    mode: Literal["thinking", "fast"]
    reason: str
    est_tokens: int = 0


class ReasoningDelta(_Event):
    """A piece of the model's reasoning (thinking mode); never part of the answer."""

    type: Literal["reasoning_delta"] = "reasoning_delta"
    text: str


class TextDelta(_Event):
    """A piece of the model's answer text, as it streams."""

    type: Literal["text_delta"] = "text_delta"
    text: str


class ToolCallStarted(_Event):
    """The model called a tool; approval (if needed) and execution follow."""

    type: Literal["tool_call_started"] = "tool_call_started"
    id: str
    name: str
    args: dict[str, Any] = {}


class ToolOutputDelta(_Event):
    """Live output of a running tool (shell), for front ends; the model sees the capped result."""

    type: Literal["tool_output_delta"] = "tool_output_delta"
    id: str
    text: str


class ApprovalRequested(_Event):
    """A call waits for the approver; for display only, the approver callback decides."""

    type: Literal["approval_requested"] = "approval_requested"
    id: str
    name: str
    args: dict[str, Any] = {}
    preview: str = ""


class ToolCallFinished(_Event):
    """A tool call's result: ``output`` is what the model sees (before capping), ``diff`` for edits."""

    type: Literal["tool_call_finished"] = "tool_call_finished"
    id: str
    name: str = ""
    ok: bool
    output: str
    diff: str | None = None
    duration_s: float = 0.0
    data: dict[str, Any] = {}


class UsageReported(_Event):
    """Token counts and cost of one model request."""

    type: Literal["usage_reported"] = "usage_reported"
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hit_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0


class Notice(_Event):
    """Something the user should know that is not an error (fallbacks, retries, failed MCP servers...)."""

    type: Literal["notice"] = "notice"
    level: Literal["info", "warning", "error"] = "info"
    text: str


class UsageTotal(BaseModel):
    """Session totals carried by TurnFinished."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hit_tokens: int = 0
    cost_usd: float = 0.0
    saved_vs_remote_usd: float = 0.0


class TurnFinished(_Event):
    """The prompt is done: why it stopped, the final answer and the session's totals. Always last."""

    type: Literal["turn_finished"] = "turn_finished"
    stop_reason: Literal[
        "completed", "max_turns", "max_cost", "repetition", "interrupted", "error", "length"
    ]
    usage_total: UsageTotal = UsageTotal()
    text: str = ""


class Error(_Event):
    """A failure that ended the turn (model unreachable, retries exhausted, privacy refusal...)."""

    type: Literal["error"] = "error"
    kind: str
    message: str
    retryable: bool = False


Event = Annotated[
    Union[
        TurnStarted,
        RouteDecided,
        ReasoningDelta,
        TextDelta,
        ToolCallStarted,
        ToolOutputDelta,
        ApprovalRequested,
        ToolCallFinished,
        UsageReported,
        Notice,
        TurnFinished,
        Error,
    ],
    Field(discriminator="type"),
]

_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def to_json_line(event: _Event) -> str:
    """One stream-json line (no trailing newline)."""
    return event.model_dump_json()


def from_json_line(line: str) -> Event:
    """Parse a stream-json line back into its event class."""
    return _ADAPTER.validate_json(line)
