"""qagent's public embedding API.

    from agent import Agent
    agent = Agent()                      # this repo's config, like the CLI
    result = agent.run_sync("add a --verbose flag to cli.py")
    print(result.diff)

    async for event in agent.run("explain the failing test"):
        ...

Custom tools use the built-ins' ``@tool`` decorator (``Agent(extra_tools=[my_tool])``); approvals go
through a callback (``Agent(approval=callback_approver(lambda request: ...))``); MCP servers' tools
come from :class:`McpTools`. The README ("Use qagent from Python") walks through all of it.

Names are imported lazily so ``qagent --version`` stays fast.
"""

from __future__ import annotations

import importlib
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent._version import __version__


def _check_packaging_guard() -> None:
    """``agent``, ``tools`` and ``prompts`` are generic names; a user's repo may shadow ours."""
    here = Path(__file__).resolve().parent.parent
    for sibling in ("tools", "prompts"):
        spec = find_spec(sibling)
        origin = Path(spec.origin).resolve().parent.parent if spec and spec.origin else None
        if origin != here:
            raise ImportError(
                f"qagent's '{sibling}' package resolves to {origin or 'nothing'}, not {here}: "
                f"a folder named '{sibling}' in the current directory or on PYTHONPATH shadows it. "
                "Run qagent from its own install (pipx install qagent / uv tool install qagent) "
                "or rename that folder."
            )


_check_packaging_guard()

_EXPORTS = {
    "Agent": "agent.wiring",
    "Result": "agent.core.result",
    "AgentConfig": "agent.config",
    "ConfigError": "agent.config",
    "load_config": "agent.config",
    "tool": "tools",
    "Tool": "tools",
    "ToolContext": "tools",
    "ToolResult": "tools",
    "ToolRetry": "tools",
    "events": "agent.events",
    "Approver": "agent.policy.permissions",
    "ApprovalDecision": "agent.policy.permissions",
    "ApprovalRequest": "agent.policy.permissions",
    "callback_approver": "agent.policy.permissions",
    "McpTools": "agent.mcp",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from agent import events
    from agent.config import AgentConfig, ConfigError, load_config
    from agent.core.result import Result
    from agent.mcp import McpTools
    from agent.policy.permissions import ApprovalDecision, ApprovalRequest, Approver, callback_approver
    from agent.wiring import Agent
    from tools import Tool, ToolContext, ToolResult, ToolRetry, tool


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    return module if name == "events" else getattr(module, name)
