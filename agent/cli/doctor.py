"""``qagent doctor``: run the probes, print the report (rich tables or JSON), offer fixes."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agent.config import AgentConfig, load_config
from agent.doctor.hardware import Memory, detect_memory, recommend_qwen
from agent.doctor.probes import PACKING_MIN_CONTEXT, EndpointReport, create_ollama_variant, diagnose


def _mark(value: bool | None) -> str:
    return {True: "[green]yes[/]", False: "[red]no[/]", None: "[dim]–[/]"}[value]


def render(reports: list[EndpointReport], memory: Memory, recommendation: dict[str, Any],
           sandbox: dict[str, str]) -> None:
    console = Console()
    table = Table(title="qagent doctor: endpoints")
    for column in ("model", "endpoint", "where", "reachable", "listed", "context", "latency", "tools", "reasoning replay"):
        table.add_column(column)
    for r in reports:
        table.add_row(f"{r.name}\n[dim]{r.model} ({r.dialect})[/]", r.base_url,
                      f"remote\n[dim]{r.remote_reason}[/]" if r.remote else "local", _mark(r.reachable),
                      _mark(r.model_listed), f"{r.context_length:,}" if r.context_length else "–",
                      f"{r.latency_ms:.0f} ms" if r.latency_ms is not None else "–", _mark(r.tool_call),
                      _mark(r.reasoning_replay))
    console.print(table)
    for r in reports:
        for problem in r.problems:
            console.print(f"[yellow]•[/] {r.name}: {problem}", markup=True, highlight=False)
        for advice in r.advice:
            console.print(f"  [cyan]→[/] {advice}", highlight=False)
    console.print(f"\nMemory: {memory.total_gb:g} GB ({memory.kind}{', ' + memory.detail if memory.detail else ''})")
    console.print(f"Recommended local model: [bold]{recommendation['model']}[/] {recommendation['quantisation']} — "
                  f"{recommendation['reason']}")
    console.print(f"Shell sandbox: [bold]{sandbox['kind']}[/]" + (f" — {sandbox['advice']}" if sandbox["advice"] else ""),
                  highlight=False)
    if not any(r.usable for r in reports):
        console.print("[red]No usable model.[/] Start a local server or set DEEPSEEK_API_KEY (see above).")


def run_doctor(workspace: Path, *, as_json: bool = False, fix: bool = False) -> int:
    config = load_config(workspace)
    reports = asyncio.run(diagnose(config))
    memory = detect_memory()
    recommendation = recommend_qwen(memory)
    from tools.sandbox import detect, notice_text

    status = detect(config.sandbox.policy)
    sandbox = {"kind": status.kind, "detail": status.detail,
               "advice": notice_text(status, config.sandbox.policy) or ""}
    if as_json:
        print(json.dumps({"endpoints": [{**asdict(r), "usable": r.usable} for r in reports],
                          "memory": asdict(memory), "recommendation": recommendation, "sandbox": sandbox},
                         indent=2))
    else:
        render(reports, memory, recommendation, sandbox)
    if fix:
        _offer_fixes(config, reports)
    return 0 if any(r.usable for r in reports) else 1


def _offer_fixes(config: AgentConfig, reports: list[EndpointReport]) -> None:
    import typer

    for report in reports:
        entry = config.models[report.name]
        small = report.context_length is not None and report.context_length < PACKING_MIN_CONTEXT
        if entry.dialect != "ollama" or not report.reachable or not small:
            continue
        if typer.confirm(f"Create an Ollama variant of {entry.model} with num_ctx 65536?", default=True):
            variant = asyncio.run(create_ollama_variant(entry))
            print(f"created {variant}; set model = \"{variant}\" and context_window = 65536 in "
                  f"[models.{report.name}]")
