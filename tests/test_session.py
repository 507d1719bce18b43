"""Session logs: append-only JSONL, resume after kill -9, listing, no secrets on disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.events import Notice, TextDelta, ToolCallStarted, UsageReported
from agent.messages import Message, ToolCall
from agent.session import (
    OUTCOME_UNKNOWN,
    SessionLog,
    SessionNotFound,
    find_session,
    list_sessions,
    load_conversation,
)

DEEPSEEK_KEY = "sk-" + "4f" * 16

CHILD = textwrap.dedent(
    """
    import sys, time, json
    from pathlib import Path
    from agent.events import ToolCallStarted, UsageReported
    from agent.messages import Message, ToolCall
    from agent.session import SessionLog

    log = SessionLog.create(Path(sys.argv[1]), Path(sys.argv[2]), session_id="crash-1")
    log.append_message(Message(role="system", content="You are qagent."))
    log.append_message(Message(role="user", content="rename foo to bar"))
    log.append_event(UsageReported(model="local", prompt_tokens=10, cost_usd=0.25))
    log.append_message(Message(role="assistant", content="", reasoning="look first",
        tool_calls=(ToolCall(id="c1", name="read_file", arguments='{"path": "a.py"}'),)))
    log.append_message(Message(role="tool", tool_call_id="c1", name="read_file",
        content="KEY = '" + sys.argv[3] + "'\\ndef foo(): ..."))
    log.sync()
    log.append_message(Message(role="assistant", content="editing now",
        tool_calls=(ToolCall(id="c2", name="edit_file", arguments='{"path": "a.py"}'),
                    ToolCall(id="c3", name="shell", arguments='{"command": "pytest"}'))))
    log.append_event(ToolCallStarted(id="c2", name="edit_file", args={"path": "a.py"}))
    # the process is killed in the middle of writing the next record
    half = json.dumps({"kind": "message", "message": {"role": "tool", "content": "x" * 5000}})
    log._handle.write(half[: len(half) // 2])
    log._handle.flush()
    print("ready", flush=True)
    time.sleep(60)
    """
)


def run_and_kill(data_dir: Path, repo: Path) -> Path:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), str(repo), DEEPSEEK_KEY],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return data_dir / "sessions" / "crash-1.jsonl"


def test_resume_after_kill_9_mid_write_rebuilds_the_conversation(tmp_path: Path) -> None:
    path = run_and_kill(tmp_path / "data", tmp_path)
    raw = path.read_bytes()
    assert not raw.endswith(b"\n")  # the crash really left a torn line

    meta, messages = load_conversation(path)

    assert meta.id == "crash-1" and meta.repo == str(tmp_path.resolve())
    assert [m.role for m in messages] == ["system", "user", "assistant", "tool", "assistant", "tool", "tool"]
    assert messages[2].reasoning == "look first"
    assert messages[2].tool_calls[0].arguments == '{"path": "a.py"}'
    assert [(m.tool_call_id, m.content) for m in messages[-2:]] == [
        ("c2", OUTCOME_UNKNOWN),
        ("c3", OUTCOME_UNKNOWN),
    ]
    assert DEEPSEEK_KEY not in raw.decode() and "[REDACTED:api-key]" in messages[3].content

    log, resumed = SessionLog.open(path)
    assert resumed == messages
    log.append_message(Message(role="assistant", content="Checked: the edit did not happen; redoing it."))
    log.close()
    lines = path.read_text().splitlines()
    assert all(line.startswith("{") and line.endswith("}") for line in lines)  # torn tail cut, not glued
    _, again = load_conversation(path)
    assert again[:-1] == messages and again[-1].content.startswith("Checked")


def test_round_trip_of_every_message_field_and_reset(tmp_path: Path) -> None:
    log = SessionLog.create(tmp_path, tmp_path / "repo", session_id="s1")
    conversation = [
        Message(role="system", content="sys"),
        Message(role="user", content="héllo ✓\nmultiline"),
        Message(
            role="assistant",
            content="",
            reasoning="r",
            reasoning_model="remote",
            tool_calls=(ToolCall(id="1", name="grep", arguments='{"pattern": "x"}'),),
        ),
        Message(role="tool", tool_call_id="1", name="grep", content="a.py:1:x"),
        Message(role="assistant", content="done"),
    ]
    for message in conversation:
        log.append_message(message)
    log.append_event(TextDelta(text="not logged"))
    log.append_event(Notice(text="compacted"))
    log.sync()
    assert load_conversation(log.path)[1] == conversation
    assert "not logged" not in log.path.read_text()
    compacted = [conversation[0], Message(role="user", content="summary"), conversation[-1]]
    log.replace_conversation(compacted)
    log.append_message(Message(role="user", content="next"))
    log.close()
    assert load_conversation(log.path)[1] == [*compacted, Message(role="user", content="next")]


def test_list_and_find_sessions(tmp_path: Path) -> None:
    repo_a, repo_b = tmp_path / "a", tmp_path / "b"
    repo_a.mkdir(), repo_b.mkdir()
    for sid, repo, prompt, cost in [
        ("20260101-000000-aaaaaa", repo_a, "first in a", 0.5),
        ("20260102-000000-bbbbbb", repo_b, "only in b", 0.0),
        ("20260103-000000-aaaacc", repo_a, "second in a", 1.25),
    ]:
        with SessionLog.create(tmp_path / "data", repo, session_id=sid) as log:
            log.append_message(Message(role="user", content=prompt))
            log.append_event(UsageReported(model="remote", cost_usd=cost))
            log.append_event(UsageReported(model="remote", cost_usd=cost))
        os.utime(log.path, (int(sid[:8]), int(sid[:8])))
    infos = list_sessions(tmp_path / "data")
    assert [i.first_prompt for i in infos] == ["second in a", "only in b", "first in a"]
    assert infos[0].cost_usd == pytest.approx(2.5)
    assert find_session(tmp_path / "data", None, repo_a).first_prompt == "second in a"
    assert find_session(tmp_path / "data", "20260102", repo_a).repo == str(repo_b.resolve())
    with pytest.raises(SessionNotFound, match="matches 3 sessions"):
        find_session(tmp_path / "data", "2026010", repo_a)
    with pytest.raises(SessionNotFound, match="qagent sessions"):
        find_session(tmp_path / "data", "nope", repo_a)
    with pytest.raises(SessionNotFound, match="no earlier session"):
        find_session(tmp_path / "data", None, tmp_path)


def test_secrets_in_events_never_reach_the_disk(tmp_path: Path) -> None:
    token = "ghp_" + "A1b2C3d4" * 5
    with SessionLog.create(tmp_path, tmp_path, session_id="s") as log:
        command = f"curl -H 'Authorization: {token}'"
        log.append_event(ToolCallStarted(id="1", name="shell", args={"command": command}))
        log.append_message(Message(role="user", content=f"my key is {DEEPSEEK_KEY}"))
    text = log.path.read_text()
    assert token not in text and DEEPSEEK_KEY not in text
    assert "[REDACTED:github-token]" in text


def test_open_on_a_session_with_no_pending_calls_appends_nothing(tmp_path: Path) -> None:
    with SessionLog.create(tmp_path, tmp_path, session_id="s") as log:
        log.append_message(Message(role="user", content="hi"))
        log.append_message(Message(role="assistant", content="hello"))
    size = log.path.stat().st_size
    reopened, messages = SessionLog.open(log.path)
    reopened.close()
    assert [m.content for m in messages] == ["hi", "hello"]
    assert log.path.stat().st_size == size


def test_listing_uses_the_summary_file_and_falls_back_when_it_is_stale(tmp_path: Path) -> None:
    with SessionLog.create(tmp_path, tmp_path, session_id="s") as log:
        log.append_message(Message(role="user", content=f"deploy with {DEEPSEEK_KEY}"))
        log.append_event(UsageReported(model="remote", cost_usd=0.5))
    summary = log.path.with_name("s.summary.json")
    assert summary.exists() and DEEPSEEK_KEY not in summary.read_text()
    [info] = list_sessions(tmp_path)
    assert info.cost_usd == 0.5 and info.first_prompt.startswith("deploy with [REDACTED")
    data = json.loads(summary.read_text())
    summary.write_text(json.dumps({**data, "cost_usd": 9.0}))  # proves the listing reads the summary
    assert list_sessions(tmp_path)[0].cost_usd == 9.0
    summary.write_text(json.dumps(data))
    # a crash after more records: the summary no longer matches the log size, so the log is scanned
    with log.path.open("a") as handle:
        handle.write('{"kind":"event","event":{"type":"usage_reported","model":"remote","cost_usd":0.25}}\n')
    assert list_sessions(tmp_path)[0].cost_usd == 0.75
    reopened, _ = SessionLog.open(log.path)  # resume carries the running totals on
    reopened.append_event(UsageReported(model="remote", cost_usd=1.0))
    reopened.close()
    assert list_sessions(tmp_path)[0].cost_usd == 1.75
    assert json.loads(summary.read_text())["cost_usd"] == 1.75
