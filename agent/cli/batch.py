"""``qagent batch``: run a file of tasks (or a plan the remote model writes) on parallel branches.

Heavy modules are imported inside the commands so ``qagent --version`` stays instant.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import typer

from agent.cli.exitcodes import ExitCode

DEFAULT_PLAN_FILE = "qagent-plan.jsonl"


def register(app: typer.Typer) -> None:
    @app.command()
    def batch(
        tasks_file: Path | None = typer.Argument(
            None,
            metavar="TASKS",
            help="Task file: TOML (task tables) or "
            f"JSONL. With --plan: where the plan is saved ({DEFAULT_PLAN_FILE}).",
        ),
        jobs: int = typer.Option(1, "-j", "--jobs", min=1, help="Tasks run at the same time."),
        base: str = typer.Option("HEAD", "--base", help="Branch or commit every task starts from."),
        model: str | None = typer.Option(None, "--model", help="A models.NAME entry for every step."),
        mode: str | None = typer.Option(None, "--mode", help="auto | thinking | fast"),
        route: str | None = typer.Option(None, "--route", help="auto | local | remote"),
        approval: str = typer.Option(
            "full-auto",
            "--approval",
            help="read-only | ask | auto-edit | full-auto "
            "(default full-auto: tasks run in throwaway worktrees)",
        ),
        max_cost: float | None = typer.Option(None, "--max-cost", min=0.0, help="USD for the whole batch."),
        task_max_cost: float | None = typer.Option(None, "--task-max-cost", min=0.0, help="USD per task."),
        task_timeout: float | None = typer.Option(None, "--task-timeout", min=1.0, help="Seconds per task."),
        check_timeout: float = typer.Option(
            600.0, "--check-timeout", min=1.0, help="Seconds per check command."
        ),
        report: Path | None = typer.Option(
            None,
            "--report",
            help="JSON report; an existing one is resumed (default: TASKS with .report.json).",
        ),
        apply: str = typer.Option("none", "--apply", help="merge | patches | none"),
        patch_dir: Path = typer.Option(
            Path("qagent-patches"), "--patch-dir", help="Folder for --apply patches."
        ),
        canary: int = typer.Option(0, "--canary", min=0, help="Run K tasks first and ask before the rest."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (canary, plan)."),
        plan: str | None = typer.Option(
            None,
            "--plan",
            help="Let the remote model split this request into tasks (run on the local model).",
        ),
        executor: str = typer.Option("local", "--executor", help="local | ray"),
        address: str | None = typer.Option(None, "--address", help="Ray cluster address (--executor ray)."),
        branch_prefix: str = typer.Option(
            "qagent/batch/", "--branch-prefix", help="Task branches are PREFIX+id."
        ),
        pack: bool = typer.Option(
            False,
            "--pack/--no-pack",
            help="Send the repository pack with each task's "
            "requests (off: each fresh worktree would re-index the repository).",
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Plain lines, no live display (CI)."),
        cwd: Path | None = typer.Option(None, "--cwd", help="Repository (default: current directory)."),
    ) -> None:
        """Run many tasks, each in its own git worktree and branch, N at a time; resumable from the report."""
        from agent.cli.flags import APPROVALS, MODES, ROUTES, check_choice

        check_choice(mode, MODES, "--mode")
        check_choice(route, ROUTES, "--route")
        check_choice(approval, APPROVALS, "--approval")
        check_choice(apply, ("merge", "patches", "none"), "--apply")
        check_choice(executor, ("local", "ray"), "--executor")
        if tasks_file is None and plan is None:
            raise typer.BadParameter('give a task file, or --plan "REQUEST"', param_hint="TASKS")
        raise typer.Exit(_run(locals()))

    @app.command("batch-report")
    def batch_report(
        report: Path = typer.Argument(..., help="A report written by qagent batch."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Plain lines instead of a table."),
    ) -> None:
        """Print a batch report's summary table; exit 1 when any task did not succeed."""
        from rich.console import Console

        from agent.batch.tasks import BatchReport, TaskFileError
        from agent.batch.view import quiet_summary, summary_table

        try:
            loaded = BatchReport.load(report)
        except TaskFileError as exc:
            print(f"qagent batch-report: {exc}", file=sys.stderr)
            raise typer.Exit(ExitCode.USAGE) from None
        if quiet:
            print(quiet_summary(loaded))
        else:
            Console().print(summary_table(loaded))
        raise typer.Exit(ExitCode.OK if all(r.status == "succeeded" for r in loaded.tasks) else ExitCode.FAILED)


def _run(args: dict[str, Any]) -> int:
    from rich.console import Console

    from agent.batch.runner import BatchOptions, BatchRunner, TaskFileError, load_tasks, repo_root
    from agent.batch.view import Progress
    from agent.cli.flags import flag_overrides
    from agent.config import load_config

    err = Console(stderr=True, highlight=False)
    try:
        repo = repo_root((args["cwd"] or Path.cwd()).resolve())
        config = load_config(
            repo, flag_overrides(args["mode"], args["route"], args["approval"])
        )
        if args["model"]:
            config.model_entry(args["model"])
        config.context.pack = args["pack"]
        if args["plan"] is not None:
            tasks = _make_plan(config, repo, args, err)
            if tasks is None:
                return ExitCode.OK
            tasks_file = args["tasks_file"] or Path(DEFAULT_PLAN_FILE)
        else:
            tasks_file = args["tasks_file"]
            tasks = load_tasks(tasks_file)
        executor = _executor(args, repo, config)
    except TaskFileError as exc:
        err.print(f"qagent batch: {exc}", markup=False)
        return ExitCode.USAGE
    report_path = args["report"] or tasks_file.with_name(tasks_file.name.rsplit(".", 1)[0] + ".report.json")
    options = BatchOptions(
        jobs=args["jobs"],
        base=args["base"],
        model=args["model"],
        route=args["route"],
        mode=args["mode"],
        task_timeout=args["task_timeout"],
        task_max_cost=args["task_max_cost"],
        max_cost=args["max_cost"],
        check_timeout=args["check_timeout"],
        branch_prefix=args["branch_prefix"],
        canary=args["canary"],
    )
    progress = Progress(err, len(tasks), quiet=args["quiet"])
    runner = BatchRunner(
        repo,
        options,
        executor,
        report_path,
        on_state=progress.update,
        confirm=lambda stats: _confirm_canary(stats, args["yes"], progress, err),
        notice=lambda text: err.print(f"[dim]{text}[/]"),
    )
    try:
        with progress:
            report = asyncio.run(runner.run(tasks))
    except TaskFileError as exc:
        err.print(f"qagent batch: {exc}", markup=False)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        err.print(
            f"qagent batch: interrupted; running tasks were stopped and their worktrees removed. "
            f"Re-run the same command to resume ({report_path}).",
            markup=False,
        )
        return ExitCode.INTERRUPTED
    code = _apply(args, repo, report, runner.base_commit, err)
    report.save(report_path)
    _print_summary(report, args["quiet"])
    err.print(f"report: {report_path}", markup=False, highlight=False)
    if code != ExitCode.OK:
        return code
    return ExitCode.OK if all(r.status == "succeeded" for r in report.tasks) else ExitCode.FAILED


def _executor(args: dict[str, Any], repo: Path, config: Any) -> Any:
    from agent.batch.runner import TaskFileError

    if args["executor"] == "ray":
        from agent.batch.ray import ExecutorError, RayExecutor

        try:
            return RayExecutor(repo, config, address=args["address"])
        except ExecutorError as exc:
            raise TaskFileError(str(exc)) from None
    from agent.batch.execute import LocalExecutor

    return LocalExecutor(repo, config)


def _make_plan(config: Any, repo: Path, args: dict[str, Any], err: Any) -> list[Any] | None:
    """Plan with the remote model, show it, confirm, save it; None when the user declines."""
    from agent.batch.plan import PlanError, plan_tasks
    from agent.batch.runner import TaskFileError
    from agent.batch.tasks import write_tasks_jsonl
    from agent.batch.view import plan_table

    out = args["tasks_file"] or Path(DEFAULT_PLAN_FILE)
    if out.exists():
        raise TaskFileError(
            f"{out} already exists; run it with `qagent batch {out}` or choose another TASKS path"
        )
    err.print("[dim]asking the remote model for a plan…[/]")
    try:
        tasks = asyncio.run(plan_tasks(config, repo, args["plan"]))
    except PlanError as exc:
        raise TaskFileError(f"planning failed: {exc}") from None
    err.print(plan_table(tasks))
    if not args["yes"] and not _ask(f"Run these {len(tasks)} tasks?", err):
        write_tasks_jsonl(out, tasks)
        err.print(f"not run; the plan is saved in {out} (edit it, then `qagent batch {out}`)", markup=False)
        return None
    write_tasks_jsonl(out, tasks)
    return tasks


def _confirm_canary(stats: Any, yes: bool, progress: Any, err: Any) -> bool:
    err.print(
        f"canary: {stats.succeeded}/{stats.ran} succeeded ({stats.success_rate:.0%}), "
        f"${stats.cost_per_task:.4f} per task; {stats.remaining} task(s) left "
        f"(about ${stats.cost_per_task * stats.remaining:.4f})",
        markup=False,
    )
    if yes:
        return True
    progress.pause()
    try:
        return _ask(f"Run the remaining {stats.remaining} tasks?", err)
    finally:
        progress.resume()


def _ask(question: str, err: Any) -> bool:
    if not sys.stdin.isatty():
        err.print(f"{question} — no terminal to ask on; pass --yes to go ahead", markup=False)
        return False
    return typer.confirm(question, default=True, err=True)


def _apply(args: dict[str, Any], repo: Path, report: Any, base_commit: str, err: Any) -> int:
    from agent.batch.apply import ApplyError, merge_branches, write_patches

    try:
        if args["apply"] == "merge":
            outcome = merge_branches(repo, report, args["base"])
        elif args["apply"] == "patches":
            outcome = write_patches(repo, report, base_commit, args["patch_dir"])
        else:
            return ExitCode.OK
    except ApplyError as exc:
        err.print(f"qagent batch: {exc}", markup=False)
        return ExitCode.FAILED
    err.print(outcome.message, markup=False)
    return ExitCode.FAILED if outcome.stopped_at else ExitCode.OK


def _print_summary(report: Any, quiet: bool) -> None:
    from rich.console import Console

    from agent.batch.view import quiet_summary, summary_table

    if quiet:
        print(quiet_summary(report))
    else:
        Console().print(summary_table(report))
