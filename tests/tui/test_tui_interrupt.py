"""Esc stops the running step at once and the session goes on; Ctrl+C twice quits; setup screen."""

from __future__ import annotations

import time
from pathlib import Path

from agent.tui.conversation import AssistantMessage, NoticeLine
from agent.tui.screens import ApprovalScreen, SetupScreen
from tests.conftest import config_for
from tests.tui.conftest import make_app, until

SLOW = {"text": "word " * 400, "chunk_delay": 0.02, "chunk_chars": 5}


async def test_esc_interrupts_a_streaming_answer_and_the_next_prompt_works(tui_app) -> None:
    app = tui_app([SLOW, {"text": "second answer"}])
    async with app.run_test(size=(100, 30)) as pilot:
        app.prompt.load_text("write a lot")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: app.query(AssistantMessage) and len(app.query_one(AssistantMessage).text) > 20,
            what="streaming",
        )
        pressed = time.monotonic()
        await pilot.press("escape")
        await until(pilot, lambda: not app.busy, timeout=2, what="turn stopped")
        assert time.monotonic() - pressed < 1.0
        streamed = app.query_one(AssistantMessage).text
        assert len(streamed) < len(SLOW["text"]), "the stream stopped early"
        await until(pilot, lambda: any(n.text == "interrupted" for n in app.query(NoticeLine)), what="notice")
        # the conversation stays consistent: the partial answer is kept and a new prompt goes through
        assert app.agent.messages[-1].content.endswith("[interrupted]")
        app.prompt.load_text("go on")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: not app.busy and list(app.query(AssistantMessage))[-1].text == "second answer",
            what="second turn",
        )
        sent = app.server.chat_requests()[-1]["messages"]
        assert [m["role"] for m in sent][-2:] == ["assistant", "user"]


async def test_esc_in_the_approval_modal_interrupts_without_running_the_edit(tui_app, git_repo: Path) -> None:
    (git_repo / "f.txt").write_text("old\n")
    app = tui_app(
        [
            {
                "tool_calls": [
                    {"name": "replace_text", "arguments": {"path": "f.txt", "old": "old", "new": "new"}}
                ]
            }
        ]
    )
    async with app.run_test(size=(100, 30)) as pilot:
        app.prompt.load_text("change it")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="approval")
        await pilot.press("escape")
        await until(pilot, lambda: not app.busy, what="turn end")
        assert not isinstance(app.screen, ApprovalScreen)
        assert (git_repo / "f.txt").read_text() == "old\n"
        tool_messages = [m for m in app.agent.messages if m.role == "tool"]
        assert len(tool_messages) == 1 and not app.pump.cards


async def test_deny_with_a_reason_reaches_the_model(tui_app, git_repo: Path) -> None:
    (git_repo / "f.txt").write_text("old\n")
    app = tui_app(
        [
            {
                "tool_calls": [
                    {"name": "replace_text", "arguments": {"path": "f.txt", "old": "old", "new": "new"}}
                ]
            },
            {"text": "ok, leaving it"},
        ]
    )
    async with app.run_test(size=(100, 30)) as pilot:
        app.prompt.load_text("change it")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="approval")
        await pilot.press("n")
        await pilot.press(*"nope")
        await pilot.press("enter")
        await until(pilot, lambda: not app.busy and app.pump.idle, what="turn end")
        assert (git_repo / "f.txt").read_text() == "old\n"
        tool_reply = app.server.chat_requests()[-1]["messages"][-1]
        assert tool_reply["role"] == "tool" and "nope" in tool_reply["content"]


async def test_always_allow_stops_asking_for_that_tool(tui_app, git_repo: Path) -> None:
    (git_repo / "f.txt").write_text("a b\n")

    def call(old: str, new: str) -> dict:
        args = {"path": "f.txt", "old": old, "new": new}
        return {"tool_calls": [{"name": "replace_text", "arguments": args}]}

    app = tui_app([call("a", "A"), call("b", "B"), {"text": "done"}])
    async with app.run_test(size=(100, 30)) as pilot:
        app.prompt.load_text("capitalise")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="approval")
        await pilot.press("a")
        await until(pilot, lambda: not app.busy and app.pump.idle, what="turn end")
        assert (git_repo / "f.txt").read_text() == "A B\n"


async def test_ctrl_c_twice_quits(tui_app) -> None:
    app = tui_app([])
    async with app.run_test() as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause(0.05)
        assert app.is_running
        await pilot.press("ctrl+c")
        await pilot.pause(0.05)
    assert app.return_code == 0


async def test_unreachable_model_opens_the_setup_screen(git_repo: Path) -> None:
    config = config_for(
        git_repo,
        routing={"mode": "local", "privacy": "local-only"},
        limits={"max_retries": 0},
        session={"data_dir": str(git_repo.parent / "data")},
        models={"local": {"base_url": "http://127.0.0.1:9/v1", "model": "qwen3.5:9b"}},
    )
    app = make_app(git_repo, config)
    async with app.run_test(size=(120, 40)) as pilot:
        app.prompt.load_text("hello")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SetupScreen), what="setup screen")
        advice = str(app.screen.query_one("#setup-advice").render())
        assert "127.0.0.1:9" in advice and "ollama serve" in advice and "DEEPSEEK_API_KEY" in advice
        assert "qagent doctor" in advice
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SetupScreen), what="closed")
        assert any(n.level == "error" and "unreachable" in n.text for n in app.query(NoticeLine))
