"""The installed ``qagent`` command as a user runs it: real subprocesses, real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

QAGENT = Path(sys.executable).with_name("qagent")


def run_cli(*args: str, cwd: Path, stdin: str | None = None, env: dict | None = None, timeout: float = 60):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("QAGENT_", "DEEPSEEK"))}
    full_env["HOME"] = str(cwd)  # no user config file leaks in
    full_env.update(env or {})
    return subprocess.run([str(QAGENT), *args], cwd=cwd, input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def write_config(root: Path, url: str, dialect: str = "vllm", extra: str = "") -> None:
    (root / ".qagent.toml").write_text(
        f'[models.local]\nbase_url = "{url}"\nmodel = "qwen3.5:9b"\ndialect = "{dialect}"\n'
        f'[routing]\nmode = "local"\n{extra}')


def test_version_is_fast_and_plain(tmp_path):
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("qagent ")


def test_print_mode_text_streams_the_answer(scripted_server, git_repo):
    server = scripted_server([{"reasoning": "hmm", "text": "The answer is 42."}])
    write_config(git_repo, server.url)
    result = run_cli("-p", "what is the answer?", cwd=git_repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "The answer is 42."
    assert "hmm" not in result.stdout


def test_prompt_from_stdin_and_json_output(scripted_server, git_repo):
    server = scripted_server([{"text": "from stdin", "usage": {"prompt_tokens": 10, "completion_tokens": 3}}])
    write_config(git_repo, server.url)
    result = run_cli("-p", "-", "--output-format", "json", cwd=git_repo, stdin="a prompt on stdin")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["result"] == "from stdin" and payload["stop_reason"] == "completed"
    assert payload["usage"]["prompt_tokens"] == 10
    assert server.chat_requests()[0]["messages"][-1]["content"] == "a prompt on stdin"


def test_stream_json_is_the_event_union(scripted_server, git_repo):
    from agent.events import from_json_line

    server = scripted_server([{"tool_calls": [{"name": "list_files", "arguments": {}}]}, {"text": "done"}])
    write_config(git_repo, server.url)
    result = run_cli("-p", "list", "--output-format", "stream-json", cwd=git_repo)
    assert result.returncode == 0, result.stderr
    events = [from_json_line(line) for line in result.stdout.splitlines()]
    types = [e.type for e in events]
    assert types[0] == "turn_started" and types[-1] == "turn_finished"
    assert "route_decided" in types and "tool_call_finished" in types


def test_mode_flag_reaches_the_wire(scripted_server, git_repo):
    server = scripted_server([{"text": "ok"}], dialect="vllm")
    write_config(git_repo, server.url)
    assert run_cli("-p", "hi", "--mode", "thinking", cwd=git_repo).returncode == 0
    assert server.chat_requests()[0]["chat_template_kwargs"] == {"enable_thinking": True}


def test_no_model_reachable_exits_3_naming_the_endpoints(git_repo):
    write_config(git_repo, "http://127.0.0.1:9/v1", "ollama")
    result = run_cli("-p", "hello", cwd=git_repo)
    assert result.returncode == 3
    assert "no model reachable" in result.stderr and "127.0.0.1:9" in result.stderr
    assert "ollama" in result.stderr.lower()
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("content", "words"), [
    ('[routing]\nmode = "sideways"\n', ["routing.mode", ".qagent.toml"]),
    ('[limits]\nmax_turns = "many"\n', ["limits.max_turns", "integer"]),
    ('[routing\n', ["not valid TOML"]),
    ('[models.local]\nbase_url = "http://x"\nmodle = "typo"\n', ["modle", "unknown key"]),
])
def test_bad_config_is_a_clear_error_with_exit_2(git_repo, content, words):
    (git_repo / ".qagent.toml").write_text(content)
    result = run_cli("-p", "hello", cwd=git_repo)
    assert result.returncode == 2
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_flag_value_is_a_usage_error(git_repo):
    result = run_cli("-p", "x", "--mode", "turbo", cwd=git_repo)
    assert result.returncode == 2 and "turbo" in result.stderr


def test_task_failure_exits_1(scripted_server, git_repo):
    server = scripted_server([{"fault": "http", "status": 402}])
    write_config(git_repo, server.url)
    result = run_cli("-p", "x", cwd=git_repo)
    assert result.returncode == 1
    assert "insufficient balance" in result.stderr.lower()


def test_route_dry_run_calls_no_model(git_repo, scripted_server):
    remote = scripted_server([], dialect="deepseek")
    (git_repo / ".qagent.toml").write_text(
        f'[models.remote]\nbase_url = "{remote.url}"\nremote = true\n')
    result = run_cli("route", "--json", "rename Session to Conversation across the codebase", cwd=git_repo,
                     env={"DEEPSEEK_API_KEY": "sk-x"})
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["model"] == "remote" and decision["mode"] == "thinking"
    assert "repository-scale" in decision["reason"]
    assert remote.requests == []


def test_env_layer_overrides_repo_file(scripted_server, git_repo):
    server = scripted_server([{"text": "ok"}], dialect="vllm")
    write_config(git_repo, "http://127.0.0.1:9/v1")
    result = run_cli("-p", "hi", cwd=git_repo, env={"QAGENT_MODELS__LOCAL__BASE_URL": server.url})
    assert result.returncode == 0, result.stderr


def test_demo_replays_a_session_with_real_tools(tmp_path):
    result = run_cli("demo", "--headless", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Fixed `subtract`" in result.stdout
    for tool_name in ("list_files", "read_file", "edit_file", "shell"):
        assert f"→ {tool_name}" in result.stderr
    assert "-    return a + b" in result.stderr and "+    return a - b" in result.stderr


def test_continue_resumes_the_last_session_of_this_repo(scripted_server, git_repo):
    server = scripted_server([{"text": "first answer"}, {"text": "second answer"}])
    write_config(git_repo, server.url)
    assert run_cli("-p", "remember the number 7", cwd=git_repo).returncode == 0
    result = run_cli("-p", "what number?", "--continue", cwd=git_repo)
    assert result.returncode == 0, result.stderr
    sent = [m["content"] for m in server.chat_requests()[1]["messages"] if m["role"] in ("user", "assistant")]
    assert "remember the number 7" in sent and "first answer" in sent and sent[-1] == "what number?"


def test_resume_unknown_session_is_a_usage_error(git_repo):
    write_config(git_repo, "http://127.0.0.1:9/v1")
    result = run_cli("-p", "x", "--resume", "nope", cwd=git_repo)
    assert result.returncode == 2 and "nope" in result.stderr and "Traceback" not in result.stderr
