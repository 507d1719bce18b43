"""Command-line flags that several commands share: their choices come from the config's types, so a
new mode or policy is accepted everywhere it is configured, and the flags become the top config layer."""

from __future__ import annotations

from typing import Any, get_args

import typer

from agent.config import ApprovalPolicy, Mode, Privacy, RouteMode

MODES, ROUTES, APPROVALS, PRIVACIES = get_args(Mode), get_args(RouteMode), get_args(ApprovalPolicy), get_args(Privacy)


def choices_help(choices: tuple[str, ...]) -> str:
    return " | ".join(choices)


def check_choice(value: str | None, choices: tuple[str, ...], flag: str) -> None:
    """A usage error (exit 2) naming the flag and its choices when ``value`` is not one of them."""
    if value is not None and value not in choices:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}", param_hint=flag)


def flag_overrides(mode: str | None = None, route: str | None = None, approval: str | None = None,
                   max_turns: int | None = None, max_cost: float | None = None,
                   privacy: str | None = None) -> dict[str, Any]:
    """CLI flags as a config layer (the highest one). ``--model`` is not a config value: front ends
    pin it on the agent (``Agent.pin_model``)."""
    overrides: dict[str, Any] = {}
    routing = {key: value for key, value in (("thinking", mode), ("mode", route), ("privacy", privacy)) if value}
    if routing:
        overrides["routing"] = routing
    if approval:
        overrides["permissions"] = {"approval": approval}
    limits: dict[str, Any] = {}
    if max_turns:
        limits["max_turns"] = max_turns
    if max_cost is not None:
        limits["max_cost"] = max_cost
    if limits:
        overrides["limits"] = limits
    return overrides
