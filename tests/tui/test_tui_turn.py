"""A whole turn in the TUI against the scripted server: thinking, answer, edit + approval, live shell."""

from __future__ import annotations

from pathlib import Path

from agent.tui.conversation import AssistantMessage, NoticeLine, ThinkingBlock, UserMessage
from agent.tui.screens import ApprovalScreen
from agent.tui.toolcard import ToolCard
from tests.tui.conftest import until

FINAL = "Fixed: `subtract` now returns **a - b**.\n\n```python\ndef subtract(a, b):\n    return a - b\n```"
SHELL = "printf 'first\\n'; sleep 1; printf 'second\\n'"
SCRIPT = [
    {
        "reasoning": "The subtraction uses the wrong operator.",
        "text": "I'll fix `subtract`.",
        "tool_calls": [
            {"name": "replace_text", "arguments": {"path": "calc.py", "old": "a + b", "new": "a - b"}}
        ],
    },
    {"text": "Now the tests.", "tool_calls": [{"name": "shell", "arguments": {"command": SHELL}}]},
    {"text": FINAL},
]


def cards(app) -> list[ToolCard]:
    return list(app.query(ToolCard))


async def type_and_send(pilot, text: str) -> None:
    pilot.app.prompt.load_text(text)
    await pilot.press("enter")


async def test_full_turn_with_thinking_edit_approval_and_live_shell(tui_app, git_repo: Path) -> None:
    (git_repo / "calc.py").write_text("def subtract(a, b):\n    return a + b\n")
    app = tui_app(SCRIPT)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_and_send(pilot, "fix subtract")
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="edit approval")
        preview = app.screen.request.preview
        assert "-    return a + b" in preview and "+    return a - b" in preview
        # the thinking block folded once the answer started; the answer streamed above the card
        thinking = app.query_one(ThinkingBlock)
        assert thinking.collapsed and "wrong operator" in thinking.text
        assert app.query(AssistantMessage).first().text == "I'll fix `subtract`."
        assert (git_repo / "calc.py").read_text().endswith("a + b\n"), "nothing is written before approval"
        await pilot.press("y")
        await until(pilot, lambda: cards(app) and cards(app)[0].ok is True, what="edit card finished")
        edit = cards(app)[0]
        assert edit.diff and "+    return a - b" in edit.diff and not edit.collapsed
        assert (git_repo / "calc.py").read_text().endswith("a - b\n")
        # a read-only command runs without asking; while it runs, its output appears line by line
        await until(
            pilot, lambda: len(cards(app)) == 2 and "first" in cards(app)[1].output, what="live output"
        )
        shell = cards(app)[1]
        assert shell.ok is None and "second" not in shell.output, "output is shown before the command ends"
        await until(pilot, lambda: shell.ok is True, what="shell finished")
        assert "second" in shell.output
        await until(pilot, lambda: not app.busy and app.pump.idle, what="turn end")
        final = list(app.query(AssistantMessage))[-1]
        assert "a - b" in final.text
        assert app.query_one(UserMessage).text == "fix subtract"
        assert "$0.0000" in str(app.status.line()) and "local" in str(app.status.line())
        assert not [n for n in app.query(NoticeLine) if n.level == "error"]
