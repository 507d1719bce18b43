"""A per-command cgroup, where one is writable: caps the process count and finds every process.

SAFETY.md row 22: a fork bomb inside the sandbox stops at ``pids.max`` (RLIMIT_NPROC does not bind
root). The cgroup also lists every process the command started, including daemons that left the
process group and dropped the run marker, so cleanup can kill them all. Best effort: only the cgroup
v1 ``pids`` hierarchy is used (containers running as root have it writable); under cgroup v2 a
process may not create child groups next to itself without delegation, so nothing is done there.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from pathlib import Path

PIDS_ROOT = Path("/sys/fs/cgroup/pids")
DEFAULT_PIDS_MAX = 4096
"""Processes and threads per command: far above builds and test runs, far below a fork bomb."""


class CommandCgroup:
    """One command's cgroup: join it through :meth:`wrap`, then :meth:`kill_all` and :meth:`remove`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, run_id: str, *, pids_max: int = DEFAULT_PIDS_MAX,
               owner: int | None = None) -> CommandCgroup | None:
        """A new cgroup below our own, or None when the pids hierarchy is missing or read-only."""
        base = _own_pids_cgroup()
        if base is None or not os.access(base, os.W_OK):
            return None
        path = base / f"qagent-{run_id}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(pids_max))
            if owner is not None:  # the command runs as the workspace owner and joins by itself
                os.chown(path / "cgroup.procs", owner, -1)
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return cls(path)

    def wrap(self, argv: list[str]) -> list[str]:
        """argv that joins the cgroup first, so every child is counted and found."""
        script = '{ echo $$ > "$1"; } 2>/dev/null; shift; exec "$@"'
        return ["/bin/sh", "-c", script, "qagent-cgroup", str(self.path / "cgroup.procs"), *argv]

    def pids(self) -> list[int]:
        try:
            return [int(line) for line in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def kill_all(self, sig: signal.Signals = signal.SIGKILL) -> None:
        # A fork loop may add processes while we kill: repeat until the group is empty.
        for _ in range(50):
            members = self.pids()
            if not members:
                return
            for pid in members:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            if sig != signal.SIGKILL:
                return

    def remove(self) -> None:
        """Delete the group (only possible once it is empty; retried briefly)."""
        for _ in range(100):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                self.kill_all()
                os.sched_yield()

    @property
    def hit_limit(self) -> bool:
        """Whether a fork was refused because the group was full."""
        try:
            return int((self.path / "pids.events").read_text().split()[1]) > 0
        except (OSError, IndexError, ValueError):
            return False


def orphaned_groups(alive: Callable[[int], bool]) -> list[CommandCgroup]:
    """Groups made by qagent processes that no longer exist (``qagent-<pid>-<id>``, see tools.shell)."""
    base = _own_pids_cgroup()
    if base is None:
        return []
    found = []
    for path in base.glob("qagent-*-*"):
        owner = path.name.split("-")[1]
        if owner.isdigit() and not alive(int(owner)):
            found.append(CommandCgroup(path))
    return found


def _own_pids_cgroup() -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            folder = PIDS_ROOT / path.lstrip("/")
            return folder if folder.is_dir() else None
    return None
