"""The shell tool with real subprocesses: exit codes, stdin, timeouts, daemons, output safety.

Each process test runs twice: with the default sandbox (bwrap where it works) and with the sandbox
off, where cleanup relies on the process group and the run-marker scan alone.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from toolhelpers import call, make_config, wait_gone

POLICIES = ["auto", "off"]


def cfg(policy: str):  # type: ignore[no-untyped-def]
    return make_config(sandbox={"policy": policy})


def token() -> str:
    """A unique sleep duration, so the test can find its processes by command line."""
    return f"1000.{random.randrange(10**8, 10**9)}"


@pytest.mark.parametrize("policy", POLICIES)
async def test_exit_codes_are_reported(workspace: Path, policy: str) -> None:
    ok = await call("shell", {"command": "echo fine"}, workspace, config=cfg(policy))
    assert ok.ok and ok.data["exit_code"] == 0 and "fine" in ok.text and "exit code 0" in ok.text
    bad = await call("shell", {"command": "echo oops >&2; exit 7"}, workspace, config=cfg(policy))
    assert not bad.ok
    assert bad.data["exit_code"] == 7 and not bad.data["killed"]
    assert "oops" in bad.text and "exit code 7" in bad.text


@pytest.mark.parametrize("policy", POLICIES)
async def test_command_reading_stdin_returns_at_once(workspace: Path, policy: str) -> None:
    started = time.monotonic()
    result = await call("shell", {"command": "cat; read line; python3 -c 'input()'; echo after",
                                  "timeout_s": 30}, workspace, config=cfg(policy))
    assert time.monotonic() - started < 5
    assert "EOFError" in result.text and "after" in result.text and not result.data["killed"]


@pytest.mark.parametrize("policy", POLICIES)
async def test_timeout_kills_the_whole_tree(workspace: Path, policy: str) -> None:
    a, b, c = token(), token(), token()
    command = f"sleep {a} & (sleep {b} &) ; bash -c 'trap \"\" TERM; sleep {c}' & echo started; wait"
    started = time.monotonic()
    result = await call("shell", {"command": command, "timeout_s": 1}, workspace, config=cfg(policy))
    elapsed = time.monotonic() - started
    assert result.data["killed"] and result.data["killed_reason"] == "timeout"
    assert "killed after 1." in result.text and "started" in result.text
    assert result.data["exit_code"] is not None and "exit code" in result.text
    assert elapsed < 6, "SIGTERM, one grace period, SIGKILL"
    assert await wait_gone(a) == [] and await wait_gone(b) == [] and await wait_gone(c) == []


@pytest.mark.parametrize("policy", POLICIES)
async def test_daemons_do_not_outlive_the_command(workspace: Path, policy: str) -> None:
    a, b, c = token(), token(), token()
    command = (f"sleep {a} & setsid nohup sleep {b} >/dev/null 2>&1 & "
               f"nohup sh -c 'sleep {c}' >/dev/null 2>&1 & echo launched")
    started = time.monotonic()
    result = await call("shell", {"command": command, "timeout_s": 30}, workspace, config=cfg(policy))
    assert time.monotonic() - started < 3, "a daemon holding stdout must not keep the call open"
    assert result.ok and "launched" in result.text
    assert await wait_gone(a) == [] and await wait_gone(b) == [] and await wait_gone(c) == []


async def test_invalid_utf8_and_terminal_escapes_are_made_inert(workspace: Path) -> None:
    command = r"printf 'ok \xff\xfe end\n\033]0;evil title\007\033[2J\033[31mred\033[0m\n\233Hc1\n'"
    result = await call("shell", {"command": command}, workspace)
    assert "ok \ufffd\ufffd end" in result.text
    assert "red" in result.text
    assert "\x1b" not in result.text and "\x9b" not in result.text and "\x07" not in result.text
    assert "evil title" not in result.text


async def test_long_output_keeps_head_and_tail_and_spills_the_rest(workspace: Path) -> None:
    result = await call("shell", {"command": "seq 1 200000"}, workspace)
    lines = result.text.splitlines()
    assert lines[0] == "1" and "200000" in lines[-2]
    assert len(result.text) < 30_000
    assert "lines /" in result.text and "bytes omitted" in result.text
    spill = Path(result.data["output_path"])
    assert str(spill) in result.text
    content = spill.read_text().splitlines()
    assert content[0] == "1" and content[-1] == "200000" and len(content) == 200000


async def test_output_streams_to_front_ends_in_batches(workspace: Path) -> None:
    seen: list[tuple[float, str]] = []
    started = time.monotonic()
    result = await call(
        "shell", {"command": "echo first; sleep 0.6; echo second; seq 1 20000 >/dev/stdout"},
        workspace, on_output=lambda text: seen.append((time.monotonic() - started, text)),
    )
    finished_at = time.monotonic() - started
    first_at = next(t for t, text in seen if "first" in text)
    assert first_at < finished_at - 0.4, "output arrives while the command is still running (sleep 0.6)"
    assert "".join(text for _, text in seen).splitlines()[-1] == "20000"
    assert len(seen) < 60, "not one delta per read or line"
    assert result.ok


async def test_task_cancellation_kills_and_reraises(workspace: Path) -> None:
    tok = token()
    task = asyncio.create_task(call("shell", {"command": f"sleep {tok}"}, workspace))
    await asyncio.sleep(0.5)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 3
    assert await wait_gone(tok) == []


async def test_user_interrupt_returns_promptly_with_partial_output(workspace: Path) -> None:
    tok = token()
    cancelled = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, cancelled.set)
    result = await call("shell", {"command": f"echo working; sleep {tok}"}, workspace, cancelled=cancelled)
    assert result.data["killed_reason"] == "interrupted" and not result.ok
    assert "working" in result.text and "interrupted by the user" in result.text
    assert await wait_gone(tok) == []


async def test_cwd_is_confined_to_the_workspace(workspace: Path) -> None:
    (workspace / "sub").mkdir()
    inside = await call("shell", {"command": "pwd", "cwd": "sub"}, workspace)
    assert inside.text.splitlines()[0] == str(workspace.resolve() / "sub")
    outside = await call("shell", {"command": "pwd", "cwd": "../.."}, workspace)
    assert not outside.ok and "outside the workspace" in outside.text


async def test_result_data_describes_the_run(workspace: Path) -> None:
    result = await call("shell", {"command": "true"}, workspace)
    assert set(result.data) >= {"exit_code", "killed", "duration_s", "output_path", "sandbox"}
    assert result.data["sandbox"] in ("bwrap", "landlock", "none")
    assert result.data["output_path"] is None


async def test_interactive_editors_are_refused_at_once(workspace: Path) -> None:
    started = time.monotonic()
    result = await call("shell", {"command": "vim README.md"}, workspace)
    assert time.monotonic() - started < 1
    assert not result.ok and "interactive editor" in result.text and "edit_file" in result.text


@pytest.mark.parametrize("policy", POLICIES)
async def test_commands_wanting_an_editor_or_terminal_fail_fast(workspace: Path, policy: str) -> None:
    (workspace / "new.txt").write_text("x\n")
    started = time.monotonic()
    result = await call("shell", {"command": "read -p 'password: ' x < /dev/tty; git add new.txt; git commit",
                                  "timeout_s": 30}, workspace, config=cfg(policy))
    assert time.monotonic() - started < 5
    assert "/dev/tty" in result.text and not result.data["killed"]
    assert "problem with the editor" in result.text or "Read-only file system" in result.text


@pytest.mark.parametrize("policy", POLICIES)
async def test_timeout_gives_a_grace_period_before_sigkill(workspace: Path, policy: str) -> None:
    command = "trap 'echo cleaning up; exit 3' TERM; echo running; sleep 100 & wait"
    result = await call("shell", {"command": command, "timeout_s": 1}, workspace, config=cfg(policy))
    assert "running" in result.text and "cleaning up" in result.text, result.text
    assert result.data["killed"]
