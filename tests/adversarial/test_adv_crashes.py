"""kill -9 mid-edit and mid-turn: every file is old or new, the session resumes, /undo still works."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from agent.events import TurnFinished
from agent.session import OUTCOME_UNKNOWN
from agent.wiring import build_agent
from tests.adversarial.advhelpers import notices, turn
from tests.adversarial.conftest import pids_with
from tests.conftest import config_for

ROOT = Path(__file__).parents[2]

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tools import ToolSession, run_tool

    root = Path(sys.argv[1])
    variants = [("A%06d\\n" % i) * 150_000 for i in range(2)]  # 1 MB each
    session = ToolSession()
    print("ready", flush=True)
    i = 0
    while True:
        run_tool("read_file", {"path": "big.txt", "limit": 1}, root=root, session=session)
        args = {"path": "big.txt", "content": variants[i % 2]}
        result = run_tool("write_file", args, root=root, session=session)
        assert result.ok, result.text
        i += 1
    """
)


def test_sigkill_mid_write_leaves_old_or_new_bytes(git_repo: Path, ledger) -> None:
    target = git_repo / "big.txt"
    variants = [(f"A{i:06d}\n" * 150_000).encode() for i in range(2)]
    target.write_bytes(variants[1])
    ledger.keep(target, allowed=variants)
    rng = random.Random(7)
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(git_repo)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert target.read_bytes() in variants  # never torn, never empty
    strays = sorted(p.name for p in git_repo.iterdir() if p.name.endswith(".qagent-tmp"))
    ledger.note(stray_temp_files_after_kills=len(strays))
    after = subprocess.run(
        ["git", "-C", str(git_repo), "status", "--porcelain"], capture_output=True, text=True
    )
    assert ".qagent-tmp" not in after.stdout  # a stray temp file never shows up as a change in git


STALLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from tools import ToolSession, run_tool

    real_fsync = os.fsync

    def stalled_fsync(fd):  # the data is in the temp file; the rename has not happened yet
        print("mid-write", flush=True)
        time.sleep(60)

    root = Path(sys.argv[1])
    session = ToolSession()
    run_tool("read_file", {"path": "big.txt", "limit": 1}, root=root, session=session)
    os.fsync = stalled_fsync
    args = {"path": "big.txt", "content": "new content\\n" * 1000}
    run_tool("write_file", args, root=root, session=session)
    """
)


def test_sigkill_between_temp_write_and_rename_then_the_next_write_cleans_up(git_repo: Path, ledger) -> None:
    target = git_repo / "big.txt"
    target.write_text("old content\n" * 1000)
    ledger.keep(target, allowed=[b"newer\n"])
    proc = subprocess.Popen(
        [sys.executable, "-c", STALLED_WRITER, str(git_repo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"mid-write", proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert target.read_text() == "old content\n" * 1000  # the old file, whole
    from tools import ToolSession, run_tool

    session = ToolSession()
    run_tool("read_file", {"path": "big.txt", "limit": 1}, root=git_repo, session=session)
    assert run_tool(
        "write_file", {"path": "big.txt", "content": "newer\n"}, root=git_repo, session=session
    ).ok
    assert (
        sorted(p.name for p in git_repo.iterdir() if "qagent-tmp" in p.name) == []
    )  # the dead writer's temp file


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from agent.testing import ScriptedServer
    from agent.wiring import build_agent
    from tests.conftest import config_for

    repo, data, marker = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    server = ScriptedServer([
        {"tool_calls": [{"name": "edit_file", "arguments": {"path": "app.py", "old_string": "VERSION = 1",
                                                             "new_string": "VERSION = 2"}},
                        {"name": "write_file",
                         "arguments": {"path": "notes/new.md", "content": "# new\\n"}}]},
        {"tool_calls": [{"name": "shell",
                         "arguments": {"command": f"sleep 600 # {marker}", "timeout_s": 600}}]},
        {"text": "never reached"},
    ]).start()
    config = config_for(repo, local=server, routing={"mode": "local"}, permissions={"approval": "full-auto"},
                        session={"data_dir": data}, context={"pack": False})
    agent = build_agent(config, repo)

    async def main():
        async for _ in agent.run("bump the version"):
            pass

    asyncio.run(main())
    """
)


def _command_started(marker: str) -> bool:
    """A process of the shell command (not a fork of the agent itself, which shares its command line)."""
    for pid in pids_with(marker):
        try:
            argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if not argv0.endswith(b"python") and b"python3" not in argv0:
            return True
    return False


async def test_sigkill_mid_turn_then_resume_and_undo(
    scripted_server, git_repo: Path, ledger, tmp_path: Path
) -> None:
    (git_repo / "app.py").write_text("VERSION = 1\n")
    (git_repo / "scratch.txt").write_text("the user's unsaved work\n")
    ledger.keep(git_repo / "scratch.txt")
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(git_repo), str(data), ledger.marker],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 30
    while not _command_started(ledger.marker) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.01)
    # Killed the moment the command's process appears: inside the window before bwrap arms
    # --die-with-parent. Whatever survives must be ended by the next session (reap_orphans).
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert (git_repo / "app.py").read_text() == "VERSION = 2\n"

    server = scripted_server([{"text": "resumed fine"}])
    config = config_for(
        git_repo,
        local=server,
        routing={"mode": "local"},
        permissions={"approval": "full-auto"},
        session={"data_dir": str(data)},
        context={"pack": False},
    )
    agent = build_agent(config, git_repo, cont=True)
    events = await turn(agent, "where were we?")
    assert isinstance(events[-1], TurnFinished) and events[-1].text == "resumed fine"
    ledger.note(reaped_after_crash="ended" in notices(events))
    sent = server.chat_requests()[0]["messages"]
    assert [m["role"] for m in sent[1:]] == ["user", "assistant", "tool", "tool", "assistant", "tool", "user"]
    assert sent[-2]["content"] == OUTCOME_UNKNOWN  # the killed call is flagged, not silently dropped

    result = agent.checkpointer.undo()  # /undo after the crash restores the pre-turn tree
    assert (git_repo / "app.py").read_text() == "VERSION = 1\n"
    assert not (git_repo / "notes" / "new.md").exists()
    assert "app.py" in result.restored
