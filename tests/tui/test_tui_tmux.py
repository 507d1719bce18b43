"""The installed ``qagent`` binary in a real terminal (tmux): one turn against a scripted server.

This is how a person tries it: start a model server, write ``.qagent.toml``, run ``qagent``,
type a prompt, read the screen, quit with Ctrl+C twice.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

TMUX = shutil.which("tmux") or "/usr/bin/tmux"
QAGENT = Path(sys.executable).parent / "qagent"
pytestmark = pytest.mark.skipif(
    not Path(TMUX).exists() or not QAGENT.exists(), reason="needs tmux and the installed qagent script"
)

SCRIPT = [
    {
        "reasoning": "The user wants a greeting file listing.",
        "text": "Checking the repo first.",
        "tool_calls": [{"name": "shell", "arguments": {"command": "ls"}}],
    },
    {
        "text": "The repository holds **README.md**. TMUX-TURN-DONE",
        "usage": {"prompt_tokens": 900, "completion_tokens": 20},
    },
]


@pytest.fixture
def model_server(tmp_path: Path) -> Iterator[str]:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.testing", "serve", "--script", str(script), "--dialect", "vllm"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("listening on "), line
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str, check: bool = True) -> str:
        return subprocess.run(
            [TMUX, "-L", self.socket, *args], capture_output=True, text=True, check=check
        ).stdout

    def alive(self) -> bool:
        return (
            subprocess.run(
                [TMUX, "-L", self.socket, "has-session", "-t", "qa"], capture_output=True
            ).returncode
            == 0
        )

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "qa", check=False)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; screen:\n{self.screen()}")


def test_one_turn_in_a_real_terminal(git_repo: Path, model_server: str, tmp_path: Path) -> None:
    (git_repo / ".qagent.toml").write_text(
        f'[models.local]\nbase_url = "{model_server}"\nmodel = "qwen3.5:9b"\ndialect = "vllm"\n'
        '[routing]\nmode = "local"\n'
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TERM": "xterm-256color",
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "LANG": "C.UTF-8",
    }
    tmux = Tmux(f"qagent-test-{uuid.uuid4().hex[:8]}")
    env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    tmux(
        "new-session", "-d", "-s", "qa", "-x", "120", "-y", "40", "-c", str(git_repo), *env_args, str(QAGENT)
    )
    try:
        tmux.wait_for("Ask qagent")
        tmux("send-keys", "-t", "qa", "-l", "what is in this repo?")
        tmux("send-keys", "-t", "qa", "Enter")
        screen = tmux.wait_for("TMUX-TURN-DONE")
        assert "what is in this repo?" in screen
        assert "shell" in screen and "ls" in screen, "the tool card is on screen"
        assert "local qwen3.5:9b" in screen and "main" in screen, "the status bar shows model and branch"
        tmux("send-keys", "-t", "qa", "C-c")
        tmux.wait_for("again to quit")
        tmux("send-keys", "-t", "qa", "C-c")
        deadline = time.monotonic() + 10
        while tmux.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not tmux.alive(), "qagent exited after Ctrl+C twice"
    finally:
        tmux("kill-server", check=False)
