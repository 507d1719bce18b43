"""Checkpoint cost per turn vs the peers a user could use instead, measured in the same run.

Peers: ``git stash create`` (the snapshot-without-touching primitive aider-style tools use; it
misses untracked files) and copying the working tree (what file-backup tools do). qagent's
checkpoint covers tracked changes *and* untracked files without touching index/HEAD/stash.

    .venv/bin/python bench/checkpoint.py [--files 3000] [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from agent.git.checkpoints import Checkpointer


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", *args], cwd=repo, check=True,
                   capture_output=True)  # fmt: skip


def make_repo(root: Path, files: int) -> Path:
    repo = root / "repo"
    for i in range(files):
        path = repo / f"pkg{i % 40}" / f"mod{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"def f{i}(x):\n    return x + {i}\n" * 40)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    for i in range(0, files, max(files // 30, 1)):
        (repo / f"pkg{i % 40}" / f"mod{i}.py").write_text("# edited by the user\n")
    for i in range(30):
        (repo / f"untracked{i}.txt").write_text("notes\n" * 100)
    return repo


def timed(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp), args.files)
        turn = iter(range(1, 10_000))
        cp = Checkpointer(repo, "bench")

        def checkpoint() -> None:
            cp.begin_turn(next(turn))
            cp.before_change()

        ours = timed(checkpoint, args.runs)
        stash = timed(lambda: git(repo, "stash", "create"), args.runs)
        copies = iter(range(10_000))
        copy = timed(lambda: shutil.copytree(repo, Path(tmp) / f"copy{next(copies)}",
                                             ignore=shutil.ignore_patterns(".git")), args.runs)  # fmt: skip
        (repo / "pkg0" / "mod0.py").write_text("agent edit\n")
        undo = timed(lambda: cp.undo(), 1)
    rows = [
        ("qagent checkpoint (tracked + untracked)", ours, ""),
        ("git stash create (tracked only)", stash, f"ratio qagent/stash {ours / stash:.2f}"),
        ("copy of the working tree", copy, f"ratio qagent/copy {ours / copy:.2f}"),
        ("qagent undo of one turn", undo, ""),
    ]
    print(f"repo: {args.files} tracked files, 30 modified, 30 untracked; median of {args.runs} runs")
    for name, seconds, ratio in rows:
        print(f"{name:42} {seconds * 1000:8.1f} ms   {ratio}")


if __name__ == "__main__":
    main()
