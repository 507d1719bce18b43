"""Batch task files and the batch report: the two files a batch run reads and writes.

Tasks come from TOML (``[[task]]`` tables) or JSONL (one object a line); every task is validated
on its own so an error names the task and field. The report is rewritten atomically after every
finished task, so a killed run still leaves a report that a re-run resumes from.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.fsutil import atomic_write

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

Status = Literal["succeeded", "failed", "skipped", "interrupted"]
TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class TaskFileError(ValueError):
    """A task file that cannot be used; the message names the file, task and field."""


class BatchTask(BaseModel):
    """One unit of work: a prompt run in its own worktree and branch."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Unique name; also the branch suffix (letters, digits, . _ -)")
    prompt: str = Field(min_length=1)
    paths: list[str] = []
    """Globs (repo-relative) the task may change; a change outside them fails the task."""
    route: Literal["auto", "local", "remote"] | None = None
    mode: Literal["auto", "thinking", "fast"] | None = None
    model: str | None = None
    """A [models.NAME] entry for every step of this task (like --model)."""
    check: str | None = None
    """Shell command run in the task's worktree afterwards; non-zero exit fails the task."""

    @field_validator("id")
    @classmethod
    def _id_ok(cls, value: str) -> str:
        if not TASK_ID.match(value) or ".." in value or value.endswith((".", ".lock")):
            raise ValueError("use 1-64 letters, digits, '.', '_' or '-' (it becomes part of a branch name)")
        return value

    @field_validator("paths", mode="before")
    @classmethod
    def _one_path(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the prompt is blank")
        return value


def _explain(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "task"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def validate_tasks(raw: list[Any], source: str, where: list[str] | None = None) -> list[BatchTask]:
    """Validate task objects; ``where`` gives a location (e.g. ``line 3``) per object for errors."""
    tasks: list[BatchTask] = []
    seen: dict[str, str] = {}
    for index, obj in enumerate(raw):
        place = where[index] if where else f"task {index + 1}"
        if not isinstance(obj, dict):
            raise TaskFileError(f"{source}, {place}: expected a table/object, got {type(obj).__name__}")
        try:
            task = BatchTask.model_validate(obj)
        except ValidationError as exc:
            label = f" (id {obj['id']!r})" if isinstance(obj.get("id"), str) else ""
            raise TaskFileError(f"{source}, {place}{label}: {_explain(exc)}") from None
        if task.id in seen:
            raise TaskFileError(f"{source}, {place}: duplicate id {task.id!r} (first at {seen[task.id]})")
        seen[task.id] = place
        tasks.append(task)
    if not tasks:
        raise TaskFileError(f"{source}: no tasks (TOML needs [[task]] tables; JSONL one object a line)")
    return tasks


def load_tasks(path: Path) -> list[BatchTask]:
    """Tasks from ``path``: ``.toml`` as ``[[task]]`` tables, anything else as JSONL."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaskFileError(f"cannot read task file {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise TaskFileError(f"{path}: invalid TOML: {exc}") from None
        unknown = sorted(set(data) - {"task"})
        if unknown:
            raise TaskFileError(
                f"{path}: unexpected top-level key(s) {', '.join(unknown)}; "
                "write each task as a [[task]] table"
            )
        tasks = data.get("task", [])
        if not isinstance(tasks, list):
            raise TaskFileError(f"{path}: 'task' must be an array of tables ([[task]]), not [task]")
        return validate_tasks(tasks, str(path))
    objects, where = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise TaskFileError(
                f"{path}, line {number}: invalid JSON ({exc.msg} at column {exc.colno})"
            ) from None
        where.append(f"line {number}")
    return validate_tasks(objects, str(path), where)


def write_tasks_jsonl(path: Path, tasks: list[BatchTask]) -> None:
    lines = [t.model_dump_json(exclude_defaults=True) for t in tasks]
    atomic_write(path, ("\n".join(lines) + "\n").encode())


# ---------------------------------------------------------------------- the report


class CheckResult(BaseModel):
    command: str
    exit_code: int | None
    """None when the command timed out."""
    passed: bool
    duration_s: float
    output_tail: str = ""


class Diffstat(BaseModel):
    files: int = 0
    insertions: int = 0
    deletions: int = 0


class TaskRow(BaseModel):
    """One task's line in the report."""

    id: str
    status: Status
    branch: str
    prompt: str = ""
    commit: str | None = None
    """Tip of the branch (None when the task made no commit)."""
    diffstat: Diffstat = Diffstat()
    changed_files: list[str] = []
    check: CheckResult | None = None
    tokens: dict[str, int] = {"prompt": 0, "completion": 0}
    cost_usd: float = 0.0
    duration_s: float = 0.0
    routes: list[dict[str, Any]] = []
    """Route decisions, consecutive repeats folded into ``steps``."""
    stop_reason: str = ""
    error: str = ""
    session_id: str = ""
    """The agent's session log (``qagent sessions``), to read what the model did."""
    applied: str = ""
    """merged | conflict | patch:PATH | "" (not applied)."""


class BatchReport(BaseModel):
    tasks: list[TaskRow] = []
    summary: dict[str, Any] = {}

    def row(self, task_id: str) -> TaskRow | None:
        return next((r for r in self.tasks if r.id == task_id), None)

    def put(self, row: TaskRow) -> None:
        for index, existing in enumerate(self.tasks):
            if existing.id == row.id:
                self.tasks[index] = row
                return
        self.tasks.append(row)

    def summarise(self, **extra: Any) -> dict[str, Any]:
        counts = {
            s: sum(1 for r in self.tasks if r.status == s)
            for s in ("succeeded", "failed", "skipped", "interrupted")
        }
        self.summary = {
            **self.summary,
            **extra,
            "total": len(self.tasks),
            **counts,
            "cost_usd": round(sum(r.cost_usd for r in self.tasks), 6),
            "tokens": {k: sum(r.tokens.get(k, 0) for r in self.tasks) for k in ("prompt", "completion")},
            "task_seconds": round(sum(r.duration_s for r in self.tasks), 3),
        }
        return self.summary

    def save(self, path: Path) -> None:
        atomic_write(path, (self.model_dump_json(indent=2) + "\n").encode())

    @classmethod
    def load(cls, path: Path) -> BatchReport:
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError, ValueError) as exc:
            raise TaskFileError(
                f"cannot resume from report {path}: {str(exc).splitlines()[0]} (move it away to start afresh)"
            ) from None
