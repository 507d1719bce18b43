"""The configuration tree: one pydantic model per section, with a docstring per field (the docs).

Loading the layers (files, environment, flags) is :mod:`agent.config.load`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

Dialect = Literal["ollama", "vllm", "llamacpp", "sglang", "deepseek", "openai"]
LOCAL_DIALECTS = ("ollama", "vllm", "llamacpp", "sglang")
"""Servers people run themselves (all serve Qwen 3.5 here)."""
HOSTED_DIALECTS = ("deepseek", "openai")
"""APIs that are hosted by a provider: entries with these dialects count as remote by default."""
Mode = Literal["auto", "thinking", "fast"]
RouteMode = Literal["auto", "local", "remote"]
Privacy = Literal["normal", "local-only"]
ApprovalPolicy = Literal["read-only", "ask", "auto-edit", "full-auto"]
SandboxPolicy = Literal["auto", "bwrap", "off"]

REPO_CONFIG_NAME = ".qagent.toml"


class ConfigError(Exception):
    """A configuration problem a user can fix; the message says where and how."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Pricing(_Section):
    """USD per million tokens. Local models cost 0 but their tokens are still counted."""

    input_cache_hit: float = 0.0
    """Price of prompt tokens served from the provider's prefix cache."""
    input_cache_miss: float = 0.0
    """Price of prompt tokens not in the cache (all prompt tokens when the server reports no split)."""
    output: float = 0.0
    """Price of completion tokens, reasoning included."""


class ModelEntry(_Section):
    """One OpenAI-compatible endpoint + model. Any number can be configured; the router uses
    ``routing.local`` and ``routing.remote`` by name."""

    base_url: str
    """Base URL of the OpenAI-compatible API, e.g. ``http://localhost:11434/v1``."""
    model: str
    """Model id sent in requests."""
    dialect: Dialect = "openai"
    """Which server this is; decides the thinking switch, reasoning field and usage fields."""
    context_window: int = Field(65536, gt=0)
    """Tokens the server really keeps (for Ollama: its num_ctx, not the model's trained maximum)."""
    max_output_tokens: int = Field(8192, gt=0)
    """Tokens reserved for each reply."""
    api_key_env: str | None = None
    """Environment variable holding the API key (read at load time)."""
    api_key: SecretStr | None = None
    """The key itself; normally filled from ``api_key_env``, never written to logs."""
    remote: bool | None = None
    """Whether requests leave this machine. Unset: hosted dialects (deepseek, openai) and entries with an
    api_key_env count as remote, others by whether base_url is a loopback address."""
    vision: bool = False
    """Whether the model accepts images."""
    pricing: Pricing = Pricing()
    """Price table for this model."""
    reasoning_effort: Literal["low", "high", "max"] = "high"
    """Effort sent with thinking mode where the dialect supports it (DeepSeek)."""

    @property
    def is_remote(self) -> bool:
        """True when requests to this entry may leave this machine (privacy and redaction hinge on it).

        ``remote`` decides when set. Otherwise a hosted dialect (deepseek, openai) or an API key
        counts as remote even on a loopback URL: a local proxy to DeepSeek still sends the data
        away. Only a keyless local-server dialect on a loopback host counts as local.
        """
        return self.remote_reason() is not None

    def remote_reason(self) -> str | None:
        """Why this entry counts as remote (for doctor), or None when it is local."""
        if self.remote is not None:
            return "remote = true" if self.remote else None
        if self.dialect in HOSTED_DIALECTS:
            return f"dialect {self.dialect} is a hosted API (set remote = false for a local server)"
        if self.api_key_env:
            return f"it needs an API key ({self.api_key_env}; set remote = false for a local server)"
        from urllib.parse import urlparse

        host = (urlparse(self.base_url).hostname or "").lower()
        if host in {"localhost", "::1"} or host.startswith("127."):
            return None
        return f"{host or self.base_url} is not a loopback address"

    def may_contact(self, privacy: Privacy) -> bool:
        """Whether a request may be sent to this entry under ``privacy`` (local-only: local entries only)."""
        return privacy != "local-only" or not self.is_remote

    @property
    def family(self) -> str:
        """Tokenizer family for counting (``agent.context.tokens``): deepseek, qwen or generic."""
        if self.dialect == "deepseek":
            return "deepseek"
        return "qwen" if self.dialect in LOCAL_DIALECTS else "generic"


def default_models() -> dict[str, ModelEntry]:
    return {
        "local": ModelEntry(
            base_url="http://localhost:11434/v1",
            model="qwen3.5:9b",
            dialect="ollama",
            context_window=65536,
            max_output_tokens=16384,
            vision=True,
        ),
        "remote": ModelEntry(
            base_url="https://api.deepseek.com",
            model="deepseek-v4-pro",
            dialect="deepseek",
            context_window=1_000_000,
            max_output_tokens=32768,
            api_key_env="DEEPSEEK_API_KEY",
            pricing=Pricing(input_cache_hit=0.044, input_cache_miss=1.32, output=3.96),
        ),
    }


class RoutingConfig(_Section):
    mode: RouteMode = "auto"
    """auto lets the router choose; local/remote pins every step to that model."""
    privacy: Privacy = "normal"
    """local-only: nothing is ever sent to a remote endpoint (enforced in the provider layer too)."""
    local: str = "local"
    """Name of the [models.*] entry used for local work."""
    remote: str = "remote"
    """Name of the [models.*] entry used for repository-scale reasoning."""
    thinking: Mode = "auto"
    """auto | thinking | fast: the thinking switch per step."""
    architect: bool = True
    """Let the remote model plan repo-scale tasks and the local model apply per-file edits."""
    escalate_after_failures: int = Field(2, ge=1)
    """Failed local edits before a step moves to the remote model in thinking mode."""


class LimitsConfig(_Section):
    max_turns: int = Field(50, ge=1)
    """Model requests per prompt before the loop stops."""
    max_cost: float | None = None
    """USD per session; the loop stops cleanly when the next step would pass it."""
    max_tool_calls_per_reply: int = Field(32, ge=1)
    """Tool calls executed from one reply; the rest are answered with an error."""
    repeat_limit: int = Field(3, ge=2)
    """The same failing call this many times in a row stops the loop."""
    request_timeout_s: float = Field(600.0, gt=0)
    """Overall deadline of one model request."""
    idle_timeout_s: float = Field(120.0, gt=0)
    """A stream that sends no data (keep-alive comments do not count) for this long is abandoned."""
    max_retries: int = Field(4, ge=0)
    """Retries for 429/5xx/connection errors, with backoff honouring Retry-After."""


class PermissionsConfig(_Section):
    approval: ApprovalPolicy = "ask"
    """read-only | ask | auto-edit | full-auto."""
    allow_commands: list[str] = []
    """Shell command prefixes that never ask (e.g. "pytest", "npm test")."""
    deny_commands: list[str] = []
    """Shell command prefixes that are always refused."""
    allow_paths: list[str] = []
    """Globs (repo-relative) that may be edited without asking."""
    deny_paths: list[str] = []
    """Globs that may never be read or written by tools."""


class SandboxConfig(_Section):
    policy: SandboxPolicy = "auto"
    """auto: bwrap where it works, else Landlock, else none with a Notice; bwrap: require it; off."""
    network: bool = False
    """Allow shell commands to use the network."""
    extra_ro_binds: list[str] = []
    """Extra host paths visible read-only inside the sandbox (toolchains, caches)."""


class WebConfig(_Section):
    enabled_in_local_only: bool = False
    """web_fetch reaches the internet; in local-only privacy mode it is off unless this is true."""
    max_bytes: int = 5_000_000
    """Largest response body web_fetch downloads."""
    timeout_s: float = 20.0


class SessionConfig(_Section):
    data_dir: str | None = None
    """Where session logs live; default: the platform's user data dir (~/.local/share/qagent)."""
    auto_commit: bool = False
    """Commit the agent's changes after each turn (off: checkpoints only, your branch is untouched)."""
    checkpoints: bool = True
    """Checkpoint the working tree before each turn's first change so /undo can restore it."""


class ContextConfig(_Section):
    pack: bool = True
    """Pack the repository (ranked files in full + a map of the rest) into each request, in git repos."""
    local_pack_tokens: int = Field(8192, ge=0)
    """Pack budget for local models (also capped at a quarter of the model's window)."""
    remote_pack_tokens: int = Field(65536, ge=0)
    """Pack budget for remote long-context models (also capped at a quarter of the window)."""
    compact_threshold: float = Field(0.8, gt=0.1, le=1.0)
    """Compact the conversation when it fills this share of what the window leaves for it."""


class MCPServer(_Section):
    command: str | None = None
    args: list[str] = []
    env: dict[str, str] = {}
    url: str | None = None


class MCPConfig(_Section):
    servers: dict[str, MCPServer] = {}


class AgentConfig(_Section):
    """The whole configuration tree (the file format in DESIGN.md)."""

    models: dict[str, ModelEntry] = Field(default_factory=default_models)
    routing: RoutingConfig = RoutingConfig()
    limits: LimitsConfig = LimitsConfig()
    permissions: PermissionsConfig = PermissionsConfig()
    sandbox: SandboxConfig = SandboxConfig()
    web: WebConfig = WebConfig()
    session: SessionConfig = SessionConfig()
    context: ContextConfig = ContextConfig()
    mcp: MCPConfig = MCPConfig()

    def pack_budget(self, name: str) -> int:
        """Tokens of repository pack for model ``name``: the configured budget for its kind (local or
        remote), capped at a quarter of its window so the conversation keeps room."""
        entry = self.model_entry(name)
        wanted = self.context.remote_pack_tokens if entry.is_remote else self.context.local_pack_tokens
        return max(0, min(wanted, entry.context_window // 4))

    def model_entry(self, name: str) -> ModelEntry:
        """The named model entry, or a ConfigError listing the names that exist."""
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models)) or "none"
            raise ConfigError(f"no model named {name!r} in [models] (configured: {known})") from None
