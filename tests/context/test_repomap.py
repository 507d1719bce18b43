"""Ranking, rendering within budget, and the incremental persistent index, on real git repos."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ctxhelpers import git, write

from agent.context.repomap import RepoMap
from agent.context.tokens import count_tokens


def test_focus_file_neighbours_rank_first(repo: Path, cache_dir: Path) -> None:
    rm = RepoMap(repo, cache_dir=cache_dir)
    ranking = [r.path for r in rm.rank(focus_files=["app/models.py"])]
    others = [p for p in ranking if p != "app/models.py"]
    # models.py uses db.py and is used by views.py; unrelated files come after both.
    assert set(others[:2]) == {"app/db.py", "app/views.py"}
    assert others.index("app/unrelated.py") > 1 and others.index("lib/strings.py") > 1


def test_mentioned_identifier_pulls_its_file_up(repo: Path, cache_dir: Path) -> None:
    rm = RepoMap(repo, cache_dir=cache_dir)
    assert rm.rank(query="slugify drops accents")[0].path == "lib/strings.py"
    assert rm.files_likely_involved("make slugify keep dashes", k=3)[0] == "lib/strings.py"
    assert rm.files_likely_involved("edit app/views.py please", k=3)[0] == "app/views.py"


@pytest.mark.parametrize("budget", [20, 60, 120, 400, 5000])
def test_rendered_map_never_exceeds_budget(
    repo: Path, cache_dir: Path, budget: int, real_tokenizer: None
) -> None:
    rm = RepoMap(repo, cache_dir=cache_dir)
    rendered = rm.render_map(budget)
    assert count_tokens(rendered.text) <= budget
    assert rendered.tokens == count_tokens(rendered.text)
    if budget >= 400:  # everything fits: every source file is in the map
        assert {"app/db.py", "app/models.py", "lib/strings.py"} <= set(rendered.files)
        assert "│class Connection:" in rendered.text


def test_budget_respected_on_many_files(tmp_path: Path, real_tokenizer: None) -> None:
    root = tmp_path / "big"
    root.mkdir()
    git(root, "init", "-q")
    write(
        root,
        {
            f"pkg/mod{i}.py": f"from pkg.mod{(i + 1) % 60} import f{(i + 1) % 60}\n\n"
            + "".join(f"def f{i}_{j}(a, b, c):\n    return f{(i + 1) % 60}(a)\n" for j in range(8))
            + f"def f{i}():\n    pass\n"
            for i in range(60)
        },
    )
    rm = RepoMap(root, cache_dir=tmp_path / "c")
    for budget in (100, 333, 1000, 2500):
        text = rm.render(budget)
        assert 0 < count_tokens(text) <= budget


def test_editing_one_file_reparses_exactly_that_file(repo: Path, cache_dir: Path) -> None:
    rm = RepoMap(repo, cache_dir=cache_dir)
    first = rm.refresh()
    assert set(first.parsed) >= {"app/db.py", "app/models.py"}
    (repo / "app/db.py").write_text("class Connection:\n    def close(self):\n        return 0\n")
    second = rm.refresh()
    assert second.parsed == ["app/db.py"]
    assert "close" in rm.graph.defines and "query_rows" not in rm.graph.defines
    # Once flushed (done at exit for small updates), a fresh process parses nothing.
    rm.flush()
    assert RepoMap(repo, cache_dir=cache_dir).refresh().parsed == []


def test_same_bytes_with_new_mtime_is_hashed_not_parsed(repo: Path, cache_dir: Path) -> None:
    rm = RepoMap(repo, cache_dir=cache_dir)
    rm.refresh()
    st = (repo / "app/db.py").stat()
    os.utime(repo / "app/db.py", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    stats = rm.refresh()
    assert stats.parsed == [] and stats.hashed >= 1


def test_new_and_deleted_files_are_noticed(repo: Path, cache_dir: Path) -> None:
    rm = RepoMap(repo, cache_dir=cache_dir)
    rm.refresh()
    write(repo, {"app/new.py": "def brand_new():\n    return 1\n"})
    (repo / "lib/strings.py").unlink()
    stats = rm.refresh()
    assert stats.parsed == ["app/new.py"] and stats.removed == ["lib/strings.py"]
    assert "brand_new" in rm.graph.defines and "slugify" not in rm.graph.defines


def test_ignored_and_secret_files_are_not_indexed(repo: Path, cache_dir: Path) -> None:
    write(
        repo,
        {
            ".gitignore": "build_out/\n",
            "build_out/gen.py": "def ignored_fn():\n    pass\n",
            ".env": "API_KEY=abc\n",
            "deploy/id_rsa": "x\n",
        },
    )
    rm = RepoMap(repo, cache_dir=cache_dir)
    rm.refresh()
    assert "build_out/gen.py" not in rm.entries and ".env" not in rm.entries
    assert "deploy/id_rsa" not in rm.entries and "ignored_fn" not in rm.graph.defines


def test_listing_follows_new_directories_and_ignore_rules(repo: Path, cache_dir: Path) -> None:
    rm = RepoMap(repo, cache_dir=cache_dir)
    rm.refresh()
    write(repo, {"newpkg/deep/mod.py": "def deep_fn():\n    return 2\n"})
    assert rm.refresh().parsed == ["newpkg/deep/mod.py"]
    write(repo, {".gitignore": "newpkg/\n"})
    stats = rm.refresh()
    assert "newpkg/deep/mod.py" in stats.removed and "deep_fn" not in rm.graph.defines
