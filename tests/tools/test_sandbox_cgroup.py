"""Per-command cgroup (SAFETY.md row 22): fork bombs stop at pids.max, every process is found.

Skips where no writable cgroup v1 ``pids`` hierarchy exists (most desktops run cgroup v2).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from toolhelpers import call, make_config, wait_gone

from tools.cgroup import CommandCgroup

FORK_LOOP = r"""
import os, sys, time
children = 0
while children < 500:
    try:
        pid = os.fork()
    except BlockingIOError:
        break
    if pid == 0:
        os.closerange(0, 3)  # let the parent's pipes close
        time.sleep(60)
        os._exit(0)
    children += 1
print("forked", children, flush=True)
"""


def probe_cgroup() -> CommandCgroup | None:
    group = CommandCgroup.create(f"probe-{uuid.uuid4().hex}")
    if group is not None:
        group.remove()
    return group


needs_cgroup = pytest.mark.skipif(probe_cgroup() is None,
                                  reason="no writable cgroup v1 pids hierarchy on this machine")


@needs_cgroup
def test_fork_loop_stops_at_the_limit_and_everything_is_killed() -> None:
    group = CommandCgroup.create(uuid.uuid4().hex, pids_max=16)
    assert group is not None
    try:
        done = subprocess.run(group.wrap(["python3", "-c", FORK_LOOP]), capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)
        forked = int(done.stdout.split()[-1])
        assert forked < 16 and group.hit_limit
        assert len(group.pids()) == forked, "the sleeping children are all in the group"
        group.kill_all()
    finally:
        group.remove()
    assert not group.path.exists()


@needs_cgroup
async def test_daemon_that_escapes_group_and_marker_is_still_killed_without_bwrap(workspace: Path) -> None:
    tok = f"1000.{uuid.uuid4().int % 10**9}"
    command = f"env -u QAGENT_RUN_ID setsid sleep {tok} >/dev/null 2>&1 & echo started"
    off = make_config(sandbox={"policy": "off"})
    before = {p.name for p in group_parent().iterdir() if p.name.startswith("qagent-")}
    result = await call("shell", {"command": command}, workspace, config=off)
    assert "started" in result.text
    assert await wait_gone(tok) == []
    # Only this command's group: other qagent processes on the machine may have groups of their own.
    deadline = time.monotonic() + 5
    while (left := {p.name for p in group_parent().iterdir() if p.name.startswith("qagent-")} - before):
        assert time.monotonic() < deadline, f"cgroups left behind: {left}"
        await asyncio.sleep(0.1)


def group_parent() -> Path:
    group = CommandCgroup.create(f"parent-{uuid.uuid4().hex}")
    assert group is not None
    group.remove()
    return group.path.parent
