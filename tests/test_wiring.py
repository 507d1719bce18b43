"""The loop's use of the safety modules: auto-commit, nested instructions, checkpoint failures."""

from __future__ import annotations

import subprocess

from agent.config import load_config
from agent.events import Notice
from agent.wiring import build_agent
from tests.repos import git


def agent_for(repo, server, **session):
    config = load_config(repo, {"models": {"local": {"base_url": server.url, "dialect": "vllm"}},
                                "routing": {"mode": "local"}, "permissions": {"approval": "full-auto"},
                                "session": {"data_dir": str(repo.parent / "data"), **session}},
                         env={}, use_user_file=False)
    return build_agent(config, repo)


async def test_auto_commit_commits_only_the_turns_files_with_the_local_models_message(scripted_server, git_repo):
    (git_repo / "notes.txt").write_text("mine, uncommitted\n")
    server = scripted_server([
        {"tool_calls": [{"name": "write_file", "arguments": {"path": "hello.py", "content": "print('hi')\n"}}]},
        {"text": "created hello.py"},
        {"text": "Add hello.py greeting script"},
    ])
    agent = agent_for(git_repo, server, auto_commit=True)
    events = [e async for e in agent.run("create hello.py")]
    assert any(isinstance(e, Notice) and "committed" in e.text for e in events)
    log = git(git_repo, "log", "--format=%s", "-1")
    assert log.strip() == "Add hello.py greeting script"
    assert git(git_repo, "show", "--name-only", "--format=", "HEAD").split() == ["hello.py"]
    assert "notes.txt" in git(git_repo, "status", "--porcelain")  # the user's file stays uncommitted


async def test_without_auto_commit_the_branch_is_untouched(scripted_server, git_repo):
    head = git(git_repo, "rev-parse", "HEAD")
    server = scripted_server([
        {"tool_calls": [{"name": "write_file", "arguments": {"path": "a.py", "content": "x = 1\n"}}]},
        {"text": "done"},
    ])
    [e async for e in agent_for(git_repo, server).run("create a.py")]
    assert git(git_repo, "rev-parse", "HEAD") == head
    assert (git_repo / "a.py").exists()


async def test_nested_agents_md_reaches_the_model_with_the_first_read_under_it(scripted_server, git_repo):
    (git_repo / "api").mkdir()
    (git_repo / "api" / "AGENTS.md").write_text("API rule: every handler returns JSON.\n")
    (git_repo / "api" / "views.py").write_text("def view():\n    return {}\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "api")
    server = scripted_server([
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "api/views.py"}}]},
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "api/views.py"}}]},
        {"text": "ok"},
    ])
    [e async for e in agent_for(git_repo, server).run("look at the api")]
    first = [m for m in server.chat_requests()[1]["messages"] if m["role"] == "tool"][-1]["content"]
    second = [m for m in server.chat_requests()[2]["messages"] if m["role"] == "tool"][-1]["content"]
    assert "every handler returns JSON" in first
    assert "every handler returns JSON" not in second  # once per session


async def test_undo_after_a_turn_restores_the_tree(scripted_server, git_repo):
    (git_repo / "README.md").write_text("# sample\nuser edit before the turn\n")
    server = scripted_server([
        {"tool_calls": [{"name": "write_file", "arguments": {"path": "new.py", "content": "n = 1\n"}}]},
        {"text": "done"},
    ])
    agent = agent_for(git_repo, server)
    [e async for e in agent.run("add new.py")]
    assert (git_repo / "new.py").exists()
    agent.checkpointer.undo()
    assert not (git_repo / "new.py").exists()
    assert (git_repo / "README.md").read_text() == "# sample\nuser edit before the turn\n"
    assert subprocess.run(["git", "-C", str(git_repo), "stash", "list"], capture_output=True, text=True).stdout == ""
