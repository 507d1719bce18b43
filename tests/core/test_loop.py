"""The agent loop end to end over real HTTP: dispatch, budgets, stop rules, interrupt, approvals."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import BaseModel

from agent import Agent
from agent.events import (
    ApprovalRequested,
    Error,
    Notice,
    RouteDecided,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from agent.policy.permissions import ApprovalDecision
from agent.testing import DIALECTS
from tests.conftest import config_for
from tools import ToolContext, tool


class NoteArgs(BaseModel):
    text: str


@tool
def note(args: NoteArgs) -> str:
    """Record a note."""
    return f"noted: {args.text}"


@tool(kind="edit")
def touch(path: str, ctx: ToolContext) -> str:
    """Create an empty file."""
    (ctx.root / path).write_text("")
    return f"created {path}"


started_events: dict[str, asyncio.Event] = {}


@tool
async def rendezvous(me: str, other: str) -> str:
    """Wait until the other call has started (proves calls run concurrently)."""
    started_events.setdefault(me, asyncio.Event()).set()
    await asyncio.wait_for(started_events.setdefault(other, asyncio.Event()).wait(), timeout=5)
    return f"{me} met {other}"


@tool
async def forever() -> str:
    """Never finishes."""
    await asyncio.sleep(60)
    return "unreachable"


def tool_messages(body):
    return [m for m in body["messages"] if m["role"] == "tool"]


async def run(agent, prompt="go", **kwargs):
    try:
        return [event async for event in agent.run(prompt, **kwargs)]
    finally:
        await agent.aclose()


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_multi_step_tool_session_per_dialect(scripted_server, tmp_path, dialect):
    server = scripted_server([
        {"reasoning": "first note", "tool_calls": [{"name": "note", "arguments": {"text": "one"}}]},
        {"tool_calls": [{"name": "note", "arguments": {"text": "two"}}]},
        {"reasoning": "wrap up", "text": "Both noted."},
    ], dialect=dialect)
    agent = Agent(config_for(tmp_path, local=server, routing={"mode": "local"}), cwd=tmp_path, tools=[note])
    events = await run(agent)
    finished = events[-1]
    assert isinstance(finished, TurnFinished) and finished.stop_reason == "completed"
    assert finished.text == "Both noted."
    bodies = server.chat_requests()
    assert len(bodies) == 3
    assert [m["content"] for m in tool_messages(bodies[2])] == ["noted: one", "noted: two"]
    assert bodies[0]["tools"][0]["function"]["name"] == "note"
    assert "first note" not in finished.text


async def test_invalid_arguments_and_unknown_tools_go_back_to_the_model(scripted_server, tmp_path):
    server = scripted_server([
        {"tool_calls": [{"name": "note", "arguments": '{"text": '}, {"name": "note", "arguments": {"text": 5}},
                        {"name": "launch_rockets", "arguments": {}}]},
        {"text": "sorry"},
    ])
    agent = Agent(config_for(tmp_path, local=server, routing={"mode": "local"}), cwd=tmp_path, tools=[note])
    events = await run(agent)
    assert events[-1].stop_reason == "completed"
    results = [m["content"] for m in tool_messages(server.chat_requests()[1])]
    assert "not valid JSON" in results[0]
    assert "invalid arguments for note" in results[1] and "text" in results[1]
    assert "unknown tool 'launch_rockets'" in results[2] and "note" in results[2]


async def test_parallel_calls_run_concurrently(scripted_server, tmp_path):
    started_events.clear()
    server = scripted_server([
        {"tool_calls": [{"name": "rendezvous", "arguments": {"me": "a", "other": "b"}},
                        {"name": "rendezvous", "arguments": {"me": "b", "other": "a"}}]},
        {"text": "done"},
    ])
    agent = Agent(config_for(tmp_path, local=server, routing={"mode": "local"}), cwd=tmp_path, tools=[rendezvous])
    events = await run(agent)
    outputs = sorted(e.output for e in events if isinstance(e, ToolCallFinished))
    assert outputs == ["a met b", "b met a"]


async def test_max_turns_stops_cleanly(scripted_server, tmp_path):
    server = scripted_server([{"tool_calls": [{"name": "note", "arguments": {"text": str(i)}}]} for i in range(5)])
    agent = Agent(config_for(tmp_path, local=server, routing={"mode": "local"}, limits={"max_turns": 3}),
                  cwd=tmp_path, tools=[note])
    events = await run(agent)
    assert events[-1].stop_reason == "max_turns"
    assert len(server.chat_requests()) == 3


async def test_max_cost_stops_cleanly(scripted_server, tmp_path):
    step = {"tool_calls": [{"name": "note", "arguments": {"text": "x"}}],
            "usage": {"prompt_tokens": 1_000_000, "completion_tokens": 0}}
    server = scripted_server([step, step, step])
    config = config_for(tmp_path, local=server, routing={"mode": "local"}, limits={"max_cost": 1.5})
    config.models["local"].pricing.input_cache_miss = 1.0
    events = await run(Agent(config, cwd=tmp_path, tools=[note]))
    assert events[-1].stop_reason == "max_cost"
    assert len(server.chat_requests()) == 2
    assert events[-1].usage_total.cost_usd == pytest.approx(2.0)


async def test_repeated_failing_call_is_stopped(scripted_server, tmp_path):
    bad = {"tool_calls": [{"name": "note", "arguments": {"wrong": 1}}]}
    server = scripted_server([bad] * 6)
    agent = Agent(config_for(tmp_path, local=server, routing={"mode": "local"}), cwd=tmp_path, tools=[note])
    events = await run(agent)
    assert events[-1].stop_reason == "repetition"
    assert len(server.chat_requests()) == 3
    assert any(isinstance(e, Notice) and "repetition" in e.text for e in events)


async def test_tool_call_storm_is_capped_and_every_call_answered(scripted_server, tmp_path):
    storm = {"tool_calls": [{"name": "note", "arguments": {"text": str(i)}} for i in range(100)]}
    server = scripted_server([storm, {"text": "ok"}])
    agent = Agent(config_for(tmp_path, local=server, routing={"mode": "local"}), cwd=tmp_path, tools=[note])
    await run(agent)
    results = tool_messages(server.chat_requests()[1])
    assert len(results) == 100
    assert sum(r["content"].startswith("noted") for r in results) == 32
    assert "at most 32 tool calls" in results[-1]["content"]


async def test_truncated_reply_calls_are_not_executed(scripted_server, tmp_path):
    server = scripted_server([{"tool_calls": [{"name": "touch", "arguments": {"path": "x"}}],
                               "finish_reason": "length"}, {"text": "ok"}])
    agent = Agent(config_for(tmp_path, local=server, routing={"mode": "local"},
                             permissions={"approval": "full-auto"}), cwd=tmp_path, tools=[touch])
    await run(agent)
    assert not (tmp_path / "x").exists()
    assert "cut off" in tool_messages(server.chat_requests()[1])[0]["content"]


async def test_empty_reply_is_asked_again_once(scripted_server, tmp_path):
    server = scripted_server([{"reasoning": "only thinking"}, {"text": "real answer"}], dialect="vllm")
    agent = Agent(config_for(tmp_path, local=server, routing={"mode": "local"}), cwd=tmp_path, tools=[note])
    events = await run(agent)
    assert events[-1].text == "real answer"
    assert any(isinstance(e, Notice) and "reasoning but no answer" in e.text for e in events)


async def test_interrupt_during_a_tool_keeps_the_conversation_consistent(scripted_server, tmp_path):
    server = scripted_server([{"tool_calls": [{"name": "forever", "arguments": {}},
                                              {"name": "note", "arguments": {"text": "x"}}]},
                              {"text": "continuing fine"}])
    agent = Agent(config_for(tmp_path, local=server, routing={"mode": "local"}), cwd=tmp_path,
                  tools=[forever, note])
    events = []
    async for event in agent.run("start"):
        events.append(event)
        if isinstance(event, ToolCallStarted) and event.name == "forever":
            agent.interrupt()
    assert events[-1].stop_reason == "interrupted"
    follow_up = await run(agent, "next")
    assert follow_up[-1].stop_reason == "completed"
    body = server.chat_requests()[1]
    call_ids = [c["id"] for m in body["messages"] if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    answered = [m["tool_call_id"] for m in tool_messages(body)]
    assert sorted(call_ids) == sorted(answered)
    assert any("interrupted" in m["content"] for m in tool_messages(body))


async def test_interrupt_during_streaming_is_immediate(scripted_server, tmp_path):
    server = scripted_server([{"fault": "stall", "seconds": 30}, {"text": "second prompt works"}])
    agent = Agent(config_for(tmp_path, local=server, routing={"mode": "local"}), cwd=tmp_path, tools=[note])
    events = []
    async for event in agent.run("start"):
        events.append(event)
        if isinstance(event, RouteDecided):
            asyncio.get_running_loop().call_later(0.3, agent.interrupt)
    assert events[-1].stop_reason == "interrupted"
    assert (await run(agent, "again"))[-1].text == "second prompt works"


async def test_approval_callback_decides_and_denial_reason_reaches_the_model(scripted_server, tmp_path):
    server = scripted_server([{"tool_calls": [{"name": "touch", "arguments": {"path": "a"}},
                                              {"name": "touch", "arguments": {"path": "b"}}]}, {"text": "ok"}])
    asked = []

    def approve(request):
        asked.append(request.args["path"])
        return ApprovalDecision(allow=request.args["path"] == "a", reason="not b please")

    agent = Agent(config_for(tmp_path, local=server, routing={"mode": "local"}), cwd=tmp_path, tools=[touch],
                  approval=approve)
    events = await run(agent)
    assert asked == ["a", "b"]
    assert (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert sum(isinstance(e, ApprovalRequested) for e in events) == 2
    assert "not b please" in tool_messages(server.chat_requests()[1])[1]["content"]


async def test_headless_default_denies_edits_with_advice(scripted_server, tmp_path):
    server = scripted_server([{"tool_calls": [{"name": "touch", "arguments": {"path": "a"}}]}, {"text": "ok"}])
    agent = Agent(config_for(tmp_path, local=server, routing={"mode": "local"}), cwd=tmp_path, tools=[touch])
    await run(agent)
    assert not (tmp_path / "a").exists()
    assert "--approval" in tool_messages(server.chat_requests()[1])[0]["content"]


async def test_unreachable_local_falls_back_to_remote_with_a_notice(scripted_server, tmp_path):
    remote = scripted_server([{"text": "remote answered"}], dialect="deepseek")
    config = config_for(tmp_path, remote=remote)
    config.models["local"].base_url = "http://127.0.0.1:9/v1"
    events = await run(Agent(config, cwd=tmp_path, tools=[note]), "small fix")
    assert events[-1].text == "remote answered"
    assert any(isinstance(e, Notice) and "falling back to remote" in e.text for e in events)


async def test_local_only_never_contacts_remote_even_when_local_is_down(scripted_server, tmp_path):
    remote = scripted_server([{"text": "leak"}], dialect="deepseek")
    config = config_for(tmp_path, remote=remote, routing={"privacy": "local-only"})
    config.models["local"].base_url = "http://127.0.0.1:9/v1"
    events = await run(Agent(config, cwd=tmp_path, tools=[note]), "refactor across the codebase @remote")
    assert events[-1].stop_reason == "error"
    assert any(isinstance(e, Error) and e.kind == "unreachable" for e in events)
    assert remote.requests == []


async def test_events_round_trip_as_stream_json(scripted_server, tmp_path):
    from agent.events import from_json_line, to_json_line

    server = scripted_server([{"reasoning": "r", "tool_calls": [{"name": "note", "arguments": {"text": "x"}}]},
                              {"text": "done"}])
    events = await run(Agent(config_for(tmp_path, local=server, routing={"mode": "local"}), cwd=tmp_path,
                             tools=[note]))
    for event in events:
        line = to_json_line(event)
        assert from_json_line(line) == event
        assert json.loads(line)["type"]


def test_run_sync_twice_reuses_the_agent_across_event_loops(scripted_server, tmp_path):
    server = scripted_server([{"text": "first"}, {"text": "second"}])
    agent = Agent(config_for(tmp_path, local=server, routing={"mode": "local"}), cwd=tmp_path, tools=[note])
    assert agent.run_sync("one").text == "first"
    second = agent.run_sync("two")
    assert second.text == "second" and second.stop_reason == "completed"
    assert [m["content"] for m in server.chat_requests()[1]["messages"] if m["role"] == "user"] == ["one", "two"]
