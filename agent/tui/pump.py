"""From the agent's event stream to widgets, in batches.

A local model streams hundreds of tokens a second; redrawing for each would make the UI lag and
flicker. Events are queued as they arrive and applied at most every ``FLUSH_INTERVAL`` seconds
(about one frame at 60 fps), with runs of deltas of the same kind merged into one update.
Nothing here decides anything for the agent: it only draws what the events say.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.events import (
    Error,
    Event,
    Notice,
    ReasoningDelta,
    RouteDecided,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolOutputDelta,
    TurnFinished,
    TurnStarted,
    UsageReported,
)
from agent.tui.conversation import AssistantMessage, ConversationView, NoticeLine, ThinkingBlock
from agent.tui.statusbar import PlanPanel, StatusBar
from agent.tui.toolcard import ToolCard

if TYPE_CHECKING:
    from textual.timer import Timer

FLUSH_INTERVAL = 0.016
MAX_FLUSH_INTERVAL = 0.1


class EventPump:
    """Queues events and applies them to the conversation, status bar and plan panel."""

    def __init__(
        self,
        view: ConversationView,
        status: StatusBar,
        plan: PlanPanel,
        *,
        total_cost: Callable[[], float] = lambda: 0.0,
        on_error: Callable[[Error], None] | None = None,
        on_finished: Callable[[TurnFinished], None] | None = None,
    ) -> None:
        self.view, self.status, self.plan = view, status, plan
        self.total_cost = total_cost
        self.on_error = on_error
        self.on_finished = on_finished
        self.pending: list[tuple[float, Event]] = []
        self.cards: dict[str, ToolCard] = {}
        self.answer: AssistantMessage | None = None
        self.thinking: ThinkingBlock | None = None
        self._timer: Timer | None = None
        self._last_flush = 0.0
        self._frame_cost = 0.0
        """Recent time from a flush to the screen showing it (moving average), for pacing."""
        self._lock = asyncio.Lock()
        self.probe: list[tuple[float, float, int]] | None = None
        """Benchmarks set this to a list; each text delta adds (arrived, painted, characters), the
        times from ``time.perf_counter``."""

    # ------------------------------------------------------------------ intake
    def push(self, event: Event) -> None:
        """Called for every event as it arrives; schedules a flush if none is pending.

        The first event after a quiet spell is drawn at once; while a stream keeps coming, flushes
        are spaced by :func:`frame_spacing` and each takes everything that arrived meanwhile."""
        now = time.perf_counter()
        self.pending.append((now, event))
        if self._timer is None:
            delay = max(self._last_flush + frame_spacing(self._frame_cost) - now, 0.0005)
            self._timer = self.view.set_timer(delay, self.flush, name="event-flush")

    async def flush(self) -> None:
        self._timer = None
        self._last_flush = started = time.perf_counter()
        async with self._lock:
            batch, self.pending = self.pending, []
            arrived: list[tuple[float, int]] = []
            for kind, key, items in _runs(batch):
                if kind is TextDelta:
                    arrived.extend((t, len(e.text)) for t, e in items)  # type: ignore[attr-defined]
                await self._apply(kind, key, [e for _, e in items])
        probe = self.probe if arrived else None

        def painted() -> None:
            now = time.perf_counter()
            self._frame_cost = 0.7 * self._frame_cost + 0.3 * (now - started)
            if probe is not None:
                probe.extend((t, now, n) for t, n in arrived)

        self.view.app.call_after_refresh(painted)

    async def drain(self) -> None:
        """Apply everything queued now (end of a turn, before a command draws its own output)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        await self.flush()

    @property
    def idle(self) -> bool:
        return not self.pending and self._timer is None and not self._lock.locked()

    # ------------------------------------------------------------------ applying
    async def _apply(self, kind: type, key: str, events: list[Any]) -> None:
        if kind is TextDelta:
            await self._text("".join(e.text for e in events))
        elif kind is ReasoningDelta:
            await self._reasoning("".join(e.text for e in events))
        elif kind is ToolOutputDelta:
            card = self.cards.get(key)
            if card is not None:
                card.append_output("".join(e.text for e in events))
        else:
            for event in events:
                await self._single(event)

    async def _text(self, text: str) -> None:
        if self.thinking is not None:
            self.thinking.finish()
            self.thinking = None
        if self.answer is None:
            self.answer = AssistantMessage()
            await self.view.add(self.answer)
        await self.answer.append(text)

    async def _reasoning(self, text: str) -> None:
        if self.thinking is None:
            await self._end_answer()
            self.thinking = ThinkingBlock()
            await self.view.add(self.thinking)
        self.thinking.append(text)

    async def _end_answer(self) -> None:
        if self.thinking is not None:
            self.thinking.finish()
            self.thinking = None
        if self.answer is not None:
            answer, self.answer = self.answer, None
            await answer.finish()

    async def _single(self, event: Event) -> None:
        if isinstance(event, ToolCallStarted):
            await self._end_answer()
            await self.start_card(event.id, event.name, event.args)
        elif isinstance(event, ToolCallFinished):
            self.finish_card(event)
        elif isinstance(event, RouteDecided):
            await self._end_answer()
            self.status.route_decided(event)
        elif isinstance(event, UsageReported):
            self.status.usage(event, self.total_cost())
        elif isinstance(event, Notice):
            await self._end_answer()
            await self.view.add(NoticeLine(event.text, event.level))
        elif isinstance(event, Error):
            await self._end_answer()
            await self.view.add(NoticeLine(f"{event.kind}: {event.message}", "error"))
            if self.on_error is not None:
                self.on_error(event)
        elif isinstance(event, TurnFinished):
            await self._end_answer()
            self.status.set_busy(False)
            if self.on_finished is not None:
                self.on_finished(event)
        elif isinstance(event, TurnStarted):
            self.status.set_busy(True)

    async def start_card(
        self, call_id: str, name: str, args: dict[str, Any], *, by_user: bool = False
    ) -> ToolCard:
        card = ToolCard(call_id, name, args, by_user=by_user)
        self.cards[call_id] = card
        await self.view.add(card)
        return card

    def finish_card(self, event: ToolCallFinished) -> None:
        card = self.cards.pop(event.id, None)
        if card is not None:
            card.finish(event.ok, event.output, event.diff, event.duration_s)
        if event.name == "todo_write" and event.ok and isinstance(event.data.get("items"), list):
            self.plan.set_items(event.data["items"])


def frame_spacing(frame_cost: float) -> float:
    """Seconds between the starts of two flushes: about a frame at 60 fps, but at least twice what
    drawing a frame recently took. On a busy machine (a build, a test run, a second agent) frames
    take longer; drawing less often then leaves the event loop half its time to read the stream,
    so the screen stays a frame or two behind instead of falling seconds behind."""
    return min(max(FLUSH_INTERVAL, 2 * frame_cost), MAX_FLUSH_INTERVAL)


def _runs(batch: list[tuple[float, Event]]) -> list[tuple[type, str, list[tuple[float, Event]]]]:
    """Consecutive events grouped: deltas of one kind (and one tool call) merge; others stay single."""
    runs: list[tuple[type, str, list[tuple[float, Event]]]] = []
    for stamp, event in batch:
        kind = type(event)
        key = getattr(event, "id", "") if kind is ToolOutputDelta else ""
        mergeable = kind in (TextDelta, ReasoningDelta, ToolOutputDelta)
        if mergeable and runs and runs[-1][0] is kind and runs[-1][1] == key:
            runs[-1][2].append((stamp, event))
        else:
            runs.append((kind, key, [(stamp, event)]))
    return runs
