"""The agent's command API and the ways a turn ends, on the real loop with an in-process scripted
provider (agent.testing.ScriptedPool): no sockets, the same script format as the scripted server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent import Agent
from agent.config import ConfigError, load_config
from agent.events import Error, Notice, TurnFinished
from agent.testing import ScriptedPool
from agent.wiring import build_agent

WRITE = {"tool_calls": [{"name": "write_file", "arguments": {"path": "a.txt", "content": "one\n"}}]}


def config(repo: Path, **sections: Any):
    overrides = {"routing": {"mode": "local"}, "permissions": {"approval": "full-auto"},
                 "session": {"data_dir": str(repo.parent / "data")}, "context": {"pack": False}}
    for key, value in sections.items():
        overrides[key] = {**overrides.get(key, {}), **value}
    return load_config(repo, overrides, env={}, use_user_file=False)


async def run(agent: Agent, prompt: str = "go") -> list:
    return [event async for event in agent.run(prompt)]


def finished(events: list) -> TurnFinished:
    return next(e for e in events if isinstance(e, TurnFinished))


async def test_clear_is_recorded_so_continue_does_not_bring_the_cleared_turns_back(git_repo: Path) -> None:
    pool = ScriptedPool({"local": [{"text": "first answer"}, {"text": "after clear"}]})
    agent = build_agent(config(git_repo), git_repo, providers=pool)
    await run(agent, "first question")
    agent.clear()
    await run(agent, "second question")
    resumed = build_agent(config(git_repo), git_repo, cont=True, providers=ScriptedPool({}))
    assert [m.content for m in resumed.messages] == ["second question", "after clear"]


async def test_pin_model_rejects_unknown_names_and_pins_known_ones(git_repo: Path) -> None:
    pool = ScriptedPool({"local": [{"text": "from local"}], "remote": [{"text": "from remote"}]})
    agent = Agent(config(git_repo, routing={"mode": "auto"}), cwd=git_repo, providers=pool)
    with pytest.raises(ConfigError, match="no model named 'nope'"):
        agent.pin_model("nope")
    agent.pin_model("local")
    assert finished(await run(agent)).text == "from local"
    assert pool.contacted() == ["local"]


async def test_undo_restores_the_tree_and_says_so(git_repo: Path) -> None:
    pool = ScriptedPool({"local": [WRITE, {"text": "wrote it"}]})
    agent = build_agent(config(git_repo), git_repo, providers=pool)
    await run(agent)
    assert (git_repo / "a.txt").exists()
    assert "a.txt" in agent.undo()
    assert not (git_repo / "a.txt").exists()


async def test_undo_without_checkpoints_is_a_clear_error(git_repo: Path) -> None:
    agent = Agent(config(git_repo), cwd=git_repo, providers=ScriptedPool({}))
    with pytest.raises(LookupError, match="keeps no checkpoints"):
        agent.undo()


@pytest.mark.parametrize(("script", "limits", "reason", "said"), [
    ([WRITE, WRITE, WRITE], {"max_turns": 2}, "max_turns", "--max-turns"),
    ([{"text": ""}, {"text": " "}], {}, "error", "empty reply twice"),
    ([{"text": "half an answer", "finish_reason": "length"}], {}, "length", "cut off"),
    ([{"fault": "http", "status": 401, "message": "bad key"}], {}, "error", "bad key"),
], ids=["max-turns", "empty-twice", "cut-off", "auth"])
async def test_every_early_end_is_a_stop_reason_and_something_the_user_reads(
        git_repo: Path, script: list, limits: dict, reason: str, said: str) -> None:
    agent = Agent(config(git_repo, limits=limits), cwd=git_repo, providers=ScriptedPool({"local": script}))
    events = await run(agent)
    assert finished(events).stop_reason == reason
    told = " ".join(e.text if isinstance(e, Notice) else e.message for e in events if isinstance(e, (Notice, Error)))
    assert said in told
    assert all(m.tool_call_id for m in agent.messages if m.role == "tool")


async def test_repetition_stops_a_doom_loop(git_repo: Path) -> None:
    failing = {"tool_calls": [{"name": "read_file", "arguments": {"path": "missing.txt"}}]}
    agent = Agent(config(git_repo), cwd=git_repo, providers=ScriptedPool({"local": [failing] * 5}))
    events = await run(agent)
    assert finished(events).stop_reason == "repetition"
    assert len(agent.providers.get("local").requests) == 3  # the repeat limit, not the step limit
