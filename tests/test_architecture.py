"""The shape of the code, held by tests: imports point one way, no cycles, no private reach-ins,
small modules. The layers are DESIGN.md's; a change that breaks one of these should change the
design on purpose, not by drift."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "tools", "prompts")
MAX_LINES = 400
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("front ends", ("agent", "agent.cli", "agent.tui", "agent.batch")),
    ("wiring", ("agent.wiring", "agent.testing")),
    ("services", ("agent.git", "agent.session", "agent.mcp", "agent.doctor")),
    ("core", ("agent.core",)),
    ("parts", ("agent.providers", "agent.context", "agent.policy")),
    ("values", ("agent.config", "agent.messages", "agent.events", "agent.fsutil", "agent._version")),
    ("tools", ("tools", "prompts")),
)
"""Top to bottom. ``agent`` alone is ``agent/__init__.py``, the embedding front end."""
NAMEDTUPLE_API = {"_replace", "_make", "_asdict", "_fields", "_field_defaults"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


@cache
def tree(name: str) -> ast.Module:
    return ast.parse(modules()[name].read_text(encoding="utf-8"))


def _type_checking_only(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _walk_runtime(node: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:`` (annotations only, never imported)."""
    for child in ast.iter_child_nodes(node):
        if _type_checking_only(child):
            continue
        yield child
        yield from _walk_runtime(child)


def imports_of(name: str) -> set[str]:
    """The project modules ``name`` imports at run time (module level or inside functions)."""
    known = modules()
    found: set[str] = set()
    for node in _walk_runtime(tree(name)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            targets = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                       for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def layer_of(name: str) -> int:
    best, depth = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > depth:
                best, depth = index, len(prefix)
    assert best >= 0, f"{name} is in no layer: add it to LAYERS (and DESIGN.md)"
    return best


def test_imports_point_down_the_layers() -> None:
    upward = []
    for name in modules():
        for target in imports_of(name):
            if layer_of(target) < layer_of(name):
                upward.append(f"{name} ({LAYERS[layer_of(name)][0]}) imports {target} "
                              f"({LAYERS[layer_of(target)][0]})")
    assert upward == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_of(name: str) -> str:
    """The unit the layers name: ``agent.core.agent`` → ``agent.core``; ``agent.wiring`` stays."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "agent" else parts[0]


def test_no_import_cycles_between_modules_or_packages() -> None:
    module_graph = {name: imports_of(name) for name in modules()}
    package_graph: dict[str, set[str]] = {}
    for name, targets in module_graph.items():
        package_graph.setdefault(package_of(name), set()).update(
            package_of(t) for t in targets if package_of(t) != package_of(name) and package_of(name) != "agent")
    assert _cycles(module_graph) == []
    assert _cycles(package_graph) == []


def _own_private_names(module: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, attributes and assignments."""
    names: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if n.startswith("_")}


def test_no_private_attribute_is_used_from_another_module() -> None:
    reach_ins = []
    for name in modules():
        module = tree(name)
        own = _own_private_names(module)
        for node in ast.walk(module):
            if not isinstance(node, ast.Attribute):
                continue
            attr = node.attr
            if not attr.startswith("_") or attr.startswith("__") or attr in own or attr in NAMEDTUPLE_API:
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            reach_ins.append(f"{name}:{node.lineno} uses .{attr}")
    assert reach_ins == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_modules_stay_small(name: str) -> None:
    lines = modules()[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines (limit {MAX_LINES}): split it by responsibility"


def test_agent_package_top_level_stays_small() -> None:
    top = [p.name for p in (ROOT / "agent").glob("*.py")]
    assert len(top) <= 10, sorted(top)
