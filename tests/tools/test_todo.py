"""todo_write: the plan is stored in the session and rendered as a checklist."""

from __future__ import annotations

from filefixtures import *  # noqa: F403

from tools import builtin_tools


def test_todo_write_stores_and_renders_the_plan(call, session):
    items = [
        {"content": "read the failing test", "status": "completed"},
        {"content": "fix the parser", "status": "in_progress"},
        {"content": "run the suite", "status": "pending"},
    ]
    result = call("todo_write", items=items)
    assert result.ok
    assert result.text == ("Plan updated (1/3 done):\n[x] read the failing test\n[>] fix the parser\n"
                           "[ ] run the suite")
    assert session.todos == items and result.data["items"] == items
    call("todo_write", items=[{"content": "run the suite", "status": "completed"}])
    assert session.todos == [{"content": "run the suite", "status": "completed"}]


def test_todo_write_rejects_an_unknown_status(call, session):
    result = call("todo_write", items=[{"content": "x", "status": "done"}])
    assert not result.ok and "status" in result.text
    assert session.todos == []


def test_tool_kinds_and_argument_names_follow_the_contract():
    tools = {t.name: t for t in builtin_tools()}
    expected = {
        "read_file": ("read", {"path", "offset", "limit"}),
        "write_file": ("edit", {"path", "content"}),
        "edit_file": ("edit", {"path", "old_string", "new_string", "replace_all"}),
        "apply_patch": ("edit", {"patch"}),
        "list_files": ("read", {"path", "pattern"}),
        "grep": ("read", {"pattern", "path", "glob", "ignore_case", "context", "max_results"}),
        "todo_write": ("read", {"items"}),
    }
    for name, (kind, params) in expected.items():
        assert tools[name].kind == kind
        assert set(tools[name].schema()["function"]["parameters"]["properties"]) == params
        assert (tools[name].preview is not None) == (kind == "edit")
