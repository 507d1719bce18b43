"""The agent loop: one prompt in, an event stream out.

``Agent.run`` routes each model step, runs the model's tool calls and repeats until the model
answers without calling a tool; any other ending is a StopTurn (agent.core.turn). It never prints:
front ends read the events and steer it with the command methods (``interrupt``, ``pin_model``,
``clear``, ``undo``, ``compact``). The work runs in a task that ``interrupt()`` cancels; whatever
state it is cancelled in, the conversation is left consistent (every tool call gets a result).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

from agent.config import AgentConfig, load_config
from agent.context.instructions import InstructionTracker
from agent.core.architect import Architect
from agent.core.conversation import Conversation
from agent.core.hooks import HookChain
from agent.core.ledger import Ledger
from agent.core.ports import Checkpoints, Emit, ProviderPool, ToolSource, TurnHook
from agent.core.requests import ModelRequests
from agent.core.result import Result
from agent.core.routing import Router, StepSignals, repo_signals
from agent.core.steps import StepLoop
from agent.core.toolcalls import ToolEnv
from agent.core.turn import StopTurn, Turn
from agent.core.window import ContextWindow
from agent.events import Event, Notice, TurnFinished, TurnStarted
from agent.messages import ImagePart, Message, Usage
from agent.policy.permissions import Approver, DenyAll, Permissions
from agent.providers.pool import ModelPool
from tools import Tool, ToolSession, Toolset, builtin_tools
from tools.redact import redact


class Agent:
    """The one loop behind the TUI, ``qagent -p``, batch runs and scripts.

    Every argument is optional: ``Agent()`` inside a repository uses that repository's config,
    like the CLI does. ``config``: an AgentConfig (default: ``load_config(cwd)``). ``cwd``: the
    workspace; tools are confined to it. ``tools`` replaces the built-in tools, ``extra_tools`` adds
    to them. ``router`` decides model and mode per step. ``approval`` is asked about each call the
    permission policy wants confirmed (default: refuse, as in headless runs). ``providers`` serves
    the models (default: one HTTP client per ``[models.*]`` entry; share a pool between agents to
    share connections). ``hooks`` observe each turn (session log, checkpoints); ``checkpointer``
    serves ``undo``; ``tool_sources`` add tools from outside the process (MCP servers).
    """

    def __init__(self, config: AgentConfig | None = None, cwd: Path | str | None = None,
                 tools: Iterable[Tool] | None = None, router: Router | None = None,
                 approval: Approver | None = None, *, extra_tools: Iterable[Tool] = (),
                 system_prompt: str | None = None, session_id: str | None = None,
                 providers: ProviderPool | None = None, hooks: Iterable[TurnHook] = (),
                 checkpointer: Checkpoints | None = None, tool_sources: Iterable[ToolSource] = ()) -> None:
        self.cwd = Path(cwd or Path.cwd()).resolve()
        self.config = config or load_config(self.cwd)
        toolset = Toolset(builtin_tools() if tools is None else tools)
        for extra in extra_tools:
            toolset.add(extra)
        self.router = router or Router(self.config, self.cwd)
        self.permissions = Permissions(self.config.permissions, root=self.cwd)
        self.tool_session = ToolSession()
        self.hooks: list[TurnHook] = list(hooks)
        """Turn hooks, called in order (add more before a run)."""
        self._hooks = HookChain(self.hooks)
        self.providers: ProviderPool = providers or ModelPool(self.config, redact=redact)
        self._owns_providers = providers is None
        self.conversation = Conversation([], toolset, main=True, record=self._hooks.on_message)
        self.window = ContextWindow(self.config, self.cwd, self.providers, self.router, self._hooks,
                                    self.changed_files)
        self.ledger = Ledger(self.config)
        self._tools = ToolEnv(self.cwd, self.config, self.permissions, approval or DenyAll(), self._hooks,
                              InstructionTracker(self.cwd), self.tool_session, self.window.shared_map)
        requests = ModelRequests(self.providers, self.router, self.window, self._request_messages)
        self.steps = StepLoop(self.config, self.router, self.window, requests, self.ledger, self._tools)
        self.architect = Architect(self.router, self.steps, self.window, self.cwd)
        self.checkpointer = checkpointer
        self.session_id = session_id
        self.pending_notices: list[Notice] = []
        """Shown at the start of the next turn (sandbox status, checkpoint mode...)."""
        self.turn = 0
        self._system_prompt = system_prompt
        self._task: asyncio.Task[None] | None = None
        self.tool_sources = list(tool_sources)

    # ------------------------------------------------------------------ state
    @property
    def messages(self) -> list[Message]:
        """The main conversation (what the next prompt continues)."""
        return self.conversation.messages

    @property
    def toolset(self) -> Toolset:
        return self.conversation.toolset

    @property
    def total(self) -> Usage:
        return self.ledger.total

    @property
    def total_cost(self) -> float:
        return self.ledger.cost

    @property
    def saved_vs_remote(self) -> float:
        return self.ledger.saved_vs_remote

    def changed_files(self) -> list[str]:
        """Files written by tools in this session, workspace-relative, sorted."""
        return sorted(p.relative_to(self.cwd).as_posix() if p.is_relative_to(self.cwd) else str(p)
                      for p in self.tool_session.changed_files)

    # ------------------------------------------------------------------ running
    async def run(self, prompt: str, *, images: Sequence[ImagePart] = (), model: str | None = None,
                  route: str | None = None, mode: str | None = None) -> AsyncIterator[Event]:
        """Run one prompt; yields events until ``TurnFinished``."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        signals = StepSignals(prompt=prompt, images=bool(images), model_override=model, route_override=route,
                              mode_override=mode)
        self._task = asyncio.create_task(self._drive(prompt, images, signals, queue.put_nowait))
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
            return Result.of(events, self.changed_files(), self.total, self.total_cost)

        return asyncio.run(collect())

    async def _drive(self, prompt: str, images: Sequence[ImagePart], signals: StepSignals, send: Emit) -> None:
        def emit(event: Event) -> None:
            self._hooks.on_event(event)
            send(event)

        self.turn += 1
        turn = Turn(self.turn, prompt, images, signals, emit)
        self._hooks.begin_turn(turn.number)
        emit(TurnStarted(turn=turn.number, route=signals.route_override or self.config.routing.mode, prompt=prompt))
        while self.pending_notices:
            emit(self.pending_notices.pop(0))
        self.conversation.append(Message(role="user", content=prompt, images=tuple(images)))
        text, stop = "", "completed"
        try:
            text = await self._work(turn)
        except StopTurn as ended:
            text, stop = ended.text, ended.reason
            emit(ended.event())
        except asyncio.CancelledError:
            stop = "interrupted"
            self.conversation.close_open_calls("interrupted by the user before it finished")
            emit(Notice(level="info", text="interrupted"))
        finally:
            self._hooks.end_turn()
        for problem in self._hooks.errors():
            emit(Notice(level="warning", text=problem))
        await self._hooks.after_turn(prompt, stop, emit)
        emit(TurnFinished(stop_reason=stop, text=text, usage_total=self.ledger.totals()))

    async def _work(self, turn: Turn) -> str:
        """The turn's work: tools from MCP servers, the packs, the route, then the steps."""
        for source in self.tool_sources:
            await source.attach(self.toolset, turn.emit)
        await self.window.prepare(turn.prompt, turn.emit)
        turn.signals.pack_tokens = self.window.pack_sizes.get(self.config.routing.local, 0)
        if self.router.is_open(turn.signals):
            await asyncio.to_thread(repo_signals, turn.signals, self.cwd, self.window.repo_map())
        if self.router.wants_architect(turn.signals):
            return await self.architect.run(self.conversation, turn.signals, turn.emit)
        return await self.steps.run_steps(self.conversation, turn.signals, turn.emit)

    def _request_messages(self, conversation: Conversation, model: str) -> list[Message]:
        prefix = self.window.request_prefix(model) if conversation.main else []
        return [Message(role="system", content=self.system_prompt()), *prefix, *conversation.messages]

    def system_prompt(self) -> str:
        """The system prompt (with the project's instructions), built on first use."""
        if self._system_prompt is None:
            from agent.context.prompting import system_prompt

            self._system_prompt = system_prompt(self.cwd, self.toolset.names())
        return self._system_prompt

    # ------------------------------------------------------------------ commands
    def interrupt(self) -> None:
        """Stop the running step at once (Esc in the TUI); the conversation stays consistent."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def pin_model(self, name: str | None) -> None:
        """Use ``[models.NAME]`` for every step from now on (``/model NAME``); None lets the router
        choose again. An unknown name raises ConfigError listing the configured ones."""
        self.router.pin(name)

    def clear(self) -> None:
        """Start a fresh conversation (``/clear``); the session log records it, so ``--continue``
        does not bring the cleared turns back."""
        self.conversation.messages.clear()
        self._hooks.replace_conversation([])

    def undo(self) -> str:
        """Restore the working tree to before the latest turn's changes (``/undo``); says what it did.
        Raises LookupError when this agent keeps no checkpoints."""
        if self.checkpointer is None:
            raise LookupError("this session keeps no checkpoints ([session] checkpoints = false)")
        return self.checkpointer.undo().message

    async def compact(self) -> None:
        """Compact the conversation now (``/compact``) for the model the next step would most likely
        use; its Notice waits in ``pending_notices``."""
        decision = self.router.decide(StepSignals(prompt=""), self.messages)
        await self.window.maybe_compact(self.conversation, decision.model, self.pending_notices.append, force=True)

    async def summarise(self, text: str) -> str:
        """A one-off request with no tools and no history (commit messages, summaries): the local
        model when it may be used, else the remote one."""
        return await self.window.summarise(text)

    # ------------------------------------------------------------------ lifecycle
    def warm_up(self) -> None:
        """Slow first-use work (system prompt with project instructions, tokenizer tables, the HTTP
        client's modules), so a front end can run it in a thread at start-up instead of on the
        first prompt."""
        from agent.context.tokens import count_tokens
        from agent.providers.openai_compat import import_client

        self.system_prompt()
        import_client()
        count_tokens("warm up")

    async def aclose(self) -> None:
        """Close the model connections and MCP servers (``run_sync`` does it after each run)."""
        for source in self.tool_sources:
            await source.aclose()
        if self._owns_providers:
            await self.providers.aclose()
