"""Per-server quirks: the thinking switch, sampling, reasoning replay, usage fields.

Everything here is a fact from PROTOCOLS.md; the provider stays generic.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from agent.config import ModelEntry
from agent.messages import Message, Usage

StepMode = Literal["thinking", "fast"]

# Qwen 3.5 model card sampling (PROTOCOLS.md §2.1): precise-coding thinking profile, instruct profile.
QWEN_SAMPLING: dict[str, dict[str, float]] = {
    "thinking": {"temperature": 0.6, "top_p": 0.95, "top_k": 20, "min_p": 0.0, "presence_penalty": 0.0},
    "fast": {"temperature": 0.7, "top_p": 0.8, "top_k": 20, "min_p": 0.0, "presence_penalty": 1.5},
}
LOCAL_DIALECTS = ("vllm", "sglang", "llamacpp", "ollama")


def request_params(entry: ModelEntry, mode: StepMode) -> dict[str, Any]:
    """Keyword arguments for ``chat.completions.create`` that switch thinking the dialect's way."""
    thinking = mode == "thinking"
    if entry.dialect == "deepseek":
        params: dict[str, Any] = {"extra_body": {"thinking": {"type": "enabled" if thinking else "disabled"}}}
        if thinking:
            params["reasoning_effort"] = entry.reasoning_effort
        return params
    if entry.dialect in ("vllm", "sglang", "llamacpp"):
        sampling = dict(QWEN_SAMPLING[mode])
        extra = {"chat_template_kwargs": {"enable_thinking": thinking},
                 "top_k": int(sampling.pop("top_k")), "min_p": sampling.pop("min_p")}
        return {**sampling, "extra_body": extra}
    if entry.dialect == "ollama":
        # /v1 ignores top_k/min_p and overrides an omitted temperature/top_p with 1.0 (openai.go).
        sampling = {k: v for k, v in QWEN_SAMPLING[mode].items() if k in ("temperature", "top_p",
                                                                           "presence_penalty")}
        return {**sampling, "reasoning_effort": "high" if thinking else "none"}
    return {}


def reasoning_of(delta: Any) -> str | None:
    """Reasoning text of a delta/message: ``reasoning_content`` → ``reasoning`` → ``thinking``."""
    for name in ("reasoning_content", "reasoning", "thinking"):
        value = getattr(delta, name, None)
        if value is None and getattr(delta, "model_extra", None):
            value = delta.model_extra.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def message_to_wire(message: Message, dialect: str) -> dict[str, Any]:
    """One message in OpenAI wire format for this dialect.

    DeepSeek rule (§1.6): every assistant message with tool calls carries ``reasoning_content``,
    ``""`` when we have none of DeepSeek's own. Reasoning from another dialect is never forwarded,
    and local Qwen servers get no reasoning back (their template drops it anyway).
    """
    wire: dict[str, Any] = {"role": message.role}
    if message.images and message.role == "user":
        parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
        parts += [{"type": "image_url", "image_url": {"url": f"data:{img.media_type};base64,{img.data_b64}"}}
                  for img in message.images]
        wire["content"] = parts
    else:
        wire["content"] = message.content
    if message.role == "assistant":
        if message.tool_calls:
            wire["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in message.tool_calls
            ]
        if dialect == "deepseek":
            own = message.reasoning if message.reasoning_model == "deepseek" else None
            if message.tool_calls or own:
                wire["reasoning_content"] = own or ""
    if message.role == "tool":
        wire["tool_call_id"] = message.tool_call_id
    return wire


def usage_from(raw: Any) -> Usage:
    """Usage from any dialect's usage object (DeepSeek cache split, OpenAI cached_tokens)."""
    if raw is None:
        return Usage()
    data = raw if isinstance(raw, dict) else raw.model_dump()
    prompt = int(data.get("prompt_tokens") or 0)
    hit = data.get("prompt_cache_hit_tokens")
    if hit is None:
        hit = (data.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    miss = data.get("prompt_cache_miss_tokens")
    miss = prompt - int(hit) if miss is None else int(miss)
    reasoning = (data.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return Usage(prompt_tokens=prompt, completion_tokens=int(data.get("completion_tokens") or 0),
                 cache_hit_tokens=int(hit), cache_miss_tokens=max(0, miss), reasoning_tokens=int(reasoning))


def schema_types(tools: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """tool name → {parameter: JSON type}, to coerce parameters recovered from Qwen XML text."""
    found: dict[str, dict[str, str]] = {}
    for spec in tools:
        fn = spec.get("function", {})
        props = (fn.get("parameters") or {}).get("properties", {})
        found[fn.get("name", "")] = {k: str(v.get("type", "string")) for k, v in props.items()}
    return found


def coerce_parameter(value: str, json_type: str) -> Any:
    if json_type == "string":
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value
