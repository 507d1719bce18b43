"""Token counting: real o200k counts, family factors, and the labelled offline fallback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.context.tokens import FAMILY_FACTORS, count_tokens, estimate_tokens_fast, raw_o200k_count

CODE = "def total(items):\n    return sum(i.price for i in items)\n" * 50


def test_family_factors_scale_the_o200k_count(real_tokenizer: None) -> None:
    raw = raw_o200k_count(CODE)
    assert raw and count_tokens(CODE) == raw
    assert abs(count_tokens(CODE, "deepseek") / raw - 1.10) < 0.005
    assert abs(count_tokens(CODE, "qwen") / raw - 1.15) < 0.005
    assert set(FAMILY_FACTORS) == {"generic", "deepseek", "qwen"}


def test_unknown_family_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="use one of"):
        count_tokens("x", "gpt9")


def test_large_text_fast_path_matches_exact_count(real_tokenizer: None) -> None:
    big = CODE * 200  # > 256K chars: split at line breaks and encoded in parallel
    assert len(big) > 256_000
    import tiktoken

    exact = len(tiktoken.get_encoding("o200k_base").encode_ordinary(big))
    assert raw_o200k_count(big) == exact


def test_fast_estimate_is_generous_for_code(real_tokenizer: None) -> None:
    assert estimate_tokens_fast(CODE) >= count_tokens(CODE)


def test_offline_without_bpe_files_falls_back_with_a_notice(tmp_path: Path) -> None:
    """No BPE file and no network (a dead proxy): estimates, a labelled notice, no crash."""
    env = {
        **os.environ,
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "empty"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }
    script = (
        "import json; from agent.context.tokens import count_tokens, tokenizer_status as s;"
        "n = count_tokens('x' * 300, 'deepseek'); st = s();"
        "print(json.dumps({'n': n, 'exact': st.exact, 'notice': st.notice}))"
    )
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["exact"] is False and "ESTIMATE" in data["notice"] and "TIKTOKEN_CACHE_DIR" in data["notice"]
    assert data["n"] == 110  # 300 chars / 3.0, × 1.10
