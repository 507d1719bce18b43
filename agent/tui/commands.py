"""Slash commands. Each one sends a command to the agent or shows something; none decides for it.

Commands see the app only through :class:`agent.tui.host.CommandHost`.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.text import Text

from agent.config import ConfigError
from agent.git.checkpoints import list_checkpoints, undo_checkpoint
from agent.messages import ImagePart
from agent.session import SessionNotFound, data_dir, find_session, list_sessions
from agent.tui.completion import SLASH_COMMANDS
from agent.tui.host import CommandHost
from agent.tui.prompt import IMAGE_SUFFIXES
from agent.tui.render import diff_text, inert
from agent.tui.screens import run_cli

Handler = Callable[[CommandHost, str], Awaitable[None]]
KEYS_HELP = """Keys: Enter send · Ctrl+J (or Shift+Enter) newline · Up/Down history · Tab/Enter complete
Esc interrupt the running step · Ctrl+C twice quit · @path mention a file (fuzzy) · !cmd run a shell command
Paste an image path (or /image PATH) to attach it to the next prompt."""


SLOW = {"/compact", "/doctor", "/init", "/undo", "/resume", "/diff"}
"""Commands that wait on a model, a subprocess or git: they run as workers so the UI stays live."""


async def run_command(app: CommandHost, line: str) -> None:
    name, _, arg = line.strip().partition(" ")
    handler = HANDLERS.get(name)
    if handler is None:
        app.notice(f"unknown command {name}; /help lists them", "warning")
        return
    if name in SLOW:
        app.run_worker(handler(app, arg.strip()), group="command", exit_on_error=False)
    else:
        await handler(app, arg.strip())


async def _model(app: CommandHost, arg: str) -> None:
    models = app.agent.config.models
    if not arg:
        pinned = app.agent.router.pinned or "auto (the router chooses)"
        listing = "\n".join(f"  {name}: {entry.model} at {entry.base_url}" for name, entry in models.items())
        app.info(f"model: {pinned}\n{listing}\n/model NAME pins one, /model auto lets the router choose")
        return
    if arg == "auto":
        app.agent.pin_model(None)
        app.notice("model: the router chooses per step")
        return
    try:
        app.agent.pin_model(arg)
    except ConfigError as exc:
        app.notice(str(exc), "warning")
        return
    app.status.model = arg
    app.status.redraw()
    app.notice(f"model pinned to {arg} for this session")


async def _mode(app: CommandHost, arg: str) -> None:
    if arg not in ("auto", "thinking", "fast"):
        app.notice("usage: /mode auto|thinking|fast", "warning")
        return
    app.mode = arg  # "auto" too: it overrides a --mode given at start
    app.status.set_choices(mode=arg)
    app.notice(f"mode: {arg}")


async def _route(app: CommandHost, arg: str) -> None:
    if arg not in ("auto", "local", "remote"):
        app.notice("usage: /route auto|local|remote", "warning")
        return
    app.route = arg
    app.status.set_choices(route=arg)
    app.notice(f"route: {arg}")


async def _undo(app: CommandHost, _: str) -> None:
    if app.agent.checkpointer is not None:
        message = await asyncio.to_thread(app.agent.undo)
    else:  # this session keeps none: the repository's latest checkpoint, from an earlier session
        points = await asyncio.to_thread(list_checkpoints, app.workspace)
        if app.agent.session_id:
            points = [p for p in points if p.session == app.agent.session_id] or points
        if not points:
            app.notice("nothing to undo: no checkpoint in this repository yet")
            return
        message = (await asyncio.to_thread(undo_checkpoint, app.workspace, points[-1])).message
    app.notice(message)
    app.refresh_git()


async def _diff(app: CommandHost, _: str) -> None:
    def collect() -> str:
        def run(*args: str) -> str:
            command = ["git", "-C", str(app.workspace), *args]
            return subprocess.run(command, capture_output=True, text=True).stdout

        return run("diff", "HEAD") or run("diff")

    diff = await asyncio.to_thread(collect)
    untracked = await asyncio.to_thread(
        lambda: subprocess.run(
            ["git", "-C", str(app.workspace), "ls-files", "--others", "--exclude-standard"],
            capture_output=True,
            text=True,
        ).stdout.split()
    )
    if not diff and not untracked:
        app.info("no uncommitted changes")
        return
    body = diff_text(diff) if diff else Text(end="")
    if untracked:
        body.append(f"\nuntracked: {', '.join(untracked)}", "yellow")
    app.info(body)


async def _cost(app: CommandHost, _: str) -> None:
    total = app.agent.total
    hit = (
        f", {100 * total.cache_hit_tokens / total.prompt_tokens:.0f}% cache hits"
        if total.cache_hit_tokens
        else ""
    )
    app.info(
        f"session: {total.prompt_tokens:,} prompt + {total.completion_tokens:,} completion tokens{hit}\n"
        f"cost ${app.agent.total_cost:.4f}; saved ${app.agent.saved_vs_remote:.4f} vs running everything "
        "remotely"
    )


async def _compact(app: CommandHost, _: str) -> None:
    app.notice("compacting the conversation…")
    await app.agent.compact()
    if not app.show_pending_notices():
        app.notice("conversation compacted")


async def _clear(app: CommandHost, _: str) -> None:
    app.agent.clear()
    await app.view.clear()
    app.plan.set_items([])
    app.notice("conversation cleared (the model starts fresh)")


async def _resume(app: CommandHost, arg: str) -> None:
    if not arg:
        sessions = list_sessions(data_dir(app.agent.config), app.workspace)[:15]
        if not sessions:
            app.info("no earlier sessions for this repository")
            return
        lines = [f"  {s.id}  ${s.cost_usd:.4f}  {s.first_prompt[:60]}" for s in sessions]
        app.info("sessions (newest first); /resume ID continues one:\n" + "\n".join(lines))
        return
    try:
        info = find_session(data_dir(app.agent.config), arg, app.workspace)
    except SessionNotFound as exc:
        app.notice(str(exc), "warning")
        return
    await app.rebuild_agent(resume=info.id)


async def _init(app: CommandHost, _: str) -> None:
    app.notice("running qagent init…")
    app.info(await run_cli(app.workspace, "init"))
    app.refresh_files()


async def _doctor(app: CommandHost, _: str) -> None:
    app.notice("running qagent doctor…")
    app.info(await run_cli(app.workspace, "doctor", width=app.size.width - 6))


async def _image(app: CommandHost, arg: str) -> None:
    if not arg:
        app.notice("usage: /image PATH", "warning")
        return
    app.attach_image(Path(arg.strip("'\"")).expanduser())


async def _help(app: CommandHost, _: str) -> None:
    body = Text(end="")
    for name, hint in SLASH_COMMANDS.items():
        body.append(f"{name:<10}", "bold")
        body.append(f" {hint}\n")
    body.append_text(inert(KEYS_HELP, "dim"))
    app.info(body)


async def _quit(app: CommandHost, _: str) -> None:
    app.agent.interrupt()
    app.exit(0)


def load_image(path: Path) -> ImagePart:
    """An ImagePart from a file; raises ValueError with a readable reason."""
    media = IMAGE_SUFFIXES.get(path.suffix.lower())
    if media is None:
        raise ValueError(f"{path.name}: not an image qagent can send ({', '.join(IMAGE_SUFFIXES)})")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    return ImagePart(media_type=media, data_b64=base64.b64encode(path.read_bytes()).decode("ascii"))


HANDLERS: dict[str, Handler] = {
    "/model": _model,
    "/mode": _mode,
    "/route": _route,
    "/undo": _undo,
    "/diff": _diff,
    "/cost": _cost,
    "/compact": _compact,
    "/clear": _clear,
    "/resume": _resume,
    "/init": _init,
    "/doctor": _doctor,
    "/image": _image,
    "/help": _help,
    "/quit": _quit,
    "/exit": _quit,
}
