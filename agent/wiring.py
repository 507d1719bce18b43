"""Assembling an Agent for a front end: approver, session log, checkpoints, resume, notices.

The CLI, the TUI and batch runs all build their agent here, so they behave the same way.
"""

from __future__ import annotations

from pathlib import Path

from agent.config import AgentConfig
from agent.events import Notice
from agent.core.agent import Agent
from agent.policy.permissions import Approver


def build_agent(config: AgentConfig, workspace: Path, *, resume: str | None = None, cont: bool = False,
                interactive: bool = False, approver: Approver | None = None, record_session: bool = True) -> Agent:
    """An agent with the session log (``--resume``/``--continue``), per-turn checkpoints and the
    one-time sandbox notice. ``interactive`` front ends pass their own approver; headless runs
    keep the fail-closed default."""
    from agent.git.checkpoints import Checkpointer, CheckpointHook
    from agent.session import SessionLog, data_dir, find_session

    agent = Agent(config, cwd=workspace, approval=approver)
    if record_session:
        directory = data_dir(config)
        if resume or cont:
            info = find_session(directory, resume, workspace)
            log, messages = SessionLog.open(info.path)
            agent.messages.extend(messages)
            agent.pending_notices.append(Notice(text=f"resumed session {log.meta.id} ({len(messages)} messages)"))
        else:
            log = SessionLog.create(directory, workspace)
        agent.session_id = log.meta.id
        agent.hooks.append(log)
    if config.session.checkpoints:
        checkpointer = Checkpointer(workspace, agent.session_id or "adhoc",
                                    backup_dir=data_dir(config) / "backups")
        agent.checkpointer = checkpointer
        agent.hooks.append(CheckpointHook(checkpointer))
        if checkpointer.notice:
            agent.pending_notices.append(Notice(level="warning", text=checkpointer.notice))
    _sandbox_notice(agent)
    if not interactive and config.permissions.approval == "ask":
        agent.pending_notices.append(Notice(text="headless run: actions that need approval are refused; pass "
                                                 "--approval auto-edit (edits) or full-auto (also commands)"))
    return agent


def _sandbox_notice(agent: Agent) -> None:
    if "shell" not in agent.toolset:
        return
    from tools.sandbox import startup_notice
    from tools.shell import reap_orphans

    reaped = reap_orphans()  # commands of an agent killed before its sandbox armed --die-with-parent
    if reaped:
        agent.pending_notices.append(Notice(level="warning", text=f"ended {reaped} command process(es) left "
                                            "running by a qagent session that was killed"))

    text = startup_notice(agent.config.sandbox.policy)
    if text:
        agent.pending_notices.append(Notice(level="warning", text=text))
