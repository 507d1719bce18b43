"""The repository map: which files matter for a task, and their signatures within a token budget.

``RepoMap`` keeps the tag index (``cache.TagCache``) and the reference graph (``rank.RefGraph``)
in step with the work tree, ranks files by personalised PageRank (personalised towards files in
the conversation, edited files, and whatever the task mentions), and renders the best-ranked
files' definition lines. Rendering picks how many files fit by binary search over cumulative
token counts, then verifies the joined text with the real tokenizer.
"""

from __future__ import annotations

import bisect
import functools
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from agent.context import query as q
from agent.context.cache import Entry, TagCache, UpdateStats
from agent.context.rank import MAX_DEFINERS, RefGraph, Weights, name_weight
from agent.context.tokens import count_tokens
from agent.context.workspace import is_test_path

TIERS = ((3, 10), (15, 3), (10**9, 1))
"""(files up to this rank, definition lines shown per file). Detail fades fast with rank: a
file's existence and its main definition are what a model needs to decide what to open, and
showing three times as many files at one line each found far more of the files that past
commits went on to change (bench/recall.py) than showing a third as many in detail."""
SCHEDULES = (TIERS, ((10**9, 1),), ((10**9, 0),))


F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    """One caller at a time: tool calls run in threads and may share a map with the router."""

    @functools.wraps(method)
    def wrapper(self: RepoMap, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class RankedFile(NamedTuple):
    path: str
    score: float


@dataclass(frozen=True)
class RenderedMap:
    text: str
    tokens: int
    files: tuple[str, ...]
    """Files in the map, in the order they appear."""


class RepoMap:
    """Ranks and renders one repository; keep one instance per session for warm updates."""

    def __init__(
        self, root: Path | str, cache_dir: Path | str | None = None, weights: Weights | None = None
    ) -> None:
        self.root = Path(root)
        self.cache: TagCache | None = TagCache(self.root, Path(cache_dir) if cache_dir else None)
        self.entries: Mapping[str, Entry] = self.cache.files
        self._weights = weights
        self.graph = RefGraph()
        self.terms: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self.df: Counter[str] = Counter()
        self.last_update: UpdateStats | None = None
        self._synced = False
        self._block_tokens: dict[tuple[object, ...], int] = {}
        self._names: tuple[set[str], dict[str, list[str]]] | None = None
        self._blocks: dict[tuple[object, ...], str] = {}
        self._zeros: list[RankedFile] | None = None
        self._lock = threading.RLock()

    @classmethod
    def from_entries(cls, entries: Mapping[str, Entry], weights: Weights | None = None) -> RepoMap:
        """A map over given entries (e.g. a past commit's tree), without touching disk."""
        self = cls.__new__(cls)
        self.root, self.cache, self.entries, self._weights = Path(), None, entries, weights
        self.graph, self.terms, self.df = RefGraph(), {}, Counter()
        self.last_update, self._synced, self._block_tokens, self._names = None, True, {}, None
        self._blocks, self._zeros, self._lock = {}, None, threading.RLock()
        self._reindex(set(entries))
        return self

    @_locked
    def set_entries(self, entries: Mapping[str, Entry]) -> None:
        """Switch a :meth:`from_entries` map to another tree, re-deriving only what differs."""
        old = self.entries
        changed = {p for p, e in entries.items() if p not in old or old[p].digest != e.digest}
        changed |= {p for p in old if p not in entries}
        self.entries = entries
        self._reindex(changed)

    @property
    def weights(self) -> Weights:
        """The ranking weights: given ones, else those calibrated for this repository, else defaults."""
        if self._weights is not None:
            return self._weights
        stored = self.cache.settings.get("weights") if self.cache else None
        return Weights.from_dict(stored) if stored else Weights()

    @weights.setter
    def weights(self, weights: Weights | None) -> None:
        self._weights = weights

    @_locked
    def refresh(self, code_only: bool = True) -> UpdateStats | None:
        """Bring the index and graph in line with the work tree; parses only changed files.

        The map needs source files only (``code_only``); the packer asks for a full scan.
        """
        if self.cache is None:
            return None
        stats = self.cache.update(code_only=code_only and self._synced)
        self._reindex(stats.changed if self._synced else set(self.cache.files))
        self._synced = True
        self.cache.maybe_save()
        self.last_update = stats
        return stats

    def flush(self) -> None:
        """Write pending index changes now (otherwise small updates are written at exit)."""
        if self.cache is not None:
            self.cache.save()

    def _reindex(self, changed: set[str]) -> None:
        entries = self.entries
        self.graph.update(entries, changed)
        for path in changed:
            old = self.terms.pop(path, None)
            if old:
                self.df.subtract(old[0] | old[1])
            entry = entries.get(path)
            if entry is not None and entry.packable:
                names = entry.terms
                if not names and entry.defs:  # an entry built by hand rather than by cache.analyse
                    names = q.def_terms(d[0] for d in entry.defs)
                new = (q.path_terms(path), frozenset(names))
                self.terms[path] = new
                self.df.update(new[0] | new[1])
            if (old is None) != (path not in self.terms):
                self._names = self._zeros = None  # the file set changed: rebuild on next use

    def mentions(self, text: str, mentioned: Iterable[str] = ()) -> q.Mentions:
        if self._names is None:
            self._names = (set(self.terms), q.index_names(self.terms))
        extra = " ".join(mentioned)
        return q.find_mentions(f"{text}\n{extra}", self._names[0], self.graph.defines, self._names[1])

    @_locked
    def rank(
        self,
        focus_files: Iterable[str] = (),
        mentioned: Iterable[str] = (),
        edited: Iterable[str] = (),
        query: str = "",
        *,
        refresh: bool = True,
    ) -> list[RankedFile]:
        """Every packable file, best first. ``mentioned`` takes paths or identifiers."""
        if refresh:
            self.refresh()
        w = self.weights
        m = self.mentions(query, mentioned)
        personal = self._personalisation(m, focus_files, edited, w)
        settings = self.cache.settings if self.cache is not None else {}
        pr = self.graph.pagerank(personal, w.alpha, w.back, start=settings.get("pagerank"))
        if not personal and self.cache is not None and settings.get("pagerank") != pr:
            settings["pagerank"] = pr  # seeds the next process's solve: a few sweeps instead of ~80
            self.cache.dirty = True
        total = sum(personal.values()) or 1.0
        teleport = (1 - w.alpha) / total
        penalty = 1.0 if m.mentions_tests else w.test_penalty
        terms = self.terms
        scores = {path: score for path, score in pr.items() if path in terms}
        for path, value in personal.items():
            scores[path] = scores.get(path, teleport * value) + w.direct / total * value
        ranked = []
        for path, score in scores.items():
            if is_test_path(path):
                score *= penalty
            if score > 0:
                ranked.append(RankedFile(path, score))
        ranked.sort(key=lambda r: (-r.score, r.path))
        # Every other file scores 0 and follows in path order (kept sorted: a warm rank stays cheap).
        positive = {r.path for r in ranked}
        ranked += [r for r in self._zero_ranked() if r.path not in positive]
        return ranked

    def _zero_ranked(self) -> list[RankedFile]:
        if self._zeros is None:
            self._zeros = [RankedFile(path, 0.0) for path in sorted(self.terms)]
        return self._zeros

    def _personalisation(
        self, m: q.Mentions, focus: Iterable[str], edited: Iterable[str], w: Weights
    ) -> dict[str, float]:
        personal: dict[str, float] = {}

        def add(path: str, value: float) -> None:
            if value > 0 and path in self.terms:
                personal[path] = personal.get(path, 0.0) + value

        for path in focus:
            add(path, w.focus)
        for path in edited:
            add(path, w.edited)
        for path in m.paths:
            add(path, w.path)
        n = max(1, len(self.terms))
        ident: dict[str, float] = {}
        for name in m.identifiers:
            definers = self.graph.defines.get(name, ())
            if 0 < len(definers) <= MAX_DEFINERS:
                for path in definers:
                    ident[path] = ident.get(path, 0.0) + q.idf(len(definers), n)
        for scores, weight in ((ident, w.ident), (q.lexical_scores(m.words, self.terms, self.df), w.lex)):
            top = max(scores.values(), default=0.0)
            for path, value in scores.items():
                add(path, weight * (value / top) ** w.sharp)
        return personal

    @_locked
    def render_map(
        self,
        budget_tokens: int,
        focus_files: Iterable[str] = (),
        mentioned: Iterable[str] = (),
        edited: Iterable[str] = (),
        query: str = "",
        *,
        exclude: Iterable[str] = (),
        ranking: list[RankedFile] | None = None,
        order: Mapping[str, object] | None = None,
        model_family: str = "generic",
    ) -> RenderedMap:
        """The best-ranked files' signatures in at most ``budget_tokens`` (real tokenizer).

        ``order`` maps paths to sort keys for the output (default: path order, which keeps
        neighbouring directories together and the text stable when ranks shift).
        """
        if ranking is None:
            ranking = self.rank(focus_files, mentioned, edited, query)
        skip = set(exclude)
        idents = self.mentions(query, mentioned).identifiers
        for tiers in SCHEDULES:  # a tiny budget falls back to fewer lines, then to paths only
            candidates = (r.path for r in ranking if r.path not in skip and self._mappable(r))
            rendered = self._fit(candidates, tiers, idents, budget_tokens, order, model_family)
            if rendered.files:
                return rendered
        return rendered

    def _fit(
        self,
        candidates: Iterable[str],
        tiers: tuple[tuple[int, int], ...],
        idents: frozenset[str],
        budget: int,
        order: Mapping[str, object] | None,
        family: str,
    ) -> RenderedMap:
        paths: list[str] = []
        blocks: list[str] = []
        cumulative: list[int] = []
        total = 0
        for i, path in enumerate(candidates):  # lazily: only the best-ranked few hundred are looked at
            cap = next(lines for limit, lines in tiers if i < limit)
            key = (path, self.entries[path].digest, cap, idents & self.graph.defnames.get(path, frozenset()))
            block = self._blocks.get(key)
            if block is None:
                block = self._blocks[key] = self._block(path, cap, idents)
            total += self._count(block, key, family)
            paths.append(path)
            blocks.append(block)
            cumulative.append(total)
            if total > budget * 1.2:
                break
        count = bisect.bisect_right(cumulative, budget)
        while count > 0:
            chosen = sorted(
                zip(paths[:count], blocks[:count], strict=True),
                key=lambda pb: (order.get(pb[0], ()) if order else (), pb[0]),
            )
            text = "".join(b for _, b in chosen)
            tokens = count_tokens(text, family)
            if tokens <= budget:
                return RenderedMap(text, tokens, tuple(p for p, _ in chosen))
            count -= max(1, count // 50)
        return RenderedMap("", 0, ())

    def render(
        self,
        budget_tokens: int,
        focus_files: Iterable[str] = (),
        mentioned: Iterable[str] = (),
        edited: Iterable[str] = (),
        query: str = "",
        **kwargs: object,
    ) -> str:
        """The map text (see :meth:`render_map`)."""
        return self.render_map(budget_tokens, focus_files, mentioned, edited, query, **kwargs).text  # type: ignore[arg-type]

    def _mappable(self, ranked: RankedFile) -> bool:
        entry = self.entries.get(ranked.path)
        return entry is not None and entry.packable and (bool(entry.defs) or ranked.score > 0)

    def _count(self, block: str, key: tuple[object, ...], family: str) -> int:
        key = (*key, family)
        found = self._block_tokens.get(key)
        if found is None:
            found = self._block_tokens[key] = count_tokens(block, family)
        return found

    def _block(self, path: str, cap: int, idents: frozenset[str]) -> str:
        defs = self.entries[path].defs
        if not defs or cap == 0:
            return f"{path}\n"
        if len(defs) > cap:
            users = self.graph.users

            def importance(d: tuple[str, int, str, str]) -> tuple[float, int]:
                indent = len(d[3]) - len(d[3].lstrip())
                boost = 1000.0 if d[0] in idents else 0.0
                definers = len(self.graph.defines.get(d[0], ())) or 1  # `get` in 300 files says little
                used = name_weight(d[0], 1) * math.log1p(len(users.get(d[0], ()))) / definers
                return (-(boost + used + (d[2] == "class") - indent / 4), d[1])

            defs = tuple(sorted(sorted(defs, key=importance)[:cap], key=lambda d: d[1]))
        lines = [f"{path}:"]
        lines += [f"│{d[3]}" for d in defs]
        hidden = len(self.entries[path].defs) - len(defs)
        if hidden:
            lines.append(f"│⋮ {hidden} more")
        return "\n".join(lines) + "\n"

    @_locked
    def files_likely_involved(self, prompt: str, k: int = 10, *, lexical: bool = True) -> list[str]:
        """Files the prompt points at (named paths, definers of named identifiers, and with ``lexical``
        strong word matches), best first, at most ``k``: empty when the prompt names nothing.

        The router counts these to spot multi-file work, so it passes ``lexical=False``: a word that
        happens to match three files does not make a one-file task repository-scale."""
        ranking = self.rank(query=prompt)
        m = self.mentions(prompt)
        evidence = set(m.paths)
        for name in m.identifiers:
            definers = self.graph.defines.get(name, set())
            if len(definers) <= MAX_DEFINERS:
                evidence |= definers
        if lexical:
            scores = q.lexical_scores(m.words, self.terms, self.df)
            top = max(scores.values(), default=0.0)
            evidence |= {p for p, s in scores.items() if s >= 0.6 * top}
        named = sorted(m.paths)
        rest = [r.path for r in ranking if r.path in evidence and r.path not in m.paths]
        return (named + rest)[:k]
