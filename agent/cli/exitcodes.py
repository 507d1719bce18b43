"""The exit codes of every qagent command (one list; scripts and CI depend on them)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes of every qagent command."""

    OK = 0
    FAILED = 1
    """The task (or a batch task) did not complete: an error, an empty reply, a budget stop."""
    USAGE = 2
    """A bad flag, config file or task file."""
    UNREACHABLE = 3
    """No model could be reached."""
    INTERRUPTED = 130
    """Ctrl+C (batch runs)."""
