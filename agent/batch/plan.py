"""Plan mode: the remote model splits a repository-scale request into batch tasks.

The architect/editor split at batch scale: one thinking request (with read-only tools) on the
remote model writes the plan; the tasks then run in parallel, by default on the local model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agent.batch.tasks import BatchTask, TaskFileError, validate_tasks
from agent.config import AgentConfig
from agent.events import Event, TurnFinished

FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


class PlanError(RuntimeError):
    """The model's plan could not be used; the message quotes what it said."""


def parse_plan(text: str, *, default_route: str | None = "local") -> list[BatchTask]:
    """Tasks from the model's answer: a JSON object with ``tasks`` (or a bare list), fences allowed."""
    candidates = [m.group(1) for m in FENCE.finditer(text)] + [text]
    data: Any = None
    for candidate in candidates:
        start = min((i for i in (candidate.find("{"), candidate.find("[")) if i >= 0), default=-1)
        if start < 0:
            continue
        try:
            data, _ = json.JSONDecoder().raw_decode(candidate[start:])
            break
        except json.JSONDecodeError:
            continue
    if data is None:
        raise PlanError(f"the model's plan is not JSON: {text.strip()[:300]!r}")
    raw = data.get("tasks") if isinstance(data, dict) else data
    if not isinstance(raw, list):
        raise PlanError(f'the model\'s plan has no "tasks" list: {text.strip()[:300]!r}')
    if default_route:
        raw = [{"route": default_route, **t} if isinstance(t, dict) else t for t in raw]
    try:
        return validate_tasks(raw, "the model's plan")
    except TaskFileError as exc:
        raise PlanError(str(exc)) from None


async def plan_tasks(
    config: AgentConfig, repo: Path, request: str, *, max_tasks: int = 50, on_event: Any = None
) -> list[BatchTask]:
    """Ask the remote model (thinking mode, read-only tools) for the task list."""
    from agent.core.agent import Agent
    from prompts import render
    from tools import builtin_tools

    config = config.model_copy(deep=True)
    config.permissions.approval = "read-only"
    config.session.checkpoints = False
    readers = [t for t in builtin_tools() if t.kind == "read"]
    agent = Agent(config, cwd=repo, tools=readers)
    final: TurnFinished | None = None
    errors: list[str] = []
    try:
        async for event in agent.run(
            render("batch_plan", request=request, max_tasks=max_tasks), route="remote", mode="thinking"
        ):
            _forward(on_event, event)
            if isinstance(event, TurnFinished):
                final = event
            elif event.type == "error":
                errors.append(event.message)
    finally:
        await agent.aclose()
    if final is None or final.stop_reason != "completed":
        why = "; ".join(errors) or (final.stop_reason if final else "no answer")
        raise PlanError(f"the planning request did not finish: {why}")
    tasks = parse_plan(final.text)
    if len(tasks) > max_tasks:
        raise PlanError(f"the model planned {len(tasks)} tasks, over the limit of {max_tasks}")
    return tasks


def _forward(on_event: Any, event: Event) -> None:
    if on_event is not None:
        on_event(event)
