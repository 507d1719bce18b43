"""What a batch run shows: live lines for running tasks, plain lines in quiet mode, the summary table."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agent.batch.execute import TaskState
from agent.batch.runner import summary_rows
from agent.batch.tasks import BatchReport, BatchTask

FINAL = ("succeeded", "failed", "skipped", "interrupted")
STYLE = {"succeeded": "green", "failed": "red", "interrupted": "yellow", "skipped": "dim"}


class Progress:
    """One line per running task (status, step, tokens, cost); quiet mode: a plain line per finished task."""

    def __init__(self, console: Console, total: int, *, quiet: bool) -> None:
        self.console = console
        self.total = total
        self.quiet = quiet
        self.states: dict[str, TaskState] = {}
        self.live: Live | None = None

    def __enter__(self) -> Progress:
        if not self.quiet:
            self.live = Live(
                self._render(),
                console=self.console,
                refresh_per_second=4,
                transient=True,
                get_renderable=self._render,
            )
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def pause(self) -> None:
        if self.live is not None:
            self.live.stop()

    def resume(self) -> None:
        if self.live is not None:
            self.live.start()

    def update(self, state: TaskState) -> None:
        self.states[state.id] = state
        if state.status in FINAL:
            line = (
                f"{state.status:<11} {state.id}  steps {state.step}  tokens "
                f"{state.prompt_tokens + state.completion_tokens:,}  ${state.cost:.4f}"
            )
            if self.quiet:
                self.console.print(line, markup=False, highlight=False)
            elif self.live is not None:
                self.live.console.print(Text(line, style=STYLE.get(state.status, "")))

    def _render(self) -> Any:
        done = sum(1 for s in self.states.values() if s.status in FINAL)
        failed = sum(1 for s in self.states.values() if s.status == "failed")
        cost = sum(s.cost for s in self.states.values())
        head = Text(f"batch: {done}/{self.total} done, {failed} failed, ${cost:.4f}", style="bold")
        table = Table.grid(padding=(0, 2))
        for state in self.states.values():
            if state.status in FINAL or state.status == "queued":
                continue
            elapsed = time.monotonic() - state.started if state.started else 0.0
            table.add_row(
                state.id,
                state.status,
                f"step {state.step}",
                state.last_tool or "-",
                f"{state.prompt_tokens + state.completion_tokens:,} tok",
                f"${state.cost:.4f}",
                f"{elapsed:.0f}s",
            )
        return Group(head, table)


def summary_table(report: BatchReport) -> Table:
    table = Table(title="qagent batch", show_lines=False)
    for column in ("task", "status", "branch", "diff", "check", "tokens", "cost", "time", "note"):
        table.add_column(column, overflow="fold")
    for row in summary_rows(report):
        table.add_row(
            row["id"],
            Text(row["status"], style=STYLE.get(row["status"], "")),
            row["branch"],
            row["diff"],
            row["check"],
            f"{row['tokens']:,}",
            f"${row['cost']:.4f}",
            f"{row['seconds']:.1f}s",
            row["note"][:120],
        )
    s = report.summary
    table.caption = (
        f"{s.get('succeeded', 0)} succeeded, {s.get('failed', 0)} failed, {s.get('skipped', 0)} "
        f"skipped, {s.get('interrupted', 0)} interrupted · ${s.get('cost_usd', 0):.4f} · "
        f"{s.get('wall_s', 0):.1f}s wall"
    )
    return table


def quiet_summary(report: BatchReport) -> str:
    lines = [
        f"{r['status']:<11} {r['id']}  {r['diff']}  check {r['check']}  ${r['cost']:.4f}"
        f"{'  ' + r['note'][:160] if r['note'] else ''}"
        for r in summary_rows(report)
    ]
    s = report.summary
    lines.append(
        f"total {s.get('total', 0)}: {s.get('succeeded', 0)} succeeded, {s.get('failed', 0)} failed, "
        f"{s.get('skipped', 0)} skipped, {s.get('interrupted', 0)} interrupted; "
        f"${s.get('cost_usd', 0):.4f}"
    )
    return "\n".join(lines)


def plan_table(tasks: list[BatchTask]) -> Table:
    table = Table(title="planned tasks")
    for column in ("id", "paths", "check", "prompt"):
        table.add_column(column, overflow="fold")
    for task in tasks:
        table.add_row(task.id, ", ".join(task.paths) or "-", task.check or "-", task.prompt[:200])
    return table
