"""The persistent index: trust in file stamps (racily clean files, what is never re-read), re-listing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from ctxhelpers import git, write

from agent.context import cache
from agent.context.repomap import RepoMap


def _age_all(root: Path, seconds: float) -> None:
    """Stamp every work-tree file ``seconds`` in the past (as if checked out long ago)."""
    then = time.time_ns() - int(seconds * 1e9) + 123
    for path in root.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            os.utime(path, ns=(then, then))


def _rewrite_in_same_tick(path: Path, text: str) -> None:
    """Same size, new bytes, old mtime: what a write within one timestamp tick looks like."""
    before = path.stat()
    assert len(text.encode()) == before.st_size
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.fixture
def wide_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write and the read right after it count as racy even on a machine stalled by load."""
    monkeypatch.setattr(cache, "RACY_NS", 30_000_000_000)


def test_same_size_rewrite_in_the_same_tick_is_reparsed(
    repo: Path, cache_dir: Path, wide_racy_window: None
) -> None:
    rm = RepoMap(repo, cache_dir=cache_dir)
    rm.refresh()
    db = repo / "app/db.py"
    db.write_text("def query_alpha():\n    return 1\n")
    assert rm.refresh().parsed == ["app/db.py"]  # read right after the write: racily clean
    _rewrite_in_same_tick(db, "def query_omega():\n    return 2\n")
    assert rm.refresh().parsed == ["app/db.py"]
    assert "query_omega" in rm.graph.defines and "query_alpha" not in rm.graph.defines


def test_same_tick_rewrite_is_caught_by_a_fresh_process_too(
    repo: Path, cache_dir: Path, wide_racy_window: None
) -> None:
    rm = RepoMap(repo, cache_dir=cache_dir)
    rm.refresh()
    rm.flush()
    _rewrite_in_same_tick(repo / "lib/strings.py", "def slugifx(value):\n    return value.upper()\n")
    fresh = RepoMap(repo, cache_dir=cache_dir)
    assert fresh.refresh().parsed == ["lib/strings.py"]
    assert "slugifx" in fresh.graph.defines and "slugify" not in fresh.graph.defines


def test_files_written_well_before_a_scan_are_not_hashed_again(repo: Path, cache_dir: Path) -> None:
    _age_all(repo, 3600)
    rm = RepoMap(repo, cache_dir=cache_dir)
    rm.refresh(code_only=False)
    rm.flush()
    db = repo / "app/db.py"
    db.write_text("class Connection:\n    def close(self):\n        return 0\n")
    stamp = time.time_ns() - 1_000_000_000 + 123  # edited a second before the scan, after the save
    os.utime(db, ns=(stamp, stamp))
    first = rm.refresh()
    assert first.parsed == ["app/db.py"]
    for _ in range(2):
        again = rm.refresh(code_only=False)
        assert (again.parsed, again.hashed) == ([], 0)
    rm.flush()
    fresh = RepoMap(repo, cache_dir=cache_dir).refresh(code_only=False)
    assert (fresh.parsed, fresh.hashed) == ([], 0)


def test_recent_files_are_hashed_once_more_then_trusted(repo: Path, cache_dir: Path) -> None:
    _age_all(repo, -0.5)  # stamped by a clock half a second ahead: racy when first read
    rm = RepoMap(repo, cache_dir=cache_dir)
    rm.refresh()
    time.sleep(0.5 + cache.RACY_NS / 1e9 + 0.1)
    second = rm.refresh()
    assert second.parsed == [] and second.hashed >= 5
    third = rm.refresh()
    assert (third.parsed, third.hashed) == ([], 0)


def test_full_refresh_forgets_deleted_non_source_files(repo: Path, cache_dir: Path) -> None:
    rm = RepoMap(repo, cache_dir=cache_dir)
    rm.refresh(code_only=False)
    assert "README.md" in rm.entries
    (repo / "README.md").unlink()
    assert rm.refresh(code_only=False).removed == ["README.md"]
    assert "README.md" not in rm.entries


def test_atomic_saves_new_folders_and_deletions_are_seen_by_a_partial_relisting(
    repo: Path, cache_dir: Path, tmp_path: Path
) -> None:
    write(
        repo,
        {
            ".gitignore": "*.log\nscratch/\n",
            "pkg/sub/a.py": "def alpha():\n    return 1\n",
            "pkg/other/b.py": "def beta():\n    return 2\n",
        },
    )
    rm = RepoMap(repo, cache_dir=cache_dir)
    rm.refresh()
    temp = repo / "pkg/sub/.a.py.tmp"  # an atomic save: temp file, then rename over the original
    temp.write_text("def alpha_two():\n    return 1\n")
    temp.replace(repo / "pkg/sub/a.py")
    write(
        repo,
        {
            "pkg/sub/deeper/c.py": "def gamma():\n    return 3\n",
            "pkg/sub/debug.log": "ignored\n",
            "pkg/other/scratch/d.py": "def ignored_too():\n    return 4\n",
        },
    )
    (repo / "pkg/other/b.py").unlink()
    stats = rm.refresh()
    assert stats.parsed == ["pkg/sub/a.py", "pkg/sub/deeper/c.py"]
    assert stats.removed == ["pkg/other/b.py"]
    assert {"alpha_two", "gamma"} <= rm.graph.defines.keys()
    assert not {"alpha", "beta", "ignored_too"} & rm.graph.defines.keys()
    rm.refresh(code_only=False)
    fresh = RepoMap(repo, cache_dir=tmp_path / "fresh")
    fresh.refresh(code_only=False)
    assert sorted(rm.entries) == sorted(fresh.entries)


def test_parallel_cold_build_indexes_exactly_what_an_inline_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "big"
    root.mkdir()
    git(root, "init", "-q")
    body = "".join(f"    def method_{j}(self, x):\n        return helper_{j}(x) + {j}\n" for j in range(40))
    write(
        root,
        {
            f"pkg/m{i:02d}.py": f"class Thing{i}:\n{body}\n\ndef helper_{i}(x):\n    return x\n"
            for i in range(80)
        },
    )
    monkeypatch.setattr(cache, "POOL_BYTES", {"fork": 0, "spawn": 0})  # the process pool, however few bytes
    parallel = cache.TagCache(root, tmp_path / "parallel")
    stats = parallel.update()
    monkeypatch.setattr(cache, "POOL_BYTES", {"fork": 1 << 40, "spawn": 1 << 40})
    inline = cache.TagCache(root, tmp_path / "inline")
    assert inline.update().parsed == stats.parsed == sorted(stats.parsed)
    strip = lambda e: e._replace(mtime_ns=0, gen=0)  # noqa: E731 - stamps depend on read times
    assert {k: strip(e) for k, e in parallel.files.items()} == {k: strip(e) for k, e in inline.files.items()}
    assert len(parallel.files["pkg/m07.py"].defs) == 42
