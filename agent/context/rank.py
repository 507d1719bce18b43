"""The reference graph between files and its personalised PageRank.

An edge A→B says "A uses a name that B defines", weighted by how often, by how specific the name
is (a name defined in one file says more than ``get``, defined in 300) and by whether it looks
private. Edges also run backwards at a lower weight, because the callers of a changed function
are as likely to need changing as its callees. The graph updates incrementally: editing one file
recomputes only that file's edges, plus those of files whose referenced names moved.

Ranking itself is :mod:`agent.context.pagerank`; this module tells it which rows changed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from agent.context.cache import Entry
from agent.context.pagerank import PageRank

MAX_DEFINERS = 25
"""Names defined in more files than this (``get``, ``run``, ``__init__``) carry no signal."""


@dataclass(frozen=True)
class Weights:
    """Ranking knobs; ``qagent map --calibrate`` tunes them per repository."""

    alpha: float = 0.85
    """PageRank damping: the share of rank that flows along edges rather than teleporting."""
    back: float = 0.5
    """Weight of definer→referencer edges relative to referencer→definer ones."""
    focus: float = 1.0
    edited: float = 1.0
    path: float = 2.0
    """A path mentioned in the task."""
    ident: float = 1.0
    """Files defining identifiers mentioned in the task."""
    lex: float = 0.5
    """Word overlap between the task and a file's path and definition names."""
    test_penalty: float = 0.3
    """Multiplier for test files unless the task talks about tests."""
    direct: float = 0.0
    """Share of a file's own personalisation added to its rank (beyond PageRank's teleport)."""
    sharp: float = 1.0
    """Exponent on normalised identifier/word match scores: above 1 favours the best matches."""

    def to_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, float]) -> Weights:
        names = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in data.items() if k in names})


def name_weight(name: str, definers: int) -> float:
    if definers == 0 or definers > MAX_DEFINERS or len(name) < 3:
        return 0.0
    quality = 1.0
    if name.startswith("__") and name.endswith("__"):
        quality = 0.05
    elif name.startswith("_"):
        quality = 0.3
    return quality / definers


def _discard(index: dict[str, set[str]], name: str, path: str) -> None:
    paths = index.get(name)
    if paths is not None:
        paths.discard(path)
        if not paths:
            del index[name]


class RefGraph:
    """Files, the names they define and use, and weighted edges between them."""

    def __init__(self) -> None:
        self.defines: dict[str, set[str]] = {}
        self.users: dict[str, set[str]] = {}
        self.refs: dict[str, tuple[tuple[str, int], ...]] = {}
        self.defnames: dict[str, frozenset[str]] = {}
        self.out: dict[str, dict[str, float]] = {}
        self.inn: dict[str, dict[str, float]] = {}
        self._ranker = PageRank()
        self._back: float | None = None
        self._nodes_changed = True
        self._dirty_rows: set[str] = set()

    def update(self, entries: Mapping[str, Entry], changed: Iterable[str]) -> None:
        """Re-derive the edges touched by ``changed`` paths (new, edited or removed)."""
        moved: set[str] = set()
        dirty: set[str] = set()
        for path in changed:
            was_node = path in self.defnames or path in self.refs
            old_names = self.defnames.pop(path, frozenset())
            for name, _ in self.refs.pop(path, ()):
                _discard(self.users, name, path)
            entry = entries.get(path)
            is_node = entry is not None and bool(entry.defs or entry.refs)
            self._nodes_changed |= was_node != is_node
            dirty.add(path)
            names = frozenset(d[0] for d in entry.defs) if is_node else frozenset()  # type: ignore[union-attr]
            for name in old_names - names:
                _discard(self.defines, name, path)
            for name in names - old_names:
                self.defines.setdefault(name, set()).add(path)
            moved |= old_names ^ names  # only names whose definers changed move other files' edges
            if not is_node:
                continue
            self.defnames[path] = names
            self.refs[path] = entry.refs  # type: ignore[union-attr]
            for name, _ in entry.refs:  # type: ignore[union-attr]
                self.users.setdefault(name, set()).add(path)
        for name in moved:
            dirty |= self.users.get(name, set())
        for path in dirty:
            self._edges_of(path)

    def _edges_of(self, src: str) -> None:
        edges: dict[str, float] = {}
        for name, count in self.refs.get(src, ()):
            definers = self.defines.get(name)
            if not definers:
                continue
            w = name_weight(name, len(definers))
            if not w:
                continue
            w *= math.sqrt(count)
            for dst in definers:
                if dst != src:
                    edges[dst] = edges.get(dst, 0.0) + w
        old = self.out.pop(src, {})
        if edges == old:
            if edges:
                self.out[src] = edges
            return
        for dst in old:
            _discard_edge(self.inn, dst, src)
        for dst, w in edges.items():
            self.inn.setdefault(dst, {})[src] = w
        if edges:
            self.out[src] = edges
        self._dirty_rows |= {src, *old, *edges}

    def _row(self, node: str) -> dict[str, float]:
        """Forward edges plus ``back`` × reverse edges of one node."""
        row = dict(self.out.get(node, {}))
        if self._back:
            for src, w in self.inn.get(node, {}).items():
                row[src] = row.get(src, 0.0) + self._back * w
        return row

    def pagerank(
        self,
        personal: Mapping[str, float],
        alpha: float,
        back: float,
        start: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        """Personalised PageRank; dangling rank and teleports follow ``personal`` (uniform if empty)."""
        if self._nodes_changed or back != self._back:
            self._back = back
            nodes = sorted(set(self.defnames) | set(self.refs))
            self._ranker.rebuild(nodes, self._row)
            self._nodes_changed = False
        elif self._dirty_rows:
            self._ranker.patch(self._dirty_rows & set(self._ranker.index), self._row)
        self._dirty_rows = set()
        return self._ranker.solve(personal, alpha, start=start)


def _discard_edge(index: dict[str, dict[str, float]], dst: str, src: str) -> None:
    row = index.get(dst)
    if row is not None:
        row.pop(src, None)
        if not row:
            del index[dst]
