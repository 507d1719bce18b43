"""The status bar (model, endpoint, route reason, mode, context, cost, cache hits, git) and the plan panel."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rich.text import Text
from textual.widgets import Static

from agent.config import AgentConfig
from agent.events import RouteDecided, UsageReported
from agent.tui.render import clean


def _tokens(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1000:
        return f"{n / 1000:.1f}k"
    return str(n)


@dataclass
class GitState:
    branch: str = ""
    dirty: bool = False


async def git_state(root: Path) -> GitState | None:
    """Branch and dirty marker, or None outside git (runs git off the UI thread)."""

    def probe() -> GitState | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(root), "status", "--porcelain=v1", "-b"],
                capture_output=True,
                text=True,
                timeout=5,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if out.returncode != 0:
            return None
        lines = out.stdout.splitlines()
        head = lines[0][3:] if lines and lines[0].startswith("## ") else ""
        branch = head.split("...")[0]
        if branch.startswith("No commits yet on "):
            branch = branch[len("No commits yet on ") :]
        if branch.startswith("HEAD (no branch)"):
            branch = "detached"
        return GitState(branch=branch, dirty=len(lines) > 1)

    return await asyncio.to_thread(probe)


class StatusBar(Static):
    """Two lines: what is in use and what it costs; then why the router chose it."""

    DEFAULT_CSS = """
    StatusBar { dock: bottom; height: 2; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, config: AgentConfig, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.config = config
        self.model = config.routing.local if config.routing.mode != "remote" else config.routing.remote
        self.endpoint = ""
        self.reason = "no request yet"
        self.step_mode = ""
        self.mode_choice = "auto"
        self.route_choice = config.routing.mode
        self.context_used = 0
        self.cost = 0.0
        self.prompt_tokens = 0
        self.cache_hits = 0
        self.git: GitState | None = None
        self.busy = False

    def on_mount(self) -> None:
        self.redraw()

    def route_decided(self, event: RouteDecided) -> None:
        self.model, self.endpoint, self.reason, self.step_mode = (
            event.model,
            event.endpoint,
            event.reason,
            event.mode,
        )
        self.context_used = max(self.context_used, event.est_tokens)
        self.redraw()

    def usage(self, event: UsageReported, total_cost: float) -> None:
        self.context_used = event.prompt_tokens + event.completion_tokens
        self.cost = total_cost
        entry = self.config.models.get(event.model)
        if entry is not None and entry.dialect == "deepseek":
            self.prompt_tokens += event.prompt_tokens
            self.cache_hits += event.cache_hit_tokens
        self.redraw()

    def set_choices(self, *, mode: str | None = None, route: str | None = None) -> None:
        if mode is not None:
            self.mode_choice = mode
        if route is not None:
            self.route_choice = route
        self.redraw()

    def set_git(self, state: GitState | None) -> None:
        self.git = state
        self.redraw()

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.redraw()

    def line(self) -> Text:
        """Line 1: model, endpoint, context, cost, cache, git. Line 2: mode, route and the router's reason.

        Lines never wrap (an ellipsis ends them) so the bar stays two rows at 80 columns.
        """
        entry = self.config.models.get(self.model)
        window = entry.context_window if entry else 0
        host = urlparse(self.endpoint or (entry.base_url if entry else "")).netloc or "?"
        text = Text(end="", no_wrap=True, overflow="ellipsis")
        text.append("● " if self.busy else "○ ", "bold yellow" if self.busy else "green")
        text.append(f"{self.model}", "bold")
        if entry is not None:
            text.append(f" {clean(entry.model)}", "dim")
        text.append(f" @{host}")
        text.append(f" │ ctx {_tokens(self.context_used)}/{_tokens(window)} │ ${self.cost:.4f}")
        if self.prompt_tokens:
            text.append(f" │ cache {100 * self.cache_hits / self.prompt_tokens:.0f}%")
        if self.git is not None:
            text.append(" │ ")
            text.append(f"{clean(self.git.branch)}{'*' if self.git.dirty else ''}", "magenta")
        mode = self.mode_choice if not self.step_mode else f"{self.mode_choice}→{self.step_mode}"
        text.append(f"\nmode {mode} · route {self.route_choice} · ", "dim")
        text.append(clean(self.reason), "dim italic")
        return text

    def redraw(self) -> None:
        self.update(self.line())


class PlanPanel(Static):
    """The model's plan from its latest ``todo_write`` call; hidden until there is one."""

    DEFAULT_CSS = """
    PlanPanel { height: auto; max-height: 10; border: round $secondary; padding: 0 1; display: none; }
    """
    MARKS = {"completed": ("✔", "green"), "in_progress": ("◐", "yellow"), "pending": ("☐", "")}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.items: list[dict[str, Any]] = []
        self.border_title = "Plan"

    def set_items(self, items: list[dict[str, Any]]) -> None:
        self.items = [i for i in items if isinstance(i, dict)]
        text = Text(end="")
        for n, item in enumerate(self.items):
            mark, style = self.MARKS.get(str(item.get("status", "pending")), ("☐", ""))
            text.append(f"{mark} {clean(str(item.get('content', '')))}", style)
            if n < len(self.items) - 1:
                text.append("\n")
        self.update(text)
        self.display = bool(self.items)
