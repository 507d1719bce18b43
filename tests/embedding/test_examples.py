"""Every file in examples/ run as a user runs it: its own process, inside a git repository, the
model configured only through QAGENT_* variables and answered by the scripted server."""

from __future__ import annotations

import json
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from agent.events import from_json_line
from tests.embedding.conftest import EXAMPLES, example_env, run_example
from tests.repos import git

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

BUGGY = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FIX = {"path": "calc.py", "old_string": "    return a - b", "new_string": "    return a + b"}
FAST_PYTEST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # the example's own pytest runs start faster


@pytest.fixture
def calc_repo(git_repo: Path) -> Path:
    """A repository whose one test fails until calc.add is fixed."""
    (git_repo / "calc.py").write_text(BUGGY)
    (git_repo / "test_calc.py").write_text(TEST)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "calc with a bug")
    return git_repo


def tool_contents(body: dict) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def test_embed_basic_edits_and_prints_the_diff(scripted_server, calc_repo, user_home):
    server = scripted_server([
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "calc.py"}}]},
        {"tool_calls": [{"name": "edit_file", "arguments": FIX}]},
        {"text": "add() subtracted; it adds now."},
    ], dialect="vllm")
    run = run_example("embed_basic.py", "fix add in calc.py", cwd=calc_repo,
                      env=example_env(user_home, server.url))
    assert run.returncode == 0, run.stderr
    assert "add() subtracted; it adds now." in run.stdout
    assert "-    return a - b" in run.stdout and "+    return a + b" in run.stdout
    assert (calc_repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert "changed: calc.py" in run.stderr and "stop: completed" in run.stderr
    assert server.chat_requests()[0]["messages"][-1]["content"] == "fix add in calc.py"


def test_custom_tool_round_trip_with_approval(scripted_server, git_repo, user_home):
    comment = {"ticket_id": 42, "text": "Probably agent/config.py (the loader)."}
    server = scripted_server([
        {"tool_calls": [{"name": "lookup_ticket", "arguments": {"ticket_id": 42}}]},
        {"tool_calls": [{"name": "comment_on_ticket", "arguments": comment}]},
        {"text": "Ticket 42: empty config crashes the loader. Commented."},
    ], dialect="vllm")
    run = run_example("custom_tool.py", "--yes", cwd=git_repo, env=example_env(user_home, server.url))
    assert run.returncode == 0, run.stderr
    first, second, third = server.chat_requests()
    offered = {t["function"]["name"]: t["function"] for t in first["tools"]}
    assert offered["lookup_ticket"]["parameters"]["properties"]["ticket_id"]["type"] == "integer"
    assert offered["comment_on_ticket"]["description"].startswith("Add a comment to a ticket")
    assert tool_contents(second) == [
        "#42 Crash when the config file is empty\n\n"
        "Running with an empty .qagent.toml raises KeyError 'models' in the loader."]
    assert tool_contents(third)[-1] == "commented on #42"
    saved = [json.loads(line) for line in (git_repo / "ticket-comments.jsonl").read_text().splitlines()]
    assert saved == [{"ticket": 42, "text": comment["text"]}]
    assert "comment on ticket #42" in run.stderr  # the preview the approver was shown
    assert "Commented." in run.stdout


def test_custom_tool_refused_without_a_terminal_to_ask(scripted_server, git_repo, user_home):
    server = scripted_server([
        {"tool_calls": [{"name": "comment_on_ticket", "arguments": {"ticket_id": 43, "text": "fixed"}}]},
        {"text": "I could not comment."},
    ], dialect="vllm")
    run = run_example("custom_tool.py", "comment on 43", cwd=git_repo, env=example_env(user_home, server.url))
    assert run.returncode == 0, run.stderr
    assert "the user denied this call" in tool_contents(server.chat_requests()[1])[0]
    assert not (git_repo / "ticket-comments.jsonl").exists()


def test_ci_fix_repairs_the_failing_test(scripted_server, calc_repo, user_home):
    server = scripted_server([
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "calc.py"}}]},
        {"tool_calls": [{"name": "edit_file", "arguments": FIX}]},
        {"text": "add() subtracted instead of adding."},
    ], dialect="vllm")
    run = run_example("ci_fix.py", cwd=calc_repo, env=example_env(user_home, server.url, **FAST_PYTEST))
    assert run.returncode == 0, run.stderr
    assert "tests pass after the agent's changes" in run.stdout and "+    return a + b" in run.stdout
    prompt = server.chat_requests()[0]["messages"][-1]["content"]
    assert "assert -1 == 5" in prompt or "assert add(2, 3) == 5" in prompt  # the failure reached the model


def test_ci_fix_stops_at_the_budget(scripted_server, calc_repo, user_home):
    server = scripted_server([
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "calc.py"}}],
         "usage": {"prompt_tokens": 100, "completion_tokens": 10}},
        {"text": "never asked"},
    ], dialect="vllm")
    price = {"QAGENT_MODELS__LOCAL__PRICING__OUTPUT": "100000"}  # USD per million: $1 per 10 tokens
    priced = example_env(user_home, server.url, **price, **FAST_PYTEST)
    run = run_example("ci_fix.py", "--budget", "0.5", "--attempts", "3", cwd=calc_repo, env=priced)
    assert run.returncode == 1
    assert "budget of $0.50 reached" in run.stderr
    assert len(server.chat_requests()) == 1
    assert (calc_repo / "calc.py").read_text() == BUGGY


def test_ci_fix_with_passing_tests_does_nothing(calc_repo, user_home):
    (calc_repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    env = example_env(user_home, "http://127.0.0.1:9/v1", **FAST_PYTEST)
    run = run_example("ci_fix.py", cwd=calc_repo, env=env)
    assert run.returncode == 0 and "nothing to fix" in run.stdout


STREAM_SCRIPT = [
    {"reasoning": "check the files", "tool_calls": [{"name": "list_files", "arguments": {}}]},
    {"text": "One README, nothing else."},
]


def test_stream_events_prints_text_tools_and_totals(scripted_server, git_repo, user_home):
    server = scripted_server(STREAM_SCRIPT, dialect="vllm")
    run = run_example("stream_events.py", "what is here?", "--mode", "thinking", cwd=git_repo,
                      env=example_env(user_home, server.url))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "One README, nothing else."
    assert "→ list_files" in run.stderr and "✓ list_files" in run.stderr and "[completed]" in run.stderr
    assert server.chat_requests()[0]["chat_template_kwargs"] == {"enable_thinking": True}


def test_stream_events_jsonl_round_trips(scripted_server, git_repo, user_home):
    server = scripted_server(STREAM_SCRIPT, dialect="vllm")
    run = run_example("stream_events.py", "--jsonl", "--mode", "fast", cwd=git_repo,
                      env=example_env(user_home, server.url))
    assert run.returncode == 0, run.stderr
    events = [from_json_line(line) for line in run.stdout.splitlines()]
    types = [e.type for e in events]
    assert types[0] == "turn_started" and types[-1] == "turn_finished"
    expected = {"route_decided", "reasoning_delta", "tool_call_started", "tool_call_finished", "text_delta"}
    assert expected <= set(types)
    assert events[-1].text == "One README, nothing else."
    assert server.chat_requests()[0]["chat_template_kwargs"] == {"enable_thinking": False}


def test_batch_tasks_file_has_the_documented_shape():
    tasks = tomllib.loads((EXAMPLES / "batch_tasks.toml").read_text())["task"]
    assert len(tasks) >= 3 and len({t["id"] for t in tasks}) == len(tasks)
    for task in tasks:
        assert task["prompt"].strip()
        assert set(task) <= {"id", "prompt", "paths", "route", "mode", "check"}
        assert task.get("route", "auto") in ("auto", "local", "remote")
        assert task.get("mode", "auto") in ("auto", "thinking", "fast")
        assert isinstance(task.get("paths", []), list)


@pytest.mark.skipif(find_spec("agent.cli.batch") is None, reason="qagent batch is not in this build yet")
def test_batch_tasks_file_runs_with_qagent_batch(scripted_server, git_repo, user_home, tmp_path):
    import subprocess

    for rel in ("src/config.py", "src/cli.py", "tests/test_config.py", "tests/test_cli.py"):
        (git_repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (git_repo / rel).write_text("def test_ok():\n    pass\n" if rel.startswith("tests") else "X = 1\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "layout of the batch example")
    server = scripted_server([{"text": "done"}] * 3, dialect="vllm")  # tasks run in any order: same reply
    report = tmp_path / "report.json"
    qagent = Path(sys.executable).with_name("qagent")
    command = [str(qagent), "batch", str(EXAMPLES / "batch_tasks.toml"), "-j", "3", "--report", str(report)]
    run = subprocess.run(command, cwd=git_repo, env=example_env(user_home, server.url), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    tasks = {t["id"]: t for t in json.loads(report.read_text())["tasks"]}
    assert set(tasks) == {"docstrings-config", "typing-cli", "rename-parse-cfg"}
    assert all(t["status"] == "succeeded" and t["check"]["passed"] for t in tasks.values())
