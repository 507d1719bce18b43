"""Script entries and how each server dialect turns them into SSE chunks.

The dialects differ exactly as PROTOCOLS.md documents: the reasoning field name, the usage
fields (DeepSeek's cache hit/miss split), whether tool calls arrive in fragments or whole, where
usage rides, where ``finish_reason`` arrives, and llama.cpp's first delta carrying ``{``.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DialectName = Literal["deepseek", "ollama", "vllm", "llamacpp", "sglang", "openai"]
DIALECTS: tuple[str, ...] = ("deepseek", "ollama", "vllm", "llamacpp", "sglang", "openai")

REASONING_FIELD: dict[str, str | None] = {
    "deepseek": "reasoning_content",
    "sglang": "reasoning_content",
    "llamacpp": "reasoning_content",
    "vllm": "reasoning",
    "ollama": "reasoning",
    "openai": None,
}


class ScriptedCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    arguments: dict[str, Any] | str = {}
    """A dict is sent as JSON; a string is sent verbatim (to script malformed calls)."""
    id: str | None = None


class Reply(BaseModel):
    """One scripted model reply."""

    model_config = ConfigDict(extra="forbid")

    reasoning: str = ""
    text: str = ""
    tool_calls: list[ScriptedCall] = []
    usage: dict[str, int] | None = None
    """prompt_tokens, completion_tokens, cache_hit_tokens, reasoning_tokens (dialect decides fields)."""
    finish_reason: str | None = None
    latency: float = 0.0
    """Seconds before the first byte (for benchmarks)."""
    chunk_delay: float = 0.0
    """Seconds between chunks (a slow drip)."""
    chunk_chars: int = Field(9, ge=1)
    """Text is cut into pieces of about this many characters."""
    think_tags: bool = False
    """Send reasoning inside the content as <think>…</think>, like a server with no reasoning parser."""
    keepalive: int = 0
    """`: keep-alive` comments sent before the first chunk."""
    no_done: bool = False
    """Never send [DONE]; keep the connection open with keep-alive comments (DeepSeek seen in the wild)."""
    after_done: str = ""
    """Garbage sent after [DONE]."""
    arguments_object: bool = False
    """Send tool-call arguments as a JSON object (llama.cpp #20198)."""
    same_index: bool = False
    """Every tool call gets index 0 (Ollama #15457)."""


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fault: Literal["http", "reset_midstream", "stall", "close"]
    status: int = 500
    retry_after: float | None = None
    message: str | None = None
    seconds: float = 30.0
    keepalive: bool = False
    """During a stall, send keep-alive comments (which are not progress)."""
    after_chunks: int = 2
    reply: Reply | None = None
    """For reset_midstream: the reply whose first chunks are sent before the reset."""


def parse_entry(raw: dict[str, Any]) -> Reply | Fault:
    return Fault.model_validate(raw) if "fault" in raw else Reply.model_validate(raw)


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _arguments_text(call: ScriptedCall) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)


def estimate_prompt_tokens(body: dict[str, Any]) -> int:
    return max(1, len(json.dumps(body.get("messages", []))) // 4)


def usage_payload(dialect: str, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    given = reply.usage or {}
    prompt = given.get("prompt_tokens", estimate_prompt_tokens(body))
    completion = given.get(
        "completion_tokens",
        max(1, (len(reply.text) + len(reply.reasoning) + sum(len(_arguments_text(c)) for c in reply.tool_calls)) // 4),
    )
    hit = min(given.get("cache_hit_tokens", 0), prompt)
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                             "total_tokens": prompt + completion}
    reasoning_tokens = given.get("reasoning_tokens", len(reply.reasoning) // 4)
    if dialect == "deepseek":
        usage["prompt_cache_hit_tokens"] = hit
        usage["prompt_cache_miss_tokens"] = prompt - hit
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    elif dialect in ("vllm", "llamacpp", "sglang", "openai"):
        usage["prompt_tokens_details"] = {"cached_tokens": hit}
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    return usage


class ChunkBuilder:
    """Builds the chunk dicts of one streamed reply for a dialect."""

    def __init__(self, dialect: str, model: str, reply: Reply, body: dict[str, Any]) -> None:
        self.dialect = dialect
        self.model = model
        self.reply = reply
        self.body = body
        self.id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        self.created = int(time.time())

    def _chunk(self, delta: dict[str, Any] | None, finish: str | None = None,
               usage: dict[str, Any] | None = None, no_choices: bool = False) -> dict[str, Any]:
        chunk: dict[str, Any] = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                                 "model": self.model}
        if no_choices:
            chunk["choices"] = None if self.dialect == "vllm" else []
        else:
            chunk["choices"] = [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}]
        if usage is not None:
            chunk["usage"] = usage
        return chunk

    def finish_reason(self) -> str:
        if self.reply.finish_reason:
            return self.reply.finish_reason
        return "tool_calls" if self.reply.tool_calls else "stop"

    def chunks(self) -> list[dict[str, Any]]:
        reply, dialect = self.reply, self.dialect
        first: dict[str, Any] = {"role": "assistant", "content": ""}
        if dialect == "deepseek":
            first["reasoning_content"] = ""
        out = [self._chunk(first)]
        field = REASONING_FIELD[dialect]
        if reply.reasoning and reply.think_tags:
            out += [self._chunk({"content": p}) for p in _pieces(f"<think>{reply.reasoning}</think>",
                                                                   reply.chunk_chars)]
        elif reply.reasoning and field:
            out += [self._chunk({field: p}) for p in _pieces(reply.reasoning, reply.chunk_chars)]
        out += [self._chunk({"content": p}) for p in _pieces(reply.text, reply.chunk_chars)]
        out += self._tool_call_chunks()
        usage = usage_payload(dialect, reply, self.body)
        wants_usage = bool((self.body.get("stream_options") or {}).get("include_usage"))
        if dialect == "deepseek":
            out.append(self._chunk({"content": ""}, self.finish_reason(), usage=usage))
        else:
            out.append(self._chunk({}, self.finish_reason()))
            if wants_usage:
                out.append(self._chunk(None, usage=usage, no_choices=True))
        return out

    def _tool_call_chunks(self) -> list[dict[str, Any]]:
        chunks = []
        for position, call in enumerate(self.reply.tool_calls):
            index = 0 if self.reply.same_index else position
            call_id = call.id or f"call_{uuid.uuid4().hex[:8]}"
            args = _arguments_text(call)
            if self.dialect == "ollama" or self.reply.arguments_object:
                arguments: Any = args
                if self.reply.arguments_object and not isinstance(call.arguments, str):
                    arguments = call.arguments
                chunks.append(self._chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                                           "function": {"name": call.name,
                                                                        "arguments": arguments}}]}))
                continue
            head = ""
            if self.dialect == "llamacpp":
                head, args = args[:1], args[1:]  # first delta carries name + id + "{" (llama.cpp #22722)
            chunks.append(self._chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                                       "function": {"name": call.name, "arguments": head}}]}))
            for piece in _pieces(args, self.reply.chunk_chars):
                chunks.append(self._chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        return chunks

    def message(self) -> dict[str, Any]:
        """The non-streaming response body."""
        reply = self.reply
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        field = REASONING_FIELD[self.dialect]
        if reply.reasoning and reply.think_tags:
            message["content"] = f"<think>{reply.reasoning}</think>{reply.text}"
        elif reply.reasoning and field:
            message[field] = reply.reasoning
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": c.id or f"call_{uuid.uuid4().hex[:8]}", "type": "function",
                 "function": {"name": c.name, "arguments": _arguments_text(c)}}
                for c in reply.tool_calls
            ]
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason()}],
                "usage": usage_payload(self.dialect, reply, self.body)}
