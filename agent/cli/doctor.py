"""The human-readable ``qagent doctor`` report (rich tables)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from agent.doctor.probes import EndpointReport
from agent.doctor.hardware import Memory


def _mark(value: bool | None) -> str:
    return {True: "[green]yes[/]", False: "[red]no[/]", None: "[dim]–[/]"}[value]


def render(reports: list[EndpointReport], memory: Memory, recommendation: dict[str, Any],
           sandbox: dict[str, str]) -> None:
    console = Console()
    table = Table(title="qagent doctor: endpoints")
    for column in ("model", "endpoint", "reachable", "listed", "context", "latency", "tools", "reasoning replay"):
        table.add_column(column)
    for r in reports:
        table.add_row(f"{r.name}\n[dim]{r.model} ({r.dialect})[/]", r.base_url, _mark(r.reachable),
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
