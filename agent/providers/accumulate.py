"""Assemble a streamed reply: tool-call fragments, `<think>` text, calls left in the text.

The accumulator follows PROTOCOLS.md §3.3: calls keyed by index, a new id at a used index is a
new call (Ollama #15457), name/id taken from the first non-empty value, dict arguments accepted
(llama.cpp #20198), the first fragment never dropped (llama.cpp #22722).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from agent.messages import ToolCall
from agent.providers.dialects import coerce_parameter


@dataclass
class _Slot:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class ToolCallAccumulator:
    slots: list[_Slot] = field(default_factory=list)
    _by_index: dict[int, int] = field(default_factory=dict)

    def add(self, delta_call: Any) -> None:
        index = getattr(delta_call, "index", None)
        call_id = getattr(delta_call, "id", None) or ""
        fn = getattr(delta_call, "function", None)
        name = getattr(fn, "name", None) or ""
        arguments = getattr(fn, "arguments", None)
        slot = self._slot_for(index, call_id)
        if call_id and not slot.id:
            slot.id = call_id
        if name and not slot.name:
            slot.name = name
        if isinstance(arguments, dict):
            slot.arguments = json.dumps(arguments)
        elif isinstance(arguments, str):
            slot.arguments += arguments

    def _slot_for(self, index: int | None, call_id: str) -> _Slot:
        if index is None:
            if call_id or not self.slots:
                self.slots.append(_Slot())
            return self.slots[-1]
        position = self._by_index.get(index)
        if position is not None:
            existing = self.slots[position]
            if not (call_id and existing.id and call_id != existing.id):
                return existing
        self.slots.append(_Slot())
        self._by_index[index] = len(self.slots) - 1
        return self.slots[-1]

    def calls(self) -> list[ToolCall]:
        """Finished calls; ids are synthesised where the server sent none (§3.3 rule 5)."""
        result: list[ToolCall] = []
        for slot in self.slots:
            if not slot.name and not slot.arguments:
                continue
            for part, arguments in enumerate(_split_concatenated(slot.arguments)):
                call_id = slot.id if slot.id and part == 0 else f"call_{uuid.uuid4().hex[:8]}"
                result.append(ToolCall(id=call_id, name=slot.name, arguments=_repair(arguments)))
        return result


def _repair(arguments: str) -> str:
    """Trailing garbage after a complete object is dropped; anything else is left for the loop to reject."""
    text = arguments.strip() or "{}"
    try:
        json.loads(text)
        return text
    except json.JSONDecodeError:
        pass
    try:
        value, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError:
        return arguments
    return json.dumps(value) if isinstance(value, dict) else arguments


def _split_concatenated(arguments: str) -> list[str]:
    """``{"a":1}{"b":2}`` (two calls merged at one index) → two argument strings."""
    text = arguments.strip()
    if "}{" not in text:
        return [arguments]
    decoder, parts, pos = json.JSONDecoder(), [], 0
    try:
        while pos < len(text):
            value, end = decoder.raw_decode(text, pos)
            if not isinstance(value, dict):
                return [arguments]
            parts.append(json.dumps(value))
            pos = end
            while pos < len(text) and text[pos].isspace():
                pos += 1
    except json.JSONDecodeError:
        return [arguments]
    return parts or [arguments]


class ThinkSplitter:
    """Splits content that carries reasoning inside ``<think>…</think>`` (servers with no parser).

    Streaming-safe: a tag cut between two chunks is held back until it can be decided. An
    unclosed ``<think>`` at the end is reasoning, never answer text. ``<tool_call>`` inside the
    thinking block ends it (a Qwen 3.5 habit).
    """

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self.state = "start"
        self.buffer = ""

    def feed(self, text: str) -> list[tuple[str, str]]:
        """Returns (kind, text) pieces, kind in {"reasoning", "text"}."""
        self.buffer += text
        out: list[tuple[str, str]] = []
        while self.buffer:
            if self.state == "start":
                stripped = self.buffer.lstrip()
                if stripped.startswith(self.OPEN):
                    self.buffer = stripped[len(self.OPEN):]
                    self.state = "think"
                elif self.OPEN.startswith(stripped):
                    break
                else:
                    self.state = "text"
            elif self.state == "think":
                end = _first(self.buffer, (self.CLOSE, "<tool_call>"))
                if end is None:
                    keep = _partial_suffix(self.buffer, (self.CLOSE, "<tool_call>"))
                    emit, self.buffer = self.buffer[: len(self.buffer) - keep], self.buffer[len(self.buffer) - keep:]
                    if emit:
                        out.append(("reasoning", emit))
                    break
                pos, tag = end
                if pos:
                    out.append(("reasoning", self.buffer[:pos]))
                self.buffer = self.buffer[pos + len(tag):] if tag == self.CLOSE else self.buffer[pos:]
                self.buffer = self.buffer.lstrip("\n") if tag == self.CLOSE else self.buffer
                self.state = "text"
            else:
                out.append(("text", self.buffer))
                self.buffer = ""
        return out

    def flush(self) -> list[tuple[str, str]]:
        if not self.buffer:
            return []
        kind = "reasoning" if self.state == "think" else "text"
        piece, self.buffer = self.buffer, ""
        return [(kind, piece)]


def _first(text: str, tags: tuple[str, ...]) -> tuple[int, str] | None:
    hits = [(text.find(t), t) for t in tags if t in text]
    return min(hits) if hits else None


def _partial_suffix(text: str, tags: tuple[str, ...]) -> int:
    """Length of the longest suffix of text that is a proper prefix of a tag."""
    best = 0
    for tag in tags:
        for size in range(1, len(tag)):
            if text.endswith(tag[:size]):
                best = max(best, size)
    return best


_QWEN_XML = re.compile(r"(?:<tool_call>\s*)?<function=([\w.\-]+)>(.*?)</function>(?:\s*</tool_call>)?", re.S)
_QWEN_PARAM = re.compile(r"<parameter=([\w.\-]+)>\n?(.*?)\n?</parameter>", re.S)
_HERMES = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)
_FENCED = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.S)


def recover_text_tool_calls(text: str, types: dict[str, dict[str, str]]) -> tuple[str, list[ToolCall], list[str]]:
    """Tool calls a local server left in the text (its parser failed), for known tools only.

    Returns (remaining text, calls, formats found). Qwen XML (with or without the
    ``<tool_call>`` wrapper), Hermes JSON in ``<tool_call>``, or a fenced JSON object with
    "name" and "arguments".
    """
    calls: list[ToolCall] = []
    formats: list[str] = []

    def qwen(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in types:
            return match.group(0)
        params = {k: coerce_parameter(v, types[name].get(k, "string")) for k, v in _QWEN_PARAM.findall(match.group(2))}
        calls.append(ToolCall(id=f"call_{uuid.uuid4().hex[:8]}", name=name, arguments=json.dumps(params)))
        formats.append("Qwen XML")
        return ""

    def json_call(label: str) -> Any:
        def replace(match: re.Match[str]) -> str:
            try:
                value = json.loads(match.group(1))
            except json.JSONDecodeError:
                return match.group(0)
            name = value.get("name") if isinstance(value, dict) else None
            args = value.get("arguments", value.get("parameters", {})) if isinstance(value, dict) else None
            if name not in types or not isinstance(args, (dict, str)):
                return match.group(0)
            arguments = args if isinstance(args, str) else json.dumps(args)
            calls.append(ToolCall(id=f"call_{uuid.uuid4().hex[:8]}", name=name, arguments=arguments))
            formats.append(label)
            return ""
        return replace

    remaining = _QWEN_XML.sub(qwen, text)
    remaining = _HERMES.sub(json_call("Hermes JSON"), remaining)
    if not calls:
        remaining = _FENCED.sub(json_call("fenced JSON"), remaining)
    return remaining.strip() if calls else text, calls, formats
