"""Hostile commands through the shell tool: each ends (by timeout or interrupt), leaves no process
behind, keeps memory bounded, and the session carries on with the next command."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent import Agent
from agent.events import ToolCallStarted
from tests.adversarial.advhelpers import call, finished, results
from tests.conftest import config_for
from tools import ToolSession

PY = "/usr/bin/python3"


def hostile(marker: str) -> dict[str, str]:
    """Commands by what they do wrong; each carries ``marker`` in the command line of every process."""
    return {
        "hang": f"{PY} -c 'import time; time.sleep(600)' {marker}",
        "stdin": f"{PY} -c 'import sys, time; data = sys.stdin.read(); time.sleep(600)' {marker}",
        "daemonise": (
            f"setsid {PY} -c 'import os, time\nif os.fork(): os._exit(0)\nos.setsid(); time.sleep(600)' "
            f"{marker} >/dev/null 2>&1 < /dev/null & sleep 600 # {marker}"
        ),
        "ignore-sigterm": (
            f"{PY} -c 'import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            f"time.sleep(600)' {marker}"
        ),
        "fork-children": (
            f"{PY} -c 'import os, time\nfor _ in range(60):\n    if os.fork() == 0: break\n"
            f"time.sleep(600)' {marker}"
        ),
        "gigabytes": f"yes {marker} | head -c 4000000000",
        "escapes": (
            f"{PY} -c 'import sys, time; sys.stdout.buffer.write(b\"\\x1b]0;pwned title\\x07\\x1b[2J\\x1b[H"
            f"\\xff\\xfe bad utf8 \\x1b[31mred\\n\"); sys.stdout.flush(); time.sleep(600)' {marker}"
        ),
    }


KINDS = list(hostile("m"))


@pytest.mark.parametrize("kind", KINDS)
async def test_timeout_ends_each_command_without_orphans(git_repo: Path, ledger, kind: str) -> None:
    command = hostile(ledger.marker)[kind]
    started = time.monotonic()
    result = await call("shell", {"command": command, "timeout_s": 1.5}, git_repo)
    elapsed = time.monotonic() - started
    assert elapsed < 12, f"{kind} took {elapsed:.1f}s with a 1.5 s timeout"
    assert len(result.text) < 40_000, "output reaching the model stays capped"
    if kind == "escapes":
        assert "\x1b" not in result.text and "\x07" not in result.text and "red" in result.text
    if kind not in ("stdin",):
        assert result.data.get("timed_out") or not result.ok, result.text[-500:]
    after = await call("shell", {"command": "echo still-alive"}, git_repo)
    assert after.ok and "still-alive" in after.text


@pytest.mark.parametrize("kind", KINDS)
async def test_interrupt_during_each_command_keeps_the_session_going(
    scripted_server, git_repo: Path, ledger, kind: str
) -> None:
    command = hostile(ledger.marker)[kind]
    server = scripted_server(
        [
            {"tool_calls": [{"name": "shell", "arguments": {"command": command, "timeout_s": 600}}]},
            {"tool_calls": [{"name": "shell", "arguments": {"command": "echo next-turn-works"}}]},
            {"text": "all good"},
        ]
    )
    config = config_for(
        git_repo,
        local=server,
        routing={"mode": "local"},
        permissions={"approval": "full-auto"},
        session={"checkpoints": False},
        limits={"idle_timeout_s": 30.0},
        context={"pack": False},
    )
    agent = Agent(config, cwd=git_repo)
    events = []
    try:
        async for event in agent.run("run it"):
            events.append(event)
            if isinstance(event, ToolCallStarted):
                asyncio.get_running_loop().call_later(0.8, agent.interrupt)  # Esc / Ctrl-C
        started = time.monotonic()
        assert finished(events).stop_reason == "interrupted"
        again = [event async for event in agent.run("go on")]
        assert time.monotonic() - started < 10
    finally:
        await agent.aclose()
    assert finished(again).stop_reason == "completed"
    assert [r.ok for r in results(again)] == [True] and "next-turn-works" in results(again)[0].output
    roles = [m.role for m in agent.messages]
    assert roles.count("tool") == sum(len(m.tool_calls) for m in agent.messages)  # every call answered


MEMORY_SCRIPT = r"""
import json, sys, time
from pathlib import Path
from tools import run_tool

def hwm_kb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

root, marker = sys.argv[1], sys.argv[2]
run_tool("shell", {"command": "echo warm"}, root=root)
before = hwm_kb()
started = time.monotonic()
result = run_tool("shell", {"command": f"yes {marker} | head -c 1073741824", "timeout_s": 120}, root=root)
print(json.dumps({"before_kb": before, "after_kb": hwm_kb(), "seconds": time.monotonic() - started,
                  "chars": len(result.text), "data": result.data}))
"""


def test_a_gigabyte_of_output_keeps_memory_bounded(git_repo: Path, ledger) -> None:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(git_repo), ledger.marker],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    grown_mb = (report["after_kb"] - report["before_kb"]) / 1024
    ledger.note(gigabyte_rss_growth_mb=round(grown_mb, 1), gigabyte_seconds=round(report["seconds"], 2))
    assert report["data"]["total_bytes"] == 1 << 30
    assert grown_mb < 64, f"peak RSS grew by {grown_mb:.0f} MB while streaming 1 GiB"
    assert report["chars"] < 40_000
    Path(report["data"]["output_path"]).unlink(missing_ok=True)


HOSTILE_BYTES = (
    b"\x1b]0;pwned title\x07\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07\x1b[2J\x1b[H\x1b[10A\x9b31m"
    b"[bold red]not markup[/] \xff\xfe done\r\n"
)
DANGEROUS = ("\x1b]", "\x07", "\x1b[2J", "\x1b[H", "\x1b[10A", "\x9b", "\x1bP")


async def test_escape_sequences_in_output_and_files_render_inert_in_the_tui(git_repo: Path) -> None:
    from io import StringIO

    from rich.console import Console

    from agent.tui.render import args_summary, diff_text, inert

    (git_repo / "evil.txt").write_bytes(HOSTILE_BYTES)
    session_outputs = [
        (await call("shell", {"command": "cat evil.txt"}, git_repo)).text,
        (await call("read_file", {"path": "evil.txt"}, git_repo)).text,
    ]
    session = ToolSession()
    await call("read_file", {"path": "evil.txt"}, git_repo, session=session)
    edit = await call(
        "edit_file",
        {"path": "evil.txt", "old_string": "done", "new_string": "\x1b]0;t2\x07"},
        git_repo,
        session=session,
    )
    buffer = StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="truecolor", width=120)
    for text in session_outputs:
        console.print(inert(text))
    console.print(diff_text(edit.data.get("diff") or ""))
    console.print(args_summary({"command": "printf '\x1b]0;title\x07'"}))
    screen = buffer.getvalue()
    assert not [seq for seq in DANGEROUS if seq in screen], repr(screen[:400])
    assert "[bold red]not markup[/]" in screen  # markup in output is shown literally
