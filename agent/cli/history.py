"""``qagent sessions``, ``qagent undo`` and ``qagent init``: history and project set-up commands.

Heavy modules are imported inside the commands so ``qagent --version`` stays instant.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Optional

import typer


def _workspace() -> Path:
    out = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False)
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else Path.cwd().resolve()


def _data_dir() -> Path:
    from agent.config import load_config
    from agent.session import data_dir

    return data_dir(load_config(Path.cwd()))


def register(app: typer.Typer) -> None:
    """Add ``sessions``, ``undo`` and ``init`` to the qagent CLI."""

    @app.command("sessions")
    def sessions_command(
        here: bool = typer.Option(False, "--here", help="Only sessions of the current repository."),
        limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many to show (newest first)."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    ) -> None:
        """List saved sessions: id, time, repository, cost and first prompt. Resume one with
        `qagent --resume ID` (a unique prefix is enough) or the latest here with `qagent --continue`."""
        from agent.session import list_sessions

        infos = list_sessions(_data_dir(), _workspace() if here else None)[:limit]
        if as_json:
            for info in infos:
                row = {
                    "id": info.id,
                    "repo": info.repo,
                    "first_prompt": info.first_prompt,
                    "started": info.started,
                    "cost_usd": info.cost_usd,
                    "path": str(info.path),
                }
                typer.echo(json.dumps(row))
            return
        if not infos:
            typer.echo("no sessions yet" + (" for this repository" if here else ""))
            return
        for info in infos:
            started = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.started))
            prompt = " ".join(info.first_prompt.split())
            typer.echo(f"{info.id}  {started}  ${info.cost_usd:.4f}  {_short_home(info.repo)}")
            typer.echo(f"    {prompt[:100] or '(no prompt)'}")
        typer.echo("\nresume: qagent --resume ID   (latest here: qagent --continue)")

    @app.command("undo")
    def undo_command(
        session: Optional[str] = typer.Option(  # noqa: UP045 - typer needs Optional here
            None,
            "--session",
            "-s",
            help="Undo the last turn of this session (id prefix); default: the newest.",
        ),
        show: bool = typer.Option(False, "--list", help="List the checkpoints instead of undoing."),
    ) -> None:
        """Restore the files changed by the agent's last turn, exactly as they were before it."""
        root = _workspace()
        from agent.git.checkpoints import find_repo, list_checkpoints, undo_latest

        if find_repo(root) is None:
            _undo_backup(root, session, show)
            return
        points = [p for p in list_checkpoints(root) if session is None or p.session.startswith(session)]
        if show:
            for p in points:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(p.time))
                typer.echo(f"{p.session}  turn {p.turn}  {stamp}  {p.commit[:12]}")
            if not points:
                typer.echo("no checkpoints")
            return
        if not points:
            typer.echo(
                "nothing to undo: no checkpoint" + (f" for session {session}" if session else ""), err=True
            )
            raise typer.Exit(1)
        result = undo_latest(root, points)
        if not (result.restored or result.deleted):
            typer.echo(result.message, err=True)
            raise typer.Exit(1)
        typer.echo(result.message)

    @app.command("init")
    def init_command(
        force: bool = typer.Option(False, "--force", help="Overwrite an existing AGENTS.md."),
        tokens: int = typer.Option(800, "--tokens", min=100, help="Token budget of the layout section."),
    ) -> None:
        """Write a starter AGENTS.md (project instructions for agents) from the repository map."""
        from agent.cli.initfile import starter_agents_md
        from agent.fsutil import atomic_write

        root = _workspace()
        target = root / "AGENTS.md"
        if target.exists() and not force:
            typer.echo(f"{target} already exists; edit it, or pass --force to replace it", err=True)
            raise typer.Exit(1)
        text = starter_agents_md(root, tokens)
        atomic_write(target, text.encode())
        typer.echo(f"wrote {target} ({len(text.splitlines())} lines): fill in the TODOs and keep it short")


def _undo_backup(root: Path, session: str | None, show: bool) -> None:
    from agent.git.backups import BackupStore
    from agent.git.checkpoints import Checkpointer

    base = _data_dir() / "backups"
    chosen = session or BackupStore.latest_session(base, root)
    if show:
        typer.echo(f"{root} is not a git repository; latest backed-up session: {chosen or 'none'}")
        return
    if chosen is None:
        typer.echo("nothing to undo: no backups for this folder (it is not a git repository)", err=True)
        raise typer.Exit(1)
    result = Checkpointer(root, chosen, backup_dir=base).undo()
    typer.echo(f"{chosen}: {result.message}")


def _short_home(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home) :] if path.startswith(home + "/") else path
