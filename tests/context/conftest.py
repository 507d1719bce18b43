"""Fixtures for context tests: real git repositories in tmp dirs and the real tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest
from ctxhelpers import PROJECT

from agent.context.tokens import tokenizer_status
from tests.repos import make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small Python project committed to a real git repository."""
    return make_repo(tmp_path / "repo", PROJECT)


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
