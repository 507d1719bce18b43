"""The Ray executor on a local Ray instance gives the same report and branches as the local executor."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from batch_helpers import batch_config, git, write_script

from agent.batch.execute import LocalExecutor
from agent.batch.runner import BatchOptions, BatchRunner
from agent.batch.tasks import BatchTask

ray = pytest.importorskip(
    "ray", reason="the Ray executor needs the optional extra: pip install 'qagent[ray]'"
)

VOLATILE = {"duration_s", "commit", "session_id"}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _tasks() -> list[BatchTask]:
    return [
        BatchTask(
            id=tid,
            prompt=f"create out/{tid}.txt",
            model=f"m-{tid}",
            check=f"test -f out/{tid}.txt" if tid != "r3" else "exit 1",
        )
        for tid in ("r1", "r2", "r3")
    ]


async def _run(repo: Path, executor_name: str, scripted_server) -> tuple[dict, dict[str, str]]:
    tasks = _tasks()
    servers = {t.id: scripted_server(write_script(t.id), dialect="vllm") for t in tasks}
    config = batch_config(repo, servers)
    if executor_name == "ray":
        from agent.batch.ray import RayExecutor

        executor = RayExecutor(repo, config)
    else:
        executor = LocalExecutor(repo, config)
    report = await BatchRunner(
        repo, BatchOptions(jobs=2), executor, repo.parent / f"{executor_name}.json"
    ).run(tasks)
    base = report.summary["base_commit"]
    diffs = {t.id: git(repo, "diff", base, f"qagent/batch/{t.id}") for t in tasks}
    rows = [{k: v for k, v in row.model_dump().items() if k not in VOLATILE} for row in report.tasks]
    for row in rows:
        row["check"] = row["check"] and {k: v for k, v in row["check"].items() if k != "duration_s"}
    summary = {k: v for k, v in report.summary.items() if k not in ("wall_s", "task_seconds", "executor")}
    return {"tasks": rows, "summary": summary}, diffs


async def test_ray_executor_matches_the_local_executor(git_repo, scripted_server, local_ray):
    twin = git_repo.parent / "twin"
    shutil.copytree(git_repo, twin)

    local_report, local_diffs = await _run(git_repo, "local", scripted_server)
    ray_report, ray_diffs = await _run(twin, "ray", scripted_server)

    assert ray_report == local_report
    assert ray_diffs == local_diffs
    assert local_diffs["r1"].count("+made by r1") == 1
    assert [r["status"] for r in ray_report["tasks"]] == ["succeeded", "succeeded", "failed"]
    assert git(twin, "worktree", "list").count("\n") == 1
    assert git(twin, "for-each-ref", "refs/qagent/") == ""  # the temporary base ref is gone
