"""Snapshots of the main screens at 80×24 and 120×40 (``pytest --snapshot-update`` after a deliberate change).

Run-specific things are pinned before the screenshot so the images only change when the UI does:
the scripted server's random port, the cursor blink, and the conversation's scrollbar (its thumb
lags the last layout pass by a frame, which made the images flaky).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.tui.screens import ApprovalScreen, SetupScreen
from tests.conftest import config_for
from tests.tui.conftest import make_app, until

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
ANSWER = (
    "Fixed: `subtract` now returns **a - b**.\n\n```python\ndef subtract(a, b):\n    return a - b\n```\n\n"
    "- ran the tests\n- all pass\n"
)
PLAN = [
    {"content": "find the bug", "status": "completed"},
    {"content": "fix subtract", "status": "completed"},
    {"content": "run the tests", "status": "in_progress"},
]
SCRIPT = [
    {
        "reasoning": "subtract adds instead of subtracting.",
        "text": "Let me plan and fix it.",
        "tool_calls": [{"name": "todo_write", "arguments": {"items": PLAN}}],
    },
    {
        "tool_calls": [
            {"name": "replace_text", "arguments": {"path": "calc.py", "old": "a + b", "new": "a - b"}}
        ]
    },
    {"tool_calls": [{"name": "shell", "arguments": {"command": "printf '2 passed\\n'"}}]},
    {"text": ANSWER, "usage": {"prompt_tokens": 2100, "completion_tokens": 64}},
]


def calc_repo(git_repo: Path) -> Path:
    (git_repo / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef subtract(a, b):\n    return a + b\n"
    )
    return git_repo


def pin(app) -> None:  # type: ignore[no-untyped-def]
    app.status.endpoint = "http://127.0.0.1:8000/v1"
    # Context use before any usage report is the router's estimate, which depends on the tokenizer
    # files present and the exact prompt/pack text: not what these pictures are about.
    if not app.status.prompt_tokens:
        app.status.context_used = 28
    app.status.redraw()
    app.prompt.cursor_blink = False
    app.view.styles.scrollbar_size_vertical = 0


def test_conversation_after_a_turn(snap_compare, tui_app, git_repo: Path, size) -> None:
    calc_repo(git_repo)
    app = tui_app(SCRIPT, approval="full-auto")

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        app.prompt.insert("fix subtract in calc.py")
        await pilot.press("enter")
        await until(pilot, lambda: not app.busy and app.pump.idle and app.status.git is not None, what="turn")
        await until(pilot, lambda: app.status.git.dirty, what="git refresh")
        pin(app)
        app.view.scroll_end(animate=False)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_approval_of_an_edit(snap_compare, tui_app, git_repo: Path, size) -> None:
    calc_repo(git_repo)
    app = tui_app(SCRIPT[1:2])

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        app.prompt.insert("fix subtract")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="approval")
        await until(pilot, lambda: app.status.git is not None, what="git status")
        pin(app)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_setup_screen_when_no_model_answers(snap_compare, git_repo: Path, size) -> None:
    config = config_for(
        git_repo,
        routing={"mode": "local", "privacy": "local-only"},
        limits={"max_retries": 0},
        session={"data_dir": str(git_repo.parent / "data")},
        models={"local": {"base_url": "http://127.0.0.1:9/v1", "model": "qwen3.5:9b"}},
    )
    app = make_app(git_repo, config)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        app.prompt.insert("hello")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SetupScreen), what="setup screen")
        await until(pilot, lambda: app.status.git is not None, what="git status")
        pin(app)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_slash_completion_menu(snap_compare, tui_app, size) -> None:
    app = tui_app([])

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await until(pilot, lambda: app.status.git is not None, what="git status")
        pin(app)
        await pilot.press("/")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.fixture(params=SIZES)
def size(request: pytest.FixtureRequest) -> tuple[int, int]:
    return request.param
