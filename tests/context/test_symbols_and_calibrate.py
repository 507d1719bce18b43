"""find_symbols through the tool registry, and calibration on a real repository's history."""

from __future__ import annotations

from pathlib import Path

from ctxhelpers import git

from agent.context.cache import TagCache
from agent.context.calibrate import calibrate
from agent.context.history import TreeIndexer, find_git_dir, replay_commits
from agent.context.repomap import RepoMap
from tools import run_tool


def test_find_symbols_definitions_and_references(repo: Path) -> None:
    result = run_tool("find_symbols", {"query": "query_rows"}, root=repo, repo_map=lambda: RepoMap(repo))
    assert result.ok
    assert "def app/db.py:6: def query_rows(conn, sql):" in result.text
    assert "ref app/models.py: query_rows used 2×" in result.text  # import + call
    only_defs = run_tool("find_symbols", {"query": "Invoice", "kind": "definition"}, root=repo,
                         repo_map=lambda: RepoMap(repo))
    assert "app/models.py:4" in only_defs.text and "ref " not in only_defs.text
    method = run_tool("find_symbols", {"query": "Connection.open"}, root=repo, repo_map=lambda: RepoMap(repo))
    assert "app/db.py:2" in method.text


def test_find_symbols_unknown_name_is_a_retry(repo: Path) -> None:
    result = run_tool("find_symbols", {"query": "no_such_symbol_here"}, root=repo, repo_map=lambda: RepoMap(repo))
    assert not result.ok and "grep" in result.text


def _history(repo: Path) -> None:
    steps = [
        (
            "app/db.py",
            "\n\ndef query_rows_paged(conn, sql, page):\n    return conn.open()\n",
            "Add paged query_rows for the database Connection",
        ),
        (
            "lib/strings.py",
            "\n\ndef slugify_unicode(value):\n    return value\n",
            "Make slugify handle unicode values",
        ),
        (
            "app/models.py",
            "\n\ndef invoice_tax(invoice):\n    return invoice.total()\n",
            "Compute Invoice tax from the invoice total",
        ),
    ]
    for path, extra, message in steps:
        (repo / path).write_text((repo / path).read_text() + extra)
        git(repo, "commit", "-qam", message)


def test_replay_extracts_tasks_gold_files_and_parent_trees(repo: Path) -> None:
    _history(repo)
    commits = replay_commits(find_git_dir(repo), 10)
    assert [c.gold for c in commits] == [("app/models.py",), ("lib/strings.py",), ("app/db.py",)]
    entries = TreeIndexer(find_git_dir(repo)).entries_at(commits[0].parent)
    names = {d[0] for d in entries["app/models.py"].defs}
    assert "Invoice" in names and "invoice_tax" not in names  # the parent's state, not the commit's


def test_calibrate_reports_recall_and_stores_weights(repo: Path, cache_dir: Path) -> None:
    _history(repo)
    result = calibrate(repo, budget=60, count=10, cache_dir=cache_dir)
    assert result.commits == 3 and 0.0 <= result.before <= result.after <= 1.0
    assert TagCache(repo, cache_dir).settings["weights"] == result.weights.to_dict()


def test_map_calibrate_command(repo: Path, monkeypatch, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from agent.cli.context import register

    _history(repo)
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    result = CliRunner().invoke(app, ["map", "--calibrate", "--commits", "5", "--tokens", "60"])
    assert result.exit_code == 0, result.output
    assert "commits replayed: 3" in result.stdout and "weights stored: alpha=" in result.stdout
