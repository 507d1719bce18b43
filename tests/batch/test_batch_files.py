"""Task files, plan parsing and applying results: what users write and what they get back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from batch_helpers import git

from agent.batch.apply import ApplyError, merge_branches, write_patches
from agent.batch.execute import LocalExecutor
from agent.batch.plan import PlanError, parse_plan
from agent.batch.runner import BatchOptions, BatchRunner
from agent.batch.tasks import TaskFileError, load_tasks


def test_toml_and_jsonl_give_the_same_tasks(tmp_path):
    toml = tmp_path / "t.toml"
    toml.write_text(
        '[[task]]\nid = "a"\nprompt = "do a"\npaths = "src/a.py"\nroute = "local"\n'
        'check = "pytest -q tests/test_a.py"\n\n[[task]]\nid = "b"\nprompt = "do b"\nmode = "fast"\n'
    )
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text(
        "# comment lines and blank lines are skipped\n\n"
        '{"id": "a", "prompt": "do a", "paths": ["src/a.py"], "route": "local", '
        '"check": "pytest -q tests/test_a.py"}\n{"id": "b", "prompt": "do b", "mode": "fast"}\n'
    )
    assert load_tasks(toml) == load_tasks(jsonl)
    assert load_tasks(toml)[0].paths == ["src/a.py"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "t.toml",
            '[[task]]\nid = "a"\nprompt = "x"\n[[task]]\nid = "a"\nprompt = "y"\n',
            "task 2: duplicate id 'a' (first at task 1)",
        ),
        (
            "t.toml",
            '[[task]]\nid = "a"\nprompt = "x"\ncolour = "red"\n',
            "task 1 (id 'a'): colour: Extra inputs",
        ),
        ("t.toml", '[task]\nid = "a"\nprompt = "x"\n', "'task' must be an array of tables ([[task]])"),
        ("t.toml", '[[tasks]]\nid = "a"\n', "unexpected top-level key(s) tasks"),
        ("t.toml", '[[task]]\nid = "a"\nprompt = "  "\n', "prompt: Value error, the prompt is blank"),
        (
            "t.toml",
            '[[task]]\nid = "a"\nprompt = "x"\nroute = "cloud"\n',
            "route: Input should be 'auto', 'local'",
        ),
        ("t.toml", "[[task]\n", "invalid TOML"),
        (
            "t.jsonl",
            '{"id": "a", "prompt": "x"}\n\n{"id": "b", "prompt": }\n',
            "t.jsonl, line 3: invalid JSON",
        ),
        (
            "t.jsonl",
            '{"id": "../etc", "prompt": "x"}\n',
            "line 1 (id '../etc'): id: Value error, use 1-64 letters",
        ),
        ("t.jsonl", '{"prompt": "x"}\n', "line 1: id: Field required"),
        ("t.jsonl", "\n# nothing\n", "no tasks"),
        ("t.jsonl", '["a"]\n', "line 1: expected a table/object, got list"),
    ],
)
def test_task_file_errors_name_the_place(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TaskFileError) as caught:
        load_tasks(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_task_file(tmp_path):
    with pytest.raises(TaskFileError, match="cannot read task file"):
        load_tasks(tmp_path / "nope.toml")


def test_plan_parsing_accepts_fences_and_bare_lists_and_defaults_to_local():
    fenced = 'Here is the plan:\n```json\n{"tasks": [{"id": "x", "prompt": "do x", "paths": ["x.py"]}]}\n```'
    assert [(t.id, t.route) for t in parse_plan(fenced)] == [("x", "local")]
    bare = '[{"id": "y", "prompt": "do y", "route": "remote"}]'
    assert [(t.id, t.route) for t in parse_plan(bare)] == [("y", "remote")]
    with pytest.raises(PlanError, match="not JSON"):
        parse_plan("I could not find anything to change.")
    with pytest.raises(PlanError, match="duplicate id"):
        parse_plan('{"tasks": [{"id": "a", "prompt": "1"}, {"id": "a", "prompt": "2"}]}')


async def _run(repo: Path, batch_setup, ids, scripts=None):
    tasks, config, _ = batch_setup(ids, scripts=scripts)
    return await BatchRunner(
        repo, BatchOptions(jobs=2), LocalExecutor(repo, config), repo.parent / "r.json"
    ).run(tasks)


def _same_file_script(task_id: str, text: str) -> list[dict]:
    return [
        {"tool_calls": [{"name": "write_file", "arguments": {"path": "shared.txt", "content": text}}]},
        {"text": f"{task_id} done"},
    ]


async def test_merge_applies_branches_in_order_and_stops_at_a_conflict(git_repo, batch_setup):
    report = await _run(
        git_repo,
        batch_setup,
        ["m1", "m2", "m3"],
        scripts={"m2": _same_file_script("m2", "from m2\n"), "m3": _same_file_script("m3", "from m3\n")},
    )
    outcome = merge_branches(git_repo, report, "HEAD")

    assert outcome.applied == ["m1", "m2"] and outcome.stopped_at == "m3"
    assert "conflicts in shared.txt" in outcome.message and "git merge qagent/batch/m3" in outcome.message
    assert [r.applied for r in report.tasks] == ["merged", "merged", "conflict"]
    assert (git_repo / "out" / "m1.txt").read_text() == "made by m1\n"
    assert (git_repo / "shared.txt").read_text() == "from m2\n"
    assert git(git_repo, "status", "--porcelain") == ""  # the conflicting merge was aborted


async def test_merge_refuses_a_dirty_tree_or_another_branch(git_repo, batch_setup):
    report = await _run(git_repo, batch_setup, ["d1"])
    (git_repo / "README.md").write_text("local edit\n")
    with pytest.raises(ApplyError, match="clean working tree"):
        merge_branches(git_repo, report, "HEAD")
    with pytest.raises(ApplyError, match="git switch develop"):
        merge_branches(git_repo, report, "develop")


async def test_patches_apply_with_git_am(git_repo, batch_setup, tmp_path):
    report = await _run(git_repo, batch_setup, ["p1", "p2"])
    outcome = write_patches(git_repo, report, report.summary["base_commit"], tmp_path / "patches")
    assert sorted(p.name for p in (tmp_path / "patches").iterdir()) == ["p1.patch", "p2.patch"]
    assert outcome.applied == ["p1", "p2"]
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(git_repo), str(clone)], check=True)
    git(clone, "am", "-q", str(tmp_path / "patches" / "p1.patch"), str(tmp_path / "patches" / "p2.patch"))
    assert (clone / "out" / "p2.txt").read_text() == "made by p2\n"
