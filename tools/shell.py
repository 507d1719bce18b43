"""The ``shell`` tool: run one command line in the workspace, safely and without hanging.

Every command runs with ``bash -c`` in its own process group with stdin on /dev/null (a command
waiting for input ends at once instead of stalling the session), inside the sandbox from
:mod:`tools.sandbox`. Output streams to front ends as it comes and is captured with bounded
memory (:mod:`tools.shellio`). On timeout or interrupt the whole group gets SIGTERM, a grace
period, then SIGKILL; processes that left the group (``setsid``, daemons) are found by a per-run
marker in their environment (and, where one is writable, a per-command cgroup that also caps the
process count) and killed too, so nothing outlives the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tools import ToolContext, ToolResult, ToolRetry, tool
from tools import sandbox as sandboxes
from tools.cgroup import DEFAULT_PIDS_MAX, CommandCgroup, orphaned_groups
from tools.paths import display_path, resolve_in_workspace
from tools.shellio import Capture, LiveStream, spill_dir
from tools.shellparse import interactive_editor

GRACE_S = 1.0
"""Between SIGTERM and SIGKILL: enough for a test runner to print its summary, short for the user."""
READ_SIZE = 256 * 1024


class ShellArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: str = Field(description="The command line, run with bash -c in the workspace.")
    timeout_s: float = Field(120, gt=0, le=3600, description="Seconds before the command is killed.")
    cwd: str | None = Field(None, description="Working folder relative to the workspace (default: its root).")


def _preview(args: ShellArgs, ctx: ToolContext) -> str:
    return args.command


@tool(kind="exec", preview=_preview)
async def shell(args: ShellArgs, ctx: ToolContext) -> ToolResult:
    """Run a shell command (bash -c) in the workspace and return its output and exit code.

    stdin is closed and there is no terminal, so prompts end at once and editors are refused: pass
    flags such as --yes, -m "message" or --no-pager instead. Long output is shortened to its
    beginning and end; the full text is saved to a file whose path is given. Commands run sandboxed
    where the machine allows it: the workspace is writable, .git and the rest of the system are
    read-only, secret files (.env, keys) are unreadable, and the network is off unless the user
    enabled it. Background processes are killed when the command ends; do not start servers
    expecting them to keep running.
    """
    cwd = _resolve_cwd(ctx.root, args.cwd)
    editor = interactive_editor(args.command)
    if editor:
        raise ToolRetry(f"{editor} is an interactive editor and would wait for a terminal that does not "
                        "exist here; use read_file / edit_file / write_file (or sed, cat) instead")
    config = ctx.config
    policy = config.sandbox.policy if config is not None else "auto"
    status = sandboxes.detect(policy)
    notice = sandboxes.take_notice(status, policy)
    if notice:
        ctx.notify(notice, "warning")
    if policy == "bwrap" and status.kind != "bwrap":
        return ToolResult(False, sandboxes.notice_text(status, policy) or status.detail,
                          {"exit_code": None, "killed": False, "sandbox": "none"})
    run_id = f"{os.getpid()}-{uuid.uuid4().hex}"  # the agent's pid: see reap_orphans
    uid, gid = sandboxes.run_as(ctx.root)
    folder = spill_dir(uid, gid)
    launch = sandboxes.prepare(
        args.command, root=ctx.root, cwd=cwd, status=status, run_id=run_id,
        network=config.sandbox.network if config is not None else False,
        extra_ro_binds=tuple(config.sandbox.extra_ro_binds) if config is not None else (),
        visible=(folder,),
    )
    return await _run(launch, args, ctx, cwd=cwd, run_id=run_id, folder=folder)


def _resolve_cwd(root: Path, cwd: str | None) -> Path:
    if not cwd:
        return Path(os.path.realpath(root))
    folder = resolve_in_workspace(root, cwd)
    if not folder.is_dir():
        raise ToolRetry(f"cwd {cwd!r} is not a folder in the workspace")
    return folder


async def _run(launch: sandboxes.Launch, args: ShellArgs, ctx: ToolContext, *, cwd: Path, run_id: str,
               folder: Path) -> ToolResult:
    capture = Capture(folder)
    live = _live_stream(ctx)
    started = time.monotonic()
    cgroup = CommandCgroup.create(run_id, owner=launch.user)
    argv = cgroup.wrap(launch.argv) if cgroup else launch.argv
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, cwd=cwd, env=launch.env, start_new_session=True,
        user=launch.user, group=launch.group, extra_groups=[] if launch.user is not None else None,
    )
    tree = _ProcessTree(proc, run_id, sandboxed=launch.kind == "bwrap", cgroup=cgroup)
    pump = asyncio.create_task(_pump(proc, capture, live))
    flusher = asyncio.create_task(_flush_periodically(live)) if live else None
    killed: str | None = None
    try:
        killed = await _wait(proc, args.timeout_s, ctx.cancelled)
        killed_at = time.monotonic() - started
        if killed:
            await tree.terminate()
        else:
            await tree.reap_leftovers(pump)
        await _finish_pump(pump)
    except asyncio.CancelledError:
        await tree.terminate()
        pump.cancel()
        raise
    finally:
        if flusher:
            flusher.cancel()
        capture.close()
        fork_limited = cgroup is not None and cgroup.hit_limit
        if cgroup is not None:
            cgroup.remove()
    if live:
        live.flush(final=True)
    duration = time.monotonic() - started
    result = _result(args, capture, proc.returncode, killed, (killed_at, duration), launch.kind,
                     display_path(ctx.root, cwd))
    if launch.masked:
        shown = [display_path(ctx.root, Path(p)) for p in launch.masked]
        result = ToolResult(result.ok, result.text, {**result.data, "masked": shown})
    if fork_limited:
        note = f"[the command hit the limit of {DEFAULT_PIDS_MAX} processes; forks were refused]"
        return ToolResult(result.ok, f"{result.text}\n{note}", {**result.data, "pids_limit_hit": True})
    return result


def _live_stream(ctx: ToolContext) -> LiveStream | None:
    if ctx.on_output is None:
        return None
    return LiveStream(ctx.on_output)


async def _pump(proc: asyncio.subprocess.Process, capture: Capture, live: LiveStream | None) -> None:
    assert proc.stdout is not None
    while chunk := await proc.stdout.read(READ_SIZE):
        capture.feed(chunk)
        if live:
            live.feed(chunk)


async def _flush_periodically(live: LiveStream) -> None:
    while True:
        await asyncio.sleep(0.1)
        live.flush()


async def _wait(proc: asyncio.subprocess.Process, timeout: float,
                cancelled: asyncio.Event | None) -> str | None:
    """None when the command exited by itself, else why it must be killed."""
    waiter = asyncio.create_task(_exited(proc))
    interrupt = asyncio.create_task(cancelled.wait()) if cancelled is not None else None
    tasks = {waiter} | ({interrupt} if interrupt else set())
    try:
        done, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
    if waiter in done:
        return None
    return "interrupted" if interrupt is not None and interrupt in done else "timeout"


async def _exited(proc: asyncio.subprocess.Process) -> int:
    """The exit code once the process itself exits.

    ``proc.wait()`` also waits for the pipes to close, which a daemon holding stdout delays forever.
    """
    delay = 0.002
    while proc.returncode is None:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)
    return proc.returncode


async def _finish_pump(pump: asyncio.Task[None]) -> None:
    """After the kill the pipe closes; if a process we could not find still holds it, stop reading."""
    try:
        await asyncio.wait_for(pump, 3)
    except asyncio.TimeoutError:
        pass


class _ProcessTree:
    """Everything one command started, and how to end it: group, run marker, cgroup."""

    def __init__(self, proc: asyncio.subprocess.Process, run_id: str, *, sandboxed: bool,
                 cgroup: CommandCgroup | None) -> None:
        self.proc, self.run_id, self.sandboxed, self.cgroup = proc, run_id, sandboxed, cgroup

    async def terminate(self) -> None:
        """SIGTERM, a grace period, then SIGKILL to whatever is left.

        Under bwrap the group holds only bwrap itself, whose death kills the sandbox at once; so
        the SIGTERM goes to the sandboxed processes (found by marker) to give them their grace.
        """
        if self.sandboxed:
            self._kill(marked_pids(self.run_id), signal.SIGTERM)
        else:
            self.signal(signal.SIGTERM)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(_exited(self.proc), GRACE_S)
        self.signal(signal.SIGKILL)
        await asyncio.wait_for(_exited(self.proc), 5)

    async def reap_leftovers(self, pump: asyncio.Task[None]) -> None:
        """The command exited: give its output a moment to drain, then kill anything left behind.

        Under bwrap the kernel already killed the pid namespace with it: no /proc scan is needed.
        """
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(pump), 0.05)
        self.signal(signal.SIGKILL, scan=not self.sandboxed)

    def signal(self, sig: signal.Signals, *, scan: bool = True) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)
        if self.cgroup is not None:
            self.cgroup.kill_all(sig)
        if scan:
            self._kill(marked_pids(self.run_id), sig)

    @staticmethod
    def _kill(pids: list[int], sig: signal.Signals) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def marked_pids(run_id: str) -> list[int]:
    """Processes whose environment carries this run's marker (those that escaped the group)."""
    marker = f"{sandboxes.RUN_ID_VAR}={run_id}".encode()
    return [pid for pid, environ in _environs() if marker in environ]


def reap_orphans() -> int:
    """Kill commands still running for a qagent process that no longer exists; returns how many.

    ``--die-with-parent`` is armed by bwrap itself a few milliseconds after it starts: an agent
    killed (kill -9) inside that window leaves the command running, unseen by anyone. Each run id
    starts with the agent's pid, so the next session (``build_agent``) finds and ends them.
    """
    killed = 0
    for group in orphaned_groups(_alive):  # every process of the command, bwrap itself included
        killed += len(group.pids())
        group.kill_all()
        group.remove()
    prefix = f"{sandboxes.RUN_ID_VAR}=".encode()
    for pid, environ in _environs():  # where no cgroup could be made
        for entry in environ:
            if entry.startswith(prefix):
                owner = entry[len(prefix):].split(b"-", 1)[0]
                if owner.isdigit() and not _alive(int(owner)):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                        killed += 1
                break
    return killed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _environs() -> Iterator[tuple[int, list[bytes]]]:
    """(pid, environment entries) of every other process we may read (none without procfs)."""
    me = os.getpid()
    try:
        entries = os.listdir("/proc")  # noqa: PTH208 - names only, many entries
    except OSError:  # no procfs (macOS): the process group is all there is
        return
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:
            continue
        yield int(entry), environ.split(b"\0")


def _result(args: ShellArgs, capture: Capture, code: int | None, killed: str | None,
            times: tuple[float, float], kind: str, cwd_shown: str) -> ToolResult:
    killed_at, duration = times
    output = capture.render().rstrip("\n") or "(no output)"
    code_text = f"exit code {code}"
    if code is not None and code < 0:
        code_text += f" ({signal.Signals(-code).name})"
    if killed == "timeout":
        status = f"[killed after {killed_at:.1f} s: timeout of {args.timeout_s:g} s reached; {code_text}]"
    elif killed == "interrupted":
        status = f"[killed after {killed_at:.1f} s: interrupted by the user; {code_text}]"
    else:
        status = f"[{code_text} · {duration:.1f} s]"
    where = "" if cwd_shown in ("", ".") else f" · cwd {cwd_shown}"
    text = f"{output}\n{status[:-1]}{where}]"
    data = {
        "exit_code": code,
        "killed": killed is not None,
        "killed_reason": killed,
        "duration_s": round(duration, 3),
        "output_path": str(capture.spill_path) if capture.spill_path else None,
        "sandbox": kind,
        "total_bytes": capture.total_bytes,
    }
    return ToolResult(ok=code == 0 and killed is None, text=text, data=data)
