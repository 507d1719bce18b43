"""Claude Code stream-json message shapes, as a validator for the claude-stream-json tests.

Required fields follow the Agent SDK's message types (SDKSystemMessage init, SDKAssistantMessage,
SDKUserMessage, SDKResultMessage) and what the Python SDK's parser indexes without a default
(``message.model``, a thinking block's ``signature``, the result's ``duration_api_ms``...).
Extra fields are allowed, as they are for Claude Code's own consumers.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, TypeAdapter


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Init(_Open):
    type: Literal["system"]
    subtype: Literal["init"]
    session_id: str
    uuid: str
    cwd: str
    model: str
    tools: list[str]
    mcp_servers: list[dict[str, str]]
    permissionMode: Literal["default", "acceptEdits", "bypassPermissions", "plan"]
    apiKeySource: str
    slash_commands: list[str]
    output_style: str


class OtherSystem(_Open):
    type: Literal["system"]
    subtype: str
    session_id: str
    uuid: str


class TextBlock(_Open):
    type: Literal["text"]
    text: str


class ThinkingBlock(_Open):
    type: Literal["thinking"]
    thinking: str
    signature: str


class ToolUseBlock(_Open):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(_Open):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[dict[str, Any]]
    is_error: StrictBool


class Usage(_Open):
    input_tokens: StrictInt
    output_tokens: StrictInt
    cache_creation_input_tokens: StrictInt
    cache_read_input_tokens: StrictInt


class AssistantBody(_Open):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[Annotated[TextBlock | ThinkingBlock | ToolUseBlock, Field(discriminator="type")]]
    stop_reason: str | None
    usage: Usage


class Assistant(_Open):
    type: Literal["assistant"]
    message: AssistantBody
    parent_tool_use_id: None
    session_id: str
    uuid: str


class UserBody(_Open):
    role: Literal["user"]
    content: list[ToolResultBlock]


class User(_Open):
    type: Literal["user"]
    message: UserBody
    parent_tool_use_id: None
    session_id: str
    uuid: str


class PermissionDenial(BaseModel):
    tool_name: str
    tool_use_id: str
    tool_input: dict[str, Any]


class ResultLine(_Open):
    type: Literal["result"]
    subtype: Literal["success", "error_during_execution", "error_max_turns", "error_max_budget_usd"]
    is_error: StrictBool
    duration_ms: StrictInt
    duration_api_ms: StrictInt
    num_turns: StrictInt
    session_id: str
    uuid: str
    result: str
    stop_reason: str | None
    total_cost_usd: float
    usage: Usage
    modelUsage: dict[str, dict[str, Any]]
    permission_denials: list[PermissionDenial]
    errors: list[str] | None = None


_ANY: TypeAdapter[Any] = TypeAdapter(Init | Assistant | User | ResultLine | OtherSystem)


def parse_stream(stdout: str) -> list[BaseModel]:
    """Every stdout line as a validated message, plus the stream-level rules Claude harnesses rely on."""
    lines = stdout.splitlines()
    assert lines, "no output"
    messages = [_ANY.validate_python(json.loads(line)) for line in lines]
    assert isinstance(messages[0], Init), "the first line must be system/init"
    assert isinstance(messages[-1], ResultLine), "the last line must be the result"
    assert sum(isinstance(m, ResultLine) for m in messages) == 1
    assert len({m.session_id for m in messages}) == 1, "one session_id throughout"
    assert len({m.uuid for m in messages}) == len(messages), "uuids are unique"
    seen_tool_uses: set[str] = set()
    for message in messages:
        if isinstance(message, Assistant):
            assert len(message.message.content) == 1, "one content block per assistant line"
            seen_tool_uses.update(b.id for b in message.message.content if isinstance(b, ToolUseBlock))
        if isinstance(message, User):
            for block in message.message.content:
                assert block.tool_use_id in seen_tool_uses, "a tool_result follows its tool_use"
    result = messages[-1]
    assert result.is_error == (result.subtype != "success")
    assert result.is_error == (result.errors is not None)
    return messages
