"""The qagent terminal UI: a Textual app that reads the agent's events and sends it commands.

The app owns no agent logic. A turn is ``agent.run(prompt, ...)`` consumed by a worker that feeds
an :class:`EventPump`; approvals are the agent's Approver callback answered by a modal; Esc is
``agent.interrupt()``; slash commands live in :mod:`agent.tui.commands`.
"""

from __future__ import annotations

import asyncio
import gc
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.worker import Worker

from agent.config import AgentConfig, load_config
from agent.core.agent import Agent
from agent.events import Error, TurnFinished
from agent.messages import ImagePart, Message
from agent.policy.permissions import ApprovalDecision, ApprovalRequest, Approver
from agent.tui.commands import load_image, run_command
from agent.tui.completion import FileIndex
from agent.tui.conversation import AssistantMessage, ConversationView, InfoBlock, NoticeLine, UserMessage
from agent.tui.heap import settle_heap, tune_collector
from agent.tui.prompt import CompletionMenu, PromptArea
from agent.tui.pump import EventPump
from agent.tui.render import args_summary
from agent.tui.screens import ApprovalScreen, SetupScreen
from agent.tui.statusbar import PlanPanel, StatusBar, git_state
from agent.tui.usershell import run_user_shell

AgentFactory = Callable[[Approver, str | None], Agent]
"""(approver, session id to resume or None) -> a wired Agent."""
BUSY_SAFE = {"/mode", "/route", "/model", "/cost", "/help", "/diff", "/image", "/quit", "/exit", "/doctor"}
QUIT_WINDOW_S = 2.0
_COMMAND = re.compile(r"^/[a-z]+$")


class QAgentApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "qagent"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("escape", "interrupt", "interrupt", show=False),
        Binding("ctrl+c", "ctrl_c", "quit", show=False, priority=True),
    ]

    def __init__(
        self,
        workspace: Path,
        config: AgentConfig,
        agent_factory: AgentFactory,
        *,
        prompt: str | None = None,
        model: str | None = None,
        max_items: int | None = None,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.config = config
        self.agent_factory = agent_factory
        self.agent: Agent = agent_factory(self.approve, None)
        if model:
            self.agent.pin_model(model)
        self.initial_prompt = prompt
        self._collector = gc.get_threshold()
        """The garbage collector's thresholds before the app tuned them, restored when it closes."""
        self.mode: str | None = None
        self.route: str | None = None
        self.attachments: list[tuple[str, ImagePart]] = []
        self.queued: list[str] = []
        self.busy = False
        self.reached_model = False
        self.files = FileIndex(workspace)
        self.view = ConversationView(id="conversation", **({"max_items": max_items} if max_items else {}))
        self.plan = PlanPanel(id="plan")
        self.status = StatusBar(config, id="status")
        self.menu = CompletionMenu(id="completions")
        self.prompt = PromptArea(self.menu, self.files, workspace, models=tuple(config.models), id="prompt")
        self.pump = EventPump(
            self.view,
            self.status,
            self.plan,
            total_cost=lambda: self.agent.total_cost,
            on_error=self._on_error,
            on_finished=self._on_finished,
        )
        self._turn_worker: Worker[None] | None = None
        self._shell_worker: Worker[None] | None = None
        self._last_ctrl_c = 0.0
        self._user_calls = 0
        if model:
            self.status.model = model

    def compose(self) -> ComposeResult:
        yield self.view
        yield self.plan
        yield self.menu
        yield self.prompt
        yield self.status

    async def on_mount(self) -> None:
        tune_collector()
        self.prompt.focus()
        self.status.set_choices(mode=self.config.routing.thinking, route=self.config.routing.mode)
        await self.view.add(
            NoticeLine(f"qagent in {self.workspace.name} — /help for commands, Esc interrupts")
        )
        if self.agent.messages:
            await self.replay(self.agent.messages)
        self.show_pending_notices()
        self.refresh_git()
        self.run_worker(asyncio.to_thread(self.files.refresh), group="files")
        self._warm_up()
        if self.initial_prompt:
            self.send(self.initial_prompt)

    async def on_unmount(self) -> None:
        gc.set_threshold(*self._collector)
        self.agent.interrupt()
        await self.agent.aclose()

    def _warm_up(self) -> None:
        """Do slow first-time work in a thread now, so the first Enter and the first code block do not
        freeze the UI: the agent's first-use work and the syntax highlighter's lexers."""

        def warm() -> None:
            from pygments.lexers import get_lexer_by_name

            get_lexer_by_name("python")
            self.agent.warm_up()
            settle_heap()

        self.run_worker(asyncio.to_thread(warm), group="warm-up", exit_on_error=False)

    # ------------------------------------------------------------------ output helpers
    def notice(self, text: str, level: str = "info") -> None:
        self.call_later(self.view.add, NoticeLine(text, level))

    def info(self, body: Any) -> None:
        self.call_later(self.view.add, InfoBlock(body))

    def show_pending_notices(self) -> int:
        """Show the notices the agent holds for its next turn (resumed session, sandbox, compaction)."""
        pending = self.agent.pending_notices
        shown = len(pending)
        while pending:
            self.pump.push(pending.pop(0))
        return shown

    def refresh_files(self) -> None:
        """Re-list the workspace for @-completion (after /init or a turn wrote files)."""
        self.files.refresh()

    def refresh_git(self) -> None:
        async def probe() -> None:
            self.status.set_git(await git_state(self.workspace))

        self.run_worker(probe(), group="git", exclusive=True)

    # ------------------------------------------------------------------ input
    @on(PromptArea.Submitted)
    async def submitted(self, event: PromptArea.Submitted) -> None:
        text = event.text.strip()
        head = text.split(maxsplit=1)[0]
        if _COMMAND.match(head):
            if self.busy and head not in BUSY_SAFE:
                self.notice(f"{head} waits for the running turn: press Esc to interrupt it first", "warning")
                return
            await run_command(self, text)
        elif text.startswith("!"):
            self.run_shell(text[1:].strip())
        elif self.busy:
            self.queued.append(event.text)
            self.notice("queued: sent when the current turn finishes")
        else:
            self.send(event.text)

    @on(PromptArea.ImagePasted)
    def image_pasted(self, event: PromptArea.ImagePasted) -> None:
        self.attach_image(event.path)

    def attach_image(self, path: Path) -> None:
        path = path if path.is_absolute() else self.workspace / path
        try:
            part = load_image(path)
        except (ValueError, OSError) as exc:
            self.notice(str(exc), "warning")
            return
        self.attachments.append((path.name, part))
        self.notice(f"attached {path.name}; it goes with your next prompt")

    # ------------------------------------------------------------------ turns
    def send(self, text: str) -> None:
        images, names = [p for _, p in self.attachments], [n for n, _ in self.attachments]
        self.attachments = []
        self.busy = True
        self.status.set_busy(True)
        self.call_later(self.view.add, UserMessage(text, names))
        self._turn_worker = self.run_worker(self._turn(text, images), group="turn", exit_on_error=False)

    async def _turn(self, text: str, images: list[ImagePart]) -> None:
        try:
            async for event in self.agent.run(text, images=images, route=self.route, mode=self.mode):
                self.pump.push(event)
        except Exception as exc:  # a bug must not take the UI down with it
            self.pump.push(Error(kind="internal", message=f"{type(exc).__name__}: {exc}"))
            self.pump.push(TurnFinished(stop_reason="error"))
        finally:
            self.busy = False
            self.call_later(self._send_queued)

    async def _send_queued(self) -> None:
        """The next queued prompt, once the finished turn is drawn (its events may still be queued)."""
        await self.pump.drain()
        if self.queued and not self.busy:
            self.send(self.queued.pop(0))

    def _on_finished(self, event: TurnFinished) -> None:
        self.status.set_busy(False)
        settle_heap()
        self.refresh_git()
        self.run_worker(asyncio.to_thread(self.files.refresh), group="files", exclusive=True)
        if event.usage_total.prompt_tokens or event.stop_reason == "completed":
            self.reached_model = self.reached_model or event.stop_reason != "error"

    def _on_error(self, event: Error) -> None:
        if event.kind == "unreachable" and not self.reached_model:
            self.push_screen(SetupScreen(self.config, event.message, self.workspace))

    async def approve(self, request: ApprovalRequest) -> ApprovalDecision:
        """The agent's Approver: a modal; Esc there interrupts the turn."""
        # The agent's events reach the pump through the turn's task, so the call's card may not be
        # drawn yet: let them through (briefly), then mark the card, and lay the screen out before the
        # modal covers it (a covered screen is not laid out again until it is back on top).
        for _ in range(100):
            await self.pump.drain()
            if request.id in self.pump.cards:
                self.pump.cards[request.id].set_status("waiting for approval")
                break
            await asyncio.sleep(0.005)
        self.screen.refresh(layout=True)
        drawn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.call_after_refresh(lambda: drawn.done() or drawn.set_result(None))
        await drawn
        future: asyncio.Future[ApprovalDecision | None] = asyncio.get_running_loop().create_future()
        screen = ApprovalScreen(request)
        self.push_screen(screen, callback=lambda d: None if future.done() else future.set_result(d))
        try:
            decision = await future
        except asyncio.CancelledError:
            if screen.is_active:
                screen.dismiss(None)
            raise
        card = self.pump.cards.get(request.id)
        if decision is None:
            self.agent.interrupt()
            return ApprovalDecision(allow=False, reason="interrupted by the user")
        if card is not None:
            card.set_status("running…" if decision.allow else "denied")
        return decision

    # ------------------------------------------------------------------ !cmd
    def run_shell(self, command: str) -> None:
        if not command:
            self.notice(
                "usage: !COMMAND runs it in the workspace (sandboxed like the agent's shell)", "warning"
            )
            return
        self._user_calls += 1
        call_id = f"user-shell-{self._user_calls}"

        async def shell() -> None:
            await run_user_shell(self.agent, self.pump, call_id, command)
            self.refresh_git()

        self._shell_worker = self.run_worker(shell(), group="shell", exit_on_error=False)

    # ------------------------------------------------------------------ keys
    def action_interrupt(self) -> None:
        if self.menu.display:
            self.menu.hide()
        elif self.busy:
            self.agent.interrupt()
        elif self._shell_worker is not None and self._shell_worker.is_running:
            self._shell_worker.cancel()

    def action_ctrl_c(self) -> None:
        now = time.monotonic()
        if now - self._last_ctrl_c <= QUIT_WINDOW_S:
            self.agent.interrupt()
            self.exit(0)
            return
        self._last_ctrl_c = now
        if self.busy:
            self.agent.interrupt()
        self.notify("press Ctrl+C again to quit", timeout=QUIT_WINDOW_S)

    # ------------------------------------------------------------------ sessions
    async def rebuild_agent(self, *, resume: str) -> None:
        """Continue another session: a fresh agent from the factory, its conversation redrawn."""
        self.agent.interrupt()
        await self.agent.aclose()
        self.agent = self.agent_factory(self.approve, resume)
        await self.view.clear()
        self.plan.set_items([])
        await self.replay(self.agent.messages)
        self._warm_up()
        if not self.show_pending_notices():
            self.notice(f"resumed session {resume} ({len(self.agent.messages)} messages)")

    async def replay(self, messages: list[Message]) -> None:
        """Draw a loaded conversation (prompts, answers, tool calls) without re-running anything."""
        for message in messages:
            if message.role == "user":
                await self.view.add(UserMessage(message.content))
            elif message.role == "assistant":
                if message.content.strip():
                    answer = AssistantMessage()
                    await self.view.add(answer)
                    await answer.append(message.content)
                for call in message.tool_calls:
                    summary = args_summary(call.parsed_arguments() if call.arguments.startswith("{") else {})
                    await self.view.add(NoticeLine(f"⚙ {call.name} {summary}"))


def _factory(
    config: AgentConfig, workspace: Path, *, resume: str | None = None, cont: bool = False
) -> AgentFactory:
    from agent.wiring import build_agent

    def make(approver: Approver, resume_id: str | None) -> Agent:
        if resume_id is not None:
            return build_agent(config, workspace, resume=resume_id, interactive=True, approver=approver)
        return build_agent(config, workspace, resume=resume, cont=cont, interactive=True, approver=approver)

    return make


def run_tui_with_config(
    root: Path,
    config: AgentConfig,
    *,
    prompt: str | None = None,
    model: str | None = None,
    resume: str | None = None,
    cont: bool = False,
) -> int:
    """Open the TUI on ``root`` with a ready config (``qagent demo`` uses this). A bad ``model`` or
    ``resume`` raises ConfigError or SessionNotFound, which the CLI reports (exit 2)."""
    app = QAgentApp(root, config, _factory(config, root, resume=resume, cont=cont), prompt=prompt, model=model)
    result = app.run()
    return result if isinstance(result, int) else app.return_code or 0


def run_tui(
    workspace: Path,
    overrides: dict[str, Any],
    *,
    prompt: str | None = None,
    model: str | None = None,
    resume: str | None = None,
    cont: bool = False,
) -> int:
    """``qagent`` with no ``-p``: load the config and open the TUI."""
    config = load_config(workspace, overrides)
    return run_tui_with_config(workspace, config, prompt=prompt, model=model, resume=resume, cont=cont)
