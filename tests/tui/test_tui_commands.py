"""Every slash command, driven through the prompt as a person would type it."""

from __future__ import annotations

from pathlib import Path

from agent.messages import Message
from agent.session import SessionLog
from agent.tui.conversation import InfoBlock, NoticeLine, UserMessage
from tests.repos import git
from tests.tui.conftest import until

EDIT = {
    "tool_calls": [
        {"name": "replace_text", "arguments": {"path": "README.md", "old": "sample", "new": "edited"}}
    ]
}


async def command(pilot, line: str, settle: float = 0.05) -> None:
    pilot.app.prompt.load_text(line)
    pilot.app.prompt.menu.hide()
    await pilot.press("enter")
    await pilot.pause(settle)


def last_info(app) -> str:
    return str(list(app.query(InfoBlock))[-1].render())


def notices(app) -> list[str]:
    return [n.text for n in app.query(NoticeLine)]


async def test_model_mode_and_route_change_what_the_next_turn_uses(tui_app) -> None:
    app = tui_app([{"text": "hi"}])
    async with app.run_test(size=(120, 40)) as pilot:
        await command(pilot, "/model")
        assert "local" in last_info(app) and "remote" in last_info(app)
        await command(pilot, "/model nosuch")
        assert "no model named 'nosuch'" in notices(app)[-1]
        await command(pilot, "/model local")
        assert app.agent.router.pinned == "local"
        await command(pilot, "/mode fast")
        await command(pilot, "/route local")
        assert (app.mode, app.route) == ("fast", "local")
        assert "mode fast" in str(app.status.line()) and "route local" in str(app.status.line())
        await command(pilot, "/mode sideways")
        assert "usage: /mode" in notices(app)[-1]
        await command(pilot, "hello")
        await until(pilot, lambda: not app.busy and app.pump.idle, what="turn")
        assert app.status.step_mode == "fast" and "you chose local" in app.status.reason
        body = app.server.chat_requests()[-1]
        assert body["chat_template_kwargs"]["enable_thinking"] is False
        await command(pilot, "/model auto")
        assert app.agent.router.pinned is None


async def test_undo_restores_the_file_the_last_turn_edited(tui_app, git_repo: Path) -> None:
    app = tui_app([EDIT, {"text": "done"}], approval="auto-edit", checkpoints=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await command(pilot, "edit the readme")
        await until(pilot, lambda: not app.busy and app.pump.idle, what="turn")
        assert (git_repo / "README.md").read_text() == "# edited\n"
        await command(pilot, "/diff")
        await until(pilot, lambda: app.query(InfoBlock), what="diff")
        assert "+# edited" in last_info(app) and "-# sample" in last_info(app)
        await command(pilot, "/undo")
        await until(pilot, lambda: any("restored" in n for n in notices(app)), what="undo")
        assert (git_repo / "README.md").read_text() == "# sample\n"
        await command(pilot, "/diff")
        await until(pilot, lambda: "no uncommitted changes" in last_info(app), what="clean diff")


async def test_cost_clear_compact_help(tui_app) -> None:
    app = tui_app([{"text": "hi", "usage": {"prompt_tokens": 1200, "completion_tokens": 30}}])
    async with app.run_test(size=(120, 40)) as pilot:
        await command(pilot, "hello")
        await until(pilot, lambda: not app.busy and app.pump.idle, what="turn")
        await command(pilot, "/cost")
        assert "1,200 prompt + 30 completion tokens" in last_info(app)
        await command(pilot, "/compact")
        finished = ("compaction", "compacted")  # not "compacting…", which is shown while it runs
        await until(pilot, lambda: any(n.startswith(finished) for n in notices(app)), what="compaction")
        await command(pilot, "/help")
        help_text = last_info(app)
        for name in (
            "/model",
            "/mode",
            "/route",
            "/undo",
            "/diff",
            "/cost",
            "/compact",
            "/clear",
            "/resume",
            "/init",
            "/doctor",
            "/help",
            "/quit",
            "Esc",
        ):
            assert name in help_text
        await command(pilot, "/clear")
        assert app.agent.messages == [] and not app.query(UserMessage)
        await command(pilot, "/nosuch")
        assert "unknown command /nosuch" in notices(app)[-1]


async def test_resume_lists_sessions_and_continues_one(tui_app, git_repo: Path) -> None:
    data = git_repo.parent / "data"
    with SessionLog.create(data, git_repo, session_id="20260101-000000-abc123") as log:
        log.append_message(Message(role="user", content="earlier question"))
        log.append_message(Message(role="assistant", content="earlier answer"))
    app = tui_app([])
    async with app.run_test(size=(120, 40)) as pilot:
        await command(pilot, "/resume")
        await until(pilot, lambda: app.query(InfoBlock), what="session list")
        assert "20260101-000000-abc123" in last_info(app)
        await command(pilot, "/resume 20260101")
        await until(pilot, lambda: len(app.agent.messages) == 2, what="resumed")
        assert [m.content for m in app.agent.messages] == ["earlier question", "earlier answer"]
        await until(pilot, lambda: app.query(UserMessage), what="replayed")
        assert [u.text for u in app.query(UserMessage)] == ["earlier question"]
        await command(pilot, "/resume zzz")
        await until(pilot, lambda: "no session id starts with 'zzz'" in notices(app)[-1], what="not found")


async def test_init_and_doctor_run_the_real_subcommands(tui_app, git_repo: Path) -> None:
    (git_repo / ".qagent.toml").write_text(
        '[models.local]\nbase_url = "http://127.0.0.1:9/v1"\n'
        'model = "qwen3.5:9b"\n[routing]\nprivacy = "local-only"\n'
    )
    git(git_repo, "add", ".qagent.toml")
    app = tui_app([])
    async with app.run_test(size=(120, 40)) as pilot:
        await command(pilot, "/init")
        await until(
            pilot, lambda: (git_repo / "AGENTS.md").exists() and app.query(InfoBlock), timeout=30, what="init"
        )
        assert "AGENTS.md" in last_info(app)
        await command(pilot, "/doctor")
        await until(pilot, lambda: len(app.query(InfoBlock)) == 2, timeout=60, what="doctor")
        assert "127.0.0.1:9" in last_info(app) or "cannot reach" in last_info(app)


async def test_quit(tui_app) -> None:
    app = tui_app([])
    async with app.run_test() as pilot:
        await command(pilot, "/quit")
    assert app.return_code == 0
