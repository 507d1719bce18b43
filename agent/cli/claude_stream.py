"""``--output-format claude-stream-json``: qagent's events as Claude Code's stream-json lines.

Orchestrators written for ``claude -p --output-format stream-json`` read four message types: a
``system``/``init`` line first, ``assistant`` lines (content blocks ``thinking``, ``text``,
``tool_use``), ``user`` lines carrying ``tool_result`` blocks, and one ``result`` line last. This
module produces exactly those shapes from the event stream so such harnesses drive qagent unchanged.
docs/claude-stream-json.md documents the mapping field by field.

Like Claude Code, each content block is its own ``assistant`` line; the lines of one model reply
share ``message.id``. Blocks are written when complete (text at the end of the reply), not as deltas.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from agent._version import __version__
from agent.events import (
    ApprovalRequested,
    Error,
    Event,
    Notice,
    ReasoningDelta,
    RouteDecided,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
    UsageReported,
)
from agent.mcp import McpTools

if TYPE_CHECKING:
    from agent.core.agent import Agent

SUBTYPES = {"completed": "success", "max_turns": "error_max_turns", "max_cost": "error_max_budget_usd"}
"""qagent stop reasons with a Claude Code result subtype of their own; others are error_during_execution."""
PERMISSION_MODES = {"read-only": "plan", "ask": "default", "auto-edit": "acceptEdits",
                    "full-auto": "bypassPermissions"}
_DENIED = ("denied:", "the user denied this call")


def _uuid() -> str:
    return str(uuid.uuid4())


def anthropic_usage(prompt_tokens: int, completion_tokens: int, cache_hit_tokens: int) -> dict[str, int]:
    """OpenAI-style counts as Anthropic's: ``input_tokens`` there excludes cache reads."""
    return {"input_tokens": max(0, prompt_tokens - cache_hit_tokens), "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cache_hit_tokens, "output_tokens": completion_tokens}


class ClaudeStream:
    """Turns events into Claude Code stream-json messages (dicts); no I/O.

    ``feed(event)`` returns the messages that event completes; ``finish(final, agent)`` returns
    the rest, ending with the ``result`` message. Bind the agent (constructor or :meth:`bind`) before
    the first event so the init message names the real working directory, tools and policy.
    """

    def __init__(self, agent: Agent | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.agent = agent
        self.clock = clock
        self.session_id = (agent.session_id if agent is not None else None) or _uuid()
        self._started_at = clock()
        self._init_sent = False
        self._message_id = ""
        self._model = ""
        self._thinking: list[str] = []
        self._text: list[str] = []
        self._usage = anthropic_usage(0, 0, 0)
        self._api_started: float | None = None
        self._api_seconds = 0.0
        self._turns = 0
        self._models: dict[str, dict[str, Any]] = {}
        self._calls: dict[str, ToolCallStarted] = {}
        self._asked: set[str] = set()
        self._denials: list[dict[str, Any]] = []
        self._errors: list[str] = []
        self._early: list[Notice | Error] = []
        """Notices before the first model request: held so ``init`` can name the routed model."""

    def bind(self, agent: Agent) -> None:
        """Use this agent's session id, working directory, tools and approval policy."""
        self.agent = agent
        if agent.session_id and not self._init_sent:
            self.session_id = agent.session_id

    # ------------------------------------------------------------------ events
    def feed(self, event: Event) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if isinstance(event, RouteDecided):
            self._init(out, event.model)
            self._flush(out)
            self._message_id = f"msg_{uuid.uuid4().hex[:24]}"
            self._model = self._model_id(event.model)
            self._api_started = self.clock()
        elif isinstance(event, ReasoningDelta):
            if self._text:
                self._flush(out)
            self._thinking.append(event.text)
        elif isinstance(event, TextDelta):
            self._text.append(event.text)
        elif isinstance(event, UsageReported):
            self._account(event)
            self._flush(out)
        elif isinstance(event, ToolCallStarted):
            self._init(out)
            self._flush(out)
            self._calls[event.id] = event
            out.append(self._assistant({"type": "tool_use", "id": event.id, "name": event.name,
                                        "input": event.args}))
        elif isinstance(event, ApprovalRequested):
            self._asked.add(event.id)
        elif isinstance(event, ToolCallFinished):
            self._init(out)
            out.append(self._tool_result(event))
        elif isinstance(event, (Notice, Error)):
            if not self._init_sent:
                self._early.append(event)
                return out
            self._flush(out)
            out.append(self._system_line(event))
        elif isinstance(event, TurnFinished):
            self._init(out)
            self._flush(out)
        return out

    def finish(self, final: TurnFinished | None, agent: Agent | None = None) -> list[dict[str, Any]]:
        """The remaining messages and the final ``result`` message."""
        if agent is not None:
            self.agent = agent
        out: list[dict[str, Any]] = []
        self._init(out)
        self._flush(out)
        out.append(self._result(final))
        return out

    # ------------------------------------------------------------------ messages
    def _init(self, out: list[dict[str, Any]], model: str | None = None) -> None:
        if self._init_sent:
            return
        self._init_sent = True
        agent = self.agent
        if agent is not None:
            cwd, tools = str(agent.cwd), agent.toolset.names()
            policy = agent.config.permissions.approval
            model = model or agent.config.routing.local
            servers = next((s.statuses() for s in agent.tool_sources if isinstance(s, McpTools)), [
                {"name": name, "status": "pending"} for name in agent.config.mcp.servers])
        else:
            from tools import builtin_tools

            cwd, tools, policy, servers = str(Path.cwd()), [t.name for t in builtin_tools()], "ask", []
        out.append({"type": "system", "subtype": "init", "cwd": cwd, "session_id": self.session_id,
                    "tools": tools, "mcp_servers": servers, "model": self._model_id(model or ""),
                    "permissionMode": PERMISSION_MODES.get(policy, "default"), "apiKeySource": "none",
                    "slash_commands": [], "output_style": "default", "agents": [], "skills": [],
                    "plugins": [], "qagent_version": __version__, "uuid": _uuid()})
        out.extend(self._system_line(event) for event in self._early)
        self._early = []

    def _assistant(self, block: dict[str, Any]) -> dict[str, Any]:
        if not self._message_id:
            self._message_id = f"msg_{uuid.uuid4().hex[:24]}"
        message = {"id": self._message_id, "type": "message", "role": "assistant", "model": self._model,
                   "content": [block], "stop_reason": None, "stop_sequence": None, "usage": dict(self._usage)}
        return {"type": "assistant", "message": message, "parent_tool_use_id": None,
                "session_id": self.session_id, "uuid": _uuid()}

    def _flush(self, out: list[dict[str, Any]]) -> None:
        """Write the finished thinking and text blocks of the current reply."""
        if self._thinking:
            thinking = "".join(self._thinking)
            out.append(self._assistant({"type": "thinking", "thinking": thinking, "signature": ""}))
            self._thinking = []
        if self._text:
            text = "".join(self._text)
            self._text = []
            if text.strip():
                out.append(self._assistant({"type": "text", "text": text}))

    def _tool_result(self, event: ToolCallFinished) -> dict[str, Any]:
        started = self._calls.get(event.id)
        if not event.ok and event.output.startswith(_DENIED):
            self._denials.append({"tool_name": event.name or (started.name if started else ""),
                                  "tool_use_id": event.id, "tool_input": started.args if started else {}})
        block = {"type": "tool_result", "tool_use_id": event.id, "content": event.output,
                 "is_error": not event.ok}
        structured: dict[str, Any] = dict(event.data)
        if event.diff:
            structured["diff"] = event.diff
        return {"type": "user", "message": {"role": "user", "content": [block]}, "parent_tool_use_id": None,
                "session_id": self.session_id, "uuid": _uuid(), "tool_use_result": structured or event.output}

    def _system_line(self, event: Notice | Error) -> dict[str, Any]:
        if isinstance(event, Error):
            self._errors.append(event.message)
            body: dict[str, Any] = {"subtype": "error", "kind": event.kind, "message": event.message,
                                    "retryable": event.retryable}
        else:
            if event.level == "error":
                self._errors.append(event.text)
            body = {"subtype": "notice", "level": event.level, "text": event.text}
        return {"type": "system", **body, "session_id": self.session_id, "uuid": _uuid()}

    def _account(self, event: UsageReported) -> None:
        self._turns += 1
        if self._api_started is not None:
            self._api_seconds += self.clock() - self._api_started
            self._api_started = None
        self._usage = anthropic_usage(event.prompt_tokens, event.completion_tokens, event.cache_hit_tokens)
        model = self._models.setdefault(self._model_id(event.model), {
            "inputTokens": 0, "outputTokens": 0, "cacheReadInputTokens": 0, "cacheCreationInputTokens": 0,
            "webSearchRequests": 0, "costUSD": 0.0})
        model["inputTokens"] += self._usage["input_tokens"]
        model["outputTokens"] += event.completion_tokens
        model["cacheReadInputTokens"] += event.cache_hit_tokens
        model["costUSD"] = round(model["costUSD"] + event.cost_usd, 6)
        if self.agent is not None and event.model in self.agent.config.models:
            entry = self.agent.config.models[event.model]
            model["contextWindow"], model["maxOutputTokens"] = entry.context_window, entry.max_output_tokens

    def _result(self, final: TurnFinished | None) -> dict[str, Any]:
        reason = final.stop_reason if final is not None else "error"
        subtype = SUBTYPES.get(reason, "error_during_execution")
        totals = [m for m in self._models.values()]
        usage = {"input_tokens": sum(m["inputTokens"] for m in totals), "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": sum(m["cacheReadInputTokens"] for m in totals),
                 "output_tokens": sum(m["outputTokens"] for m in totals)}
        agent = self.agent
        cost = agent.total_cost if agent is not None else sum(m["costUSD"] for m in totals)
        result: dict[str, Any] = {
            "type": "result", "subtype": subtype, "is_error": subtype != "success",
            "duration_ms": round((self.clock() - self._started_at) * 1000),
            "duration_api_ms": round(self._api_seconds * 1000), "num_turns": self._turns,
            "result": final.text if final is not None else "",
            "stop_reason": {"completed": "end_turn", "length": "max_tokens"}.get(reason),
            "session_id": self.session_id, "total_cost_usd": round(cost, 6), "usage": usage,
            "modelUsage": self._models, "permission_denials": self._denials, "uuid": _uuid(),
            "qagent": {"stop_reason": reason,
                       "changed_files": agent.changed_files() if agent is not None else [],
                       "saved_vs_remote_usd": round(agent.saved_vs_remote, 6) if agent is not None else 0.0},
        }
        if subtype != "success":
            result["errors"] = self._errors or [f"stopped: {reason}"]
        return result

    def _model_id(self, name: str) -> str:
        """The model id sent on the wire for a config entry name (``local`` → ``qwen3.5:9b``)."""
        if self.agent is not None and name in self.agent.config.models:
            return self.agent.config.models[name].model
        return name


class ClaudeStreamRenderer:
    """The headless renderer: one JSON line per message on ``out``, flushed as written."""

    def __init__(self, out: TextIO, agent: Agent | None = None) -> None:
        self.out = out
        self.stream = ClaudeStream(agent)

    def bind(self, agent: Agent) -> None:
        """Give the renderer the agent before the run, for a complete ``init`` line."""
        self.stream.bind(agent)

    def __call__(self, event: Event) -> None:
        self._write(self.stream.feed(event))

    def close(self, final: TurnFinished | None, agent: Agent) -> None:
        self._write(self.stream.finish(final, agent))

    def _write(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self.out.write(json.dumps(message, ensure_ascii=False) + "\n")
        if messages:
            self.out.flush()
