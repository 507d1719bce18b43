"""Fixtures for context tests: real git repositories in tmp dirs and the real tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest
from ctxhelpers import PROJECT, git, write

from agent.context.tokens import tokenizer_status


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small Python project committed to a real git repository."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    write(root, PROJECT)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "initial")
    return root


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def real_tokenizer() -> None:
    status = tokenizer_status()
    if not status.exact:
        pytest.skip(
            f"tiktoken o200k_base BPE file unavailable ({status.notice}); "
            "provision it and set TIKTOKEN_CACHE_DIR"
        )
