"""The embedding API documents itself: every export of ``agent`` has a docstring and typed signatures."""

from __future__ import annotations

import inspect

import pytest

import agent

EXPORTS = [name for name in agent.__all__ if name not in ("__version__", "events")]


def _own_doc(obj: object) -> str:
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
    name = getattr(obj, "__name__", "")
    if not doc or doc.startswith(f"{name}("):  # dataclasses generate "Name(field, ...)"
        return ""
    return doc


def _untyped(fn: object) -> list[str]:
    try:
        signature = inspect.signature(fn)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return []
    missing = [p.name for p in signature.parameters.values()
               if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    if signature.return_annotation is inspect.Signature.empty and getattr(fn, "__name__", "") != "__init__":
        missing.append("return")
    return missing


@pytest.mark.parametrize("name", EXPORTS)
def test_export_is_documented_and_typed(name):
    obj = getattr(agent, name)
    assert _own_doc(obj), f"agent.{name} has no docstring"
    if inspect.isfunction(obj):
        assert not _untyped(obj), f"agent.{name}: untyped {_untyped(obj)}"
    if inspect.isclass(obj) and not issubclass(obj, Exception):
        for attr, member in vars(obj).items():
            if attr.startswith("_") and attr != "__init__" or not inspect.isfunction(member):
                continue
            if member.__module__ != obj.__module__:  # generated (Protocol, dataclass) or inherited
                continue
            assert not _untyped(member), f"agent.{name}.{attr}: untyped {_untyped(member)}"
            if attr != "__init__":
                assert member.__doc__, f"agent.{name}.{attr} has no docstring"


def test_every_event_is_documented():
    from typing import get_args

    union = get_args(agent.events.Event)[0]
    for event in get_args(union):
        assert _own_doc(event), f"events.{event.__name__} has no docstring"
