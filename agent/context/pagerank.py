"""Personalised PageRank that stays cheap while the graph changes a little at a time.

Plain Python over integer-indexed adjacency rows (no numpy/networkx: a repository graph has at
most tens of thousands of edges). A full solve is power iteration. After a local change (one file
edited) with the same personalisation, the previous solution is corrected instead of recomputed:
the old fixed point x leaves a residual r = α·(W_new − W_old)·x only at the rows that changed,
and Gauss-Southwell "push" steps move that residual into x until every entry is below ε. That
touches the neighbourhood of the edit, not the whole graph.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping

Row = tuple[tuple[int, ...], tuple[float, ...]]
PUSH_EPS = 1e-10
MAX_PUSHES = 400_000


class PageRank:
    """Rows are rebuilt only where the graph changed; solutions are cached per personalisation."""

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.index: dict[str, int] = {}
        self.rows: list[Row] = []
        self._key: object = None
        self._x: list[float] = []
        self._p: list[float] = []
        self._stale: dict[int, Row] | None = None
        """Old rows of nodes changed since the last solve; None means "solve from scratch"."""

    def rebuild(self, nodes: list[str], row_of: Callable[[str], dict[str, float]]) -> None:
        self.nodes, self.index = nodes, {n: i for i, n in enumerate(nodes)}
        self.rows = [self._row(row_of(n)) for n in nodes]
        self._stale = None

    def patch(self, changed: set[str], row_of: Callable[[str], dict[str, float]]) -> None:
        """Recompute the rows of ``changed`` nodes (the node set itself must be unchanged)."""
        for node in changed:
            i = self.index[node]
            if self._stale is not None and i not in self._stale:
                self._stale[i] = self.rows[i]
            self.rows[i] = self._row(row_of(node))

    def _row(self, weights: dict[str, float]) -> Row:
        total = sum(weights.values())
        items = sorted((self.index[k], v / total) for k, v in weights.items() if v > 0)
        return tuple(k for k, _ in items), tuple(v for _, v in items)

    def solve(
        self,
        personal: Mapping[str, float],
        alpha: float,
        tol: float = 1e-6,
        start: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        """The PageRank vector; ``start`` (e.g. a solution saved by an earlier process) seeds it."""
        n = len(self.nodes)
        if n == 0:
            return {}
        key = (tuple(sorted((k, v) for k, v in personal.items() if k in self.index and v > 0)), alpha, n)
        if key == self._key and self._stale is not None:
            if self._stale:
                self._push(alpha)
            self._stale = {}
            return dict(zip(self.nodes, self._x, strict=True))
        p = [0.0] * n
        for path, value in key[0]:
            p[self.index[path]] += value
        total = sum(p)
        self._p = [v / total for v in p] if total > 0 else [1.0 / n] * n
        if len(self._x) == n:
            seed = self._x
        elif start:
            seed = [start.get(node, q) for node, q in zip(self.nodes, self._p, strict=True)]
        else:
            seed = list(self._p)
        self._x = self._power(seed, alpha, tol)
        self._key, self._stale = key, {}
        return dict(zip(self.nodes, self._x, strict=True))

    def _power(self, x: list[float], alpha: float, tol: float, max_iter: int = 100) -> list[float]:
        p, rows = self._p, self.rows
        for _ in range(max_iter):
            nxt = [(1 - alpha) * v for v in p]
            dangling = 0.0
            for i, (targets, ws) in enumerate(rows):
                mass = x[i]
                if not mass:
                    continue
                if not targets:
                    dangling += mass
                    continue
                share = alpha * mass
                for t, w in zip(targets, ws, strict=True):
                    nxt[t] += share * w
            if dangling:
                spread = alpha * dangling
                nxt = [v + spread * q for v, q in zip(nxt, p, strict=True)]
            delta = sum(abs(a - b) for a, b in zip(nxt, x, strict=True))
            x = nxt
            if delta < tol:
                break
        return x

    def _drain(self, queue: deque[int], residual: dict[int, float], alpha: float, pushes: int) -> tuple[float, int]:
        """Push residuals from the queue into x until it empties or MAX_PUSHES is reached; returns the
        residual that dangling rows spill over every node, and the pushes done so far."""
        x, rows, spill = self._x, self.rows, 0.0
        while queue and pushes < MAX_PUSHES:
            j = queue.popleft()
            r = residual.get(j, 0.0)
            if abs(r) <= PUSH_EPS:
                continue
            residual[j] = 0.0
            x[j] += r
            pushes += 1
            targets, ws = rows[j]
            if not targets:
                spill += alpha * r
                continue
            share = alpha * r
            for t, w in zip(targets, ws, strict=True):
                before = residual.get(t, 0.0)
                after = before + share * w
                residual[t] = after
                if abs(before) <= PUSH_EPS < abs(after):
                    queue.append(t)
        return spill, pushes

    def _push(self, alpha: float) -> None:
        """Correct x for the rows in ``_stale`` by pushing the residual they created."""
        x, p, rows = self._x, self._p, self.rows
        residual: dict[int, float] = {}
        spill = 0.0  # residual bound for "every node, proportionally to p" (dangling rows)

        def add_row(row: Row, amount: float) -> float:
            targets, ws = row
            if not targets:
                return amount
            for t, w in zip(targets, ws, strict=True):
                residual[t] = residual.get(t, 0.0) + amount * w
            return 0.0

        for i, old in (self._stale or {}).items():  # r = α·Σ x_i·(R_i,new − R_i,old)
            spill += add_row(rows[i], alpha * x[i])
            spill += add_row(old, -alpha * x[i])
        pushes = 0
        while True:
            if abs(spill) > PUSH_EPS:
                for j, q in enumerate(p):
                    if q:
                        residual[j] = residual.get(j, 0.0) + spill * q
                spill = 0.0
            queue = deque(j for j, r in residual.items() if abs(r) > PUSH_EPS)
            if not queue:
                return
            drained, pushes = self._drain(queue, residual, alpha, pushes)
            spill += drained
            if pushes >= MAX_PUSHES:  # a change too wide for pushing: finish with power iteration
                self._x = self._power(x, alpha, 1e-7)
                return
