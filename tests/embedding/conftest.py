"""Fixtures for the embedding tests: the MCP echo server and running examples as subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ECHO_SERVER = HERE / "mcp_echo_server.py"
EXAMPLES = REPO / "examples"


def echo_server_spec() -> dict[str, Any]:
    """``[mcp.servers.NAME]`` for the stdio echo server of this test suite."""
    return {"command": sys.executable, "args": [str(ECHO_SERVER)]}


def example_env(home: Path, server_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment a user would have: no QAGENT_* leaking in, no user config, the model from env vars."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QAGENT_", "DEEPSEEK"))}
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    if server_url is not None:
        env.update({"QAGENT_MODELS__LOCAL__BASE_URL": server_url, "QAGENT_MODELS__LOCAL__DIALECT": "vllm",
                    "QAGENT_ROUTE": "local"})
    env.update(extra)
    return env


def run_example(name: str, *args: str, cwd: Path, env: dict[str, str], timeout: float = 90
                ) -> subprocess.CompletedProcess[str]:
    """Run ``examples/NAME`` as a user would: its own process, the repo as working directory."""
    command = [sys.executable, str(EXAMPLES / name), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def user_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home
