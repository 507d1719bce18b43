"""Configuration: one pydantic tree, loaded in layers.

Layers, lowest first: defaults < ``~/.config/qagent/config.toml`` < ``<repo>/.qagent.toml``
< environment (``QAGENT_*`` and each model's ``api_key_env``) < CLI flags. Nothing else in qagent
reads ``os.environ``: the environment is read here, once, and passed around as this tree.

A bad file never produces a traceback: :class:`ConfigError` names the file, the key and what was
expected, and the CLI prints it and exits 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

Dialect = Literal["ollama", "vllm", "llamacpp", "sglang", "deepseek", "openai"]
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
    """Whether requests leave this machine; derived from base_url when unset."""
    vision: bool = False
    """Whether the model accepts images."""
    pricing: Pricing = Pricing()
    """Price table for this model."""
    reasoning_effort: Literal["low", "high", "max"] = "high"
    """Effort sent with thinking mode where the dialect supports it (DeepSeek)."""

    @property
    def is_remote(self) -> bool:
        """True when the endpoint is not on this machine (privacy decisions hinge on this)."""
        if self.remote is not None:
            return self.remote
        from urllib.parse import urlparse

        host = (urlparse(self.base_url).hostname or "").lower()
        return not (host in {"localhost", "::1"} or host.startswith("127."))


def _default_models() -> dict[str, ModelEntry]:
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

    models: dict[str, ModelEntry] = Field(default_factory=_default_models)
    routing: RoutingConfig = RoutingConfig()
    limits: LimitsConfig = LimitsConfig()
    permissions: PermissionsConfig = PermissionsConfig()
    sandbox: SandboxConfig = SandboxConfig()
    web: WebConfig = WebConfig()
    session: SessionConfig = SessionConfig()
    context: ContextConfig = ContextConfig()
    mcp: MCPConfig = MCPConfig()

    def model_entry(self, name: str) -> ModelEntry:
        """The named model entry, or a ConfigError listing the names that exist."""
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models)) or "none"
            raise ConfigError(f"no model named {name!r} in [models] (configured: {known})") from None


# ---------------------------------------------------------------- loading


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "qagent" / "config.toml"


def find_repo_config(cwd: Path) -> Path | None:
    """The nearest .qagent.toml from cwd upwards, stopping at the git root."""
    cwd = cwd.resolve()
    for folder in (cwd, *cwd.parents):
        candidate = folder / REPO_CONFIG_NAME
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return None
    return None


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _env_layer(env: Mapping[str, str]) -> dict[str, Any]:
    """QAGENT_SECTION__KEY=value (double underscore nests), e.g. QAGENT_ROUTING__PRIVACY=local-only.

    Values are parsed as TOML scalars when they look like one (numbers, booleans, arrays),
    else kept as strings. Short aliases: QAGENT_PRIVACY, QAGENT_APPROVAL, QAGENT_MODE.
    """
    aliases = {
        "QAGENT_PRIVACY": "routing__privacy",
        "QAGENT_APPROVAL": "permissions__approval",
        "QAGENT_MODE": "routing__thinking",
        "QAGENT_ROUTE": "routing__mode",
        "QAGENT_SANDBOX": "sandbox__policy",
    }
    layer: dict[str, Any] = {}
    for name, raw in env.items():
        if name in aliases:
            dotted = aliases[name]
        elif name.startswith("QAGENT_") and "__" in name:
            dotted = name[len("QAGENT_") :].lower()
        else:
            continue
        keys = dotted.split("__")
        node = layer
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = _parse_scalar(raw)
    return layer


def _parse_scalar(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _describe(error: ValidationError, source: str) -> ConfigError:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown key '{key}'")
        else:
            got = item.get("input")
            shown = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"{source}: key '{key}': {item['msg']}{shown}")
    return ConfigError("\n".join(lines))


def load_config(
    cwd: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    user_file: Path | None = None,
    use_user_file: bool = True,
) -> AgentConfig:
    """Build the config for a workspace: defaults < user file < repo file < env < overrides.

    Each layer is validated on its own first, so an error names the file it came from.
    """
    env = dict(os.environ if env is None else env)
    cwd = Path(cwd or Path.cwd())
    layers: list[tuple[str, dict[str, Any]]] = []
    user_path = user_file or user_config_path(env)
    if use_user_file and user_path.is_file():
        layers.append((str(user_path), _read_toml(user_path)))
    repo_path = find_repo_config(cwd)
    if repo_path is not None:
        layers.append((str(repo_path), _read_toml(repo_path)))
    env_layer = _env_layer(env)
    if env_layer:
        layers.append(("environment (QAGENT_*)", env_layer))
    if overrides:
        layers.append(("command-line flags", dict(overrides)))

    merged: dict[str, Any] = AgentConfig().model_dump(exclude_none=True)
    merged.pop("models")
    models: dict[str, Any] = {k: v.model_dump(exclude_none=True) for k, v in _default_models().items()}
    for source, layer in layers:
        try:
            AgentConfig.model_validate(_partial_view(layer))
        except ValidationError as exc:
            raise _describe(exc, source) from None
        layer = dict(layer)
        for name, entry in (layer.pop("models", None) or {}).items():
            models[name] = _deep_merge(models.get(name, {}), entry)
        merged = _deep_merge(merged, layer)
    merged["models"] = models
    try:
        config = AgentConfig.model_validate(merged)
    except ValidationError as exc:
        raise _describe(exc, "merged configuration") from None
    _fill_api_keys(config, env)
    return config


def _partial_view(layer: Mapping[str, Any]) -> dict[str, Any]:
    """A layer as a validatable document: model entries may be partial overrides of defaults."""
    view = dict(layer)
    if "models" in view:
        if not isinstance(view["models"], Mapping):
            return view
        defaults = {k: v.model_dump(exclude_none=True) for k, v in _default_models().items()}
        view["models"] = {
            name: _deep_merge(defaults.get(name, {}), entry) if isinstance(entry, Mapping) else entry
            for name, entry in view["models"].items()
        }
    return view


def _fill_api_keys(config: AgentConfig, env: Mapping[str, str]) -> None:
    for entry in config.models.values():
        if entry.api_key is None and entry.api_key_env and env.get(entry.api_key_env):
            entry.api_key = SecretStr(env[entry.api_key_env])
