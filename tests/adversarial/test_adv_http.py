"""HTTP faults on the model connection: bounded retries honouring Retry-After, clear permanent errors,
no hangs, one compaction for a too-long context, and never a duplicated side effect."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agent import Agent
from agent.events import Error, TextDelta
from tests.adversarial.advhelpers import finished, notices, results, turn
from tests.conftest import config_for
from tools import ToolContext, tool


def agent_for(
    repo: Path, *, local: Any = None, remote: Any = None, tools: Any = None, **limits: Any
) -> Agent:
    route = "remote" if remote is not None else "local"
    config = config_for(
        repo,
        local=local,
        remote=remote,
        routing={"mode": route},
        permissions={"approval": "full-auto"},
        session={"checkpoints": False},
        context={"pack": False},
        limits={"max_retries": 3, "idle_timeout_s": 10.0, "request_timeout_s": 20.0, **limits},
    )
    return Agent(config, cwd=repo, tools=tools)


OK = {"text": "recovered"}


@pytest.mark.parametrize(
    "fault,min_wait",
    [
        ({"fault": "http", "status": 429, "retry_after": 1.2}, 1.2),
        ({"fault": "http", "status": 429}, 0.0),
        ({"fault": "http", "status": 500}, 0.0),
        ({"fault": "http", "status": 502, "message": "<html>Bad Gateway</html>"}, 0.0),
        ({"fault": "http", "status": 503, "retry_after": 0.5}, 0.5),
        ({"fault": "close"}, 0.0),
        ({"fault": "reset_midstream", "after_chunks": 3}, 0.0),
        ({"fault": "stall", "seconds": 5}, 1.0),
        ({"fault": "stall", "seconds": 5, "keepalive": True}, 1.0),
    ],
    ids=[
        "429-retry-after",
        "429-bare",
        "500",
        "502",
        "503",
        "closed",
        "reset-midstream",
        "stall",
        "stall-keepalive",
    ],
)
async def test_transient_faults_are_retried_then_succeed(
    scripted_server, git_repo: Path, fault: dict, min_wait: float
) -> None:
    idle = 1.0 if fault["fault"] == "stall" else 10.0
    server = scripted_server([fault, OK], dialect="vllm")
    started = time.monotonic()
    events = await turn(agent_for(git_repo, local=server, idle_timeout_s=idle), "hi")
    elapsed = time.monotonic() - started
    assert finished(events).stop_reason == "completed" and finished(events).text == "recovered"
    assert len(server.chat_requests()) == 2 and "retrying in" in notices(events)
    assert min_wait <= elapsed < min_wait + 5


async def test_retries_are_bounded(scripted_server, git_repo: Path) -> None:
    server = scripted_server([{"fault": "http", "status": 503, "retry_after": 0}] * 10, dialect="vllm")
    events = await turn(agent_for(git_repo, local=server, max_retries=2), "hi")
    assert finished(events).stop_reason == "error" and len(server.chat_requests()) == 3
    assert any(isinstance(e, Error) and "gave up after 3 attempts" in e.message for e in events)


@pytest.mark.parametrize(
    "status,words", [(401, "API key was rejected"), (402, "insufficient balance"), (400, "request rejected")]
)
async def test_permanent_errors_are_not_retried_and_say_what_to_do(
    scripted_server, git_repo: Path, status: int, words: str
) -> None:
    remote = scripted_server([{"fault": "http", "status": status}, OK, OK], dialect="deepseek")
    events = await turn(agent_for(git_repo, remote=remote), "hi")
    assert len(remote.chat_requests()) == 1  # never retried
    shown = notices(events) + "\n".join(e.message for e in events if isinstance(e, Error))
    assert words in shown and finished(events).stop_reason == "error"


async def test_402_falls_back_to_the_local_model_and_says_why(scripted_server, git_repo: Path) -> None:
    remote = scripted_server([{"fault": "http", "status": 402}, OK], dialect="deepseek")
    local = scripted_server([{"text": "local answer"}], dialect="ollama")
    config = config_for(
        git_repo,
        local=local,
        remote=remote,
        routing={"mode": "remote"},
        session={"checkpoints": False},
        context={"pack": False},
    )
    events = await turn(Agent(config, cwd=git_repo), "hi")
    assert len(remote.chat_requests()) == 1 and finished(events).text == "local answer"
    assert "insufficient balance (402)" in notices(events) and "falling back to local" in notices(events)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Garbage:
    """A port that answers with something that is not HTTP (a TLS/proxy mix-up), then hangs up."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.sendall(b"\x16\x03\x01\x00\x2a SSH-2.0-not-http\r\n\r\n")
            conn.close()


@pytest.mark.parametrize("where", ["refused", "garbage"])
async def test_unreachable_endpoints_fail_fast_with_the_address(git_repo: Path, where: str) -> None:
    garbage = _Garbage() if where == "garbage" else None
    port = garbage.port if garbage else _closed_port()

    class Fake:
        url, dialect = f"http://127.0.0.1:{port}/v1", "vllm"

    started = time.monotonic()
    events = await turn(agent_for(git_repo, local=Fake(), max_retries=1), "hi")
    assert time.monotonic() - started < 10
    assert finished(events).stop_reason == "error"
    [error] = [e for e in events if isinstance(e, Error)]
    assert str(port) in error.message or "gave up" in error.message
    if garbage:
        garbage.sock.close()


async def test_slow_drip_is_progress_not_a_stall(scripted_server, git_repo: Path) -> None:
    text = "drip " * 6
    server = scripted_server([{"text": text, "chunk_chars": 5, "chunk_delay": 0.25}], dialect="ollama")
    events = await turn(agent_for(git_repo, local=server, idle_timeout_s=1.0), "hi")
    assert finished(events).text == text and len(server.chat_requests()) == 1


async def test_oversized_reply_is_taken_whole_once(scripted_server, git_repo: Path) -> None:
    big = "x" * 3_000_000
    server = scripted_server([{"text": big, "chunk_chars": 64_000}], dialect="openai")
    events = await turn(agent_for(git_repo, local=server), "hi")
    assert finished(events).text == big
    assert sum(len(e.text) for e in events if isinstance(e, TextDelta)) == len(big)


@tool(kind="edit")
def note(text: str, ctx: ToolContext) -> str:
    """Append to notes.log (a visible side effect per call)."""
    with (ctx.root / "notes.log").open("a") as handle:
        handle.write(text + "\n")
    return "noted " + text * 200


async def test_context_too_long_compacts_and_retries_once_without_repeating_tools(
    scripted_server, git_repo: Path
) -> None:
    server = scripted_server(
        [
            *[{"tool_calls": [{"name": "note", "arguments": {"text": str(i)}}]} for i in range(4)],
            {"fault": "http", "status": 400, "message": "This model's maximum context length is 4096 tokens"},
            {"text": "summary of the notes"},
            {"text": "answer after compaction"},
        ],
        dialect="vllm",
    )
    events = await turn(agent_for(git_repo, local=server, tools=[note]), "take notes")
    assert finished(events).text == "answer after compaction"
    assert "compacting and retrying once" in notices(events)
    assert (git_repo / "notes.log").read_text() == "0\n1\n2\n3\n"  # no tool ran twice
    assert len(results(events)) == 4


async def test_context_still_too_long_after_compaction_stops_instead_of_looping(
    scripted_server, git_repo: Path
) -> None:
    too_long = {"fault": "http", "status": 400, "message": "maximum context length exceeded"}
    server = scripted_server(
        [
            *[{"tool_calls": [{"name": "note", "arguments": {"text": str(i)}}]} for i in range(4)],
            too_long,
            {"text": "summary"},
            too_long,
            too_long,
            too_long,
            too_long,
        ],
        dialect="vllm",
    )
    events = await turn(agent_for(git_repo, local=server, tools=[note]), "go")
    assert finished(events).stop_reason == "error"
    assert notices(events).count("compacting and retrying once") == 1
    assert len(server.chat_requests()) == 4 + 3  # the steps, the first try, the summary, one retry
