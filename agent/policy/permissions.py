"""Consent: which tool calls run, which ask the user, which are refused.

Capability (the sandbox) is separate from consent (this module). Rules are evaluated
deny > ask > allow and fail closed: a headless run that would need to ask is refused with a
message telling the model (and the user) why.

Shell rules look at every command a line would run (:mod:`tools.shellwords`), so a deny rule
cannot be dodged with ``;``, ``&&``, pipes, ``$(…)``, backticks, ``sh -c`` or wrappers like
``sudo``/``env``; allow rules only apply to a single plain command ("simple" in
:func:`tools.shellparse.classify_command`). Destructive commands (``git reset --hard``,
``rm -rf`` …) ask in every policy but full-auto (read-only refuses them), are never covered by
"always allow", and :func:`needs_checkpoint` tells the loop to checkpoint before them.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shlex
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from agent.config import ApprovalPolicy, PermissionsConfig
from tools.shellparse import classify_command
from tools.shellwords import command_words, redirect_targets, rough_segments

Verdict = Literal["allow", "ask", "deny"]


class ApprovalRequest(BaseModel):
    """One tool call waiting for consent, as an approver sees it."""

    model_config = ConfigDict(frozen=True)

    id: str
    """The call id (as in the ToolCallStarted event)."""
    tool: str
    """Tool name, e.g. ``shell``, ``edit_file`` or an MCP tool ``server__tool``."""
    kind: str
    """read | edit | exec | network."""
    args: dict[str, Any]
    """The arguments the model wrote."""
    preview: str = ""
    """What the call would do: a diff for edits, the command for shell, the arguments otherwise."""
    reason: str = ""
    """Why approval is needed (shown to the user)."""


class ApprovalDecision(BaseModel):
    """An approver's answer to an ApprovalRequest (``callback_approver`` turns a bool into one)."""

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


EDIT_TOOLS = frozenset({"write_file", "edit_file", "apply_patch"})
READ_TOOLS = frozenset(
    {"read_file", "list_files", "grep", "find_symbols", "web_fetch", "browser", "todo_write"}
)
_PATCH_PATH = re.compile(
    r"^(?:\+\+\+ |--- |\*\*\* (?:Add|Update|Delete) File: |\*\*\* Move to: |rename (?:from|to) )(\S+)", re.M
)


def needs_checkpoint(tool: str, args: dict[str, Any], kind: str | None = None) -> bool:
    """Whether the loop must checkpoint the working tree before running this call: every edit,
    every shell command that is not read-only (destructive ones above all), unknown tools too."""
    if tool in EDIT_TOOLS or kind == "edit":
        return True
    if tool == "shell" or kind == "exec":
        return classify_command(str(args.get("command", ""))) != "read-only"
    return not (tool in READ_TOOLS or kind in ("read", "network"))


def paths_of(tool: str, args: dict[str, Any]) -> list[str]:
    """Paths a call names: ``path``/``paths``/``cwd`` arguments and the files of a patch."""
    found = [str(args[key]) for key in ("path", "cwd") if isinstance(args.get(key), str)]
    if isinstance(args.get("paths"), list):
        found.extend(str(p) for p in args["paths"])
    if isinstance(args.get("patch"), str):
        for raw in _PATCH_PATH.findall(args["patch"]):
            if raw != "/dev/null":
                found.append(raw[2:] if raw[:2] in ("a/", "b/") else raw)
    return found


def _rule_words(rule: str) -> list[str]:
    rule = rule.strip()
    for suffix in (":*", " *", "*"):
        if rule.endswith(suffix):
            rule = rule[: -len(suffix)]
            break
    try:
        return shlex.split(rule)
    except ValueError:
        return rule.split()


def _starts_with(words: list[str], prefix: list[str]) -> bool:
    if not prefix or len(words) < len(prefix):
        return False
    first = words[0].rsplit("/", 1)[-1] if "/" not in prefix[0] else words[0]
    return [first, *words[1 : len(prefix)]] == prefix


class Permissions:
    """Evaluates the configured policy and rules for one tool call."""

    def __init__(self, config: PermissionsConfig, *, root: Path | None = None) -> None:
        self.config = config
        self.root = Path(root).resolve() if root is not None else None
        self.session_allowed: set[str] = set()

    @property
    def policy(self) -> ApprovalPolicy:
        return self.config.approval

    def remember(self, request: ApprovalRequest) -> None:
        """'Always allow' from the user: this tool (or this exact command) for the session.
        Destructive commands are never remembered: each one is confirmed."""
        command = str(request.args.get("command", ""))
        if request.tool == "shell" and classify_command(command) == "destructive":
            return
        self.session_allowed.add(self._session_key(request.tool, request.args))

    @staticmethod
    def _session_key(tool: str, args: dict[str, Any]) -> str:
        if tool == "shell":
            return f"shell:{str(args.get('command', '')).strip()}"
        return tool

    def evaluate(self, tool: str, kind: str, args: dict[str, Any]) -> tuple[Verdict, str]:
        """(verdict, reason). Read tools are always allowed unless a path is denied."""
        for path in paths_of(tool, args):
            if self._path_denied(path):
                return "deny", f"{path} matches a denied path rule in [permissions] deny_paths"
        if kind == "read":
            return "allow", ""
        if kind == "exec" or tool == "shell":
            return self._evaluate_command(str(args.get("command", "")))
        if self.policy == "read-only":
            return "deny", "the approval policy is read-only"
        if self._session_key(tool, args) in self.session_allowed:
            return "allow", ""
        if kind == "edit":
            paths = paths_of(tool, args)
            if paths and all(self._path_matches(p, self.config.allow_paths) for p in paths):
                return "allow", ""
            if self.policy in ("auto-edit", "full-auto"):
                return "allow", ""
            return "ask", "edits files"
        if self.policy == "full-auto":
            return "allow", ""
        return "ask", f"{kind} access"

    def _evaluate_command(self, command: str) -> tuple[Verdict, str]:
        stripped = command.strip()
        parsed = command_words(stripped)
        commands = parsed if parsed is not None else rough_segments(stripped)
        if self.config.deny_commands and any(w and ("$" in w[0] or "`" in w[0]) for w in commands):
            return "deny", (
                "the command name is computed when it runs ($…), so the deny rules in "
                "[permissions] cannot be checked; write the command out literally"
            )
        for rule in self.config.deny_commands:
            prefix = _rule_words(rule)
            if any(
                _starts_with(words[i:], prefix)
                for words in commands
                for i in range(len(words))
                if i == 0 or parsed is None
            ):
                return "deny", f"the command runs `{rule}`, which a deny rule in [permissions] forbids"
        for word in [w for words in commands for w in words] + (redirect_targets(stripped) or []):
            if not word.startswith("-") and self._path_denied(word.split("=", 1)[-1]):
                return "deny", f"the command touches {word}, which matches a denied path rule"
        klass = classify_command(stripped)
        if klass == "destructive":
            if self.policy == "full-auto":
                return "allow", ""
            if self.policy == "read-only":
                return "deny", "destructive command refused: the approval policy is read-only"
            return "ask", "destructive command: needs explicit confirmation (a checkpoint is taken first)"
        if self.policy == "read-only":
            if klass == "read-only":
                return "allow", ""
            return "deny", "the approval policy is read-only and this command may change files"
        if f"shell:{stripped}" in self.session_allowed or self.policy == "full-auto":
            return "allow", ""
        if klass == "read-only":
            return "allow", ""
        if (
            klass == "simple"
            and parsed is not None
            and len(parsed) == 1
            and any(_starts_with(parsed[0], _rule_words(rule)) for rule in self.config.allow_commands)
        ):
            return "allow", ""
        return "ask", "runs a command"

    def _forms(self, path: str) -> list[str]:
        """The path as written (normalised, ``..`` folded) and, with a root, as it resolves on disk
        (symlinks followed), both repo-relative. Outside the root a form keeps its leading ``..``."""
        raw = path.replace("\\", "/")
        forms = []
        if self.root is not None:
            full = Path(raw) if PurePosixPath(raw).is_absolute() else self.root / raw
            forms.append(posixpath.relpath(posixpath.normpath(str(full)), str(self.root)))
            forms.append(posixpath.relpath(str(full.resolve()), str(self.root)))
        else:
            forms.append(posixpath.normpath(raw))
        return list(dict.fromkeys(f for f in forms if f != "."))

    @staticmethod
    def _glob_match(rel: str, globs: list[str]) -> bool:
        name = rel.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatch(rel, g) or ("/" not in g and fnmatch.fnmatch(name, g)) for g in globs)

    def _path_matches(self, path: str, globs: list[str]) -> bool:
        """For allow rules: every form of the path must be inside the workspace and match."""
        forms = self._forms(path)
        return bool(forms) and all(not f.startswith("../") and self._glob_match(f, globs) for f in forms)

    def _path_denied(self, path: str) -> bool:
        """For deny rules: any form of the path matching is enough."""
        globs = self.config.deny_paths
        return bool(globs) and any(self._glob_match(f, globs) for f in self._forms(path))
