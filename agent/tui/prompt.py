"""The prompt: multi-line input with history, completion and image attachment by path.

Enter sends; Shift+Enter or Ctrl+J inserts a newline (most terminals cannot tell Shift+Enter from
Enter, so Ctrl+J is the one that always works). Up/Down walk the history from the first/last
line; Tab or Enter accepts a completion; a pasted path to an image attaches it instead of typing it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

from agent.tui.completion import Candidate, FileIndex, completions

IMAGE_SUFFIXES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def image_path(text: str, root: Path) -> Path | None:
    """The image file ``text`` names (a pasted path, maybe quoted or ``file://``), else None."""
    raw = text.strip()
    if not raw or "\n" in raw:
        return None
    try:
        parts = shlex.split(raw)
    except ValueError:
        return None
    if len(parts) != 1:
        return None
    candidate = parts[0].removeprefix("file://")
    path = (root / Path(candidate).expanduser()).resolve()
    return path if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file() else None


class CompletionMenu(OptionList):
    DEFAULT_CSS = """
    CompletionMenu {
        height: auto; max-height: 8; display: none; border: none; padding: 0; background: $panel;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.can_focus = False
        self.start = 0
        self.candidates: list[Candidate] = []

    def show(self, start: int, candidates: list[Candidate]) -> None:
        self.start, self.candidates = start, candidates
        self.set_options(Option(self._label(c)) for c in candidates)
        self.display = bool(candidates)
        if candidates:
            self.highlighted = 0

    def hide(self) -> None:
        self.candidates = []
        self.display = False

    @staticmethod
    def _label(candidate: Candidate) -> Text:
        label = Text(f"{candidate.value:<10}", style="bold", end="", no_wrap=True, overflow="ellipsis")
        if candidate.hint:
            label.append(f"  {candidate.hint}", "dim")
        return label

    @property
    def chosen(self) -> Candidate | None:
        if not self.display or self.highlighted is None or not self.candidates:
            return None
        return self.candidates[self.highlighted]


class PromptArea(TextArea):
    """The input box; posts :class:`PromptArea.Submitted` and :class:`PromptArea.ImagePasted`."""

    DEFAULT_CSS = """
    PromptArea { height: auto; min-height: 3; max-height: 12; border: round $accent; }
    """

    @dataclass
    class Submitted(Message):
        text: str

    @dataclass
    class ImagePasted(Message):
        path: Path

    def __init__(
        self,
        menu: CompletionMenu,
        files: FileIndex,
        root: Path,
        *,
        models: tuple[str, ...] = (),
        id: str | None = None,
    ) -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            placeholder="Ask qagent…  Enter send · Ctrl+J newline · / commands · @ files · !cmd shell",
        )
        self.menu = menu
        self.files = files
        self.root = root
        self.models = models
        self.sent: list[str] = []
        self._history_pos: int | None = None
        self._draft = ""

    # ------------------------------------------------------------------ keys
    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        handled = True
        if key in ("enter", "tab") and self.menu.chosen is not None:
            self.accept_completion()
        elif key == "enter":
            self.submit()
        elif key in ("shift+enter", "ctrl+j"):
            self.insert("\n")
        elif key == "escape" and self.menu.display:
            self.menu.hide()
        else:
            handled = False
        if handled:
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)

    def action_cursor_up(self, select: bool = False) -> None:
        if self.menu.display and not select:
            self.menu.action_cursor_up()
        elif self.cursor_at_first_line and not select and self.sent:
            self._walk_history(-1)
        else:
            super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if self.menu.display and not select:
            self.menu.action_cursor_down()
        elif self.cursor_at_last_line and not select and self._history_pos is not None:
            self._walk_history(1)
        else:
            super().action_cursor_down(select)

    # ------------------------------------------------------------------ history
    def _walk_history(self, step: int) -> None:
        if self._history_pos is None:
            self._draft = self.text
            self._history_pos = len(self.sent)
        position = max(0, min(len(self.sent), self._history_pos + step))
        self._history_pos = position
        self.load_text(self.sent[position] if position < len(self.sent) else self._draft)
        self.move_cursor(self.document.end)
        self.menu.hide()

    def submit(self) -> None:
        text = self.text
        if not text.strip():
            return
        if not self.sent or self.sent[-1] != text:
            self.sent.append(text)
        self._history_pos = None
        self.load_text("")
        self.menu.hide()
        self.post_message(self.Submitted(text))

    # ------------------------------------------------------------------ completion
    def _before_cursor(self) -> str:
        return self.get_text_range((0, 0), self.cursor_location)

    def on_text_area_changed(self, _: TextArea.Changed) -> None:
        self.refresh_completions()

    def refresh_completions(self) -> None:
        before = self._before_cursor()
        start, candidates = completions(before, self.files, self.models)
        if candidates:
            self.menu.show(start, candidates)
        else:
            self.menu.hide()

    def accept_completion(self) -> None:
        chosen = self.menu.chosen
        if chosen is None:
            return
        head = self._before_cursor()[: self.menu.start].split("\n")
        start = (len(head) - 1, len(head[-1]))
        self.replace(chosen.value + " ", start, self.cursor_location)
        self.menu.hide()

    # ------------------------------------------------------------------ paste
    async def _on_paste(self, event: events.Paste) -> None:
        path = image_path(event.text, self.root)
        if path is not None:
            event.stop()
            event.prevent_default()
            self.post_message(self.ImagePasted(path))
            return
        await super()._on_paste(event)
