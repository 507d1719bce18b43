"""The persistent index's trust in file stamps: racily clean files, and what is never re-read."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

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
