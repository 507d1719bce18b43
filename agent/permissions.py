"""Consent: which tool calls run, which ask the user, which are refused.

Capability (the sandbox) is separate from consent (this module). Rules are evaluated
deny > ask > allow and fail closed: a headless run that would need to ask is refused with a
message telling the model (and the user) why.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from agent.config import ApprovalPolicy, PermissionsConfig

Verdict = Literal["allow", "ask", "deny"]


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    tool: str
    kind: str
    args: dict[str, Any]
    preview: str = ""
    reason: str = ""
    """Why approval is needed (shown to the user)."""


class ApprovalDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    allow: bool
    always: bool = False
    """Allow this tool (or command prefix) for the rest of the session."""
    reason: str = ""
    """A denial reason passed back to the model."""


class Approver(Protocol):
    """Asks someone (the TUI user, a script's callback, a CLI flag) whether a call may run."""

    def __call__(self, request: ApprovalRequest) -> Awaitable[ApprovalDecision] | ApprovalDecision: ...


class DenyAll:
    """Headless default: anything that needs asking is refused, with advice."""

    def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        return ApprovalDecision(
            allow=False,
            reason=f"{request.tool} needs approval ({request.reason or request.kind}) and nobody can be "
            "asked in this run; the user can allow it with --approval auto-edit or full-auto",
        )


def callback_approver(fn: Callable[[ApprovalRequest], bool | ApprovalDecision]) -> Approver:
    """Wrap a simple ``request -> bool`` function as an Approver (for scripts)."""

    def approve(request: ApprovalRequest) -> ApprovalDecision:
        answer = fn(request)
        return answer if isinstance(answer, ApprovalDecision) else ApprovalDecision(allow=bool(answer))

    return approve


def _classify_command(command: str) -> str:
    """'read-only', 'destructive' or 'other' for a shell command (tools.shellparse when present)."""
    try:
        from tools.shellparse import classify_command
    except ModuleNotFoundError:
        return "other"
    return classify_command(command)


class Permissions:
    """Evaluates the configured policy and rules for one tool call."""

    def __init__(self, config: PermissionsConfig) -> None:
        self.config = config
        self.session_allowed: set[str] = set()

    @property
    def policy(self) -> ApprovalPolicy:
        return self.config.approval

    def remember(self, request: ApprovalRequest) -> None:
        """'Always allow' from the user: this tool (or this exact command) for the session."""
        self.session_allowed.add(self._session_key(request.tool, request.args))

    @staticmethod
    def _session_key(tool: str, args: dict[str, Any]) -> str:
        if tool == "shell":
            return f"shell:{str(args.get('command', '')).strip()}"
        return tool

    def evaluate(self, tool: str, kind: str, args: dict[str, Any]) -> tuple[Verdict, str]:
        """(verdict, reason). Read tools are always allowed unless a path is denied."""
        for path in _paths_in(args):
            if any(fnmatch.fnmatch(path, glob) for glob in self.config.deny_paths):
                return "deny", f"{path} matches a denied path rule"
        if kind == "read":
            return "allow", ""
        if kind == "exec":
            return self._evaluate_command(str(args.get("command", "")))
        if self.policy == "read-only":
            return "deny", "the approval policy is read-only"
        if self._session_key(tool, args) in self.session_allowed:
            return "allow", ""
        if kind == "edit":
            paths = _paths_in(args)
            if paths and all(any(fnmatch.fnmatch(p, g) for g in self.config.allow_paths) for p in paths):
                return "allow", ""
            if self.policy in ("auto-edit", "full-auto"):
                return "allow", ""
            return "ask", "edits files"
        if self.policy == "full-auto":
            return "allow", ""
        return "ask", f"{kind} access"

    def _evaluate_command(self, command: str) -> tuple[Verdict, str]:
        stripped = command.strip()
        if any(stripped.startswith(prefix) for prefix in self.config.deny_commands):
            return "deny", "the command matches a deny rule in [permissions]"
        klass = _classify_command(stripped)
        if klass == "destructive":
            if self.policy == "full-auto":
                return "allow", ""
            return "ask", "destructive command (checkpoint taken first)"
        if self.policy == "read-only":
            if klass == "read-only":
                return "allow", ""
            return "deny", "the approval policy is read-only and this command may change files"
        if f"shell:{stripped}" in self.session_allowed or self.policy == "full-auto":
            return "allow", ""
        if klass == "read-only":
            return "allow", ""
        if klass == "simple" and any(
            stripped == p or stripped.startswith(p + " ") for p in self.config.allow_commands
        ):
            return "allow", ""
        return "ask", "runs a command"


def _paths_in(args: dict[str, Any]) -> list[str]:
    return [str(args[key]) for key in ("path",) if isinstance(args.get(key), str)]
