"""The conversation view and the blocks it holds: user prompts, thinking, answers, notices.

Long sessions stay responsive because the view keeps at most ``MAX_ITEMS`` blocks mounted: the
oldest are removed (the agent's own history is untouched) and a marker says how many are hidden.
"""

from __future__ import annotations

import time

from rich.markdown import Markdown as RichMarkdown
from rich.segment import Segment
from rich.text import Text
from textual.containers import VerticalScroll
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from agent.tui.mdstream import JoinGaps, block_boundary
from agent.tui.render import clean, inert, tail_lines

MAX_ITEMS = 150
THINKING_LIVE_LINES = 12


class UserMessage(Static):
    DEFAULT_CSS = """
    UserMessage { background: $boost; border-left: thick $accent; padding: 0 1; margin: 1 0 1 0; }
    """

    def __init__(self, text: str, attachments: list[str] | None = None) -> None:
        body = inert(text)
        for name in attachments or []:
            body.append(f"\n📎 {name}", "dim")
        super().__init__(body)
        self.text = text


class NoticeLine(Static):
    """Notices (fallbacks, retries, compaction, interrupts) and errors, inline."""

    DEFAULT_CSS = """
    NoticeLine { color: $text-muted; padding: 0 1; }
    NoticeLine.-warning { color: $warning; }
    NoticeLine.-error { color: $error; text-style: bold; }
    """
    ICONS = {"info": "ℹ", "warning": "⚠", "error": "✗"}

    def __init__(self, text: str, level: str = "info") -> None:
        super().__init__(inert(f"{self.ICONS.get(level, 'ℹ')} {text}"), classes=f"-{level}")
        self.text = text
        self.level = level


class InfoBlock(Static):
    """Output of a slash command (/cost, /help, /diff): plain or pre-built Rich text."""

    DEFAULT_CSS = "InfoBlock { padding: 0 1; margin: 0 0 1 0; border-left: wide $secondary; }"

    def __init__(self, body: Text | str) -> None:
        super().__init__(body if isinstance(body, Text) else inert(body))


class ThinkingBlock(Collapsible):
    """Reasoning, dimmed; shows its tail while streaming and folds when the answer starts."""

    DEFAULT_CSS = """
    ThinkingBlock { padding-bottom: 0; background: $surface; }
    ThinkingBlock Static { color: $text-disabled; text-style: italic; }
    """

    def __init__(self) -> None:
        self.text = ""
        self.started = time.monotonic()
        self.done = False
        self._body = Static("")
        super().__init__(self._body, title="Thinking…", collapsed=False)

    def append(self, text: str) -> None:
        self.text += text
        shown, hidden = tail_lines(self.text, THINKING_LIVE_LINES)
        body = Text(f"… {hidden} earlier lines\n" if hidden else "", end="")
        body.append_text(inert(shown))
        self._body.update(body)

    def finish(self) -> None:
        """Fold and show everything (drawn only when the user expands it)."""
        if self.done:
            return
        self.done = True
        seconds = time.monotonic() - self.started
        self.title = f"Thought for {seconds:.0f}s" if seconds >= 1 else "Thought"
        self._body.update(inert(self.text))
        self.collapsed = True


def markdown(text: str) -> RichMarkdown:
    return RichMarkdown(clean(text), code_theme="monokai", hyperlinks=False)


class AssistantMessage(Widget):
    """The answer as streaming Markdown, code blocks syntax-highlighted.

    A fast local model sends hundreds of tokens a second, so a frame must cost little however long
    the answer grows. Finished parts (cut between Markdown blocks every ``SEGMENT_CHARS``, see
    ``mdstream``) are rendered to lines once; only the short live tail is re-rendered as tokens
    arrive. The widget draws through Textual's line API rather than one child widget per part: a
    relayout of the conversation touches one widget per answer, and a frame whose tokens did not add
    a line needs no relayout at all (see bench/tui_stream.py).
    """

    DEFAULT_CSS = "AssistantMessage { height: auto; padding: 0 0 0 1; margin: 0 0 1 0; }"
    SEGMENT_CHARS = 300

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.frozen: list[str] = []
        """The finished parts, each rendered once per width."""
        self._tail = ""
        self._width = 0
        self._frozen_lines: list[tuple[Segment, ...]] = []
        """Kept as plain segments: a Strip carries seven caches, and a long answer's worth of them
        would make every full garbage collection slower (a stall on screen)."""
        self._tail_lines: list[Strip] = []
        self._gaps = JoinGaps(lambda text: len(self._render(text)))

    async def append(self, text: str) -> None:
        self.text += text
        self._tail += text
        height, changed_from = len(self._frozen_lines) + len(self._tail_lines), len(self._frozen_lines)
        cut = block_boundary(self._tail, self.SEGMENT_CHARS)
        if cut:
            done, self._tail = self._tail[:cut], self._tail[cut:]
            if self._width:
                self._frozen_lines += map(tuple, self._part_lines(self._last_part, done))
            self.frozen.append(done)
        if self._width:
            self._tail_lines = self._part_lines(self._last_part, self._tail)
        if not self._width or len(self._frozen_lines) + len(self._tail_lines) != height:
            self.refresh(layout=True)
        else:  # same height: only the tail's lines are drawn again, the rest stays cached on screen
            self.refresh(Region(0, changed_from, self._width, height - changed_from))

    async def finish(self) -> None:
        """Nothing is pending: every append is drawn when it arrives (the pump batches them)."""

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._restyle, init=False)

    def _restyle(self) -> None:
        """The kept lines carry the old theme's colours: render them again at the next layout."""
        self._width = 0
        self.refresh(layout=True)

    @property
    def lines(self) -> list[Strip]:
        """What the widget shows at its current width, one strip per line."""
        return [Strip(line, self._width) for line in self._frozen_lines] + self._tail_lines

    @property
    def _last_part(self) -> str:
        """The finished part the live tail follows ("" before the first cut)."""
        return self.frozen[-1] if self.frozen else ""

    def _render(self, text: str) -> list[Strip]:
        visual = visualize(self, markdown(text))
        return Visual.to_strips(self, visual, self._width, None, self.visual_style, pad=True)

    def _part_lines(self, before: str, part: str) -> list[Strip]:
        """``part`` rendered, preceded by the blank lines Rich puts between it and ``before``."""
        blank = Strip.blank(self._width, self.visual_style.rich_style)
        return [blank] * self._gaps.gap(before, part) + self._render(part)

    def _layout_for(self, width: int) -> None:
        """Render everything again when the width changes (a resize); otherwise nothing to do."""
        if width == self._width or width <= 0:
            return
        self._width = width
        self._gaps.clear()
        self._frozen_lines = []
        for before, part in zip(["", *self.frozen], self.frozen, strict=False):
            self._frozen_lines += map(tuple, self._part_lines(before, part))
        self._tail_lines = self._part_lines(self._last_part, self._tail)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._layout_for(width)
        return len(self._frozen_lines) + len(self._tail_lines)

    def render_line(self, y: int) -> Strip:
        self._layout_for(self.content_size.width)
        frozen = len(self._frozen_lines)
        if y < frozen:
            return Strip(self._frozen_lines[y], self._width)
        if y - frozen < len(self._tail_lines):
            return self._tail_lines[y - frozen]
        return Strip.blank(self.content_size.width, self.visual_style.rich_style)


class ConversationView(VerticalScroll):
    """Everything shown for the session; scrolls with the stream unless the user scrolled up."""

    DEFAULT_CSS = "ConversationView { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }"

    def __init__(self, *, max_items: int = MAX_ITEMS, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_items = max_items
        self.hidden_count = 0
        self._marker: Static | None = None

    def on_mount(self) -> None:
        self.anchor()

    async def add(self, widget: Widget) -> Widget:
        await self.mount(widget)
        await self._prune()
        return widget

    def items(self) -> list[Widget]:
        return [child for child in self.children if child is not self._marker]

    async def _prune(self) -> None:
        items = self.items()
        excess = len(items) - self.max_items
        if excess <= 0:
            return
        self.hidden_count += excess
        await self.remove_children(items[:excess])
        label = inert(
            f"… {self.hidden_count} earlier items hidden (the agent still has them; /clear forgets)",
            "dim italic",
        )
        if self._marker is None:
            self._marker = Static(label, classes="pruned-marker")
            await self.mount(self._marker, before=0)
        else:
            self._marker.update(label)

    async def clear(self) -> None:
        self.hidden_count = 0
        self._marker = None
        await self.remove_children()
