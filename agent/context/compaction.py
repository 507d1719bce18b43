"""Compaction: when the conversation nears the window, summarise older turns and keep going.

Pinned, never summarised away: system messages (instructions), the current user request verbatim,
the plan (latest ``todo_write``) and the list of files touched so far. The most recent messages stay
as they are (tool-call/result pairs are never split, so the provider accepts the history). The
summariser is a callback (the loop passes the local model when it can: free and private); if it
fails, a mechanical digest is used instead, so compaction never loops or stalls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import prompts
from agent.messages import Message

CountTokens = Callable[[str], int]
Summarise = Callable[[str], Awaitable[str]]

EDIT_TOOLS = ("write_file", "edit_file", "apply_patch")
_MESSAGE_OVERHEAD = 4
_IMAGE_TOKENS = 1000
_TRANSCRIPT_TOOL_CHARS = 1500
_SUMMARY_MARK = "[Summary of "
_FILES_PREFIX = "Files touched so far: "
_PLAN_PREFIX = "Current plan (latest todo_write):\n"
_FILES_LINE = re.compile("^" + re.escape(_FILES_PREFIX) + "(.*)$", re.M)
_PLAN_BLOCK = re.compile(re.escape(_PLAN_PREFIX) + r"([\s\S]*)\Z")
_PATCH_PATH = re.compile(r"^(?:\+\+\+ b/|\*\*\* (?:Add|Update|Delete) File: |\*\*\* Move to: )(\S+)", re.M)


@dataclass(frozen=True)
class Pinned:
    """What the loop knows better than the transcript (e.g. ``ToolSession.changed_files``)."""

    touched_files: Sequence[str] = ()
    plan: str | None = None


@dataclass(frozen=True)
class CompactionResult:
    messages: list[Message]
    freed_tokens: int
    dropped: list[str]
    """One line per message folded into the summary (what the Notice lists)."""
    notice: str
    tokens_before: int = 0
    tokens_after: int = 0
    summary: str = ""
    fallback: bool = False
    """True when the summariser failed and a mechanical digest was used."""


def message_tokens(message: Message, count_tokens: CountTokens) -> int:
    total = _MESSAGE_OVERHEAD + count_tokens(message.content) + count_tokens(message.reasoning or "")
    for call in message.tool_calls:
        total += count_tokens(call.name) + count_tokens(call.arguments)
    return total + _IMAGE_TOKENS * len(message.images)


def conversation_tokens(messages: Iterable[Message], count_tokens: CountTokens) -> int:
    return sum(message_tokens(m, count_tokens) for m in messages)


def should_compact(
    messages: Sequence[Message], window: int, count_tokens: CountTokens, threshold: float = 0.8
) -> bool:
    """True when the conversation uses at least ``threshold`` of the window."""
    return conversation_tokens(messages, count_tokens) >= threshold * window


async def compact(
    messages: list[Message],
    *,
    window: int,
    count_tokens: CountTokens,
    summarise: Summarise,
    keep_recent: int = 6,
    pinned: Pinned | None = None,
    target: float = 0.5,
) -> CompactionResult:
    """Fold older messages into one summary so the result fits in ``target`` × ``window``."""
    pinned = pinned or Pinned()
    before = conversation_tokens(messages, count_tokens)
    system = [m for m in messages if m.role == "system"]
    body = [m for m in messages if m.role != "system"]
    request_index = max((i for i, m in enumerate(body) if m.role == "user"), default=None)
    budget = int(window * target) - conversation_tokens(system, count_tokens)
    start = _tail_start(body, keep_recent, budget * 0.6, count_tokens)
    older, tail = body[:start], body[start:]
    request = body[request_index] if request_index is not None and request_index < start else None
    folded = [m for m in older if m is not request]
    carried_files, carried_plan = _carried(body)
    plan = pinned.plan if pinned.plan is not None else _latest_plan(body, start, carried_plan)
    touched = _touched_files(messages, [*carried_files, *pinned.touched_files])
    summary, fallback = "", False
    if folded:
        summary, fallback = await _summarise(folded, request, window, count_tokens, summarise)
    pinned_text = _pinned_block(touched, plan)
    head = [Message(role="user", content=_summary_text(len(folded), summary, pinned_text))] if folded else []
    kept = system + head + ([request] if request is not None else [])
    tail = _shrink_tool_results(tail, budget - conversation_tokens(kept, count_tokens), count_tokens)
    result = kept + tail
    after = conversation_tokens(result, count_tokens)
    dropped = [_describe(m, count_tokens) for m in folded]
    return CompactionResult(
        result,
        max(before - after, 0),
        dropped,
        _notice(before, after, dropped, fallback),
        before,
        after,
        summary,
        fallback,
    )


def _tail_start(body: list[Message], keep_recent: int, budget: float, count_tokens: CountTokens) -> int:
    """Where the verbatim tail begins: at most ``keep_recent`` messages and within ``budget``,
    never starting on a tool result (its assistant call must come with it)."""
    start = _align(body, max(len(body) - keep_recent, 0))
    while start < len(body) - 1 and conversation_tokens(body[start:], count_tokens) > budget:
        nxt = _align_forward(body, start + 1)
        if nxt >= len(body):
            break
        start = nxt
    return start


def _align(body: list[Message], start: int) -> int:
    while 0 < start < len(body) and body[start].role == "tool":
        start -= 1
    return start


def _align_forward(body: list[Message], start: int) -> int:
    while start < len(body) and body[start].role == "tool":
        start += 1
    return start


def _carried(body: list[Message]) -> tuple[list[str], str | None]:
    """Touched files and plan pinned by an earlier compaction (its summary is folded again now)."""
    files: list[str] = []
    plan = None
    for message in body:
        if message.role != "user" or not message.content.startswith(_SUMMARY_MARK):
            continue
        if found := _FILES_LINE.search(message.content):
            files.extend(found.group(1).split(", "))
        if found := _PLAN_BLOCK.search(message.content):
            plan = found.group(1)
    return files, plan


def _latest_plan(body: list[Message], tail_start: int, carried: str | None) -> str | None:
    """The latest todo_write result (or its arguments) if it is about to be folded away, else
    the plan an earlier compaction pinned."""
    for index in range(len(body) - 1, -1, -1):
        message = body[index]
        for call in message.tool_calls:
            if call.name != "todo_write":
                continue
            if index >= tail_start:
                return None  # still in the verbatim tail
            result = next((m.content for m in body[index + 1 :] if m.tool_call_id == call.id), "")
            return result or _plan_from_args(call.arguments)
    return carried


def _plan_from_args(arguments: str) -> str:
    try:
        items = json.loads(arguments).get("items", [])
        return "\n".join(f"- [{i.get('status', 'pending')}] {i.get('content', '')}" for i in items)
    except (ValueError, AttributeError):
        return arguments


def _touched_files(messages: Iterable[Message], extra: Sequence[str]) -> list[str]:
    found: dict[str, None] = dict.fromkeys(extra)
    for message in messages:
        for call in message.tool_calls:
            if call.name not in EDIT_TOOLS:
                continue
            try:
                args = json.loads(call.arguments or "{}")
            except ValueError:
                continue
            if isinstance(args.get("path"), str):
                found[args["path"]] = None
            if isinstance(args.get("patch"), str):
                found.update(dict.fromkeys(_PATCH_PATH.findall(args["patch"])))
    return list(found)


def _pinned_block(touched: list[str], plan: str | None) -> str:
    parts = []
    if touched:
        parts.append(_FILES_PREFIX + ", ".join(touched))
    if plan:
        parts.append(_PLAN_PREFIX + plan)
    return "\n\n".join(parts)


def _summary_text(count: int, summary: str, pinned_text: str) -> str:
    text = f"{_SUMMARY_MARK}{count} earlier messages, compacted to save context]\n\n{summary.strip()}"
    return text + (f"\n\n{pinned_text}" if pinned_text else "")


def _transcript(messages: Sequence[Message]) -> list[str]:
    lines = []
    for message in messages:
        if message.role == "tool":
            body = message.content
            if len(body) > _TRANSCRIPT_TOOL_CHARS:
                body = (
                    body[:_TRANSCRIPT_TOOL_CHARS] + f"\n[... {len(body) - _TRANSCRIPT_TOOL_CHARS} chars cut]"
                )
            lines.append(f"TOOL RESULT ({message.name or message.tool_call_id}):\n{body}")
            continue
        text = f"{message.role.upper()}: {message.content}"
        for call in message.tool_calls:
            text += f"\n  -> called {call.name}({call.arguments[:500]})"
        lines.append(text)
    return lines


async def _summarise(
    folded: list[Message],
    request: Message | None,
    window: int,
    count_tokens: CountTokens,
    summarise: Summarise,
) -> tuple[str, bool]:
    """Summarise in chunks that fit a third of the window, each merged into the running summary."""
    chunk_budget = max(window // 3, 500)
    chunks: list[list[str]] = [[]]
    size = 0
    for entry in _transcript(folded):
        cost = count_tokens(entry)
        if chunks[-1] and size + cost > chunk_budget:
            chunks.append([])
            size = 0
        chunks[-1].append(entry[: chunk_budget * 3])
        size += cost
    summary = ""
    try:
        for chunk in chunks:
            prompt = prompts.render(
                "compaction",
                request=request.content if request else "(none)",
                previous_summary=summary or "(none)",
                transcript="\n\n".join(chunk),
            )
            summary = (await summarise(prompt)).strip()
            if not summary:
                raise ValueError("the summariser returned nothing")
    except Exception:  # any failure: fall back to a digest rather than retrying forever
        return _digest(folded), True
    return summary, False


def _digest(folded: list[Message]) -> str:
    """A mechanical summary: the requests and the calls made, when no model could summarise."""
    lines = ["(automatic digest; the summariser was unavailable)"]
    for message in folded:
        if message.role == "user":
            lines.append(f"- user asked: {message.content[:300]}")
        for call in message.tool_calls:
            lines.append(f"- called {call.name}({call.arguments[:200]})")
    return "\n".join(lines)


def _shrink_tool_results(tail: list[Message], budget: int, count_tokens: CountTokens) -> list[Message]:
    """Cut the biggest tool outputs (head + tail kept) until the tail fits ``budget``."""
    for cap in (16000, 4000, 1000, 300):
        if conversation_tokens(tail, count_tokens) <= budget:
            break
        tail = [_cut(m, cap) if m.role == "tool" and len(m.content) > cap else m for m in tail]
    return tail


def _cut(message: Message, cap: int) -> Message:
    text = message.content
    half = cap // 2
    cut = f"{text[:half]}\n[... {len(text) - 2 * half} characters omitted by compaction ...]\n{text[-half:]}"
    return message.model_copy(update={"content": cut})


def _describe(message: Message, count_tokens: CountTokens) -> str:
    tokens = message_tokens(message, count_tokens)
    if message.role == "tool":
        return f"{message.name or 'tool'} result ({tokens} tokens)"
    if message.tool_calls:
        names = ", ".join(c.name for c in message.tool_calls)
        return f"assistant call(s) {names} ({tokens} tokens)"
    snippet = " ".join(message.content.split())[:60]
    return f'{message.role}: "{snippet}" ({tokens} tokens)'


def _notice(before: int, after: int, dropped: list[str], fallback: bool) -> str:
    if not dropped:
        return (
            f"compaction: nothing old enough to summarise; trimmed tool outputs ({before} → {after} tokens)"
        )
    shown = "; ".join(dropped[:8]) + (f"; and {len(dropped) - 8} more" if len(dropped) > 8 else "")
    how = "an automatic digest (the summariser failed)" if fallback else "a summary"
    return (
        f"compacted the conversation: freed {before - after:,} tokens ({before:,} → {after:,}); "
        f"{len(dropped)} messages replaced by {how}: {shown}"
    )
