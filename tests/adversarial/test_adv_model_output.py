"""A misbehaving model, over real HTTP: nothing malformed is executed, every call is answered, loops stop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent import Agent
from tests.adversarial.advhelpers import finished, notices, results, turn
from tests.conftest import config_for


def agent_for(repo: Path, server: Any, **sections: Any) -> Agent:
    # A generous idle timeout: a loaded CI machine must not turn a slow reply into a retry that
    # shifts the script (stalls are tested in test_http.py).
    sections["limits"] = {"idle_timeout_s": 30.0, **sections.get("limits", {})}
    config = config_for(
        repo,
        local=server,
        routing={"mode": "local"},
        permissions={"approval": "full-auto"},
        session={"checkpoints": False},
        context={"pack": False},
        **sections,
    )
    return Agent(config, cwd=repo)


def answered(agent: Agent) -> bool:
    """Every tool call in the conversation has exactly one result (servers reject anything else)."""
    calls = [c.id for m in agent.messages for c in m.tool_calls]
    answers = [m.tool_call_id for m in agent.messages if m.role == "tool"]
    return sorted(calls) == sorted(answers)


BAD_CALLS = {
    "invalid-json": {"name": "write_file", "arguments": '{"path": "made.txt", "content": "x"'},
    "not-an-object": {"name": "write_file", "arguments": '["made.txt", "x"]'},
    "wrong-types": {"name": "write_file", "arguments": {"path": ["made.txt"], "content": 42}},
    "missing-field": {"name": "write_file", "arguments": {"path": "made.txt"}},
    "extra-field": {"name": "shell", "arguments": {"command": "touch made.txt", "sudo": True}},
    "unknown-tool": {"name": "write_files", "arguments": {"path": "made.txt", "content": "x"}},
    "empty-name": {"name": "", "arguments": {"path": "made.txt"}},
}


@pytest.mark.parametrize("kind", sorted(BAD_CALLS))
async def test_malformed_calls_are_never_executed_and_the_model_is_told(
    scripted_server, git_repo: Path, kind: str
) -> None:
    server = scripted_server([{"tool_calls": [BAD_CALLS[kind]]}, {"text": "sorry"}])
    agent = agent_for(git_repo, server)
    events = await turn(agent, "make a file")
    assert finished(events).stop_reason == "completed"
    assert not (git_repo / "made.txt").exists()
    [result] = results(events)
    assert not result.ok and result.output.strip()
    second = server.chat_requests()[1]["messages"]
    assert second[-1]["role"] == "tool" and second[-1]["content"] == result.output  # the model sees why
    assert answered(agent)


async def test_a_storm_of_100_calls_runs_at_most_the_cap_and_answers_all(
    scripted_server, git_repo: Path
) -> None:
    storm = [
        {"name": "write_file", "arguments": {"path": f"storm/{i:03}.txt", "content": "x\n"}}
        for i in range(100)
    ]
    server = scripted_server([{"tool_calls": storm}, {"text": "done"}])
    agent = agent_for(git_repo, server, limits={"max_tool_calls_per_reply": 32})
    events = await turn(agent, "storm")
    assert len(list((git_repo / "storm").iterdir())) == 32
    assert len(results(events)) == 100 and sum(r.ok for r in results(events)) == 32
    assert answered(agent) and len(server.chat_requests()[1]["messages"]) >= 100


async def test_the_same_failing_call_repeated_is_stopped_with_a_message(
    scripted_server, git_repo: Path
) -> None:
    bad = {"tool_calls": [{"name": "read_file", "arguments": {"path": "missing.py"}}]}
    server = scripted_server([bad] * 20)
    agent = agent_for(git_repo, server, limits={"repeat_limit": 3})
    events = await turn(agent, "read it")
    assert finished(events).stop_reason == "repetition"
    assert "repeated the same failing read_file call 3 times" in notices(events)
    assert len(server.chat_requests()) == 3 and answered(agent)


@pytest.mark.parametrize(
    "reply",
    [{"text": ""}, {"text": "   \n"}, {"reasoning": "thinking hard, no answer"}],
    ids=["empty", "blank", "reasoning-only"],
)
async def test_empty_replies_are_asked_again_once_then_stop(
    scripted_server, git_repo: Path, reply: dict
) -> None:
    server = scripted_server([reply, reply, {"text": "never asked"}])
    events = await turn(agent_for(git_repo, server), "hello?")
    assert len(server.chat_requests()) == 2
    assert "asking again once" in notices(events) and "empty reply twice" in notices(events)
    assert finished(events).stop_reason == "error" and finished(events).text.strip() == ""  # a failure, not an answer


async def test_reasoning_then_answer_on_the_retry(scripted_server, git_repo: Path) -> None:
    server = scripted_server([{"reasoning": "hmm"}, {"text": "the answer"}], dialect="vllm")
    events = await turn(agent_for(git_repo, server), "q")
    assert finished(events).text == "the answer"


async def test_stream_cut_mid_tool_call_runs_the_call_exactly_once(scripted_server, git_repo: Path) -> None:
    append = {
        "tool_calls": [{"name": "shell", "arguments": {"command": "echo ran >> side-effects.log"}}],
        "chunk_chars": 4,
    }
    server = scripted_server(
        [{"fault": "reset_midstream", "after_chunks": 4, "reply": append}, append, {"text": "done"}]
    )
    events = await turn(agent_for(git_repo, server), "append once")
    assert finished(events).stop_reason == "completed"
    assert (git_repo / "side-effects.log").read_text() == "ran\n"  # the cut attempt executed nothing
    assert "connection lost" in notices(events) or "stream broke" in notices(events)


async def test_reply_cut_at_the_output_limit_executes_nothing(scripted_server, git_repo: Path) -> None:
    cut = {
        "tool_calls": [{"name": "write_file", "arguments": '{"path": "half.py", "content": "def f(:\\n'}],
        "finish_reason": "length",
    }
    whole_but_cut = {
        "tool_calls": [{"name": "write_file", "arguments": {"path": "half.py", "content": "x = 1\n"}}],
        "finish_reason": "length",
    }
    server = scripted_server(
        [cut, whole_but_cut, {"text": "a long answer that was cut", "finish_reason": "length"}]
    )
    agent = agent_for(git_repo, server)
    events = await turn(agent, "write it")
    assert not (git_repo / "half.py").exists()
    assert all("cut off at the output limit" in r.output for r in results(events))
    assert finished(events).stop_reason == "length" and "output limit" in notices(events)
    assert answered(agent)


async def test_content_after_done_and_a_missing_done_are_harmless(scripted_server, git_repo: Path) -> None:
    server = scripted_server(
        [
            {
                "tool_calls": [{"name": "write_file", "arguments": {"path": "once.txt", "content": "1\n"}}],
                "after_done": 'data: {"choices":[{"delta":{"tool_calls":[{"index":1,"id":"evil","function":'
                '{"name":"shell","arguments":"{\\"command\\": \\"touch pwned\\"}"}}]}}]}\n\n',
            },
            {"text": "finished without [DONE]", "no_done": True},
        ]
    )
    events = await turn(agent_for(git_repo, server), "go")
    assert finished(events).text == "finished without [DONE]"
    assert not (git_repo / "pwned").exists() and (git_repo / "once.txt").read_text() == "1\n"
    assert [r.name for r in results(events)] == ["write_file"]
