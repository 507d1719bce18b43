"""Batch runs: many tasks, each in its own git branch, run N at a time, resumable from the report.

The runner decides what to run (tasks not yet succeeded in the report), hands each task to an
executor (``batch_exec``: local worktrees or Ray workers) under a semaphore of ``jobs``, keeps
the overall cost budget, and rewrites the report after every task. Ctrl+C cancels the running
tasks; their executors remove the half-made worktrees and branches, and the rows say
``interrupted`` so the next run picks them up again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.batch.execute import Executor, TaskSpec, TaskState
from agent.batch.tasks import BatchReport, BatchTask, TaskFileError, TaskRow, load_tasks
from agent.git.plumbing import GitError, run_git

__all__ = ["BatchOptions", "BatchRunner", "CanaryStats", "TaskFileError", "load_tasks", "repo_root"]


@dataclass
class BatchOptions:
    jobs: int = 1
    base: str = "HEAD"
    model: str | None = None
    route: str | None = None
    mode: str | None = None
    task_timeout: float | None = None
    """Seconds per task (agent run); the check has its own ``check_timeout``."""
    task_max_cost: float | None = None
    max_cost: float | None = None
    """USD for the whole batch: no task starts once it is spent, and each task is capped by what is left."""
    check_timeout: float = 600.0
    branch_prefix: str = "qagent/batch/"
    canary: int = 0


@dataclass(frozen=True)
class CanaryStats:
    ran: int
    succeeded: int
    cost_usd: float
    remaining: int

    @property
    def success_rate(self) -> float:
        return self.succeeded / self.ran if self.ran else 0.0

    @property
    def cost_per_task(self) -> float:
        return self.cost_usd / self.ran if self.ran else 0.0


def repo_root(path: Path) -> Path:
    """The top of the git working tree containing ``path``, with a clear error outside one."""
    try:
        return Path(run_git(path, "rev-parse", "--show-toplevel").decode().strip())
    except (GitError, OSError):
        raise TaskFileError(
            f"{path} is not inside a git repository; batch runs need one (each task gets its own branch)"
        ) from None


def _git(repo: Path, *args: str) -> str:
    return run_git(repo, *args).decode(errors="replace").strip()


def _branch_exists(repo: Path, branch: str) -> bool:
    try:
        run_git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
    except GitError:
        return False
    return True


class BatchRunner:
    def __init__(
        self,
        repo: Path,
        options: BatchOptions,
        executor: Executor,
        report_path: Path,
        *,
        on_state: Callable[[TaskState], None] | None = None,
        confirm: Callable[[CanaryStats], bool] | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.repo = repo
        self.options = options
        self.executor = executor
        self.report_path = report_path
        self.on_state = on_state
        self.confirm = confirm or (lambda stats: True)
        self.notice = notice or (lambda text: None)
        self.report = BatchReport()
        self.states: dict[str, TaskState] = {}
        self.base_commit = ""

    # ------------------------------------------------------------------ public
    async def run(self, tasks: list[BatchTask]) -> BatchReport:
        started = time.monotonic()
        try:
            pending = self._prepare(tasks)
        except BaseException:
            await self.executor.close()
            raise
        try:
            canary = pending[: self.options.canary] if self.options.canary else []
            if canary and len(pending) > len(canary):
                await self._run_all(canary)
                stats = self._canary_stats(canary, len(pending) - len(canary))
                if not self.confirm(stats):
                    for task in pending[len(canary) :]:
                        self._put(self._not_run(task, "not run: declined after the canary"))
                    return self.report
                pending = pending[len(canary) :]
            await self._run_all(pending)
        finally:
            self.report.summarise(wall_s=round(time.monotonic() - started, 3))
            self.report.save(self.report_path)
            await self.executor.close()
        return self.report

    # ------------------------------------------------------------------ set-up and resume
    def _prepare(self, tasks: list[BatchTask]) -> list[BatchTask]:
        """Rows for every task (kept from the report when already done); the tasks left to run."""
        previous = BatchReport.load(self.report_path) if self.report_path.exists() else None
        recorded = (previous.summary.get("base_commit") if previous else None) or ""
        self.base_commit = recorded or self._resolve_base()
        if recorded and self.options.base != "HEAD" and self._resolve_base() != recorded:
            self.notice(f"resuming on the report's base {recorded[:12]}, not {self.options.base}")
        self.report = BatchReport(
            summary={
                "base": self.options.base,
                "base_commit": self.base_commit,
                "executor": self.executor.name,
                "jobs": self.options.jobs,
            }
        )
        _git(self.repo, "worktree", "prune")
        pending: list[BatchTask] = []
        for task in tasks:
            branch = self.options.branch_prefix + task.id
            old = previous.row(task.id) if previous else None
            if old is not None and old.status == "succeeded" and _branch_exists(self.repo, branch):
                self.report.put(old)
                continue
            if _branch_exists(self.repo, branch):
                if old is None:
                    self.report.put(
                        self._not_run(
                            task,
                            f"branch {branch} already exists (not made by this "
                            "batch's report); delete it or use --branch-prefix",
                            status="failed",
                        )
                    )
                    continue
                self._drop_branch(branch)
            pending.append(task)
            self.report.put(self._not_run(task, "not run yet"))
        self.report.summarise()
        self.report.save(self.report_path)
        if previous and len(pending) < len(tasks):
            self.notice(f"resuming: {len(tasks) - len(pending)} task(s) already done, {len(pending)} to run")
        return pending

    def _resolve_base(self) -> str:
        try:
            return _git(self.repo, "rev-parse", "--verify", f"{self.options.base}^{{commit}}")
        except GitError:
            raise TaskFileError(f"--base {self.options.base!r} is not a commit in {self.repo}") from None

    def _drop_branch(self, branch: str) -> None:
        """Remove a previous attempt's branch, and a stray worktree a killed run left on it."""
        listing = _git(self.repo, "worktree", "list", "--porcelain")
        for block in listing.split("\n\n"):
            lines = dict(line.split(" ", 1) for line in block.splitlines() if " " in line)
            if lines.get("branch") == f"refs/heads/{branch}":
                _git(self.repo, "worktree", "remove", "--force", lines["worktree"])
        _git(self.repo, "branch", "-D", branch)

    # ------------------------------------------------------------------ running
    async def _run_all(self, tasks: list[BatchTask]) -> None:
        gate = asyncio.Semaphore(max(1, self.options.jobs))
        running = [asyncio.create_task(self._one(task, gate), name=f"batch:{task.id}") for task in tasks]
        try:
            await asyncio.gather(*running)
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):  # a cancelled gather has cancelled them already
                for job in running:
                    job.cancel()
            await asyncio.gather(*running, return_exceptions=True)  # let each task clean up and say so
            raise

    async def _one(self, task: BatchTask, gate: asyncio.Semaphore) -> None:
        state = self.states[task.id] = TaskState(id=task.id, on_change=self.on_state)
        async with gate:
            left = self._budget_left()
            if left is not None and left <= 0:
                self._put(
                    self._not_run(task, f"not run: the batch reached --max-cost ${self.options.max_cost:g}")
                )
                state.set("skipped")
                return
            caps = [c for c in (self.options.task_max_cost, left) if c is not None]
            spec = TaskSpec(
                task=task,
                branch=self.options.branch_prefix + task.id,
                base_commit=self.base_commit,
                model=task.model or self.options.model,
                route=task.route or self.options.route,
                mode=task.mode or self.options.mode,
                max_cost=min(caps) if caps else None,
                timeout_s=self.options.task_timeout,
                check_timeout_s=self.options.check_timeout,
            )
            state.started = time.monotonic()
            try:
                row = await self.executor.run(spec, state)
            except asyncio.CancelledError:
                self._put(
                    state.row(spec, "interrupted", error="interrupted (Ctrl+C); worktree and branch removed")
                )
                state.set("interrupted")
                raise
            except Exception as exc:  # one task's crash must not sink the batch
                row = state.row(spec, "failed", error=f"{type(exc).__name__}: {exc}")
            self._put(row)
            state.set(row.status)

    def _put(self, row: TaskRow) -> None:
        self.report.put(row)
        self.report.summarise()
        with contextlib.suppress(OSError):
            self.report.save(self.report_path)

    def _budget_left(self) -> float | None:
        if self.options.max_cost is None:
            return None
        live = sum(
            s.cost for s in self.states.values() if s.status not in ("succeeded", "failed", "interrupted")
        )
        spent = sum(r.cost_usd for r in self.report.tasks) + live
        return self.options.max_cost - spent

    def _not_run(self, task: BatchTask, why: str, status: str = "skipped") -> TaskRow:
        return TaskRow(
            id=task.id,
            status=status,
            branch=self.options.branch_prefix + task.id,  # type: ignore[arg-type]
            prompt=task.prompt,
            error=why,
        )

    def _canary_stats(self, canary: list[BatchTask], remaining: int) -> CanaryStats:
        rows = [self.report.row(t.id) for t in canary]
        done = [r for r in rows if r is not None]
        return CanaryStats(
            ran=len(done),
            succeeded=sum(r.status == "succeeded" for r in done),
            cost_usd=sum(r.cost_usd for r in done),
            remaining=remaining,
        )


def summary_rows(report: BatchReport) -> list[dict[str, Any]]:
    """The summary table's rows (shared by the CLI and ``batch-report``)."""
    return [
        {
            "id": r.id,
            "status": r.status,
            "branch": r.branch,
            "diff": f"{r.diffstat.files} files +{r.diffstat.insertions} -{r.diffstat.deletions}",
            "check": "-" if r.check is None else ("pass" if r.check.passed else "FAIL"),
            "tokens": r.tokens.get("prompt", 0) + r.tokens.get("completion", 0),
            "cost": r.cost_usd,
            "seconds": r.duration_s,
            "note": r.error,
        }
        for r in report.tasks
    ]
