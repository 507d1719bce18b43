"""What recorded DeepSeek requests cost: prompt tokens, prefix-cache hits, output tokens.

Requests are rendered the way a chat template lays them out (system message, tool schemas as JSON, then
each message: role, reasoning_content, content, tool calls as JSON) and counted with the project's
tokenizer for the model family. Everything qagent put on the wire is counted, including replayed
reasoning_content that the server may ignore (so the figure errs high for whoever replays more).

Cache hits, within one session's requests to one server, under two rules (PROTOCOLS.md §1.8):
  v4   DeepSeek V4: a request hits only a whole persisted unit of an earlier request: the end of its
       input, the end of its output (the input plus the reply, as the next request of that
       conversation carries it), or a common prefix detected between two earlier requests.
       Units persisted at fixed intervals inside long inputs are not modelled (their size is unpublished).
  lcp  the pre-V4 rule: the longest common prefix with any earlier request, in whole 64-token units.
"""

from __future__ import annotations

import json
from typing import Any

from agent.context.tokens import count_tokens
from agent.messages import Usage

CACHE_UNIT = 64
RULES = ("v4", "lcp")


def render(body: dict[str, Any], upto: int | None = None) -> str:
    """The request (or its first ``upto`` messages) as a chat template lays it out."""
    parts: list[str] = []
    for index, message in enumerate(body["messages"][:upto]):
        parts.append(f"<|{message['role']}|>")
        parts.append(message.get("reasoning_content") or "")
        content = message.get("content") or ""
        parts.append(content if isinstance(content, str) else "".join(p.get("text", "") for p in content))
        parts += [json.dumps(c["function"], ensure_ascii=False) for c in message.get("tool_calls") or []]
        if index == 0 and body.get("tools"):
            parts.append(json.dumps(body["tools"], ensure_ascii=False))
    return "\n".join(parts)


def common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix (binary search on C-level slice compares)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _extends(later: dict[str, Any], earlier: dict[str, Any]) -> bool:
    n = len(earlier["messages"])
    return (later.get("tools") == earlier.get("tools") and len(later["messages"]) > n
            and later["messages"][:n] == earlier["messages"] and later["messages"][n]["role"] == "assistant")


def reply_tokens(reply: dict[str, Any], family: str) -> int:
    """Output tokens of a scripted reply: reasoning, text and tool-call arguments."""
    said = reply.get("reasoning", "") + reply.get("text", "")
    said += "".join(json.dumps(call, ensure_ascii=False) for call in reply.get("tool_calls", []))
    return count_tokens(said, family)


def session_usage(bodies: list[dict[str, Any]], replies: list[dict[str, Any]], family: str
                  ) -> dict[str, Usage]:
    """Usage of one session's requests to one server, under each cache rule."""
    totals = {rule: Usage() for rule in RULES}
    texts: list[str] = []
    units: list[str] = []  # v4: persisted prefixes so far
    for j, (body, reply) in enumerate(zip(bodies, replies, strict=True)):
        text = render(body)
        units += [render(body, len(bodies[k]["messages"]) + 1) for k in range(j) if _extends(body, bodies[k])]
        v4 = max((len(unit) for unit in units if text.startswith(unit)), default=0)
        lcp = max((common_prefix(text, earlier) for earlier in texts), default=0)
        cut = sorted({v4, lcp})
        pieces = [count_tokens(text[a:b], family) for a, b in zip([0, *cut], [*cut, len(text)], strict=True)]
        prompt, output = sum(pieces), reply_tokens(reply, family)
        hits = {"v4": sum(pieces[: cut.index(v4) + 1]),
                "lcp": sum(pieces[: cut.index(lcp) + 1]) // CACHE_UNIT * CACHE_UNIT}
        for rule in RULES:
            totals[rule] += Usage(prompt_tokens=prompt, completion_tokens=output, cache_hit_tokens=hits[rule],
                                  cache_miss_tokens=prompt - hits[rule])
        units += [text] + [text[:common_prefix(text, earlier)] for earlier in texts]
        texts.append(text)
    return totals
