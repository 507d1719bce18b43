"""An in-process scripted provider: the loop's tests without sockets.

Reads the same script entries as :class:`agent.testing.ScriptedServer` and implements the core's
``ProviderPool`` port, so a test can run the real loop, tools and hooks with
``Agent(providers=ScriptedPool({"local": [...]}))``. Wire behaviour (dialects, streaming faults,
retries) is not modelled here: test that through the scripted server over real HTTP.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.core.routing import StepMode
from agent.events import ReasoningDelta, TextDelta
from agent.messages import Message, ToolCall, Usage
from agent.providers.types import Completion, ProviderError
from agent.testing.script import Fault, Reply, parse_entry

_KINDS = {401: "auth", 402: "balance", 404: "model_not_found", 429: "retries_exhausted"}


@dataclass
class Request:
    """What the loop sent: the messages, the tool schemas and the mode."""

    messages: list[Message]
    tools: list[dict[str, Any]]
    mode: StepMode


@dataclass
class ScriptedProvider:
    name: str
    script: list[Reply | Fault]
    requests: list[Request] = field(default_factory=list)

    async def stream(self, messages: list[Message], tools: list[dict[str, Any]], mode: StepMode
                     ) -> AsyncIterator[ReasoningDelta | TextDelta | Completion]:
        self.requests.append(Request(list(messages), list(tools), mode))
        if not self.script:
            raise ProviderError("bad_response", f"{self.name}: the script has no reply for request "
                                f"{len(self.requests)}")
        entry = self.script.pop(0)
        if isinstance(entry, Fault):
            raise _error(self.name, entry)
        if entry.reasoning:
            yield ReasoningDelta(text=entry.reasoning)
        if entry.text:
            yield TextDelta(text=entry.text)
        yield _completion(self.name, entry, len(self.requests))

    async def aclose(self) -> None:
        return None


class ScriptedPool:
    """One scripted provider per model entry name (implements core.ports.ProviderPool)."""

    def __init__(self, scripts: Mapping[str, Sequence[dict[str, Any]]]) -> None:
        self.providers = {name: ScriptedProvider(name, [parse_entry(e) for e in entries])
                          for name, entries in scripts.items()}
        self._contacted: list[str] = []

    def get(self, name: str) -> ScriptedProvider:
        if name not in self.providers:
            raise ProviderError("model_not_found", f"no script for model {name!r}")
        if name not in self._contacted:
            self._contacted.append(name)
        return self.providers[name]

    def contacted(self) -> list[str]:
        return list(self._contacted)

    async def aclose(self) -> None:
        return None


def _error(name: str, fault: Fault) -> ProviderError:
    message = fault.message or f"{name}: scripted {fault.fault} fault"
    if fault.fault == "http":
        if fault.status == 400 and "context" in message.lower():
            return ProviderError("context_length", message, status=400)
        return ProviderError(_KINDS.get(fault.status, "unreachable"), message, status=fault.status)
    return ProviderError("unreachable", message)


def _completion(name: str, reply: Reply, number: int) -> Completion:
    calls = tuple(ToolCall(id=call.id or f"call-{number}-{index}", name=call.name,
                           arguments=call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments))
                  for index, call in enumerate(reply.tool_calls))
    given = reply.usage or {}
    usage = Usage(prompt_tokens=given.get("prompt_tokens", 0), completion_tokens=given.get("completion_tokens", 0),
                  cache_hit_tokens=given.get("cache_hit_tokens", 0), reasoning_tokens=given.get("reasoning_tokens", 0))
    message = Message(role="assistant", content=reply.text, reasoning=reply.reasoning or None,
                      reasoning_model=name if reply.reasoning else None, tool_calls=calls)
    finish = reply.finish_reason or ("tool_calls" if calls else "stop")
    return Completion(message=message, usage=usage, finish_reason=finish)
