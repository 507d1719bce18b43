"""The conversation view and the blocks it holds: user prompts, thinking, answers, notices.

Long sessions stay responsive because the view keeps at most ``MAX_ITEMS`` blocks mounted: the
oldest are removed (the agent's own history is untouched) and a marker says how many are hidden.
"""

from __future__ import annotations

import time

from rich.markdown import Markdown as RichMarkdown
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Collapsible, Static

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


def block_boundary(text: str, limit: int) -> int:
    """Where a long streaming answer can be cut between Markdown blocks (0: not yet).

    The cut is after the last blank line outside a code fence, once ``text`` is ``limit`` long, so
    each part renders exactly as it would inside the whole.
    """
    if len(text) < limit:
        return 0
    in_fence, pos, cut = False, 0, 0
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        pos += len(line)
        if not in_fence and not line.strip() and pos < len(text):
            cut = pos
    return cut


def markdown(text: str) -> RichMarkdown:
    return RichMarkdown(clean(text), code_theme="monokai", hyperlinks=False)


class AssistantMessage(Widget):
    """The answer as streaming Markdown, code blocks syntax-highlighted.

    Only the last part of the answer is re-rendered as tokens arrive; completed parts (cut between
    blocks every ``SEGMENT_CHARS``) become fixed widgets whose layout Textual caches. That keeps
    the cost of a frame flat however long the answer grows (see bench/tui_stream.py).
    """

    DEFAULT_CSS = """
    AssistantMessage { height: auto; padding: 0 0 0 1; margin: 0 0 1 0; }
    AssistantMessage > Static { height: auto; }
    """
    SEGMENT_CHARS = 600

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.frozen: list[str] = []
        """The completed parts, each drawn once."""
        self._tail = ""
        self._live = Static("")

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._live

    async def append(self, text: str) -> None:
        self.text += text
        self._tail += text
        cut = block_boundary(self._tail, self.SEGMENT_CHARS)
        if cut:
            done, self._tail = self._tail[:cut], self._tail[cut:]
            self.frozen.append(done)
            await self.mount(Static(markdown(done)), before=self._live)
        self._live.update(markdown(self._tail))

    async def finish(self) -> None:
        """Nothing is pending: every append is drawn when it arrives (the pump batches them)."""


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
