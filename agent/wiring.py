"""The composition root: an Agent with what its config asks for around the core loop.

The CLI, the TUI, batch runs and scripts all get their agent here, so they behave the same way:
:class:`Agent` (the public one, ``from agent import Agent``) adds the MCP servers of
``[mcp.servers]``; :func:`build_agent` also adds the session log (``--resume``/``--continue``),
per-turn checkpoints, auto-commit and the one-time sandbox notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.core import agent as core
from agent.core.ports import ProviderPool, ToolSource, TurnHook
from agent.events import Notice
from agent.messages import Message
from agent.policy.permissions import Approver


class Agent(core.Agent):
    """qagent's agent loop (see :class:`agent.core.agent.Agent` for the arguments). The tools of the
    MCP servers in the config's ``[mcp.servers]`` join its own; they start with its first run."""

    def __init__(self, config: AgentConfig | None = None, cwd: Path | str | None = None, *args: Any,
                 tool_sources: Iterable[ToolSource] = (), **kwargs: Any) -> None:
        super().__init__(config, cwd, *args, tool_sources=tool_sources, **kwargs)
        if self.config.mcp.servers:
            from agent.mcp import McpTools

            self.tool_sources.append(McpTools(self.config, cwd=self.cwd))


def build_agent(config: AgentConfig, workspace: Path, *, resume: str | None = None, cont: bool = False,
                interactive: bool = False, approver: Approver | None = None, record_session: bool = True,
                providers: ProviderPool | None = None) -> Agent:
    """An agent with the session log, per-turn checkpoints and the one-time sandbox notice.
    ``interactive`` front ends pass their own approver; headless runs keep the fail-closed default.
    ``providers`` shares model connections between agents (batch tasks); its owner closes it."""
    from agent.git.autocommit import AutoCommitHook
    from agent.git.checkpoints import Checkpointer, CheckpointHook
    from agent.session import SessionLog, data_dir, find_session

    hooks: list[TurnHook] = []
    notices: list[Notice] = []
    history: list[Message] = []
    session_id = None
    if record_session:
        directory = data_dir(config)
        if resume or cont:
            log, history = SessionLog.open(find_session(directory, resume, workspace).path)
            notices.append(Notice(text=f"resumed session {log.meta.id} ({len(history)} messages)"))
        else:
            log = SessionLog.create(directory, workspace)
        session_id = log.meta.id
        hooks.append(log)
    checkpointer = None
    if config.session.checkpoints:
        checkpointer = Checkpointer(workspace, session_id or "adhoc", backup_dir=data_dir(config) / "backups")
        hooks.append(CheckpointHook(checkpointer))
        if checkpointer.notice:
            notices.append(Notice(level="warning", text=checkpointer.notice))
    agent = Agent(config, cwd=workspace, approval=approver, hooks=hooks, checkpointer=checkpointer,
                  session_id=session_id, providers=providers)
    agent.messages.extend(history)  # already in the log: not recorded again
    if checkpointer is not None and config.session.auto_commit:
        agent.hooks.append(AutoCommitHook(checkpointer, agent.summarise))
    agent.pending_notices.extend(notices)
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
