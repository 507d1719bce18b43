"""The prompt: Enter sends, Ctrl+J newlines, history, completion, images, !cmd, plan, queueing."""

from __future__ import annotations

import base64
from pathlib import Path

from agent.tui.conversation import AssistantMessage, NoticeLine, UserMessage
from agent.tui.toolcard import ToolCard
from tests.repos import git
from tests.tui.conftest import until

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


async def test_enter_sends_ctrl_j_adds_a_line_and_up_down_walk_history(tui_app) -> None:
    app = tui_app([{"text": "one"}, {"text": "two"}])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("a", "ctrl+j", "b")
        assert app.prompt.text == "a\nb"
        await pilot.press("enter")
        await until(pilot, lambda: not app.busy and app.pump.idle, what="turn 1")
        assert app.query_one(UserMessage).text == "a\nb"
        assert app.server.chat_requests()[0]["messages"][-1]["content"] == "a\nb"
        app.prompt.insert("second")
        await pilot.press("enter")
        await until(pilot, lambda: not app.busy and app.pump.idle, what="turn 2")
        assert app.prompt.text == ""
        await pilot.press("d")
        await pilot.press("up")
        assert app.prompt.text == "second"
        await pilot.press("up")
        assert app.prompt.text == "a\nb"
        await pilot.press("down", "down")
        assert app.prompt.text == "d"


async def test_slash_and_at_file_completion(tui_app, git_repo: Path) -> None:
    (git_repo / "src").mkdir()
    (git_repo / "src" / "calculator.py").write_text("x = 1\n")
    (git_repo / "docs.md").write_text("d\n")
    git(git_repo, "add", "-A")
    app = tui_app([])
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.files.files, what="file index")
        await pilot.press("/", "u", "n")
        assert app.menu.display and [c.value for c in app.menu.candidates] == ["/undo"]
        await pilot.press("tab")
        assert app.prompt.text == "/undo "
        app.prompt.load_text("")
        await pilot.press(*"/mode ", "t")
        assert [c.value for c in app.menu.candidates] == ["thinking"]
        await pilot.press("enter")
        assert app.prompt.text == "/mode thinking "
        app.prompt.load_text("")
        app.prompt.insert("look at @calc")
        await pilot.pause(0.01)
        assert app.menu.candidates[0].value == "@src/calculator.py"
        await pilot.press("enter")
        assert app.prompt.text == "look at @src/calculator.py "
        assert not app.menu.display
        await pilot.press(*"@zzzz")
        assert not app.menu.display
        await pilot.press("escape")
        assert not app.busy


async def test_images_attach_by_path_and_by_paste(tui_app, git_repo: Path) -> None:
    (git_repo / "shot.png").write_bytes(PNG)
    app = tui_app([{"text": "I see a pixel"}])
    async with app.run_test(size=(100, 30)) as pilot:
        app.prompt.insert("/image shot.png")
        await pilot.press("enter")
        assert [n for n, _ in app.attachments] == ["shot.png"]
        app.prompt.insert("/image missing.png")
        await pilot.press("enter")
        await pilot.pause(0.05)
        assert "no such file" in list(app.query(NoticeLine))[-1].text
        app.prompt.post_message(
            __import__("textual.events", fromlist=["Paste"]).Paste(str(git_repo / "shot.png"))
        )
        await pilot.pause(0.05)
        assert len(app.attachments) == 2 and app.prompt.text == ""
        app.prompt.insert("what is this")
        await pilot.press("enter")
        await until(pilot, lambda: not app.busy and app.pump.idle, what="turn")
        content = app.server.chat_requests()[0]["messages"][-1]["content"]
        images = [part for part in content if part.get("type") == "image_url"]
        assert len(images) == 2 and base64.b64encode(PNG).decode() in images[0]["image_url"]["url"]
        assert "📎 shot.png" in str(app.query_one(UserMessage).render())
        assert app.attachments == []


async def test_bang_runs_a_shell_command_with_live_output(tui_app, git_repo: Path) -> None:
    app = tui_app([])
    async with app.run_test(size=(100, 30)) as pilot:
        app.prompt.insert("!printf 'hello\\033]0;pwned\\007 [bold]x[/bold]\\n'; ls")
        await pilot.press("enter")
        await until(
            pilot, lambda: app.query(ToolCard) and app.query_one(ToolCard).ok is not None, what="shell"
        )
        card = app.query_one(ToolCard)
        assert card.ok and card.by_user
        shown = str(card._output_view.render())
        assert "hello [bold]x[/bold]" in shown and "README.md" in shown
        assert "\x1b" not in shown and "pwned" not in shown.replace("[bold]", "")
        assert app.agent.messages == [], "the user's own command is not sent to the model"


async def test_plan_panel_shows_todo_write_items(tui_app) -> None:
    items = [
        {"content": "find the bug", "status": "completed"},
        {"content": "fix it", "status": "in_progress"},
        {"content": "run tests", "status": "pending"},
    ]
    app = tui_app(
        [{"tool_calls": [{"name": "todo_write", "arguments": {"items": items}}]}, {"text": "planned"}]
    )
    async with app.run_test(size=(100, 30)) as pilot:
        assert not app.plan.display
        await pilot.press(*"plan it", "enter")
        await until(pilot, lambda: not app.busy and app.pump.idle, what="turn")
        assert app.plan.display
        shown = str(app.plan.render())
        assert "✔ find the bug" in shown and "◐ fix it" in shown and "☐ run tests" in shown


async def test_prompts_sent_while_busy_are_queued(tui_app) -> None:
    app = tui_app([{"text": "slow " * 40, "chunk_delay": 0.05, "chunk_chars": 5}, {"text": "second"}])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"one", "enter")
        await until(pilot, lambda: app.query(AssistantMessage), what="streaming")
        await pilot.press(*"two", "enter")
        assert app.queued == ["two"]
        await until(
            pilot,
            lambda: len(app.query(UserMessage)) == 2 and not app.busy and app.pump.idle,
            what="queued turn",
        )
        assert list(app.query(AssistantMessage))[-1].text == "second"
