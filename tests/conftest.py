"""Fixtures shared by every test area: an isolated home, real git repos, scripted model servers, configs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.config import AgentConfig, load_config
from agent.testing import ScriptedServer
from tests.repos import make_repo


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's config, sessions, state or git config."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE", "QAGENT_PRIVACY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real git repository with one commit holding README.md."""
    return make_repo(tmp_path / "repo", {"README.md": "# sample\n"})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git repository whose first commit holds a few files, one executable, and a .gitignore."""
    return make_repo(tmp_path / "repo")


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
        models["local"] = {"base_url": local.url, "dialect": local.dialect, "remote": False}
    if remote is not None:
        models["remote"] = {"base_url": remote.url, "dialect": remote.dialect, "remote": True,
                            "api_key": "sk-test-remote-key"}
    overrides: dict[str, Any] = {"models": models, "limits": {"max_retries": 3, "idle_timeout_s": 5.0,
                                                               "request_timeout_s": 30.0}}
    for key, value in sections.items():
        overrides[key] = {**overrides.get(key, {}), **value}
    return load_config(workspace, overrides, env={}, use_user_file=False)
