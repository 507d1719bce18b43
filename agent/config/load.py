"""Loading the configuration in layers.

Layers, lowest first: defaults < ``~/.config/qagent/config.toml`` < ``<repo>/.qagent.toml``
< environment (``QAGENT_*`` and each model's ``api_key_env``) < CLI flags. Nothing else in qagent
reads ``os.environ``: the environment is read here, once, and passed around as the config tree.

A bad file never produces a traceback: :class:`ConfigError` names the file, the key and what was
expected, and the CLI prints it and exits 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from agent.config.schema import REPO_CONFIG_NAME, AgentConfig, ConfigError, default_models

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib



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
    models: dict[str, Any] = {k: v.model_dump(exclude_none=True) for k, v in default_models().items()}
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
        defaults = {k: v.model_dump(exclude_none=True) for k, v in default_models().items()}
        view["models"] = {
            name: _deep_merge(defaults.get(name, {}), entry) if isinstance(entry, Mapping) else entry
            for name, entry in view["models"].items()
        }
    return view


def _fill_api_keys(config: AgentConfig, env: Mapping[str, str]) -> None:
    for entry in config.models.values():
        if entry.api_key is None and entry.api_key_env and env.get(entry.api_key_env):
            entry.api_key = SecretStr(env[entry.api_key_env])
