"""Running the tool calls of one model reply: consent, checkpoints, concurrency, stop rules.

Calls are validated and approved one by one (a person can only answer one question at a time),
then the approved ones run concurrently; tools serialise edits of one file themselves. Every
call the model made gets exactly one tool message back, whatever happens (OpenAI-compatible
servers reject a conversation with an unanswered call).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.context.instructions import InstructionTracker
from agent.core.conversation import Conversation
from agent.core.ports import ChangeRefused, Emit, TurnHook
from agent.events import ApprovalRequested, Notice, ToolCallFinished, ToolCallStarted, ToolOutputDelta
from agent.messages import Message, ToolCall
from agent.policy.permissions import ApprovalDecision, ApprovalRequest, Approver, Permissions
from tools import ToolContext, ToolResult, ToolSession, execute
from tools.untrusted import fence_if_injected

MODEL_OUTPUT_CAP = 30_000
"""Characters of one tool result the model sees (head + tail); front ends get the full text."""


@dataclass
class StepOutcome:
    failed_edits: int = 0
    repeated: str = ""
    """Non-empty when the repetition detector fired: the message to show."""


def cap_for_model(text: str, limit: int = MODEL_OUTPUT_CAP) -> str:
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 2 // 3], text[-limit // 3 :]
    omitted = len(text) - len(head) - len(tail)
    return f"{head}\n[… {omitted} characters omitted …]\n{tail}"


@dataclass
class ToolEnv:
    """What running a tool call needs from the agent: the workspace, consent and the hooks."""

    root: Path
    config: AgentConfig
    permissions: Permissions
    approver: Approver
    hooks: TurnHook
    instructions: InstructionTracker
    session: ToolSession
    repo_map: Callable[[], Any]
    """The session's repository map, for find_symbols."""


class ToolRunner:
    """The tool calls of one run of steps on ``conversation`` (its repetition history too)."""

    def __init__(self, env: ToolEnv, conversation: Conversation, emit: Emit) -> None:
        self.env = env
        self.conversation = conversation
        self.toolset = conversation.toolset
        self.emit = emit
        self.open_calls: dict[str, ToolCall] = {}
        self.answers: dict[str, tuple[ToolCall, str]] = {}
        self.order: list[str] = []
        self.history: list[tuple[str, bool]] = []

    async def run_calls(self, calls: Sequence[ToolCall], *, truncated: bool = False) -> StepOutcome:
        for call in calls:
            self.open_calls[call.id] = call
            self.order.append(call.id)
        if truncated:
            for call in calls:
                self._finish(call, ToolResult(False, "not executed: your reply was cut off at the output limit "
                                              "while writing this call; send smaller calls"), 0.0)
            self._flush()
            return StepOutcome()
        limit = self.env.config.limits.max_tool_calls_per_reply
        runnable: list[ToolCall] = []
        for position, call in enumerate(calls):
            if position >= limit:
                self._finish(call, ToolResult(False, f"not executed: at most {limit} tool calls run per reply; "
                                              "send the rest in your next reply"), 0.0)
                continue
            verdict = await self._consent(call)
            if verdict is not None:
                self._finish(call, verdict, 0.0)
            else:
                runnable.append(call)
        results = await asyncio.gather(*(self._execute(call) for call in runnable))
        self._flush()
        outcome = StepOutcome(repeated=self._repetition())
        for call, result in zip(runnable, results, strict=True):
            tool = self.toolset.get(call.name)
            if tool is not None and tool.kind == "edit" and not result.ok:
                outcome.failed_edits += 1
        return outcome

    async def _consent(self, call: ToolCall) -> ToolResult | None:
        """None when the call may run; else the refusal to send back."""
        tool = self.toolset.get(call.name)
        args = _loose_args(call.arguments)
        self.emit(ToolCallStarted(id=call.id, name=call.name, args=args))
        if tool is None:
            return None  # execute() answers with the list of known tools
        verdict, reason = self.env.permissions.evaluate(call.name, tool.kind, args)
        if verdict == "deny":
            return ToolResult(False, f"denied: {reason}")
        if verdict == "ask":
            preview = self._preview(tool, call)
            request = ApprovalRequest(id=call.id, tool=call.name, kind=tool.kind, args=args, preview=preview,
                                      reason=reason)
            self.emit(ApprovalRequested(id=call.id, name=call.name, args=args, preview=preview))
            decision = self.env.approver(request)
            if inspect.isawaitable(decision):
                decision = await decision
            assert isinstance(decision, ApprovalDecision)
            if not decision.allow:
                why = f": {decision.reason}" if decision.reason else ""
                return ToolResult(False, f"the user denied this call{why}")
            if decision.always:
                self.env.permissions.remember(request)
        if tool.kind != "read":
            try:
                self.env.hooks.before_change(call.name, args)
            except ChangeRefused as exc:  # a change that could not be undone is not made
                return ToolResult(False, str(exc))
        return None

    def _preview(self, tool: Any, call: ToolCall) -> str:
        if tool.preview is None:
            return json.dumps(_loose_args(call.arguments), indent=2)[:4000]
        try:
            return tool.preview(tool.parse(call.arguments), self._context(call))
        except Exception as exc:  # a preview must never block the approval itself
            return f"(no preview: {exc})"

    def _context(self, call: ToolCall) -> ToolContext:
        emit, call_id = self.emit, call.id
        return ToolContext(root=self.env.root, session=self.env.session, config=self.env.config, call_id=call_id,
                           on_output=lambda text: emit(ToolOutputDelta(id=call_id, text=text)),
                           on_notice=lambda level, text: emit(Notice(level=level, text=text)),  # type: ignore[arg-type]
                           repo_map=self.env.repo_map)

    async def _execute(self, call: ToolCall) -> ToolResult:
        started = time.monotonic()
        tool = self.toolset.get(call.name)
        result = await execute(tool, call.name, call.arguments, self._context(call), known=self.toolset.names())
        if tool is not None:
            text = fence_if_injected(call.name, result.text)
            if result.ok and tool.kind in ("read", "edit"):
                # Nested AGENTS.md files reach the model the first time it touches a path under them.
                text = self.env.instructions.annotate(call.name, _loose_args(call.arguments), text)
            result = ToolResult(result.ok, text, result.data)
        duration = time.monotonic() - started
        self._finish(call, result, duration)
        return result

    def _finish(self, call: ToolCall, result: ToolResult, duration: float) -> None:
        if self.open_calls.pop(call.id, None) is None:
            return
        self.history.append((f"{call.name}:{_canonical(call.arguments)}", result.ok))
        self.answers[call.id] = (call, cap_for_model(result.text))
        self.emit(ToolCallFinished(id=call.id, name=call.name, ok=result.ok, output=result.text,
                                   diff=result.data.get("diff"), duration_s=round(duration, 4),
                                   data=_jsonable(result.data)))

    def close_open_calls(self, reason: str) -> None:
        """Answer every call still without a result (interrupt), keeping the conversation valid."""
        for call in list(self.open_calls.values()):
            self._finish(call, ToolResult(False, reason), 0.0)
        self._flush()

    def _flush(self) -> None:
        """Append the tool messages in the order the model made the calls (results finish in any order)."""
        for call_id in self.order:
            call, text = self.answers.pop(call_id)
            self.conversation.append(Message(role="tool", tool_call_id=call_id, name=call.name, content=text))
        self.order.clear()

    def _repetition(self) -> str:
        """The same failing call N times in a row is a doom loop: stop it."""
        limit = self.env.config.limits.repeat_limit
        recent = self.history[-limit:]
        if len(recent) == limit and len({key for key, _ in recent}) == 1 and not any(ok for _, ok in recent):
            name = recent[-1][0].split(":", 1)[0]
            return (f"stopped: the model repeated the same failing {name} call {limit} times in a row "
                    "(repetition detector)")
        return ""


def _loose_args(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {"_raw": raw[:2000]}
    return value if isinstance(value, dict) else {"_raw": raw[:2000]}


def _canonical(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw or "{}"), sort_keys=True)
    except json.JSONDecodeError:
        return raw


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    try:
        json.dumps(data)
        return data
    except (TypeError, ValueError):
        return {k: v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v)
                for k, v in data.items()}
