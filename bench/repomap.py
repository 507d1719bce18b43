"""Repo-map speed and memory: qagent vs aider's RepoMap on Django's sdist, in one run.

Setup (once; everything lives in the git-ignored .bench-cache/):
    .venv/bin/pip download --no-deps --no-binary :all: django -d .bench-cache/
    python -m venv .bench-cache/aider-venv && .bench-cache/aider-venv/bin/pip install aider-chat
    export TIKTOKEN_CACHE_DIR=...   # a folder holding o200k_base (see the report / .ci/run)
Run:
    .venv/bin/python bench/repomap.py [--budget 4096] [--repeat 3]

Each side runs in its own fresh process on its own copy of the tree (a git repo, so both enumerate
files with git): cold = first map with an empty cache; warm = the same map object re-rendered
after one file gains a new function (a real change to definitions and references, so the graph
must be updated, not just served from a cache); peak RSS includes our parse workers. The machine
is often shared: each run prints the load and its ratios, the table gives medians, and cold CPU
seconds (ours: all processes) show the work done independently of how many cores were free.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / ".bench-cache"
EDIT = "django/db/models/query.py"
PROBE = "\n\ndef qagent_bench_probe(rows):\n    return QuerySet(rows).bulk_create(rows)\n"


def prepare(sdist: Path, dest: Path) -> Path:
    """A fresh git repository holding the sdist's tree."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        tar.extractall(dest, filter="data")
    (tree,) = [p for p in dest.iterdir() if p.is_dir()]
    # gc.auto=0: committing ~9,000 loose objects otherwise starts a background `git gc` (a repack at
    # full CPU) that runs during the measured build.
    env = ["-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "gc.auto=0"]
    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    subprocess.run(["git", *env, "add", "-A"], cwd=tree, check=True)
    subprocess.run(["git", *env, "commit", "-qm", "sdist"], cwd=tree, check=True)
    # Flush the ~130 MB just written: left dirty, the kernel writes it back during the first seconds
    # of the measured build, stealing far more of a 3-second build than of a 20-second one.
    os.sync()
    return tree


def ours(root: str, budget: int, cache_dir: str) -> None:
    """Worker: cold and warm timings of qagent's map in this (fresh) process."""
    sys.path.insert(0, str(HERE.parent))
    from agent.context.repomap import RepoMap
    from agent.context.tokens import tokenizer_status

    tokenizer_status()  # load the BPE before timing, as the aider worker does at import
    start, cpu = time.perf_counter(), cpu_seconds()
    rm = RepoMap(root, cache_dir=cache_dir)
    cold_map = rm.render_map(budget)
    cold, cold_cpu = time.perf_counter() - start, cpu_seconds() - cpu
    with open(Path(root) / EDIT, "a") as handle:
        handle.write(PROBE)
    start = time.perf_counter()
    warm_map = rm.render_map(budget)
    warm = time.perf_counter() - start
    assert rm.last_update is not None and rm.last_update.parsed == [EDIT], rm.last_update
    rm.flush()  # what the first process does at exit
    start = time.perf_counter()
    RepoMap(root, cache_dir=cache_dir).render_map(budget)
    fresh = time.perf_counter() - start
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 0)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {
                "cold": cold,
                "cold_cpu": cold_cpu,
                "warm": warm,
                "fresh_process_warm": fresh,
                "rss": (peak + children) * 1024,
                "tokens": cold_map.tokens,
                "warm_has_probe": "qagent_bench_probe" in warm_map.text,
            }
        )
    )


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (our parse workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run(cmd: list[str]) -> dict[str, float]:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[1]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median(results: list[dict[str, float]]) -> dict[str, float]:
    """Per metric, the median of the repetitions (the brief's figure on a machine shared with other work)."""
    return {
        k: statistics.median(r[k] for r in results) if type(v) in (int, float) else v
        for k, v in results[0].items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sdist", type=Path, default=None, help="Django sdist (.tar.gz)")
    parser.add_argument("--budget", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=1, help="alternate the sides N times, report medians")
    parser.add_argument("--aider-python", type=Path, default=CACHE / "aider-venv/bin/python")
    parser.add_argument("--worker", nargs=3, metavar=("ROOT", "BUDGET", "CACHE_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        ours(args.worker[0], int(args.worker[1]), args.worker[2])
        return
    sdist = args.sdist or next(iter(sorted(CACHE.glob("django-*.tar.gz"))), None)
    if sdist is None or not args.aider_python.exists():
        raise SystemExit(__doc__)
    work = CACHE / "repomap-bench"
    cache_dir = work / "qagent-cache"
    print(
        f"tree: {sdist.name}, budget {args.budget} tokens, {os.cpu_count()} cores; each side in a fresh "
        f"process on a fresh copy, {args.repeat} alternating run(s), medians"
    )
    rows = [
        ("cold build (s)", "cold", 0.2),
        ("warm after 1-file edit (s)", "warm", 0.02),
        ("peak RSS (MB)", "rss", 1.0),
        ("cold build CPU (s, all cores)", "cold_cpu", None),
    ]
    mine: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    ratios: dict[str, list[float]] = {key: [] for _, key, _ in rows}
    for i in range(args.repeat):
        load = os.getloadavg()[0]
        aider_tree = prepare(sdist, work / "aider")
        theirs.append(
            run(
                [
                    str(args.aider_python),
                    str(HERE / "aider_worker.py"),
                    "timing",
                    str(aider_tree),
                    str(args.budget),
                    EDIT,
                ]
            )
        )
        ours_tree = prepare(sdist, work / "ours")
        shutil.rmtree(cache_dir, ignore_errors=True)
        mine.append(
            run([sys.executable, __file__, "--worker", str(ours_tree), str(args.budget), str(cache_dir)])
        )
        for _, key, _ in rows:
            ratios[key].append(mine[-1][key] / theirs[-1][key])
        print(
            f"run {i + 1}: load {load:.1f}→{os.getloadavg()[0]:.1f}; "
            + ", ".join(f"{key} {ratios[key][-1]:.3f}" for _, key, _ in rows)
        )
    o, a = median(mine), median(theirs)
    print(
        f"{'':30}{'qagent':>10}{'aider':>10}{'ratio':>8}{'target':>8}   (ratio: median of the runs' ratios)"
    )
    for label, key, target in rows:
        scale = 1 / 2**20 if key == "rss" else 1
        ratio = statistics.median(ratios[key])
        verdict = "" if target is None else ("  ok" if ratio <= target else "  MISSED")
        print(
            f"{label:30}{o[key] * scale:10.3f}{a[key] * scale:10.3f}{ratio:8.3f}"
            f"{'' if target is None else '≤' + str(target):>8}{verdict}"
        )
    print(f"qagent warm in a fresh process (disk cache): {o['fresh_process_warm']:.3f}s")
    print(
        f"map tokens: qagent {o['tokens']}, aider {a['tokens']}; warm map shows the edit: "
        f"qagent {o['warm_has_probe']}, aider {a['warm_has_probe']}"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
