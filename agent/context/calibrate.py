"""``qagent map --calibrate``: measure and tune the map on the repository's own history.

Each recent commit is a small exam: given its message (the task) and its parent's tree (the
state), does a map of N tokens contain the source files the commit went on to modify? Recall is
measured for a grid of ranking weights around the current ones, in one pass over the history
(the graph is updated incrementally from commit to commit), and the best weights are stored
with the repository's index, so later maps of this repository use them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from agent.context.cache import TagCache
from agent.context.history import Commit, TreeIndexer, find_git_dir, replay_commits
from agent.context.rank import Weights
from agent.context.repomap import RepoMap

VARIATIONS: dict[str, tuple[float, ...]] = {
    "lex": (0.2, 1.0, 2.0),
    "ident": (0.5, 2.0),
    "path": (1.0, 4.0),
    "back": (0.0, 0.25, 1.0),
    "alpha": (0.7, 0.95),
    "test_penalty": (0.1, 1.0),
    "direct": (1.0,),
    "sharp": (2.0,),
}


@dataclass(frozen=True)
class CalibrationResult:
    commits: int
    held_out: int
    """Commits the reported recall is measured on (not used to choose the weights)."""
    budget: int
    before: float
    """Mean recall@budget with the weights in use before calibrating."""
    after: float
    weights: Weights
    """The best weights found (equal to the old ones when nothing beat them)."""


def candidates(base: Weights) -> list[Weights]:
    """The current weights, each knob varied alone, and the knobs varied in pairs of lex/ident."""
    out = [base]
    for name, values in VARIATIONS.items():
        out += [replace(base, **{name: v}) for v in values if v != getattr(base, name)]
    out += [replace(base, lex=lx, ident=i) for lx in (1.0, 2.0) for i in (0.5, 2.0)]
    return list(dict.fromkeys(out))


def recall(files: Sequence[str], gold: Sequence[str]) -> float:
    present = set(files)
    return sum(1 for g in gold if g in present) / len(gold)


def evaluate(
    indexer: TreeIndexer,
    commits: Sequence[Commit],
    grid: Sequence[Weights],
    budget: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[list[float]]:
    """recall@budget of each weight set (columns) on each commit (rows)."""
    rows: list[list[float]] = []
    rm: RepoMap | None = None
    for i, commit in enumerate(commits):
        entries = indexer.entries_at(commit.parent)
        if rm is None:
            rm = RepoMap.from_entries(entries)
        else:
            rm.set_entries(entries)
        row = []
        for weights in grid:
            rm.weights = weights
            row.append(recall(rm.render_map(budget, query=commit.message).files, commit.gold))
        rows.append(row)
        if progress:
            progress(i + 1, len(commits))
    return rows


def _mean(rows: Sequence[Sequence[float]], j: int) -> float:
    return sum(r[j] for r in rows) / max(1, len(rows))


def calibrate(
    root: Path,
    budget: int = 4096,
    count: int = 40,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CalibrationResult:
    """Replay ``count`` recent commits, pick the best weights, store them in the repo's cache.

    Weights are chosen on the older two thirds of the commits; before/after are reported on the
    newest third, which the choice never saw (with fewer than 6 commits, on all of them).
    """
    git_dir = find_git_dir(root)
    commits = replay_commits(git_dir, count)  # newest first
    if not commits:
        raise RuntimeError("no usable commits (non-merge, modifying 1-6 non-test source files) to replay")
    cache = TagCache(root, cache_dir)
    stored = cache.settings.get("weights")
    base = Weights.from_dict(stored) if stored else Weights()
    grid = candidates(base)
    rows = evaluate(TreeIndexer(git_dir), commits, grid, budget, progress)
    held = len(rows) // 3 if len(rows) >= 6 else 0
    tune, test = (rows[held:], rows[:held]) if held else (rows, rows)
    best = max(range(len(grid)), key=lambda j: (_mean(tune, j), j == 0))
    cache.settings["weights"] = grid[best].to_dict()
    cache.dirty = True
    cache.save()
    return CalibrationResult(len(commits), len(test), budget, _mean(test, 0), _mean(test, best), grid[best])
