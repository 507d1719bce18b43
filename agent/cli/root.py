"""The root command (TUI or ``-p``) and the ``demo``, ``route`` and ``doctor`` subcommands."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

OUTPUT_FORMATS = ("text", "json", "stream-json", "claude-stream-json")
EPILOG = ("Subcommands: demo, doctor, route, map, pack, sessions, undo, init, batch, batch-report "
          "(qagent SUBCOMMAND --help). Exit codes: 0 ok, 1 task failed, 2 usage/config error, 3 no model reachable.")


def flag_overrides(model: str | None, mode: str | None, route: str | None, approval: str | None,
                   max_turns: int | None = None, max_cost: float | None = None,
                   privacy: str | None = None) -> dict[str, Any]:
    """CLI flags as a config layer (the highest one)."""
    overrides: dict[str, Any] = {}
    routing: dict[str, Any] = {}
    if mode:
        routing["thinking"] = mode
    if route:
        routing["mode"] = route
    if privacy:
        routing["privacy"] = privacy
    if routing:
        overrides["routing"] = routing
    if approval:
        overrides["permissions"] = {"approval": approval}
    limits: dict[str, Any] = {}
    if max_turns:
        limits["max_turns"] = max_turns
    if max_cost is not None:
        limits["max_cost"] = max_cost
    if limits:
        overrides["limits"] = limits
    return overrides


def _check_choice(value: str | None, choices: tuple[str, ...], flag: str) -> None:
    if value is not None and value not in choices:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}", param_hint=flag)


def root_app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, epilog=EPILOG)

    @app.command(epilog=EPILOG)
    def qagent(
        prompt_arg: Optional[str] = typer.Argument(None, metavar="[PROMPT]", help="First prompt for the TUI."),
        print_prompt: Optional[str] = typer.Option(None, "-p", "--print", help="Run headless; '-' reads stdin."),
        output_format: str = typer.Option("text", "--output-format", help="text | json | stream-json | "
                                          "claude-stream-json"),
        model: Optional[str] = typer.Option(None, "--model", help="A [models.NAME] entry for every step."),
        mode: Optional[str] = typer.Option(None, "--mode", help="auto | thinking | fast"),
        route: Optional[str] = typer.Option(None, "--route", help="auto | local | remote"),
        approval: Optional[str] = typer.Option(None, "--approval", help="read-only | ask | auto-edit | full-auto"),
        privacy: Optional[str] = typer.Option(None, "--privacy", help="normal | local-only"),
        cwd: Optional[Path] = typer.Option(None, "--cwd", help="Workspace (default: current directory)."),
        max_turns: Optional[int] = typer.Option(None, "--max-turns", min=1),
        max_cost: Optional[float] = typer.Option(None, "--max-cost", min=0.0, help="USD cap for the session."),
        resume: Optional[str] = typer.Option(None, "--resume", help="Resume a session by id (or prefix)."),
        cont: bool = typer.Option(False, "--continue", help="Resume the latest session of this repo."),
    ) -> None:
        """qagent: a coding agent for local Qwen 3.5 and DeepSeek."""
        _check_choice(output_format, OUTPUT_FORMATS, "--output-format")
        _check_choice(mode, ("auto", "thinking", "fast"), "--mode")
        _check_choice(route, ("auto", "local", "remote"), "--route")
        _check_choice(approval, ("read-only", "ask", "auto-edit", "full-auto"), "--approval")
        _check_choice(privacy, ("normal", "local-only"), "--privacy")
        workspace = (cwd or Path.cwd()).resolve()
        if not workspace.is_dir():
            raise typer.BadParameter(f"{workspace} is not a directory", param_hint="--cwd")
        overrides = flag_overrides(model, mode, route, approval, max_turns, max_cost, privacy)
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
    from agent.config import load_config
    from agent.cli.output import run_headless
    from agent.wiring import build_agent

    config = load_config(workspace, overrides)
    if model:
        config.model_entry(model)
    agent = build_agent(config, workspace, resume=resume, cont=cont, interactive=False)
    return asyncio.run(run_headless(agent, prompt, output_format, model=model))


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
        config = load_config(workspace, flag_overrides(model, mode, route_, None, privacy=privacy))
        signals = StepSignals(prompt=prompt, images=bool(image), model_override=model, route_override=route_,
                              mode_override=mode)
        repo_signals(signals, workspace)
        local = config.models.get(config.routing.local)
        if config.context.pack and local is not None and (workspace / ".git").exists():
            # The loop packs the repository into the local model's requests; packs fill their budget.
            signals.pack_tokens = min(config.context.local_pack_tokens, local.context_window // 4)
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
        from agent.doctor.probes import run_doctor

        raise typer.Exit(run_doctor((cwd or Path.cwd()).resolve(), as_json=as_json, fix=fix))
