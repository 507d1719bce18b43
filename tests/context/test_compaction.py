"""Compaction keeps a long session under the window and never loses what is pinned."""

from __future__ import annotations

import json
import math

from agent.context.compaction import Pinned, compact, conversation_tokens, should_compact
from agent.messages import Message, ToolCall

SYSTEM = Message(role="system", content="You are qagent.\n\n# AGENTS.md\nUse tabs. Run `make check`.")


def count(text: str) -> int:
    return math.ceil(len(text) / 4)


class ScriptedSummariser:
    def __init__(self, fail: bool = False) -> None:
        self.prompts: list[str] = []
        self.fail = fail

    async def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if self.fail:
            raise ConnectionError("local model is down")
        return f"Summary {len(self.prompts)}: read files, fixed the parser, tests were failing in test_io."


def call(cid: str, name: str, **args: object) -> Message:
    return Message(
        role="assistant", content="", tool_calls=(ToolCall(id=cid, name=name, arguments=json.dumps(args)),)
    )


def result(cid: str, name: str, text: str) -> Message:
    return Message(role="tool", tool_call_id=cid, name=name, content=text)


def assert_well_formed(messages: list[Message]) -> None:
    """Every tool result follows its call, every call has its result (what providers require)."""
    open_calls: set[str] = set()
    for message in messages:
        if message.role == "tool":
            assert message.tool_call_id in open_calls, f"orphan tool result {message.tool_call_id}"
            open_calls.discard(message.tool_call_id)
        else:
            assert not open_calls, f"calls without results: {open_calls}"
            open_calls = {c.id for c in message.tool_calls}


async def test_long_scripted_session_stays_under_the_window_with_pins() -> None:
    window = 6000
    summariser = ScriptedSummariser()
    messages = [SYSTEM, Message(role="user", content="first task: list the files")]
    messages += [
        call("t0", "list_files"),
        result("t0", "list_files", "a.py\nb.py"),
        Message(role="assistant", content="Two files."),
    ]
    request = Message(
        role="user",
        content="Rename `parse` to `parse_line` everywhere and keep tests green. "
        "Exact wording matters: {braces} and all.",
    )
    messages.append(request)
    compactions, peak = [], 0
    for step in range(120):
        if step % 25 == 0:
            items = [{"content": f"step group {step}", "status": "in_progress"}]
            messages += [
                call(f"p{step}", "todo_write", items=items),
                result(f"p{step}", "todo_write", f"plan v{step}: rename in group {step}"),
            ]
        path = f"src/mod{step % 9}.py"
        messages += [
            call(f"r{step}", "read_file", path=path),
            result(f"r{step}", "read_file", f"{step}: " + "x = 1\n" * 120),
        ]
        if step % 10 == 3:
            messages += [
                call(f"e{step}", "edit_file", path=path, old_string="parse", new_string="parse_line"),
                result(f"e{step}", "edit_file", "ok"),
            ]
        if should_compact(messages, window, count):
            outcome = await compact([*messages], window=window, count_tokens=count, summarise=summariser)
            compactions.append(outcome)
            messages = outcome.messages
            assert outcome.freed_tokens > 0
        peak = max(peak, conversation_tokens(messages, count))
        assert_well_formed(messages)

    assert compactions, "the scripted session should have needed compaction"
    assert peak < window
    assert messages[0] == SYSTEM
    assert request in messages  # verbatim, same object content
    joined = "\n".join(m.content for m in messages)
    for touched in {f"src/mod{s % 9}.py" for s in range(120) if s % 10 == 3}:
        assert touched in joined
    assert "plan v100" in joined  # the latest plan survives even once its call is folded away
    assert "Summary" in joined and "first task" not in [m.content for m in messages]
    last = compactions[-1]
    assert "freed" in last.notice and f"{last.freed_tokens:,}" in last.notice
    assert any("read_file result" in d for d in last.dropped)
    assert "Rename `parse` to `parse_line`" in summariser.prompts[-1]  # the summariser sees the request


async def test_summariser_failure_falls_back_to_a_digest_once() -> None:
    summariser = ScriptedSummariser(fail=True)
    messages = [SYSTEM, Message(role="user", content="fix bug 12")]
    for i in range(20):
        messages += [call(f"c{i}", "grep", pattern=f"bug{i}"), result(f"c{i}", "grep", "hit\n" * 200)]
    out = await compact(messages, window=4000, count_tokens=count, summarise=summariser, keep_recent=4)
    assert out.fallback and len(summariser.prompts) == 1
    assert "summariser failed" in out.notice
    assert "called grep" in out.messages[1].content
    assert conversation_tokens(out.messages, count) < 4000 * 0.5
    assert_well_formed(out.messages)


async def test_large_history_is_summarised_in_chunks_that_fit() -> None:
    summariser = ScriptedSummariser()
    messages = [SYSTEM, Message(role="user", content="audit everything")]
    for i in range(60):
        messages += [call(f"c{i}", "read_file", path=f"f{i}.py"), result(f"c{i}", "read_file", "y" * 1400)]
    window = 3000
    out = await compact(messages, window=window, count_tokens=count, summarise=summariser)
    assert len(summariser.prompts) > 1
    assert all(count(p) < window for p in summariser.prompts)
    assert "Summary 1" in summariser.prompts[1]  # each chunk merges the running summary
    assert (
        out.summary
        == f"Summary {len(summariser.prompts)}: read files, fixed the parser, tests were failing in test_io."
    )
    assert conversation_tokens(out.messages, count) <= window * 0.5


async def test_a_huge_recent_tool_output_is_trimmed_not_kept_whole() -> None:
    messages = [
        SYSTEM,
        Message(role="user", content="run the tests"),
        call("s", "shell", command="pytest"),
        result("s", "shell", "FAILED line\n" * 20000),
    ]
    out = await compact(messages, window=8000, count_tokens=count, summarise=ScriptedSummariser())
    assert conversation_tokens(out.messages, count) <= 4000
    shell = out.messages[-1]
    assert shell.role == "tool" and "omitted by compaction" in shell.content
    assert shell.content.startswith("FAILED line")
    assert out.messages[1].content == "run the tests"


async def test_pinned_values_from_the_loop_win() -> None:
    messages = [
        SYSTEM,
        Message(role="user", content="old"),
        Message(role="assistant", content="x" * 4000),
        Message(role="user", content="now"),
        Message(role="assistant", content="ok"),
    ]
    pinned = Pinned(touched_files=["made/by/shell.txt"], plan="- [pending] write docs")
    out = await compact(
        messages,
        window=2000,
        count_tokens=count,
        summarise=ScriptedSummariser(),
        keep_recent=2,
        pinned=pinned,
    )
    summary = out.messages[1].content
    assert "made/by/shell.txt" in summary and "- [pending] write docs" in summary
    assert [m.content for m in out.messages[-2:]] == ["now", "ok"]


def test_should_compact_threshold() -> None:
    messages = [SYSTEM, Message(role="user", content="z" * 3000)]
    assert not should_compact(messages, 2000, count)
    assert should_compact(messages, 900, count)
