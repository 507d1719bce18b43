"""Map recall on real history: does a map of N tokens contain the files a commit went on to change?

The labelled set is extracted at run time from a git directory you provide (nothing fetched is
committed): the most recent non-merge commits that modified 1-6 non-test source files; task = the
commit message, gold = those files, state = the parent commit. Both maps see the same tree, the
same task text and the same token budget (tiktoken o200k on both sides):

  qagent: RepoMap over the parent tree read from git objects; the task text is the query.
  aider:  aider's RepoMap (in its own venv) over the parent tree checked out into a scratch work
          tree, with the mentions aider's Coder would derive from the same text.

    .venv/bin/python bench/recall.py --git-dir /path/to/repo.git [--count 60] [--budgets 4096,8192]

recall@N = mean over commits of |gold ∩ files shown in the map| / |gold|.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
CACHE = HERE.parent / ".bench-cache"

from agent.context.calibrate import recall  # noqa: E402
from agent.context.history import Commit, TreeIndexer, git, replay_commits  # noqa: E402
from agent.context.repomap import RepoMap  # noqa: E402


class ScratchTree:
    """A work tree that follows commits via a private index: only changed files are rewritten."""

    def __init__(self, git_dir: Path, path: Path) -> None:
        self.git_dir, self.path, self.current = git_dir, path, None
        path.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "GIT_INDEX_FILE": str(path.parent / "scratch.index")}

    def checkout(self, sha: str) -> None:
        base = ["git", f"--git-dir={self.git_dir}", f"--work-tree={self.path}", "read-tree", "-u"]
        cmd = [*base, "--reset", sha] if self.current is None else [*base, "-m", self.current, sha]
        subprocess.run(cmd, env=self.env, check=True, capture_output=True)
        self.current = sha


def files_in_map(text: str, files: set[str]) -> set[str]:
    """Paths shown in a map: a line that is a path, or a path followed by ':'."""
    shown = set()
    for line in text.splitlines():
        candidate = line.strip().rstrip(":")
        if candidate in files:
            shown.add(candidate)
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--git-dir", type=Path, required=True)
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--budgets", default="4096,8192")
    parser.add_argument("--aider-python", type=Path, default=CACHE / "aider-venv/bin/python")
    parser.add_argument("--no-aider", action="store_true", help="measure qagent only")
    parser.add_argument("--show", action="store_true", help="print each commit's result")
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    commits = replay_commits(args.git_dir, args.count)
    if len(commits) < args.count:
        print(f"note: only {len(commits)} usable commits found", file=sys.stderr)
    commits.reverse()  # oldest first: the scratch tree moves forward through history
    name = args.git_dir.resolve().parent.name if args.git_dir.name in {".git", "repo"} else args.git_dir.name
    print(
        f"{len(commits)} commits from {name} ({commits[0].sha[:10]}..{commits[-1].sha[:10]}), "
        f"{sum(len(c.gold) for c in commits)} gold files"
    )
    results = {("qagent", b): [] for b in budgets}
    results |= {("aider", b): [] for b in budgets}
    used: dict[tuple[str, int], list[int]] = {k: [] for k in results}
    timing = {"qagent": 0.0, "aider": 0.0}
    aider = None
    if not args.no_aider:
        aider = subprocess.Popen(
            [str(args.aider_python), str(HERE / "aider_worker.py"), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd="/",
        )
        scratch = ScratchTree(args.git_dir, CACHE / "recall-bench" / name / "tree")
    indexer = TreeIndexer(args.git_dir)
    rm: RepoMap | None = None
    for commit in commits:
        start = time.perf_counter()
        entries = indexer.entries_at(commit.parent)
        if rm is None:
            rm = RepoMap.from_entries(entries)
        else:
            rm.set_entries(entries)
        for budget in budgets:
            rendered = rm.render_map(budget, query=commit.message)
            results[("qagent", budget)].append(recall(rendered.files, commit.gold))
            used[("qagent", budget)].append(rendered.tokens)
        timing["qagent"] += time.perf_counter() - start
        if aider is not None:
            start = time.perf_counter()
            _aider_round(aider, scratch, commit, args.git_dir, budgets, results, used)
            timing["aider"] += time.perf_counter() - start
        if args.show:
            print(
                f"{commit.sha[:10]} {commit.message.splitlines()[0][:60]:60} "
                + " ".join(f"{k[0][0]}{k[1] // 1024}K={v[-1]:.2f}" for k, v in results.items() if v)
            )
    if aider is not None:
        aider.stdin.close()  # type: ignore[union-attr]
        aider.wait(timeout=60)
    _table(results, used, budgets, timing, aider is not None)


def _aider_round(
    aider: subprocess.Popen,
    scratch: ScratchTree,
    commit: Commit,
    git_dir: Path,
    budgets: list[int],
    results: dict,
    used: dict,
) -> None:
    scratch.checkout(commit.parent)
    files = git(git_dir, "ls-tree", "-r", "--name-only", "-z", commit.parent).decode().split("\0")
    files = [f for f in files if f]
    for budget in budgets:
        req = {"root": str(scratch.path), "files": files, "text": commit.message, "budget": budget}
        aider.stdin.write(json.dumps(req) + "\n")  # type: ignore[union-attr]
        aider.stdin.flush()  # type: ignore[union-attr]
        line = aider.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit("aider worker died; run it by hand to see why: bench/aider_worker.py serve")
        reply = json.loads(line)
        shown = files_in_map(reply["map"], set(files))
        results[("aider", budget)].append(recall(sorted(shown), commit.gold))
        used[("aider", budget)].append(reply["tokens"])


def _table(results: dict, used: dict, budgets: list[int], timing: dict, with_aider: bool) -> None:
    print(
        f"\n{'budget':>8} {'qagent recall':>14} {'aider recall':>13} {'Δ points':>9} "
        f"{'qagent tokens':>14} {'aider tokens':>13}"
    )
    for b in budgets:
        ours = sum(results[("qagent", b)]) / len(results[("qagent", b)])
        ours_t = max(used[("qagent", b)])
        if with_aider:
            theirs = sum(results[("aider", b)]) / len(results[("aider", b)])
            theirs_t = max(used[("aider", b)])
            print(
                f"{b:>8} {ours:>14.1%} {theirs:>13.1%} {100 * (ours - theirs):>+9.1f} "
                f"{'≤' + str(ours_t):>14} {'≤' + str(theirs_t):>13}"
            )
        else:
            print(f"{b:>8} {ours:>14.1%} {'-':>13} {'-':>9} {'≤' + str(ours_t):>14} {'-':>13}")
    print(f"time: qagent {timing['qagent']:.1f}s, aider {timing['aider']:.1f}s (incl. checkouts)")


if __name__ == "__main__":
    main()
