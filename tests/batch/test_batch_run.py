"""Batch runs end to end: real git worktrees and branches, the real loop and file tools, scripted models."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from batch_helpers import batch_branches, git, worktrees, write_script

from agent.batch.execute import LocalExecutor, TaskState
from agent.batch.runner import BatchOptions, BatchRunner, CanaryStats
from agent.batch.tasks import BatchReport
from agent.context.cache import default_cache_dir


def runner_for(repo: Path, config, report: Path, **options) -> BatchRunner:
    return BatchRunner(repo, BatchOptions(**options), LocalExecutor(repo, config), report)


async def test_six_tasks_three_at_a_time_make_six_branches_and_a_report(git_repo, batch_setup, tmp_path):
    ids = [f"t{i}" for i in range(6)]
    tasks, config, _ = batch_setup(ids, latency=0.3, checks={tid: f"test -f out/{tid}.txt" for tid in ids})
    running: set[str] = set()
    most = 0

    def watch(state: TaskState) -> None:
        nonlocal most
        (running.add if state.status == "running" else running.discard)(state.id)
        most = max(most, len(running))

    base = git(git_repo, "rev-parse", "HEAD").strip()
    runner = BatchRunner(
        git_repo, BatchOptions(jobs=3), LocalExecutor(git_repo, config), tmp_path / "r.json", on_state=watch
    )
    report = await runner.run(tasks)

    assert most == 3  # never more than -j, and it did run three at once
    assert batch_branches(git_repo) == [f"qagent/batch/{tid}" for tid in ids]
    for tid in ids:
        branch = f"qagent/batch/{tid}"
        assert git(git_repo, "diff", "--name-only", base, branch).split() == [f"out/{tid}.txt"]
        assert git(git_repo, "show", f"{branch}:out/{tid}.txt") == f"made by {tid}\n"
    assert worktrees(git_repo) == [str(git_repo)]
    assert git(git_repo, "status", "--porcelain") == ""  # the user's checkout is untouched
    assert not any(default_cache_dir(runner.executor.root / f"slot-{n}").exists() for n in range(1, 7))
    assert runner.executor._slots == 3  # one worktree per concurrent task, reused

    on_disk = json.loads((tmp_path / "r.json").read_text())
    assert [row["id"] for row in on_disk["tasks"]] == ids
    for row in on_disk["tasks"]:
        assert row["status"] == "succeeded"
        assert row["branch"] == f"qagent/batch/{row['id']}"
        assert row["diffstat"] == {"files": 1, "insertions": 1, "deletions": 0}
        assert row["changed_files"] == [f"out/{row['id']}.txt"]
        assert row["check"]["passed"] is True and row["check"]["exit_code"] == 0
        assert row["tokens"] == {"prompt": 230, "completion": 25}
        assert row["commit"] == git(git_repo, "rev-parse", row["branch"]).strip()
        assert [r["model"] for r in row["routes"]] == [f"m-{row['id']}"] * 2
        assert row["duration_s"] >= 0.6
    summary = on_disk["summary"]
    assert (summary["total"], summary["succeeded"], summary["failed"]) == (6, 6, 0)
    assert summary["tokens"] == {"prompt": 6 * 230, "completion": 6 * 25}
    assert summary["base_commit"] == base and summary["jobs"] == 3
    assert report.summary == summary


async def test_a_failing_check_fails_only_its_task(git_repo, batch_setup, tmp_path):
    ids = ["a", "b", "c"]
    tasks, config, _ = batch_setup(
        ids,
        checks={"a": "test -f out/a.txt", "b": "echo 'b is broken' >&2; exit 3", "c": "test -f out/c.txt"},
    )
    report = await runner_for(git_repo, config, tmp_path / "r.json", jobs=3).run(tasks)

    status = {row.id: row.status for row in report.tasks}
    assert status == {"a": "succeeded", "b": "failed", "c": "succeeded"}, [r.error for r in report.tasks]
    failed = report.row("b")
    assert failed.check.exit_code == 3 and "b is broken" in failed.check.output_tail
    assert "check failed (exit 3)" in failed.error
    assert "qagent/batch/b" in batch_branches(git_repo)  # kept for inspection
    assert report.summary["failed"] == 1


async def test_check_timeout_kills_the_command(git_repo, batch_setup, tmp_path):
    tasks, config, _ = batch_setup(["slow"], checks={"slow": "sleep 30"})
    report = await runner_for(git_repo, config, tmp_path / "r.json", check_timeout=1).run(tasks)
    row = report.row("slow")
    assert row.status == "failed" and row.check.exit_code is None and row.check.duration_s < 5
    assert "timed out" in row.error


async def test_resume_skips_done_tasks_and_reruns_the_rest(git_repo, batch_setup, tmp_path):
    ids = ["one", "two", "three"]
    tasks, config, servers = batch_setup(
        ids,
        scripts={"two": [{"text": "I will not do that"}]},
        checks={tid: f"test -f out/{tid}.txt" for tid in ids},
    )
    report_path = tmp_path / "r.json"
    first = await runner_for(git_repo, config, report_path, jobs=2).run(tasks)
    assert [r.status for r in first.tasks] == ["succeeded", "failed", "succeeded"]
    done_commits = {r.id: r.commit for r in first.tasks if r.status == "succeeded"}

    servers["two"].extend(write_script("two"))
    notices: list[str] = []
    runner = BatchRunner(
        git_repo, BatchOptions(jobs=2), LocalExecutor(git_repo, config), report_path, notice=notices.append
    )
    second = await runner.run(tasks)

    assert [r.status for r in second.tasks] == ["succeeded", "succeeded", "succeeded"]
    assert len(servers["one"].chat_requests()) == 2 and len(servers["three"].chat_requests()) == 2
    assert len(servers["two"].chat_requests()) == 3
    assert {r.id: r.commit for r in second.tasks if r.id != "two"} == done_commits
    assert git(git_repo, "show", "qagent/batch/two:out/two.txt") == "made by two\n"
    assert any("1 task(s) already done" not in n and "2 task(s) already done" in n for n in notices)
    assert BatchReport.load(report_path).summary["succeeded"] == 3


@pytest.mark.parametrize("when", ["mid-run", "while git adds the first worktree"])
async def test_interrupt_removes_half_made_worktrees_and_marks_tasks(git_repo, batch_setup, tmp_path, when):
    ids = ["p", "q", "r"]
    tasks, config, _ = batch_setup(ids, latency=30)
    runner = runner_for(git_repo, config, tmp_path / "r.json", jobs=2)
    job = asyncio.create_task(runner.run(tasks))
    wanted = 3 if when == "mid-run" else 2
    for _ in range(2000):
        await asyncio.sleep(0.002)
        if len(worktrees(git_repo)) >= wanted:
            break
    assert len(worktrees(git_repo)) >= wanted
    if when == "mid-run":
        await asyncio.sleep(0.3)  # both tasks are waiting on their model
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job

    assert worktrees(git_repo) == [str(git_repo)]
    assert batch_branches(git_repo) == []
    report = BatchReport.load(tmp_path / "r.json")
    assert sorted(r.status for r in report.tasks) == ["interrupted", "interrupted", "skipped"]
    assert not runner.executor.root.exists()


async def test_task_timeout_fails_only_that_task(git_repo, batch_setup, tmp_path):
    tasks, config, _ = batch_setup(["fast", "stuck"], scripts={"stuck": write_script("stuck", latency=30)})
    report = await runner_for(git_repo, config, tmp_path / "r.json", jobs=2, task_timeout=1).run(tasks)
    assert report.row("fast").status == "succeeded"
    stuck = report.row("stuck")
    assert stuck.status == "failed" and stuck.stop_reason == "timeout" and "timed out after 1s" in stuck.error
    assert worktrees(git_repo) == [str(git_repo)]


async def test_changes_outside_the_task_paths_fail_it(git_repo, batch_setup, tmp_path):
    tasks, config, _ = batch_setup(["x", "y"])
    tasks[0] = tasks[0].model_copy(update={"paths": ["src/"]})
    tasks[1] = tasks[1].model_copy(update={"paths": ["out/*.txt"]})
    report = await runner_for(git_repo, config, tmp_path / "r.json").run(tasks)
    assert (
        report.row("x").status == "failed" and "outside its paths (src/): out/x.txt" in report.row("x").error
    )
    assert report.row("y").status == "succeeded"


async def test_overall_max_cost_caps_tasks_and_skips_the_rest(git_repo, batch_setup, tmp_path):
    # $1000 per million tokens: a whole task costs $0.255, its first request $0.12.
    tasks, config, _ = batch_setup(["c1", "c2", "c3"], pricing={"input_cache_miss": 1000.0, "output": 1000.0})
    report = await runner_for(git_repo, config, tmp_path / "r.json", max_cost=0.3).run(tasks)
    assert report.row("c1").status == "succeeded" and report.row("c1").cost_usd == pytest.approx(0.255)
    assert report.row("c2").status == "failed" and report.row("c2").stop_reason == "max_cost"
    assert report.row("c3").status == "skipped" and "--max-cost" in report.row("c3").error


async def test_canary_runs_k_tasks_then_asks(git_repo, batch_setup, tmp_path):
    tasks, config, servers = batch_setup(["k1", "k2", "k3", "k4"])
    asked: list[CanaryStats] = []

    def decline(stats: CanaryStats) -> bool:
        asked.append(stats)
        return False

    runner = BatchRunner(
        git_repo,
        BatchOptions(jobs=2, canary=2),
        LocalExecutor(git_repo, config),
        tmp_path / "r.json",
        confirm=decline,
    )
    report = await runner.run(tasks)
    assert asked == [CanaryStats(ran=2, succeeded=2, cost_usd=0.0, remaining=2)]
    assert [r.status for r in report.tasks] == ["succeeded", "succeeded", "skipped", "skipped"]
    assert servers["k3"].chat_requests() == [] and "declined" in report.row("k3").error

    runner.confirm = lambda stats: True
    runner.executor = LocalExecutor(git_repo, config)
    report = await runner.run(tasks)  # resuming runs the rest
    assert [r.status for r in report.tasks] == ["succeeded"] * 4


async def test_resume_after_a_hard_kill_clears_the_stray_worktree_and_branch(git_repo, batch_setup, tmp_path):
    tasks, config, _ = batch_setup(["k"])
    report_path = tmp_path / "r.json"
    killed = runner_for(git_repo, config, report_path)
    killed._prepare(tasks)  # the report now lists "k" as not run yet, as a killed run leaves it
    await killed.executor.close()
    stray = tmp_path / "killed-run" / "k"
    git(git_repo, "worktree", "add", "-q", "-b", "qagent/batch/k", str(stray), "HEAD")
    (stray / "half.txt").write_text("half-made\n")

    report = await runner_for(git_repo, config, report_path).run(tasks)

    assert report.row("k").status == "succeeded"
    assert worktrees(git_repo) == [str(git_repo)] and not stray.exists()
    files = git(git_repo, "ls-tree", "-r", "--name-only", "qagent/batch/k").split()
    assert files == ["README.md", "out/k.txt"]  # nothing of the killed attempt


async def test_a_reused_slot_starts_clean_from_the_base(git_repo, batch_setup, tmp_path):
    tasks, config, _ = batch_setup(
        ["first", "second"],
        checks={
            "first": "touch leftover.txt && mkdir -p build && touch build/artifact",
            "second": "test ! -e leftover.txt && test ! -e build && test ! -e out/first.txt "
            "&& test -f out/second.txt",
        },
    )
    report = await runner_for(git_repo, config, tmp_path / "r.json", jobs=1).run(tasks)
    assert [r.status for r in report.tasks] == ["succeeded", "succeeded"], [r.error for r in report.tasks]
    assert report.row("second").changed_files == ["out/second.txt"]
