"""``qagent map`` and ``qagent pack``: the repository map and long-context packs from the shell.

Heavy modules (tree-sitter, tiktoken) are imported inside the commands so ``qagent --version``
stays fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer


def _repo_root() -> Path:
    """The git top level of the current directory, or the directory itself outside git."""
    out = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False)
    return Path(out.stdout.strip()) if out.returncode == 0 else Path.cwd()


def _tokenizer_notice() -> None:
    from agent.context.tokens import tokenizer_status

    status = tokenizer_status()
    if not status.exact:
        typer.echo(f"warning: {status.notice}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``map`` and ``pack`` to the qagent CLI."""

    @app.command("map")
    def map_command(
        tokens: int = typer.Option(4096, "--tokens", "-t", min=1, help="Token budget of the map."),
        focus: Optional[list[str]] = typer.Option(  # noqa: UP045 - typer needs Optional here
            None, "--focus", "-f", help="A path or identifier to rank around (repeatable)."
        ),
        calibrate: bool = typer.Option(
            False, "--calibrate", help="Replay recent commits, report recall, tune ranking weights."
        ),
        commits: int = typer.Option(40, "--commits", min=1, help="Commits to replay with --calibrate."),
    ) -> None:
        """Print the repository map: the most relevant files' definitions within a token budget."""
        root = _repo_root()
        _tokenizer_notice()
        if calibrate:
            _run_calibration(root, tokens, commits)
            return
        from agent.context.packer import relative_focus
        from agent.context.repomap import RepoMap

        rm = RepoMap(root)
        items = focus or []
        paths = [p for p in relative_focus(root, items) if (root / p).is_file()]
        idents = [i for i, p in zip(items, relative_focus(root, items), strict=True) if p not in paths]
        rendered = rm.render_map(tokens, focus_files=paths, mentioned=idents)
        sys.stdout.write(rendered.text)
        typer.echo(f"[{rendered.tokens} tokens, {len(rendered.files)} files]", err=True)

    @app.command("pack")
    def pack_command(
        budget: int = typer.Option(..., "--budget", "-b", min=256, help="Token budget of the pack."),
        query: str = typer.Option("", "--query", "-q", help="The task: ranks files towards it."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the pack here."),  # noqa: UP045
        as_json: bool = typer.Option(False, "--json", help="Print tokens and file lists as JSON."),
        family: str = typer.Option("generic", "--family", help="Token factor: generic, deepseek, qwen."),
    ) -> None:
        """Write a long-context pack (full files + map of the rest) and print its size and files."""
        from agent.context.packer import build_pack

        root = _repo_root()
        _tokenizer_notice()
        try:
            pack = build_pack(root, budget, query, model_family=family)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        if output is not None:
            from agent.fsutil import atomic_write

            atomic_write(output, pack.text.encode("utf-8"))
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "tokens": pack.tokens,
                        "full_files": list(pack.full_files),
                        "mapped_files": list(pack.mapped_files),
                    }
                )
            )
            return
        if output is None:
            sys.stdout.write(pack.text)
        typer.echo(
            f"{pack.tokens} tokens: {len(pack.full_files)} files in full, {len(pack.mapped_files)} mapped",
            err=output is None,
        )
        for path in pack.full_files:
            typer.echo(f"  full  {path}", err=output is None)


def _run_calibration(root: Path, budget: int, commits: int) -> None:
    from agent.context.calibrate import calibrate

    def progress(done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            typer.echo(f"replayed {done}/{total} commits", err=True)

    try:
        result = calibrate(root, budget, commits, progress=progress)
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"commits replayed: {result.commits}; recall@{result.budget} tokens on the {result.held_out} newest "
        f"(held out from tuning): before {result.before:.1%}, after {result.after:.1%}"
    )
    typer.echo("weights stored: " + ", ".join(f"{k}={v:g}" for k, v in result.weights.to_dict().items()))
