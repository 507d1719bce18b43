"""Running one batch task, and the executors that place it: local worktrees or Ray workers.

A task always runs in a checkout of its own branch: the agent works there, its changes are
committed to the branch, then the optional check command runs in the same checkout. The local
executor makes that checkout a git worktree of the repository; the Ray executor clones a bundle
of the base commit on the worker and ships the branch back as a bundle (see batch_ray.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from agent.batch.tasks import BatchTask, CheckResult, Diffstat, TaskRow
from agent.config import AgentConfig
from agent.core.ports import ProviderPool
from agent.events import Event, RouteDecided, ToolCallStarted, UsageReported
from agent.git.plumbing import GitError, run_git
from agent.git.worktrees import create_worktree, remove_worktree
from agent.providers.pool import ModelPool
from tools.redact import redact

T = TypeVar("T")
COMMIT_ID = ["-c", "user.name=qagent batch", "-c", "user.email=qagent@localhost"]
OUTPUT_TAIL = 4000


@dataclass(frozen=True)
class TaskSpec:
    """Everything a worker needs to run one task (plain data, so it crosses to Ray workers)."""

    task: BatchTask
    branch: str
    base_commit: str
    model: str | None = None
    route: str | None = None
    mode: str | None = None
    max_cost: float | None = None
    timeout_s: float | None = None
    check_timeout_s: float = 600.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "task": self.task.model_dump()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskSpec:
        return cls(**{**data, "task": BatchTask.model_validate(data["task"])})


@dataclass
class TaskState:
    """Live state of a running task: what the progress display shows and what an interrupt keeps."""

    id: str
    status: str = "queued"
    step: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    routes: list[dict[str, Any]] = field(default_factory=list)
    last_tool: str = ""
    started: float | None = None
    on_change: Callable[[TaskState], None] | None = None

    def set(self, status: str) -> None:
        self.status = status
        if self.on_change:
            self.on_change(self)

    def observe(self, event: Event) -> None:
        if isinstance(event, RouteDecided):
            self.step += 1
            last = self.routes[-1] if self.routes else None
            if last and (last["model"], last["mode"], last["reason"]) == (
                event.model,
                event.mode,
                event.reason,
            ):
                last["steps"] += 1
            else:
                self.routes.append(
                    {"model": event.model, "mode": event.mode, "reason": event.reason, "steps": 1}
                )
        elif isinstance(event, UsageReported):
            self.prompt_tokens += event.prompt_tokens
            self.completion_tokens += event.completion_tokens
            self.cost += event.cost_usd
        elif isinstance(event, ToolCallStarted):
            self.last_tool = event.name
        else:
            return
        if self.on_change:
            self.on_change(self)

    def row(self, spec: TaskSpec, status: str, **fields: Any) -> TaskRow:
        duration = time.monotonic() - self.started if self.started is not None else 0.0
        values: dict[str, Any] = {
            "id": spec.task.id,
            "status": status,
            "branch": spec.branch,
            "prompt": spec.task.prompt,
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
            "cost_usd": round(self.cost, 6),
            "duration_s": round(duration, 3),
            "routes": self.routes,
        }
        return TaskRow(**{**values, **fields})


def git(checkout: Path, *args: str) -> str:
    return run_git(checkout, *args).decode(errors="replace").strip()


def commit_all(checkout: Path, message: str) -> str | None:
    """Commit every change in the checkout; returns the new commit, or None when nothing changed."""
    git(checkout, "add", "-A")
    if not git(checkout, "status", "--porcelain", "--untracked-files=no"):
        return None
    identity = [] if _has_identity(checkout) else COMMIT_ID
    git(checkout, *identity, "commit", "-q", "--no-verify", "-m", message)
    return git(checkout, "rev-parse", "HEAD")


def _has_identity(checkout: Path) -> bool:
    try:
        return bool(git(checkout, "config", "user.email"))
    except GitError:
        return False


def diffstat(checkout: Path, base: str, tip: str) -> tuple[Diffstat, list[str]]:
    stat = Diffstat()
    files: list[str] = []
    for line in git(checkout, "diff", "--numstat", "--no-renames", base, tip).splitlines():
        added, removed, path = line.split("\t", 2)
        stat.files += 1
        stat.insertions += int(added) if added != "-" else 0
        stat.deletions += int(removed) if removed != "-" else 0
        files.append(path)
    return stat, files


def outside_paths(files: list[str], globs: list[str]) -> list[str]:
    """Changed files no glob allows (a glob ending in / or naming a folder covers what is under it)."""

    def allowed(path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, g) or path.startswith(g.rstrip("/") + "/") for g in globs)

    return [f for f in files if not allowed(f)] if globs else []


async def run_check(command: str, checkout: Path, timeout_s: float) -> CheckResult:
    """The task's check command in its checkout, killed (whole process group) after ``timeout_s``."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_shell(
        command,
        cwd=checkout,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
        code: int | None = proc.returncode
    except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        output, _ = await proc.communicate()
        if isinstance(exc, asyncio.CancelledError):
            raise
        code = None
        output += f"\n[check timed out after {timeout_s:g}s]".encode()
    text = output.decode(errors="replace")
    return CheckResult(
        command=command,
        exit_code=code,
        passed=code == 0,
        duration_s=round(time.monotonic() - started, 3),
        output_tail=text[-OUTPUT_TAIL:],
    )


async def run_in_checkout(
    checkout: Path,
    spec: TaskSpec,
    config: AgentConfig,
    state: TaskState,
    providers: ProviderPool | None = None,
) -> TaskRow:
    """Run the agent on ``checkout`` (its branch checked out), commit, check; the finished row.

    ``providers`` shares model clients between the tasks of one event loop (their owner closes
    them): a new client costs ~80 ms of CPU for its TLS context, on the loop every task shares.
    """
    from agent.wiring import build_agent

    task = spec.task
    config = config.model_copy(deep=True)
    if spec.max_cost is not None:
        config.limits.max_cost = spec.max_cost
    config.session.checkpoints = False  # the branch is the record; refs/qagent would leak into the repo
    agent = build_agent(config, checkout, interactive=False, providers=providers)
    state.set("running")
    stop, error = "error", ""

    async def consume() -> str:
        finished = "error"
        async for event in agent.run(task_prompt(task), model=spec.model, route=spec.route, mode=spec.mode):
            state.observe(event)
            if event.type == "turn_finished":
                finished = event.stop_reason
            elif event.type == "error":
                nonlocal error
                error = event.message
        return finished

    try:
        stop = await asyncio.wait_for(consume(), spec.timeout_s)
    except asyncio.TimeoutError:
        stop, error = "timeout", f"timed out after {spec.timeout_s:g}s"
    finally:
        if providers is None:
            await agent.aclose()
    state.set("committing")
    tip = await settled(commit_all, checkout, f"qagent batch {task.id}: {task.prompt.splitlines()[0][:60]}")
    stat, files = await settled(diffstat, checkout, spec.base_commit, tip or spec.base_commit)
    if stop != "completed" and not error:
        error = f"the agent stopped: {stop}"
    if stray := outside_paths(files, task.paths):
        error = error or f"changed files outside its paths ({', '.join(task.paths)}): {', '.join(stray)}"
    check = None
    if task.check and not error:
        state.set("checking")
        check = await run_check(task.check, checkout, spec.check_timeout_s)
        if not check.passed:
            error = (
                f"check failed ({'timed out' if check.exit_code is None else f'exit {check.exit_code}'}): "
                f"{task.check}"
            )
    return state.row(
        spec,
        "failed" if error else "succeeded",
        commit=tip,
        diffstat=stat,
        changed_files=files,
        check=check,
        stop_reason=stop,
        error=error,
        session_id=agent.session_id or "",
    )


def task_prompt(task: BatchTask) -> str:
    if not task.paths:
        return task.prompt
    return f"{task.prompt}\n\nOnly change files matching: {', '.join(task.paths)}."


def warm_up() -> None:
    """Import the loop, the OpenAI client and the tools, and compile the redaction patterns, once up
    front: about two seconds the first task would otherwise spend (and count as its own)."""
    import openai  # noqa: F401

    import agent.wiring  # noqa: F401
    from tools import builtin_tools

    builtin_tools()
    redact("warm-up")


class Executor(Protocol):
    """Places tasks somewhere and returns their rows; the branch exists in ``repo`` afterwards."""

    name: str

    async def run(self, spec: TaskSpec, state: TaskState) -> TaskRow: ...

    async def close(self) -> None: ...


class LocalExecutor:
    """Tasks in git worktrees of ``repo``: one slot per concurrent task, reused from task to task.

    A slot is switched to the next task's branch rather than made afresh, so git rewrites only the
    files that differ, and a repository index built for the slot's path stays valid (with --pack).
    Between tasks a slot is reset, cleaned of untracked and ignored files, and detached.
    """

    name = "local"

    def __init__(self, repo: Path, config: AgentConfig) -> None:
        self.repo = repo
        self.config = config
        self.root = Path(tempfile.mkdtemp(prefix="qagent-batch-"))
        self.providers = ModelPool(config, redact=redact)
        self._free: list[Path] = []
        self._slots = 0
        self._admin = asyncio.Lock()
        """git worktree add/remove read every worktree's admin files, so one at a time: a worktree
        half-written by a parallel add makes them fail ("failed to read .git/worktrees/X/commondir")."""
        warm_up()

    async def run(self, spec: TaskSpec, state: TaskState) -> TaskRow:
        state.set("worktree")
        path: Path | None = None
        finished = False
        try:
            async with self._admin:
                path = self._free.pop() if self._free else self._new_slot()
                await settled(_enter_slot, self.repo, path, spec.branch, spec.base_commit)
            row = await run_in_checkout(path, spec, self.config, state, self.providers)
            finished = True
            return row
        finally:
            # A finished task keeps its branch; an interrupted or crashed one leaves nothing behind
            # (not even when the interrupt came while git was still adding the worktree).
            if path is not None:
                async with self._admin:
                    if await settled(_leave_slot, self.repo, path, spec.branch, keep_branch=finished):
                        self._free.append(path)

    def _new_slot(self) -> Path:
        self._slots += 1
        return self.root / f"slot-{self._slots}"

    async def close(self) -> None:
        await self.providers.aclose()
        for path in self._free:
            with contextlib.suppress(GitError):
                remove_worktree(self.repo, path)
            drop_index(path)
        self._free.clear()
        with contextlib.suppress(OSError):
            self.root.rmdir()


def _enter_slot(repo: Path, path: Path, branch: str, base: str) -> None:
    if path.exists():
        git(path, "checkout", "-q", "-b", branch, base)
    else:
        create_worktree(repo, base, branch, path)


def _leave_slot(repo: Path, path: Path, branch: str, *, keep_branch: bool) -> bool:
    """Reset and detach a slot; True when it can take the next task (else it is removed)."""
    if not path.exists():
        return False
    try:
        ours = git(path, "symbolic-ref", "-q", "HEAD") == f"refs/heads/{branch}"
    except GitError:
        ours = False  # detached: the task never got its branch
    try:
        git(path, "reset", "-q", "--hard")
        git(path, "clean", "-ffdxq")
        git(path, "checkout", "-q", "--detach")
        if ours and not keep_branch:
            git(repo, "branch", "-D", branch)
        return True
    except GitError:
        with contextlib.suppress(GitError):
            remove_worktree(repo, path, branch=None if keep_branch or not ours else branch)
        drop_index(path)
        return False


def drop_index(worktree: Path) -> None:
    """Delete the repository index a pack built for this worktree: its path never comes back."""
    try:
        from agent.context.cache import default_cache_dir
    except ModuleNotFoundError:
        return
    shutil.rmtree(default_cache_dir(worktree), ignore_errors=True)


async def settled(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn`` in a worker thread, off the event loop; a cancellation waits for it to finish first,
    so cleanup never races a git command that is still creating what it must remove."""
    job = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        while not job.done():  # a repeated cancel must not cut the wait short either
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({job})
        raise
