"""Incremental PageRank must give the same ranks as solving the changed graph from scratch."""

from __future__ import annotations

import random

import pytest

from agent.context.cache import Entry
from agent.context.rank import RefGraph


def entry(defs: list[str], refs: list[str]) -> Entry:
    return Entry(
        0,
        0,
        "",
        0,
        "python",
        0,
        tuple((d, i, "function", f"def {d}():") for i, d in enumerate(defs)),
        tuple((r, 1) for r in sorted(set(refs))),
        -1,
    )


def random_repo(rng: random.Random, files: int = 40) -> dict[str, Entry]:
    names = [f"name_{i:03d}" for i in range(120)]
    return {
        f"pkg/f{i}.py": entry(rng.sample(names, 3), rng.sample(names, rng.randint(0, 6)))
        for i in range(files)
    }


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("personal", [{}, {"pkg/f1.py": 1.0, "pkg/f7.py": 0.5}])
def test_incremental_update_matches_fresh_solve(seed: int, personal: dict[str, float]) -> None:
    rng = random.Random(seed)
    entries = random_repo(rng)
    graph = RefGraph()
    graph.update(entries, entries)
    graph.pagerank(personal, 0.85, 0.5)
    for _ in range(3):  # edit a file: new definitions and references, same file set
        victim = rng.choice(sorted(entries))
        entries[victim] = random_repo(rng, 1)["pkg/f0.py"]
        graph.update(entries, [victim])
        incremental = graph.pagerank(personal, 0.85, 0.5)
        fresh_graph = RefGraph()
        fresh_graph.update(entries, entries)
        fresh = fresh_graph.pagerank(personal, 0.85, 0.5)
        assert incremental.keys() == fresh.keys()
        assert max(abs(incremental[k] - fresh[k]) for k in fresh) < 1e-6


def test_unchanged_graph_reuses_the_solution() -> None:
    entries = random_repo(random.Random(1))
    graph = RefGraph()
    graph.update(entries, entries)
    first = graph.pagerank({}, 0.85, 0.5)
    assert graph.pagerank({}, 0.85, 0.5) == first
