"""A tool call as a card: name and arguments, live output, the diff of an edit, the outcome."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Collapsible, Static

from agent.tui.render import args_detail, args_summary, diff_text, inert, tail_lines

LIVE_LINES = 40
"""Lines of live output a card shows; older lines are counted, not drawn (shell output can be huge)."""
FINAL_LINES = 200


class ToolCard(Collapsible):
    """One tool call. Expanded while it runs; successful calls without a diff fold when done."""

    DEFAULT_CSS = """
    ToolCard { padding-bottom: 0; margin: 0 0 1 0; }
    ToolCard .card-args { color: $text-muted; }
    ToolCard .card-output { color: $text; }
    ToolCard.-failed { border-top: hkey $error; }
    ToolCard.-ok { border-top: hkey $success-darken-2; }
    """

    def __init__(self, call_id: str, name: str, args: dict[str, Any], *, by_user: bool = False) -> None:
        self.call_id = call_id
        self.tool_name = name
        self.args = args
        self.by_user = by_user
        self.status = "running…"
        self.output = ""
        self.diff: str | None = None
        self.ok: bool | None = None
        self._args_view = Static(args_detail(args), classes="card-args")
        self._output_view = Static("", classes="card-output")
        self._diff_view = Static("", classes="card-diff")
        self._output_view.display = False
        self._diff_view.display = False
        super().__init__(
            self._args_view, self._output_view, self._diff_view, title=self._heading(), collapsed=False
        )
        if name == "shell" or by_user:
            self._args_view.display = False

    def _heading(self) -> Text:
        title = Text(end="")
        title.append("$ " if self.by_user else "⚙ ", "bold")
        title.append(self.tool_name if not self.by_user else "", "bold")
        if not self.by_user:
            title.append("  ")
        title.append(args_summary(self.args))
        style = {None: "yellow", True: "green", False: "red"}[self.ok]
        title.append(f"  {self.status}", style)
        return title

    def append_output(self, text: str) -> None:
        """Live output (shell): keep everything, draw only the tail."""
        self.output += text
        shown, hidden = tail_lines(self.output.rstrip("\n"), LIVE_LINES)
        body = Text(end="")
        if hidden:
            body.append(f"… {hidden} earlier lines\n", "dim italic")
        body.append_text(inert(shown))
        self._output_view.update(body)
        self._output_view.display = True

    def set_status(self, status: str) -> None:
        self.status = status
        self.title = self._heading()  # type: ignore[assignment]

    def finish(self, ok: bool, output: str, diff: str | None, duration_s: float) -> None:
        self.ok = ok
        self.diff = diff
        mark = "✓" if ok else "✗"
        self.status = f"{mark} {duration_s:.0f}s" if duration_s >= 1 else mark
        self.title = self._heading()  # type: ignore[assignment]
        self.add_class("-ok" if ok else "-failed")
        streamed = bool(self.output)
        if not streamed or not ok:
            shown, hidden = tail_lines(output.rstrip("\n"), FINAL_LINES)
            body = Text(end="")
            if hidden:
                body.append(f"… {hidden} earlier lines\n", "dim italic")
            body.append_text(inert(shown, "" if ok else "red"))
            self.output = output
            self._output_view.update(body)
            self._output_view.display = bool(output.strip())
        if diff:
            self._diff_view.update(diff_text(diff))
            self._diff_view.display = True
            # the diff says what the arguments did and what the model's snippet shows
            self._args_view.display = False
            self._output_view.display = not ok
        if ok and not diff and self.tool_name not in ("shell", "todo_write") and not self.by_user:
            self.collapsed = True
