"""Repository packs and compaction as the loop uses them, checked on the wire."""

from __future__ import annotations

from agent import Agent
from agent.events import Notice
from tests.conftest import config_for
from tests.repos import git
from tools import tool


@tool
def note(text: str) -> str:
    """Record a note."""
    return "noted " + text * 400


def make_project(root):
    (root / "app.py").write_text("def handler(request):\n    return respond(request)\n\n"
                                 "def respond(request):\n    return 'ok'\n")
    (root / ".env").write_text("DEEPSEEK_API_KEY=sk-live-0123456789abcdef0123456789abcdef\n")
    (root / ".gitignore").write_text(".env\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "app")


async def test_pack_follows_the_system_prompt_and_stays_byte_identical(scripted_server, git_repo):
    make_project(git_repo)
    server = scripted_server([{"text": "one"}, {"text": "two"}])
    agent = Agent(config_for(git_repo, local=server, routing={"mode": "local"}), cwd=git_repo, tools=[note])
    [e async for e in agent.run("explain handler in app.py")]
    (git_repo / "app.py").write_text("changed = True\n")  # the pack is not reshuffled mid-session
    [e async for e in agent.run("and respond?")]
    first, second = server.chat_requests()
    assert first["messages"][1]["content"].startswith("Repository context")
    assert "def handler" in first["messages"][1]["content"]
    assert first["messages"][:3] == second["messages"][:3]
    assert "sk-live" not in str(first)  # secrets are never packed


async def test_compaction_keeps_the_conversation_inside_the_window(scripted_server, tmp_path):
    # Each step entry carries text and a call: the agent's steps use the call, a summary request the text.
    steps = [{"text": f"progress so far: {i} notes", "tool_calls": [{"name": "note", "arguments": {"text": f"n{i} "}}]}
             for i in range(12)]
    server = scripted_server([*steps, *[{"text": "done"}] * 3], dialect="vllm")
    config = config_for(tmp_path, local=server, routing={"mode": "local"}, limits={"max_turns": 60})
    config.models["local"].context_window = 5000
    config.models["local"].max_output_tokens = 1000
    events = [e async for e in Agent(config, cwd=tmp_path, tools=[note]).run("keep taking notes")]
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert any("compact" in text.lower() for text in notices), notices
    bodies = server.chat_requests()
    summary_request = next(b for b in bodies if not b.get("tools"))
    assert "keep taking notes" in summary_request["messages"][-1]["content"]
    last = bodies[-1]["messages"]
    assert any(m["role"] == "user" and m["content"] == "keep taking notes" for m in last)  # pinned verbatim
    assert any(m["content"].startswith("[Summary of") for m in last if m["role"] == "user")  # the summary
    assert max(len(str(b["messages"])) for b in bodies) < 4 * 5000
    assert events[-1].stop_reason == "completed"


async def test_context_too_long_compacts_and_retries_once(scripted_server, tmp_path):
    server = scripted_server([
        *[{"tool_calls": [{"name": "note", "arguments": {"text": f"{i}"}}]} for i in range(5)],
        {"fault": "http", "status": 400, "message": "This model's maximum context length is 4096 tokens"},
        {"text": "short summary"},
        {"text": "answer after compaction"},
    ], dialect="vllm")
    config = config_for(tmp_path, local=server, routing={"mode": "local"})
    events = [e async for e in Agent(config, cwd=tmp_path, tools=[note]).run("go")]
    assert events[-1].text == "answer after compaction"
    assert "short summary" in str(server.chat_requests()[-1]["messages"])
    assert any(isinstance(e, Notice) and "compacting and retrying once" in e.text for e in events)


async def test_local_only_compaction_never_contacts_remote(scripted_server, tmp_path):
    local = scripted_server([*[{"tool_calls": [{"name": "note", "arguments": {"text": f"{i}"}}]} for i in range(5)],
                             {"fault": "http", "status": 400, "message": "context length exceeded"},
                             {"text": "local summary"}, {"text": "fine"}], dialect="ollama")
    remote = scripted_server([{"text": "leak"}] * 3, dialect="deepseek")
    config = config_for(tmp_path, local=local, remote=remote, routing={"privacy": "local-only"})
    events = [e async for e in Agent(config, cwd=tmp_path, tools=[note]).run("go")]
    assert events[-1].text == "fine"
    assert remote.requests == []
