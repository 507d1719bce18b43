"""Batch run wall time at -j 1 vs -j 4, and the per-task overhead outside model time.

24 scripted tasks on a scratch repository (``--files`` small Python files, so worktrees cost what
they would on a real project); each task makes two model requests with a scripted latency of
0.5 s before the first byte (1.0 s of model time per task): one ``write_file`` call, then an answer.
Each task has its own scripted server, so replies never depend on which task asks first; the
servers run in a child process, as a real model server would, so they do not share our GIL.

Per-task overhead = the task's duration in the report − its model latency; it covers switching a
worktree slot to the task's branch (a new worktree for each slot's first task), agent set-up, tool
calls, the commit, the diffstat and resetting the slot. ``--pack`` adds the repository pack.
Targets: speed-up ≥ 3.2×, overhead ≤ 0.5 s.

    python bench/batch.py [--tasks 24] [--latency 0.5] [--jobs 4] [--files 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent.batch.runner import BatchOptions, BatchRunner
from agent.batch.execute import LocalExecutor
from agent.batch.tasks import BatchTask
from agent.config import load_config
from agent.testing import ScriptedServer

GIT_ID = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false"]
REQUESTS_PER_TASK = 2


def make_repo(root: Path, files: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    for index in range(files):
        folder = root / "pkg" / f"mod{index // 20}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{index}.py").write_text(f"def f{index}(x):\n    return x + {index}\n")
    subprocess.run(["git", "-C", str(root), *GIT_ID, "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), *GIT_ID, "commit", "-qm", "bench"], check=True)


def script(task_id: str, latency: float) -> list[dict]:
    usage = {"prompt_tokens": 800, "completion_tokens": 40}
    return [
        {
            "tool_calls": [
                {
                    "name": "write_file",
                    "arguments": {"path": f"notes/{task_id}.md", "content": f"# {task_id}\n"},
                }
            ],
            "latency": latency,
            "usage": usage,
        },
        {"text": "done", "latency": latency, "usage": usage},
    ]


def serve(ids: list[str], latency: float) -> None:
    """Child process: one scripted server per task id; prints their URLs, serves until stdin closes."""
    servers = {tid: ScriptedServer(script(tid, latency), dialect="vllm").start() for tid in ids}
    print(json.dumps({tid: s.url for tid, s in servers.items()}), flush=True)
    sys.stdin.read()


async def one_run(
    repo: Path, tasks: int, jobs: int, latency: float, tag: str, pack: bool = False
) -> tuple[float, list[float]]:
    ids = [f"{tag}{i:02d}" for i in range(tasks)]
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(latency), *ids],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        urls = json.loads(child.stdout.readline())
        models = {
            f"m-{tid}": {"base_url": url, "dialect": "vllm", "model": "scripted"} for tid, url in urls.items()
        }
        config = load_config(
            repo,
            {
                "models": models,
                "permissions": {"approval": "full-auto"},
                "session": {"data_dir": str(repo.parent / "sessions")},
                "context": {"pack": pack},
            },
            env={},
            use_user_file=False,
        )
        batch = [BatchTask(id=tid, prompt=f"write notes/{tid}.md", model=f"m-{tid}") for tid in ids]
        runner = BatchRunner(
            repo,
            BatchOptions(jobs=jobs, branch_prefix=f"bench/{tag}/"),
            LocalExecutor(repo, config),
            repo.parent / f"{tag}.json",
        )
        started = time.perf_counter()
        report = await runner.run(batch)
        wall = time.perf_counter() - started
    finally:
        child.stdin.close()
        child.wait()
    bad = [r.id for r in report.tasks if r.status != "succeeded"]
    if bad:
        raise SystemExit(f"bench tasks failed: {bad}: {report.tasks[0].error}")
    return wall, [r.duration_s - REQUESTS_PER_TASK * latency for r in report.tasks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=24)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--pack", action="store_true", help="repository packs on (qagent batch --pack)")
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[1:], float(args.serve[0]))
        return
    repo = Path(tempfile.mkdtemp(prefix="qagent-bench-batch-")) / "repo"
    repo.mkdir()
    make_repo(repo, args.files)

    serial, serial_over = asyncio.run(one_run(repo, args.tasks, 1, args.latency, "s", args.pack))
    parallel, parallel_over = asyncio.run(one_run(repo, args.tasks, args.jobs, args.latency, "p", args.pack))

    model = args.tasks * REQUESTS_PER_TASK * args.latency
    print(
        f"{args.tasks} tasks, {REQUESTS_PER_TASK} requests each at {args.latency:g} s latency "
        f"({model:.1f} s of model time), repo of {args.files} files, packs {'on' if args.pack else 'off'}"
    )
    print(f"-j 1: {serial:6.2f} s wall")
    print(f"-j {args.jobs}: {parallel:6.2f} s wall   speed-up {serial / parallel:.2f}x (target >= 3.2x)")
    for label, over in (("-j 1", serial_over), (f"-j {args.jobs}", parallel_over)):
        print(
            f"per-task overhead outside model time at {label}: median {statistics.median(over):.3f} s, "
            f"max {max(over):.3f} s (target <= 0.5 s)"
        )


if __name__ == "__main__":
    main()
