"""``qagent demo``: a recorded session replayed through the real loop and real tools.

The scripted server plays the model; everything else is real: a scratch git repository, the
file tools, the shell tool (sandboxed where possible), checkpoints. A newcomer sees the agent
work with no model installed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

from agent.config import load_config

DEMO_PROMPT = "subtract() in calc.py gives wrong answers; fix it and run the tests"


def make_scratch_repo() -> Path:
    """A fresh git repository holding the demo project, committed once."""
    root = Path(tempfile.mkdtemp(prefix="qagent-demo-"))
    source = resources.files("agent.cli").joinpath("demo_data/repo")
    for item in source.iterdir():
        if item.is_file():  # an installed copy also has the __pycache__ pip compiled
            (root / item.name).write_text(item.read_text(encoding="utf-8"), encoding="utf-8")
    env_args = ["-c", "user.name=qagent demo", "-c", "user.email=demo@qagent.invalid"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), *env_args, "commit", "-qm", "demo project"], check=True)
    return root


def demo_script() -> list[dict]:
    return json.loads(resources.files("agent.cli").joinpath("demo_data/session.json").read_text(encoding="utf-8"))


def demo_overrides(url: str) -> dict:
    """Config for the demo: the scripted server as the local model, nothing remote, no asking."""
    return {"models": {"local": {"base_url": url, "model": "qwen3.5:9b (recorded)", "dialect": "vllm"}},
            "routing": {"mode": "local", "privacy": "local-only"},
            "permissions": {"approval": "full-auto"}}


def run_demo(*, keep: bool = False, headless: bool = False) -> int:
    from agent.testing import ScriptedServer

    root = make_scratch_repo()
    try:
        with ScriptedServer(demo_script(), dialect="vllm") as server:
            config = load_config(root, demo_overrides(server.url), use_user_file=False, env={})
            if not headless and sys.stdout.isatty():
                from agent.tui.app import run_tui_with_config

                return run_tui_with_config(root, config, prompt=DEMO_PROMPT)
            return _run_headless(root, config)
    finally:
        if keep:
            print(f"scratch repository kept at {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def _run_headless(root: Path, config) -> int:  # type: ignore[no-untyped-def]
    from agent.cli.output import run_headless
    from agent.wiring import build_agent

    print(f"qagent demo — scratch repo {root}\n> {DEMO_PROMPT}\n", file=sys.stderr)
    agent = build_agent(config, root)
    code = asyncio.run(run_headless(agent, DEMO_PROMPT, "text"))
    diff = subprocess.run(["git", "-C", str(root), "diff"], capture_output=True, text=True).stdout
    print("\n--- git diff after the session ---\n" + diff, file=sys.stderr)
    return code
