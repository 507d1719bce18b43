"""todo_write: the model's plan for the task, kept in the session and shown by front ends."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools import ToolContext, ToolResult, tool

_MARK = {"completed": "[x]", "in_progress": "[>]", "pending": "[ ]"}


class TodoItem(BaseModel):
    content: str = Field(min_length=1, description="One concrete step, in a few words")
    status: Literal["pending", "in_progress", "completed"] = "pending"


class TodoWriteArgs(BaseModel):
    items: list[TodoItem] = Field(description="The whole plan (replaces the previous one), in order")


def render(items: list[dict[str, str]]) -> str:
    """The plan as a checklist: [x] done, [>] in progress, [ ] to do."""
    if not items:
        return "(the plan is empty)"
    return "\n".join(f"{_MARK[item['status']]} {item['content']}" for item in items)


@tool(kind="read")
def todo_write(args: TodoWriteArgs, ctx: ToolContext) -> ToolResult:
    """Write the plan for the current task as a checklist (the whole list each time). Use it for tasks with
    several steps: mark one step in_progress while working on it and completed as soon as it is done."""
    items = [item.model_dump() for item in args.items]
    ctx.session.todos = items
    done = sum(item["status"] == "completed" for item in items)
    return ToolResult(True, f"Plan updated ({done}/{len(items)} done):\n{render(items)}", {"items": items})
