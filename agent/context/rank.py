"""The reference graph between files and its personalised PageRank.

An edge A→B says "A uses a name that B defines", weighted by how often, by how specific the name
is (a name defined in one file says more than ``get``, defined in 300) and by whether it looks
private. Edges also run backwards at a lower weight, because the callers of a changed function
are as likely to need changing as its callees. The graph updates incrementally: editing one file
recomputes only that file's edges, plus those of files whose referenced names moved.

PageRank is plain power iteration over integer-indexed adjacency lists, warm-started from the
previous result, so a re-rank after a small change converges in a few sweeps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from agent.context.cache import Entry

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
        self._adj: tuple[list[str], list[tuple[tuple[int, ...], tuple[float, ...]]]] | None = None
        self._adj_back = -1.0
        self._last: dict[str, float] = {}

    def update(self, entries: Mapping[str, Entry], changed: Iterable[str]) -> None:
        """Re-derive the edges touched by ``changed`` paths (new, edited or removed)."""
        moved: set[str] = set()
        dirty: set[str] = set()
        for path in changed:
            for name in self.defnames.pop(path, frozenset()):
                _discard(self.defines, name, path)
                moved.add(name)
            for name, _ in self.refs.pop(path, ()):
                _discard(self.users, name, path)
            entry = entries.get(path)
            if entry is None or not (entry.defs or entry.refs):
                self.out.pop(path, None)
                continue
            names = frozenset(d[0] for d in entry.defs)
            self.defnames[path] = names
            for name in names:
                self.defines.setdefault(name, set()).add(path)
                moved.add(name)
            self.refs[path] = entry.refs
            for name, _ in entry.refs:
                self.users.setdefault(name, set()).add(path)
            dirty.add(path)
        for name in moved:
            dirty |= self.users.get(name, set())
        for path in dirty:
            self._edges_of(path)
        self._adj = None

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
        if edges:
            self.out[src] = edges
        else:
            self.out.pop(src, None)

    def _adjacency(self, back: float) -> tuple[list[str], list[tuple[tuple[int, ...], tuple[float, ...]]]]:
        """Nodes sorted by path and, per node, normalised out-edges (forward plus ``back``×reverse)."""
        if self._adj is not None and self._adj_back == back:
            return self._adj
        nodes = sorted(set(self.out) | {d for e in self.out.values() for d in e} | set(self.defnames))
        index = {n: i for i, n in enumerate(nodes)}
        merged: list[dict[int, float]] = [{} for _ in nodes]
        for src, edges in self.out.items():
            s = index[src]
            for dst, w in edges.items():
                d = index[dst]
                merged[s][d] = merged[s].get(d, 0.0) + w
                if back:
                    merged[d][s] = merged[d].get(s, 0.0) + back * w
        adj = []
        for row in merged:
            total = sum(row.values())
            items = sorted(row.items())
            adj.append((tuple(k for k, _ in items), tuple(v / total for _, v in items)))
        self._adj, self._adj_back = (nodes, adj), back
        return self._adj

    def pagerank(self, personal: Mapping[str, float], alpha: float, back: float,
                 tol: float = 1e-7, max_iter: int = 60) -> dict[str, float]:  # fmt: skip
        """Personalised PageRank; dangling rank and teleports follow ``personal`` (uniform if empty)."""
        nodes, adj = self._adjacency(back)
        n = len(nodes)
        if n == 0:
            return {}
        index = {p: i for i, p in enumerate(nodes)}
        p = [0.0] * n
        for path, value in personal.items():
            if path in index and value > 0:
                p[index[path]] += value
        total = sum(p)
        p = [x / total for x in p] if total > 0 else [1.0 / n] * n
        last = self._last
        r = [last.get(node, 0.0) for node in nodes] if last else list(p)
        s = sum(r)
        r = [x / s for x in r] if s > 0 else list(p)
        for _ in range(max_iter):
            nxt = [(1 - alpha) * x for x in p]
            dangling = 0.0
            for i, (targets, ws) in enumerate(adj):
                mass = r[i]
                if not mass:
                    continue
                if not targets:
                    dangling += mass
                    continue
                share = alpha * mass
                for t, w in zip(targets, ws):
                    nxt[t] += share * w
            if dangling:
                spread = alpha * dangling
                nxt = [x + spread * q for x, q in zip(nxt, p)]
            delta = sum(abs(a - b) for a, b in zip(nxt, r))
            r = nxt
            if delta < tol:
                break
        result = dict(zip(nodes, r))
        self._last = result
        return result
