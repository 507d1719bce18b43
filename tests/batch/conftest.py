"""Batch fixtures: one scripted server per task, so parallel tasks get their own replies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import batch_config, write_script

from agent.batch.tasks import BatchTask
from agent.config import AgentConfig
from agent.testing import ScriptedServer


@pytest.fixture
def batch_setup(git_repo: Path, scripted_server: Callable[..., ScriptedServer]):
    """``make(ids, scripts=, checks=, latency=, pricing=)`` → (tasks, config, servers), a server per task."""

    def make(
        ids: list[str],
        scripts: dict[str, list[dict[str, Any]]] | None = None,
        checks: dict[str, str] | None = None,
        latency: float = 0.0,
        pricing: dict[str, float] | None = None,
        **sections: Any,
    ) -> tuple[list[BatchTask], AgentConfig, dict[str, ScriptedServer]]:
        servers = {
            tid: scripted_server((scripts or {}).get(tid) or write_script(tid, latency), dialect="vllm")
            for tid in ids
        }
        tasks = [
            BatchTask(id=tid, prompt=f"create out/{tid}.txt", model=f"m-{tid}", check=(checks or {}).get(tid))
            for tid in ids
        ]
        return tasks, batch_config(git_repo, servers, pricing, **sections), servers

    return make
