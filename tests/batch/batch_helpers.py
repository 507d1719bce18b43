"""Helpers for the batch tests: per-task scripts and configs, git inspection."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from agent.config import AgentConfig, load_config
from agent.testing import ScriptedServer
from tests.repos import git

__all__ = ["batch_branches", "batch_config", "git", "worktrees", "write_script"]


def write_script(task_id: str, latency: float = 0.0, text: str | None = None) -> list[dict[str, Any]]:
    """Two model requests: create ``out/<id>.txt``, then answer."""
    return [
        {
            "tool_calls": [
                {
                    "name": "write_file",
                    "arguments": {"path": f"out/{task_id}.txt", "content": f"made by {task_id}\n"},
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20},
            "latency": latency,
        },
        {
            "text": text or f"wrote out/{task_id}.txt",
            "usage": {"prompt_tokens": 130, "completion_tokens": 5},
            "latency": latency,
        },
    ]


def batch_config(
    workspace: Path,
    servers: dict[str, ScriptedServer],
    pricing: dict[str, float] | None = None,
    **sections: Any,
) -> AgentConfig:
    """Models named after tasks (``m-<id>``), each on its own scripted server; full-auto approval;
    session logs in a folder next to the repository."""
    models = {
        f"m-{tid}": {
            "base_url": s.url,
            "dialect": s.dialect,
            "model": "scripted-model",
            "pricing": pricing or {},
        }
        for tid, s in servers.items()
    }
    overrides: dict[str, Any] = {
        "models": models,
        "permissions": {"approval": "full-auto"},
        "session": {"data_dir": str(workspace.parent / "sessions")},
        "limits": {"max_retries": 0, "idle_timeout_s": 10.0, "request_timeout_s": 30.0},
    }
    for key, value in sections.items():
        overrides[key] = {**overrides.get(key, {}), **value}
    return load_config(workspace, overrides, env={}, use_user_file=False)


def worktrees(repo: Path) -> list[str]:
    """Worktree paths; while git is still writing one, ``worktree list`` can fail: then ask again."""
    for _ in range(50):
        try:
            listing = git(repo, "worktree", "list", "--porcelain")
        except subprocess.CalledProcessError:
            continue
        return [line.split()[1] for line in listing.splitlines() if line.startswith("worktree ")]
    raise AssertionError("git worktree list kept failing")


def batch_branches(repo: Path) -> list[str]:
    return sorted(git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/qagent/").split())
