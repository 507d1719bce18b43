"""Configuration: one pydantic tree (:mod:`agent.config.schema`), loaded in layers (:mod:`agent.config.load`):
defaults < user file < ``.qagent.toml`` < ``QAGENT_*`` < flags."""

from agent.config.load import find_repo_config, load_config, user_config_path
from agent.config.schema import (
    HOSTED_DIALECTS,
    LOCAL_DIALECTS,
    REPO_CONFIG_NAME,
    AgentConfig,
    ApprovalPolicy,
    ConfigError,
    ContextConfig,
    Dialect,
    LimitsConfig,
    MCPConfig,
    MCPServer,
    Mode,
    ModelEntry,
    PermissionsConfig,
    Pricing,
    Privacy,
    RouteMode,
    RoutingConfig,
    SandboxConfig,
    SandboxPolicy,
    SessionConfig,
    WebConfig,
    default_models,
)

__all__ = [
    "HOSTED_DIALECTS", "LOCAL_DIALECTS", "REPO_CONFIG_NAME", "AgentConfig", "ApprovalPolicy", "ConfigError",
    "ContextConfig", "Dialect", "LimitsConfig", "MCPConfig", "MCPServer", "Mode", "ModelEntry",
    "PermissionsConfig", "Pricing", "Privacy", "RouteMode", "RoutingConfig", "SandboxConfig", "SandboxPolicy",
    "SessionConfig", "WebConfig", "default_models", "find_repo_config", "load_config", "user_config_path",
]  # fmt: skip
