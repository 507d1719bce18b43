"""``--output-format claude-stream-json``: every line validated against Claude Code's shapes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel

from agent import Agent
from agent.cli.claude_stream import ClaudeStreamRenderer
from agent.events import TurnFinished
from tests.cli.claude_shapes import Assistant, Init, OtherSystem, ResultLine, User, parse_stream
from tests.conftest import config_for
from tools import tool

QAGENT = Path(sys.executable).with_name("qagent")
WRITE = {"path": "x.txt", "content": "x"}


def qagent(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QAGENT_", "DEEPSEEK"))}
    env["HOME"] = str(cwd)
    return subprocess.run([str(QAGENT), *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=env)


def configure(root: Path, url: str, extra: str = "") -> None:
    (root / ".qagent.toml").write_text(f'[models.local]\nbase_url = "{url}"\nmodel = "qwen3.5:9b"\n'
                                       f'dialect = "vllm"\n[routing]\nmode = "local"\n{extra}')


def blocks(messages: list[BaseModel], kind: str) -> list:
    carriers = [m for m in messages if isinstance(m, (Assistant, User))]
    return [b for m in carriers for b in m.message.content if b.type == kind]


def test_tool_session_in_claude_shapes(scripted_server, git_repo):
    server = scripted_server([
        {"reasoning": "look around first", "text": "Listing.",
         "tool_calls": [{"name": "list_files", "arguments": {}, "id": "call_list"},
                        {"name": "write_file", "arguments": WRITE, "id": "call_w"}],
         "usage": {"prompt_tokens": 100, "completion_tokens": 20, "cache_hit_tokens": 40}},
        {"text": "Only README.md is here.", "usage": {"prompt_tokens": 150, "completion_tokens": 10}},
    ], dialect="vllm")
    configure(git_repo, server.url)
    run = qagent("-p", "what files are here?", "--output-format", "claude-stream-json", cwd=git_repo)
    assert run.returncode == 0, run.stderr
    messages = parse_stream(run.stdout)
    assert messages[0].model in ("local", "qwen3.5:9b")  # the entry's wire id once the CLI binds the agent
    notices = [m for m in messages if isinstance(m, OtherSystem) and m.subtype == "notice"]
    assert any("headless run" in n.text for n in notices)

    assert [b.thinking for b in blocks(messages, "thinking")] == ["look around first"]
    assert [b.text for b in blocks(messages, "text")] == ["Listing.", "Only README.md is here."]
    uses = blocks(messages, "tool_use")
    assert [(u.id, u.name, u.input) for u in uses] == [("call_list", "list_files", {}),
                                                       ("call_w", "write_file", WRITE)]
    results = {r.tool_use_id: r for r in blocks(messages, "tool_result")}
    assert "README.md" in results["call_list"].content and not results["call_list"].is_error
    assert results["call_w"].is_error and "denied" in results["call_w"].content
    first_reply = [m.message.id for m in messages if isinstance(m, Assistant)]
    assert len(set(first_reply[:4])) == 1 and first_reply[4] != first_reply[0]

    result = messages[-1]
    assert (result.subtype, result.is_error, result.result) == ("success", False, "Only README.md is here.")
    assert result.num_turns == 2 and result.stop_reason == "end_turn"
    assert (result.usage.input_tokens, result.usage.cache_read_input_tokens, result.usage.output_tokens) == (
        210, 40, 30)
    assert [d.model_dump() for d in result.permission_denials] == [
        {"tool_name": "write_file", "tool_use_id": "call_w", "tool_input": WRITE}]
    assert not (git_repo / "x.txt").exists()


def test_max_turns_is_error_max_turns(scripted_server, git_repo):
    server = scripted_server([{"tool_calls": [{"name": "list_files", "arguments": {}}]}] * 2)
    configure(git_repo, server.url)
    run = qagent("-p", "loop", "--output-format", "claude-stream-json", "--max-turns", "1", cwd=git_repo)
    assert run.returncode == 1
    result = parse_stream(run.stdout)[-1]
    assert (result.subtype, result.is_error) == ("error_max_turns", True)
    assert any("max-turns" in e or "max_turns" in e for e in result.errors)


def test_unreachable_model_still_ends_with_a_result_line(git_repo):
    configure(git_repo, "http://127.0.0.1:9/v1", "[limits]\nmax_retries = 0\n")
    run = qagent("-p", "hello", "--output-format", "claude-stream-json", cwd=git_repo)
    assert run.returncode == 3
    messages = parse_stream(run.stdout)
    result = messages[-1]
    assert (result.subtype, result.is_error, result.num_turns) == ("error_during_execution", True, 0)
    assert result.errors and any(isinstance(m, OtherSystem) and m.subtype == "error" for m in messages)


@tool
def ticket(ticket_id: int) -> str:
    """Look a ticket up."""
    return f"ticket {ticket_id}: crash on empty input"


async def test_bound_agent_gives_a_complete_init_and_budget_stop(scripted_server, git_repo):
    server = scripted_server([{"tool_calls": [{"name": "ticket", "arguments": {"ticket_id": 7}}],
                               "usage": {"prompt_tokens": 1000, "completion_tokens": 1000}},
                              {"text": "never reached"}])
    config = config_for(git_repo, local=server, routing={"mode": "local"},
                        permissions={"approval": "auto-edit"}, limits={"max_cost": 0.01})
    config.models["local"].pricing.output = 100.0  # $0.10 for this reply: over the cap
    agent = Agent(config, cwd=git_repo, tools=[ticket])
    out = io.StringIO()
    renderer = ClaudeStreamRenderer(out, agent)
    final = None
    async for event in agent.run("what is ticket 7?"):
        renderer(event)
        final = event if isinstance(event, TurnFinished) else final
    await agent.aclose()
    renderer.close(final, agent)

    messages = parse_stream(out.getvalue())
    init, result = messages[0], messages[-1]
    assert isinstance(init, Init) and isinstance(result, ResultLine)
    assert (init.cwd, init.tools, init.model, init.permissionMode) == (
        str(git_repo), ["ticket"], config.models["local"].model, "acceptEdits")
    assert [b.content for b in blocks(messages, "tool_result")] == ["ticket 7: crash on empty input"]
    assert (result.subtype, result.is_error) == ("error_max_budget_usd", True)
    assert result.total_cost_usd == 0.1 and result.modelUsage[config.models["local"].model]["costUSD"] == 0.1
    assert len(server.chat_requests()) == 1
