"""The fallback chain bwrap → Landlock → none, through the real tool, on a machine without bwrap.

"Without bwrap" is made real by running qagent in a child process whose PATH has no bwrap in it.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.landlock import abi_version

SCRIPT = r"""
import json, sys
from agent.config import AgentConfig
from tools import run_tool
from tools.sandbox import startup_notice
root, outside, policy = sys.argv[1:4]
config = AgentConfig.model_validate({"sandbox": {"policy": policy}})
notice = startup_notice(policy)
result = run_tool("shell", {"command": f"echo in > inside.txt; echo out > {outside}/escaped; echo done"},
                  root=root, config=config)
print(json.dumps({"notice": notice, "ok": result.ok, "text": result.text, "data": result.data}))
"""


def run_without_bwrap(root: Path, outside: Path, policy: str) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # python only: no bwrap, no bash
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(root), str(outside), policy], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_auto_falls_back_and_says_so_once(workspace: Path) -> None:
    # Not under /tmp, which Landlock leaves writable: the account's real home (the tests' HOME is in /tmp).
    outside = Path(tempfile.mkdtemp(prefix=".qagent-fallback-", dir=pwd.getpwuid(os.getuid()).pw_dir))
    try:
        report = run_without_bwrap(workspace, outside, "auto")
        escaped = (outside / "escaped").exists()
    finally:
        for child in outside.iterdir():
            child.unlink()
        outside.rmdir()
    assert report["ok"] and "done" in report["text"]
    assert (workspace / "inside.txt").read_text() == "in\n"
    if abi_version() >= 1:
        assert report["data"]["sandbox"] == "landlock"
        assert "Landlock only" in report["notice"] and "apt-get install bubblewrap" in report["notice"]
        assert not escaped, "Landlock confines writes to the workspace"
    else:
        assert report["data"]["sandbox"] == "none" and "WITHOUT a sandbox" in report["notice"]


def test_policy_bwrap_refuses_to_run_unconfined(workspace: Path, tmp_path: Path) -> None:
    report = run_without_bwrap(workspace, tmp_path, "bwrap")
    assert not report["ok"]
    assert "refused" in report["text"] and "bwrap is not installed" in report["text"]
    assert not (workspace / "inside.txt").exists()
