"""`qagent sessions`, `qagent undo` and `qagent init` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agent.events import UsageReported
from agent.git.checkpoints import Checkpointer
from agent.messages import Message
from agent.session import SessionLog
from tests.repos import git_state, make_repo, tree_state


def qagent(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=60,
    )


def data_dir() -> Path:
    return Path(os.environ["XDG_DATA_HOME"]) / "qagent"


def test_sessions_lists_repo_prompt_time_and_cost(repo: Path, tmp_path: Path) -> None:
    other = make_repo(tmp_path / "other")
    for sid, where, prompt in [
        ("20260101-000000-aaaaaa", repo, "fix the login bug"),
        ("20260102-000000-bbbbbb", other, "add a CLI flag"),
    ]:
        with SessionLog.create(data_dir(), where, session_id=sid) as log:
            log.append_message(Message(role="user", content=prompt))
            log.append_event(UsageReported(model="remote", cost_usd=0.0123))
    shown = qagent(repo, "sessions")
    assert shown.returncode == 0, shown.stderr
    assert "fix the login bug" in shown.stdout and "add a CLI flag" in shown.stdout
    assert "$0.0123" in shown.stdout and "qagent --resume" in shown.stdout
    here = qagent(repo, "sessions", "--here", "--json")
    rows = [json.loads(line) for line in here.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["20260101-000000-aaaaaa"]
    assert rows[0]["repo"] == str(repo.resolve())


def test_undo_command_restores_the_last_turn(repo: Path) -> None:
    (repo / "a.txt").write_text("user's unsaved work\n")
    before, before_git = tree_state(repo), git_state(repo)
    cp = Checkpointer(repo, "20260101-000000-cafe00")
    cp.begin_turn(1)
    cp.before_change()
    (repo / "a.txt").write_text("agent\n")
    (repo / "created.py").write_text("print()\n")
    cp.end_turn()
    listed = qagent(repo, "undo", "--list")
    assert "20260101-000000-cafe00  turn 1" in listed.stdout
    done = qagent(repo / "dir", "undo")  # from a subfolder too
    assert done.returncode == 0, done.stderr
    assert "restored 1 file(s): a.txt" in done.stdout and "created.py" in done.stdout
    assert tree_state(repo) == before and git_state(repo) == before_git
    again = qagent(repo, "undo")
    assert again.returncode == 1 and "nothing to undo" in again.stderr
    assert "20260101-000000-cafe00" not in qagent(repo, "undo", "--list").stdout


def test_undo_command_outside_git_uses_backups(tmp_path: Path) -> None:
    work = tmp_path / "plain"
    work.mkdir()
    (work / "notes.txt").write_text("v1\n")
    cp = Checkpointer(work, "sess", backup_dir=data_dir() / "backups")
    cp.begin_turn(1)
    cp.before_change([work / "notes.txt"])
    (work / "notes.txt").write_text("v2\n")
    done = qagent(work, "undo")
    assert done.returncode == 0, done.stderr
    assert (work / "notes.txt").read_text() == "v1\n"


def test_init_writes_a_starter_agents_md_once(repo: Path) -> None:
    (repo / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n[tool.pytest.ini_options]\n")
    (repo / "Makefile").write_text("test:\n\tpytest\nlint:\n\truff check .\n")
    made = qagent(repo, "init")
    assert made.returncode == 0, made.stderr
    text = (repo / "AGENTS.md").read_text()
    assert "`pytest`" in text and "`ruff check .`" in text and "`make test`" in text
    assert "c.py" in text or "dir/" in text  # the layout mentions the code
    again = qagent(repo, "init")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert (repo / "AGENTS.md").read_text() == text
    assert qagent(repo, "init", "--force").returncode == 0
