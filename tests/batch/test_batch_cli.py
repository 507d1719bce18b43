"""``qagent batch`` as a user runs it: a real subprocess, a .qagent.toml pointing at scripted servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from batch_helpers import batch_branches, git, worktrees, write_script

QAGENT = [sys.executable, "-m", "agent.cli"]


def write_repo_config(repo: Path, models: dict[str, str], remote: str | None = None) -> None:
    lines = [f'[session]\ndata_dir = "{repo.parent / "sessions"}"\n']
    for name, url in models.items():
        lines.append(f'[models.{name}]\nbase_url = "{url}"\ndialect = "vllm"\nmodel = "scripted-model"\n')
    if remote:
        lines.append(
            f'[models.remote]\nbase_url = "{remote}"\ndialect = "deepseek"\nmodel = "deepseek-chat"\n'
            'remote = true\napi_key = "sk-test-remote"\n'
        )
    (repo / ".qagent.toml").write_text("\n".join(lines))


def run_cli(repo: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*QAGENT, "batch", *args], cwd=repo, env=_env(repo), capture_output=True, text=True, timeout=timeout
    )


def _env(repo: Path) -> dict[str, str]:
    return {
        **os.environ,
        "XDG_CONFIG_HOME": str(repo.parent / "xdg"),
        "DEEPSEEK_API_KEY": "",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }


def test_cli_runs_a_toml_file_quietly_and_merges(git_repo, scripted_server, tmp_path):
    servers = {tid: scripted_server(write_script(tid), dialect="vllm") for tid in ("a", "b")}
    write_repo_config(git_repo, {f"m-{t}": s.url for t, s in servers.items()})
    tasks = tmp_path / "tasks.toml"
    tasks.write_text(
        '[[task]]\nid = "a"\nprompt = "make a"\nmodel = "m-a"\ncheck = "test -f out/a.txt"\n\n'
        '[[task]]\nid = "b"\nprompt = "make b"\nmodel = "m-b"\npaths = ["out/"]\n'
    )

    done = run_cli(git_repo, str(tasks), "-j", "2", "--quiet", "--apply", "merge")

    assert done.returncode == 0, done.stderr
    assert "succeeded   a" in done.stdout and "total 2: 2 succeeded" in done.stdout
    assert "merged 2 branch(es) into main" in done.stderr
    assert sorted(p.name for p in (git_repo / "out").iterdir()) == ["a.txt", "b.txt"]
    report = json.loads((tmp_path / "tasks.report.json").read_text())
    assert [r["applied"] for r in report["tasks"]] == ["merged", "merged"]

    again = run_cli(git_repo, str(tasks), "--quiet")  # resumes: nothing left to do
    assert again.returncode == 0 and "2 task(s) already done, 0 to run" in again.stderr


def test_cli_reports_task_file_errors_clearly(git_repo, tmp_path):
    bad = tmp_path / "tasks.jsonl"
    bad.write_text('{"id": "ok", "prompt": "fine"}\n{"id": "has space", "prompt": "x"}\n')
    done = run_cli(git_repo, str(bad))
    assert done.returncode == 2
    assert "tasks.jsonl, line 2 (id 'has space'): id: Value error, use 1-64 letters" in done.stderr


def test_ctrl_c_stops_cleanly_and_leaves_no_worktrees(git_repo, scripted_server, tmp_path):
    servers = {
        tid: scripted_server(write_script(tid, latency=30), dialect="vllm") for tid in ("s1", "s2", "s3")
    }
    write_repo_config(git_repo, {f"m-{t}": s.url for t, s in servers.items()})
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        "".join(json.dumps({"id": t, "prompt": f"make {t}", "model": f"m-{t}"}) + "\n" for t in servers)
    )
    proc = subprocess.Popen(
        [*QAGENT, "batch", str(tasks), "-j", "2", "--quiet"],
        cwd=git_repo,
        env=_env(git_repo),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sum(len(s.chat_requests()) for s in servers.values()) < 2:
        time.sleep(0.05)
    assert len(worktrees(git_repo)) == 3
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)

    assert proc.returncode == 130, err
    assert "interrupted; running tasks were stopped" in err
    assert worktrees(git_repo) == [str(git_repo)]
    assert batch_branches(git_repo) == []
    report = json.loads((tmp_path / "tasks.report.json").read_text())
    assert sorted(r["status"] for r in report["tasks"]) == ["interrupted", "interrupted", "skipped"]


def test_plan_mode_end_to_end(git_repo, scripted_server, tmp_path):
    (git_repo / "a.py").write_text("def old_name():\n    return 1\n")
    (git_repo / "b.py").write_text("from a import old_name\n\nprint(old_name())\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "code")
    plan = {
        "tasks": [
            {
                "id": "rename-a",
                "prompt": "In a.py rename old_name to new_name",
                "paths": ["a.py"],
                "check": "grep -q new_name a.py",
            },
            {"id": "rename-b", "prompt": "In b.py rename old_name to new_name", "paths": ["b.py"]},
        ]
    }
    remote = scripted_server(
        [{"reasoning": "two files use it", "text": "```json\n" + json.dumps(plan) + "\n```"}],
        dialect="deepseek",
    )
    local = scripted_server(
        [
            {
                "tool_calls": [
                    {
                        "name": "edit_file",
                        "arguments": {
                            "path": "a.py",
                            "old_string": "def old_name",
                            "new_string": "def new_name",
                        },
                    }
                ]
            },
            {"text": "renamed in a.py"},
            {
                "tool_calls": [
                    {
                        "name": "edit_file",
                        "arguments": {
                            "path": "b.py",
                            "old_string": "old_name",
                            "new_string": "new_name",
                            "replace_all": True,
                        },
                    }
                ]
            },
            {"text": "renamed in b.py"},
        ],
        dialect="vllm",
    )
    write_repo_config(git_repo, {"local": local.url}, remote=remote.url)
    plan_file = tmp_path / "plan.jsonl"

    done = run_cli(
        git_repo,
        str(plan_file),
        "--plan",
        "rename old_name to new_name across the codebase",
        "--yes",
        "-j",
        "1",
        "--quiet",
    )

    assert done.returncode == 0, done.stderr
    planning = remote.chat_requests()[0]
    assert "rename old_name to new_name across the codebase" in json.dumps(planning["messages"])
    assert "splitting a repository-scale request" in json.dumps(planning["messages"])
    assert planning["thinking"] == {"type": "enabled"}  # remote model, thinking mode
    assert {t["function"]["name"] for t in planning["tools"]} >= {"read_file", "grep"}
    assert not {"write_file", "edit_file", "shell"} & {t["function"]["name"] for t in planning["tools"]}
    saved = [json.loads(line) for line in plan_file.read_text().splitlines()]
    assert [t["id"] for t in saved] == ["rename-a", "rename-b"] and saved[0]["route"] == "local"
    assert len(local.chat_requests()) == 4 and len(remote.chat_requests()) == 1
    assert git(git_repo, "show", "qagent/batch/rename-a:a.py") == "def new_name():\n    return 1\n"
    assert (
        git(git_repo, "show", "qagent/batch/rename-b:b.py") == "from a import new_name\n\nprint(new_name())\n"
    )
    report = json.loads((tmp_path / "plan.report.json").read_text())
    assert [(r["id"], r["status"]) for r in report["tasks"]] == [
        ("rename-a", "succeeded"),
        ("rename-b", "succeeded"),
    ]
    assert report["tasks"][0]["check"]["passed"] is True
    assert all(route["model"] == "local" for r in report["tasks"] for route in r["routes"])


def test_batch_report_prints_the_summary_and_exits_1_on_failures(tmp_path):
    import typer
    from typer.testing import CliRunner

    from agent.batch.tasks import BatchReport, TaskRow
    from agent.cli.batch import register

    report = BatchReport(
        tasks=[
            TaskRow(id="good", status="succeeded", branch="qagent/batch/good"),
            TaskRow(id="bad", status="failed", branch="qagent/batch/bad", error="check failed"),
        ]
    )
    report.summarise()
    report.save(tmp_path / "r.json")
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["batch-report", str(tmp_path / "r.json"), "--quiet"])
    assert result.exit_code == 1
    assert "failed      bad" in result.output and "check failed" in result.output
    assert "total 2: 1 succeeded, 1 failed" in result.output
