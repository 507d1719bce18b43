"""The agent loop: one prompt in, an event stream out.

``Agent.run`` drives model steps and tool calls until the model answers without calling a tool,
or a budget stops it. It never prints: front ends read the events. The work runs in a task that
``interrupt()`` cancels; whatever state it is cancelled in, the conversation is left consistent
(every tool call gets a result), so the next prompt continues cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.core.architect import run_architect, wants_architect
from agent.git.autocommit import commit_turn
from agent.config import AgentConfig, load_config
from agent.core.window import ContextWindow
from agent.events import (
    Error,
    Event,
    Notice,
    TextDelta,
    TurnFinished,
    TurnStarted,
    UsageReported,
    UsageTotal,
)
from agent.context.instructions import InstructionTracker
from agent.messages import ImagePart, Message, Usage
from agent.policy.permissions import Approver, DenyAll, Permissions
from agent.providers.openai_compat import Completion, ProviderError
from agent.providers.pricing import cost_usd
from tools.redact import redact
from agent.core.routing import RouteDecision, Router, StepSignals, repo_signals
from agent.core.toolcalls import ToolRunner
from tools import Tool, ToolSession, Toolset, builtin_tools


@dataclass
class Result:
    """What ``run_sync`` returns."""

    text: str
    """The model's final answer."""
    stop_reason: str
    """completed | max_turns | max_cost | repetition | interrupted | error | length (TurnFinished's)."""
    changed_files: list[str] = field(default_factory=list)
    """Files the agent's tools wrote in this session, relative to the workspace."""
    diff: str = ""
    """Unified diffs of this run's edits, in the order they were made."""
    usage: Usage = Usage()
    """Token counts of the session so far (all runs of this Agent)."""
    cost: float = 0.0
    """USD of the session so far, from the configured price tables (local models: 0)."""
    events: list[Event] = field(default_factory=list)
    """Every event of this run, as ``run`` would have yielded them."""


class _Stop(Exception):
    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Agent:
    """The one loop behind the TUI, ``qagent -p``, batch runs and scripts.

    Every argument is optional: ``Agent()`` inside a repository uses that repository's config,
    like the CLI does.

    ``config``: an AgentConfig (default: ``load_config(cwd)``). ``cwd``: the workspace, tools are
    confined to it (default: the current directory). ``tools``: replaces the built-in tools;
    ``extra_tools`` adds to them. ``router``: decides model and mode per step. ``approval``: called
    for each call the permission policy wants confirmed (default: refuse, as in headless runs).
    """

    def __init__(
        self,
        config: AgentConfig | None = None,
        cwd: Path | str | None = None,
        tools: Iterable[Tool] | None = None,
        router: Router | None = None,
        approval: Approver | None = None,
        *,
        extra_tools: Iterable[Tool] = (),
        system_prompt: str | None = None,
        session_id: str | None = None,
    ) -> None:
        self.cwd = Path(cwd or Path.cwd()).resolve()
        self.config = config or load_config(self.cwd)
        self.toolset = Toolset(builtin_tools() if tools is None else tools)
        for extra in extra_tools:
            self.toolset.add(extra)
        self.router = router or Router(self.config, self.cwd)
        self.permissions = Permissions(self.config.permissions, root=self.cwd)
        self.instructions = InstructionTracker(self.cwd)
        self.approver: Approver = approval or DenyAll()
        self.tool_session = ToolSession()
        self.messages: list[Message] = []
        self.session_id = session_id
        self._system_prompt = system_prompt
        self._task: asyncio.Task[None] | None = None
        self._runner: ToolRunner | None = None
        self._side = False
        self.context = ContextWindow(self)
        self.pending_notices: list[Notice] = []
        """Shown at the start of the next turn (sandbox status, checkpoint mode...)."""
        self.checkpointer: Any = None
        """The git checkpointer when one is wired (``/undo``)."""
        self._providers: dict[str, Any] = {}
        self.total = Usage()
        self.total_cost = 0.0
        self.saved_vs_remote = 0.0
        self.turn = 0
        self.mcp: Any = None
        """[mcp.servers] as agent.mcp.McpTools; started by the first run in each event loop."""
        if self.config.mcp.servers:
            from agent.mcp import McpTools

            self.mcp = McpTools(self.config, cwd=self.cwd)
        self.hooks: list[Any] = []
        """Objects with optional ``on_event(event)``, ``before_change(paths)``, ``begin_turn(n)``,
        ``end_turn()`` and ``on_message(message)`` methods (session log, checkpoints)."""

    # ------------------------------------------------------------------ public API
    async def run(self, prompt: str, *, images: Sequence[ImagePart] = (), model: str | None = None,
                  route: str | None = None, mode: str | None = None) -> AsyncIterator[Event]:
        """Run one prompt; yields events until ``TurnFinished``."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._drive(prompt, images, model, route, mode, queue.put_nowait))
        self._task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            if not self._task.done():
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def run_sync(self, prompt: str, **kwargs: Any) -> Result:
        """Run a prompt to the end from synchronous code."""

        async def collect() -> Result:
            try:
                events = [event async for event in self.run(prompt, **kwargs)]
            finally:
                await self.aclose()  # HTTP clients belong to this event loop, which asyncio.run closes
            finished = next((e for e in reversed(events) if isinstance(e, TurnFinished)), None)
            diffs = [e.diff for e in events if getattr(e, "diff", None)]
            return Result(text=finished.text if finished else "",
                          stop_reason=finished.stop_reason if finished else "error",
                          changed_files=self.changed_files(), diff="".join(diffs), usage=self.total,
                          cost=self.total_cost, events=events)

        return asyncio.run(collect())

    def warm_up(self) -> None:
        """Slow first-use work (system prompt with project instructions, tokenizer tables, the HTTP
        client's modules), so a front end can run it in a thread at start-up instead of on the
        first prompt."""
        self._system()
        import openai.resources.chat.completions  # noqa: F401  (the SDK imports these on first request)
        from openai.types.chat import ChatCompletionChunk  # noqa: F401

        import agent.providers.openai_compat  # noqa: F401
        from agent.context.tokens import count_tokens

        count_tokens("warm up")

    def interrupt(self) -> None:
        """Stop the running step at once (Esc in the TUI); the conversation stays consistent."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def changed_files(self) -> list[str]:
        """Files written by tools in this session, workspace-relative, sorted."""
        return sorted(p.relative_to(self.cwd).as_posix() if p.is_relative_to(self.cwd) else str(p)
                      for p in self.tool_session.changed_files)

    async def aclose(self) -> None:
        """Close the model connections and MCP servers (``run_sync`` does it after each run)."""
        if self.mcp is not None:
            await self.mcp.aclose()
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()

    # ------------------------------------------------------------------ the loop
    async def _drive(self, prompt: str, images: Sequence[ImagePart], model: str | None, route: str | None,
                     mode: str | None, emit_raw: Any) -> None:
        def emit(event: Event) -> None:
            for hook in self.hooks:
                if hasattr(hook, "on_event"):
                    hook.on_event(event)
            emit_raw(event)

        self.turn += 1
        self._call_hooks("begin_turn", self.turn)
        emit(TurnStarted(turn=self.turn, route=route or self.config.routing.mode, prompt=prompt))
        while self.pending_notices:
            emit(self.pending_notices.pop(0))
        self._append(Message(role="user", content=prompt, images=tuple(images)))
        signals = StepSignals(prompt=prompt, images=bool(images), model_override=model, route_override=route,
                              mode_override=mode)
        final_text, stop = "", "completed"
        try:
            if self.mcp is not None:
                await self.mcp.attach(self.toolset, emit)
            await self.context.prepare(prompt)
            signals.pack_tokens = self.context.pack_sizes.get(self.config.routing.local, 0)
            if self.routing_is_open(signals):
                await asyncio.to_thread(repo_signals, signals, self.cwd, self.context.repo_map())
            if wants_architect(self, signals):
                final_text, stop = await run_architect(self, signals, emit)
            else:
                final_text, stop = await self._steps(signals, emit)
        except _Stop as exc:
            stop = exc.reason
            emit(Notice(level="warning", text=exc.message))
        except asyncio.CancelledError:
            stop = "interrupted"
            if self._runner is not None:
                self._runner.close_open_calls("interrupted by the user before it finished")
            emit(Notice(level="info", text="interrupted"))
        except ProviderError as exc:
            stop = "error"
            emit(Error(kind=exc.kind, message=exc.message, retryable=exc.retryable))
        finally:
            self._call_hooks("end_turn")
        for hook in self.hooks:
            if getattr(hook, "error", None):
                emit(Notice(level="warning", text=hook.error))
        if stop == "completed" and self.config.session.auto_commit and self.checkpointer is not None:
            await commit_turn(self, prompt, emit)
        emit(TurnFinished(stop_reason=stop, text=final_text, usage_total=UsageTotal(
            prompt_tokens=self.total.prompt_tokens, completion_tokens=self.total.completion_tokens,
            cache_hit_tokens=self.total.cache_hit_tokens, cost_usd=round(self.total_cost, 6),
            saved_vs_remote_usd=round(self.saved_vs_remote, 6))))

    def routing_is_open(self, signals: StepSignals) -> bool:
        """Whether repository signals can change the route (auto routing, no override, packing on):
        building the repo map for a pinned route would be wasted work (batch tasks, --route local)."""
        if not self.config.context.pack or signals.model_override or self.router.pinned:
            return False
        return (signals.route_override or self.config.routing.mode) == "auto"

    async def _steps(self, signals: StepSignals, emit: Any, fixed: RouteDecision | None = None,
                     max_steps: int | None = None) -> tuple[str, str]:
        """Model steps until an answer without tool calls; returns (final text, stop reason).

        ``fixed`` pins every step to one model and mode (the architect/editor phases).
        """
        runner = self._runner = ToolRunner(self, emit)
        final_text = ""
        for step in range(max_steps or self.config.limits.max_turns):
            signals.step = step
            decision = fixed or self.router.decide(signals, self.messages)
            emit(decision.event())
            if not self._side:
                await self.context.maybe_compact(decision.model, emit)
            completion, decision = await self._complete(decision, signals, emit)
            if completion is None:
                return final_text, "error"
            self._account(decision, completion, emit)
            self._append(completion.message)
            final_text = completion.message.content
            if not completion.message.tool_calls:
                if completion.truncated:
                    emit(Notice(level="warning", text="the reply hit the output limit and was cut off"))
                    return final_text, "length"
                return final_text, "completed"
            outcome = await runner.run_calls(completion.message.tool_calls, truncated=completion.truncated)
            signals.after_tools = True
            signals.failures = signals.failures + outcome.failed_edits if outcome.failed_edits else 0
            if outcome.repeated:
                raise _Stop("repetition", outcome.repeated)
            self._check_cost()
        emit(Notice(level="warning", text=f"stopped after {max_steps or self.config.limits.max_turns} model "
                    "requests (--max-turns)"))
        return final_text, "max_turns"

    @contextlib.asynccontextmanager
    async def side_conversation(self, toolset: Toolset | None = None) -> AsyncIterator[list[Message]]:
        """A separate conversation (architect plan, per-file edits) sharing tools, budgets and accounting.

        Its messages are not part of the main conversation nor the session log; an interrupt inside
        it answers its own open calls before the main conversation is restored.
        """
        saved = (self.messages, self.toolset, self._runner, self._side)
        self.messages, self._side = [], True
        if toolset is not None:
            self.toolset = toolset
        try:
            yield self.messages
        except asyncio.CancelledError:
            if self._runner is not None and self._runner is not saved[2]:
                self._runner.close_open_calls("interrupted by the user")
            raise
        finally:
            self.messages, self.toolset, self._runner, self._side = saved

    async def _complete(self, decision: RouteDecision, signals: StepSignals, emit: Any
                        ) -> tuple[Completion | None, RouteDecision]:
        """One model request with fallback to the other endpoint when this one is unreachable."""
        tried: set[str] = set()
        empty_retry = compact_retry = True
        while True:
            provider = self._provider(decision.model)
            completion: Completion | None = None
            partial: list[str] = []
            try:
                async for item in provider.stream(self._request_messages(decision.model), self.toolset.schemas(),
                                                  decision.mode):
                    if isinstance(item, Completion):
                        completion = item
                    else:
                        if isinstance(item, TextDelta):
                            partial.append(item.text)
                        emit(item)
            except asyncio.CancelledError:
                if partial:
                    self._append(Message(role="assistant", content="".join(partial) + " [interrupted]"))
                raise
            except ProviderError as exc:
                if exc.kind == "context_length" and compact_retry and not self._side:
                    compact_retry = False
                    emit(Notice(level="warning", text=f"{exc.message} — compacting and retrying once"))
                    await self.context.maybe_compact(decision.model, emit, force=True)
                    continue
                self.router.report_failure(decision.model, exc.kind)
                tried.add(decision.model)
                fallback = self.router.fallback(decision, signals, exc.kind, tried)
                if fallback is None:
                    raise
                emit(Notice(level="warning", text=f"{exc.message} — falling back to {fallback.model}"))
                emit(fallback.event())
                decision = fallback
                continue
            assert completion is not None
            message = completion.message
            if not message.content.strip() and not message.tool_calls and empty_retry:
                empty_retry = False
                what = "reasoning but no answer" if message.reasoning else "an empty reply"
                emit(Notice(level="warning", text=f"{decision.model} returned {what}; asking again once"))
                continue
            if not message.content.strip() and not message.tool_calls:
                emit(Notice(level="warning", text=f"{decision.model} returned an empty reply twice; stopping"))
            return completion, decision

    # ------------------------------------------------------------------ helpers
    def _provider(self, name: str) -> Any:
        if name not in self._providers:
            from agent.providers.openai_compat import OpenAICompatProvider

            self._providers[name] = OpenAICompatProvider(
                name, self.config.model_entry(name), self.config.limits,
                privacy=self.config.routing.privacy, redact=redact)
        return self._providers[name]

    def _system(self) -> str:
        if self._system_prompt is None:
            from agent.context.prompting import system_prompt

            self._system_prompt = system_prompt(self.cwd, self.toolset.names())
        return self._system_prompt

    def _request_messages(self, model: str) -> list[Message]:
        prefix = [] if self._side else self.context.request_prefix(model)
        return [Message(role="system", content=self._system()), *prefix, *self.messages]

    async def compact(self) -> None:
        """Force compaction now (/compact), for the model the next step would most likely use."""
        decision = self.router.decide(StepSignals(prompt=""), self.messages)
        await self.context.maybe_compact(decision.model, self._emit_notice, force=True)

    def _emit_notice(self, event: Event) -> None:
        self.pending_notices.append(event)  # type: ignore[arg-type]

    def _append(self, message: Message) -> None:
        self.messages.append(message)
        if not self._side:
            self._call_hooks("on_message", message)

    def _call_hooks(self, name: str, *args: Any) -> None:
        for hook in self.hooks:
            method = getattr(hook, name, None)
            if method is not None:
                method(*args)

    def _account(self, decision: RouteDecision, completion: Completion, emit: Any) -> None:
        entry = self.config.model_entry(decision.model)
        usage = completion.usage
        cost = cost_usd(entry.pricing, usage)
        remote_name = self.config.routing.remote
        if not entry.is_remote and remote_name in self.config.models:
            self.saved_vs_remote += cost_usd(self.config.models[remote_name].pricing, usage) - cost
        self.total = self.total + usage
        self.total_cost += cost
        emit(UsageReported(model=decision.model, prompt_tokens=usage.prompt_tokens,
                           completion_tokens=usage.completion_tokens, cache_hit_tokens=usage.cache_hit_tokens,
                           reasoning_tokens=usage.reasoning_tokens, cost_usd=round(cost, 6)))

    def _check_cost(self) -> None:
        cap = self.config.limits.max_cost
        if cap is not None and self.total_cost >= cap:
            raise _Stop("max_cost", f"stopped: session cost ${self.total_cost:.4f} reached --max-cost ${cap:.4f}")


