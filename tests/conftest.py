"""Fixtures shared by every test area: scripted model servers, git repos, configs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.config import AgentConfig, load_config
from agent.testing import ScriptedServer

GIT_ID = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *GIT_ID, *args], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real git repository with one commit."""
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    (root / "README.md").write_text("# sample\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "initial")
    return root


@pytest.fixture
def scripted_server() -> Iterator[Callable[..., ScriptedServer]]:
    """Factory: ``scripted_server(script, dialect="vllm")`` → a started server, stopped after the test."""
    started: list[ScriptedServer] = []

    def make(script: list[dict[str, Any]] | None = None, **kwargs: Any) -> ScriptedServer:
        server = ScriptedServer(script or [], **kwargs).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def config_for(workspace: Path, local: ScriptedServer | None = None, remote: ScriptedServer | None = None,
               **sections: Any) -> AgentConfig:
    """A config isolated from the user's files and environment, pointing at scripted servers."""
    models: dict[str, Any] = {}
    if local is not None:
        models["local"] = {"base_url": local.url, "dialect": local.dialect}
    if remote is not None:
        models["remote"] = {"base_url": remote.url, "dialect": remote.dialect, "remote": True,
                            "api_key": "sk-test-remote-key"}
    overrides: dict[str, Any] = {"models": models, "limits": {"max_retries": 3, "idle_timeout_s": 5.0,
                                                               "request_timeout_s": 30.0}}
    for key, value in sections.items():
        overrides[key] = {**overrides.get(key, {}), **value}
    return load_config(workspace, overrides, env={}, use_user_file=False)
