"""What slash commands may use of the app: a narrow protocol, so commands never reach into it and
the app module does not import the commands' module back at type-checking time."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Any, Protocol

from textual.geometry import Size
from textual.worker import Worker

from agent.core.agent import Agent
from agent.tui.conversation import ConversationView
from agent.tui.statusbar import PlanPanel, StatusBar


class CommandHost(Protocol):
    agent: Agent
    workspace: Path
    status: StatusBar
    view: ConversationView
    plan: PlanPanel
    mode: str | None
    """The --mode sent with each prompt (None: the config's)."""
    route: str | None
    """The --route sent with each prompt (None: the config's)."""

    @property
    def size(self) -> Size: ...

    def notice(self, text: str, level: str = "info") -> None: ...

    def info(self, body: Any) -> None:
        """Show a block of text (str or rich Text) in the conversation."""

    def show_pending_notices(self) -> int:
        """Show the agent's queued notices; how many there were."""

    def refresh_git(self) -> None: ...

    def refresh_files(self) -> None: ...

    def attach_image(self, path: Path) -> None: ...

    async def rebuild_agent(self, *, resume: str) -> None: ...

    def run_worker(self, work: Awaitable[Any], *, group: str = "default", exit_on_error: bool = True
                   ) -> Worker[Any]: ...

    def exit(self, result: Any = None) -> None: ...
