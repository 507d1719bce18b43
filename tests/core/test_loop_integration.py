"""The safety pieces plugged into the real agent loop (scripted model over HTTP, real git repo)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from agent import Agent
from agent.events import TurnFinished
from agent.git.checkpoints import Checkpointer, CheckpointHook
from agent.session import OUTCOME_UNKNOWN, SessionLog, load_conversation
from tests.conftest import config_for
from tests.repos import git_state, tree_state
from tools import ToolContext, tool


@tool(kind="edit")
def put(path: str, text: str, ctx: ToolContext) -> str:
    """Write a file."""
    (ctx.root / path).parent.mkdir(parents=True, exist_ok=True)
    (ctx.root / path).write_text(text)
    return f"wrote {path}"


@tool(kind="edit")
def remove(path: str, ctx: ToolContext) -> str:
    """Delete a file."""
    (ctx.root / path).unlink()
    return f"deleted {path}"


async def test_a_turn_is_logged_checkpointed_and_undone(scripted_server, repo: Path, tmp_path: Path) -> None:
    (repo / "a.txt").write_text("user's unsaved edit\n")
    before, before_git = tree_state(repo), git_state(repo)
    server = scripted_server(
        [
            {
                "tool_calls": [
                    {"name": "put", "arguments": {"path": "a.txt", "text": "agent\n"}},
                    {"name": "remove", "arguments": {"path": "b.txt"}},
                ]
            },
            {"tool_calls": [{"name": "put", "arguments": {"path": "pkg/new.py", "text": "x = 1\n"}}]},
            {"text": "Done: edited a.txt, removed b.txt, added pkg/new.py."},
        ]
    )
    config = config_for(repo, local=server, routing={"mode": "local"}, permissions={"approval": "full-auto"})
    agent = Agent(config, cwd=repo, tools=[put, remove])
    log = SessionLog.create(tmp_path / "data", repo, session_id="e2e")
    checkpointer = Checkpointer(repo, "e2e")
    agent.hooks += [log, CheckpointHook(checkpointer)]
    try:
        events = [event async for event in agent.run("tidy the repo")]
    finally:
        await agent.aclose()
    assert isinstance(events[-1], TurnFinished) and events[-1].stop_reason == "completed"
    assert (repo / "pkg" / "new.py").exists() and not (repo / "b.txt").exists()
    assert git_state(repo) == before_git

    _, replayed = load_conversation(log.path)
    assert replayed == agent.messages  # the log rebuilds the conversation exactly

    result = checkpointer.undo()
    assert tree_state(repo) == before
    assert git_state(repo) == before_git
    assert sorted(result.deleted) == ["pkg/new.py"] and sorted(result.restored) == ["a.txt", "b.txt"]


CHILD = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from agent.git.checkpoints import CheckpointHook, Checkpointer
    from agent import Agent
    from agent.session import SessionLog
    from agent.testing import ScriptedServer
    from tests.conftest import config_for
    from tools import ToolContext, tool

    repo, data = Path(sys.argv[1]), Path(sys.argv[2])

    @tool(kind="edit")
    def migrate(path: str, ctx: ToolContext) -> str:
        '''Rewrite a file slowly.'''
        (ctx.root / path).write_text("half-migrated\\n")
        print("in-flight", flush=True)
        time.sleep(60)
        return "done"

    server = ScriptedServer([
        {"text": "Migrating.", "tool_calls": [{"name": "migrate", "arguments": {"path": "a.txt"}}]},
        {"text": "never reached"},
    ]).start()
    config = config_for(repo, local=server, routing={"mode": "local"}, permissions={"approval": "full-auto"})
    agent = Agent(config, cwd=repo, tools=[migrate])
    log = SessionLog.create(data, repo, session_id="killed")
    agent.hooks += [log, CheckpointHook(Checkpointer(repo, "killed"))]

    async def main():
        async for _ in agent.run("migrate a.txt"):
            pass

    asyncio.run(main())
    """
)


def test_kill_9_mid_turn_then_resume_and_undo(repo: Path, tmp_path: Path) -> None:
    before = tree_state(repo)
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(repo), str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "in-flight", proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    path = tmp_path / "data" / "sessions" / "killed.jsonl"
    log, messages = SessionLog.open(path)
    log.close()
    assert [m.role for m in messages] == ["user", "assistant", "tool"]
    assert messages[0].content == "migrate a.txt"
    assert messages[1].tool_calls[0].name == "migrate"
    assert messages[2].content == OUTCOME_UNKNOWN and messages[2].tool_call_id == messages[1].tool_calls[0].id
    assert load_conversation(path)[1] == messages  # the outcome-unknown result is now in the log

    assert (repo / "a.txt").read_text() == "half-migrated\n"
    Checkpointer(repo, "killed").undo()  # the half-done change is undoable after the crash
    assert tree_state(repo) == before
