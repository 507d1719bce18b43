"""The root command (TUI or ``-p``) and the ``demo``, ``route`` and ``doctor`` subcommands."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from agent.cli.flags import APPROVALS, MODES, PRIVACIES, ROUTES, check_choice, choices_help, flag_overrides

OUTPUT_FORMATS = ("text", "json", "stream-json", "claude-stream-json")
EPILOG = ("Subcommands: demo, doctor, route, map, pack, sessions, undo, init, batch, batch-report "
          "(qagent SUBCOMMAND --help). Exit codes: 0 ok, 1 task failed, 2 usage/config error, 3 no model reachable.")


def root_app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, epilog=EPILOG)

    @app.command(epilog=EPILOG)
    def qagent(
        prompt_arg: Optional[str] = typer.Argument(None, metavar="[PROMPT]", help="First prompt for the TUI."),
        print_prompt: Optional[str] = typer.Option(None, "-p", "--print", help="Run headless; '-' reads stdin."),
        output_format: str = typer.Option("text", "--output-format", help="text | json | stream-json | "
                                          "claude-stream-json"),
        model: Optional[str] = typer.Option(None, "--model", help="A [models.NAME] entry for every step."),
        mode: Optional[str] = typer.Option(None, "--mode", help=choices_help(MODES)),
        route: Optional[str] = typer.Option(None, "--route", help=choices_help(ROUTES)),
        approval: Optional[str] = typer.Option(None, "--approval", help=choices_help(APPROVALS)),
        privacy: Optional[str] = typer.Option(None, "--privacy", help=choices_help(PRIVACIES)),
        cwd: Optional[Path] = typer.Option(None, "--cwd", help="Workspace (default: current directory)."),
        max_turns: Optional[int] = typer.Option(None, "--max-turns", min=1),
        max_cost: Optional[float] = typer.Option(None, "--max-cost", min=0.0, help="USD cap for the session."),
        resume: Optional[str] = typer.Option(None, "--resume", help="Resume a session by id (or prefix)."),
        cont: bool = typer.Option(False, "--continue", help="Resume the latest session of this repo."),
    ) -> None:
        """qagent: a coding agent for local Qwen 3.5 and DeepSeek."""
        check_choice(output_format, OUTPUT_FORMATS, "--output-format")
        check_choice(mode, MODES, "--mode")
        check_choice(route, ROUTES, "--route")
        check_choice(approval, APPROVALS, "--approval")
        check_choice(privacy, PRIVACIES, "--privacy")
        workspace = (cwd or Path.cwd()).resolve()
        if not workspace.is_dir():
            raise typer.BadParameter(f"{workspace} is not a directory", param_hint="--cwd")
        overrides = flag_overrides(mode, route, approval, max_turns, max_cost, privacy)
        if print_prompt is None:
            code = _open_tui(workspace, overrides, prompt_arg, model, resume, cont)
            raise typer.Exit(code)
        text = sys.stdin.read() if print_prompt == "-" else print_prompt
        if not text.strip():
            raise typer.BadParameter("the prompt is empty", param_hint="-p")
        raise typer.Exit(_headless(workspace, overrides, text, output_format, model, resume, cont))

    return app


def _headless(workspace: Path, overrides: dict[str, Any], prompt: str, output_format: str, model: str | None,
              resume: str | None, cont: bool) -> int:
    from agent.cli.output import run_headless
    from agent.config import load_config
    from agent.wiring import build_agent

    config = load_config(workspace, overrides)
    agent = build_agent(config, workspace, resume=resume, cont=cont, interactive=False)
    if model:
        agent.pin_model(model)
    return asyncio.run(run_headless(agent, prompt, output_format))


def _open_tui(workspace: Path, overrides: dict[str, Any], prompt: str | None, model: str | None,
              resume: str | None, cont: bool) -> int:
    from agent.tui.app import run_tui

    return run_tui(workspace, overrides, prompt=prompt, model=model, resume=resume, cont=cont)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        keep: bool = typer.Option(False, "--keep", help="Keep the scratch repository afterwards."),
        headless: bool = typer.Option(False, "--headless", help="Print to the terminal instead of the TUI."),
    ) -> None:
        """Replay a recorded session through the real loop and tools on a scratch git repo (no model needed)."""
        from agent.cli.demo import run_demo

        raise typer.Exit(run_demo(keep=keep, headless=headless))

    @app.command()
    def route(
        prompt: str = typer.Argument(..., help="The request to route."),
        image: list[Path] = typer.Option([], "--image", help="Attach an image (repeatable)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
        model: Optional[str] = typer.Option(None, "--model"),
        mode: Optional[str] = typer.Option(None, "--mode"),
        route_: Optional[str] = typer.Option(None, "--route"),
        privacy: Optional[str] = typer.Option(None, "--privacy"),
        cwd: Optional[Path] = typer.Option(None, "--cwd"),
    ) -> None:
        """Print the routing decision for PROMPT in this repo, without calling any model."""
        from agent.config import load_config
        from agent.core.routing import Router, StepSignals, repo_signals

        workspace = (cwd or Path.cwd()).resolve()
        for path in image:
            if not path.is_file():
                raise typer.BadParameter(f"{path} does not exist", param_hint="--image")
        config = load_config(workspace, flag_overrides(mode, route_, privacy=privacy))
        signals = StepSignals(prompt=prompt, images=bool(image), model_override=model, route_override=route_,
                              mode_override=mode)
        repo_signals(signals, workspace)
        if config.context.pack and config.routing.local in config.models and (workspace / ".git").exists():
            # The loop packs the repository into the local model's requests; packs fill their budget.
            signals.pack_tokens = config.pack_budget(config.routing.local)
        decision = Router(config, workspace).decide(signals)
        if as_json:
            print(json.dumps({"model": decision.model, "mode": decision.mode, "reason": decision.reason,
                              "est_tokens": decision.est_tokens}))
        else:
            print(f"{decision.model} ({decision.endpoint}), {decision.mode} mode — {decision.reason}; "
                  f"~{decision.est_tokens:,} tokens")

    @app.command()
    def doctor(
        as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
        fix: bool = typer.Option(False, "--fix", help="Offer fixes (e.g. a larger Ollama context)."),
        cwd: Optional[Path] = typer.Option(None, "--cwd"),
    ) -> None:
        """Probe every configured endpoint and this machine; recommend a Qwen 3.5 size."""
        from agent.cli.doctor import run_doctor

        raise typer.Exit(run_doctor((cwd or Path.cwd()).resolve(), as_json=as_json, fix=fix))
