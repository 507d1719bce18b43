"""Token counts for budgets: tiktoken ``o200k_base`` times a per-model-family correction factor.

Neither DeepSeek nor Qwen publish a tiktoken vocabulary, so counts are approximations
(PROTOCOLS.md §4.2): o200k *undercounts* DeepSeek V4 by about 2-8 % on code and markdown, and
Qwen 3.5's larger tokenizer has not been measured offline. The factors below turn an o200k count
into a safe over-estimate for each family; callers still keep headroom and correct with the usage
the server reports.

tiktoken downloads its BPE file on first use. Offline and without ``TIKTOKEN_CACHE_DIR`` pointing
at a copy, counting falls back to a clearly labelled character-based estimate (see
:func:`tokenizer_status`) instead of crashing.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

FAMILY_FACTORS: dict[str, float] = {
    "generic": 1.0,
    "deepseek": 1.10,  # o200k undercounts DeepSeek V4 by 2-8 % (PROTOCOLS §4.2): 10 % covers it
    "qwen": 1.15,  # Qwen 3.5's tokenizer is unmeasured offline: a wider margin than DeepSeek's
}
"""Multiply an o200k count by this to estimate the family's own tokenizer."""

ENCODING = "o200k_base"
FALLBACK_CHARS_PER_TOKEN = 3.0
"""Offline fallback: code averages ~3.5-4.2 chars per o200k token, so 3.0 over-estimates (safe)."""
FAST_PATH_CHARS = 256_000
"""Texts longer than this are split at line breaks and encoded on all cores."""
_LOAD_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class TokenizerStatus:
    exact: bool
    """True when counts come from the real BPE; False for the character-based estimate."""
    notice: str
    """One line for the user (shown as a Notice when ``exact`` is False)."""


_lock = threading.Lock()
_state: dict[str, Any] = {}


def _load() -> Any | None:
    """Load the BPE once. Loading may try the network, so it runs in a thread with a timeout."""
    with _lock:
        if "encoding" in _state:
            return _state["encoding"]
        box: dict[str, Any] = {}

        def worker() -> None:
            try:
                import tiktoken

                box["encoding"] = tiktoken.get_encoding(ENCODING)
            except Exception as exc:  # offline, corrupt cache, missing package: all mean "estimate"
                box["error"] = f"{type(exc).__name__}: {str(exc)[:160]}"

        thread = threading.Thread(target=worker, name="tiktoken-load", daemon=True)
        thread.start()
        thread.join(_LOAD_TIMEOUT_S)
        encoding = box.get("encoding")
        _state["encoding"] = encoding
        if encoding is None:
            reason = box.get("error", f"loading took over {_LOAD_TIMEOUT_S:.0f}s")
            _state["notice"] = (
                f"token counts are ESTIMATES (chars/{FALLBACK_CHARS_PER_TOKEN:g}): tiktoken's {ENCODING} "
                f"file is unavailable ({reason}); set TIKTOKEN_CACHE_DIR to a folder holding it"
            )
        else:
            _state["notice"] = f"token counts use tiktoken {ENCODING}"
        return encoding


def tokenizer_status() -> TokenizerStatus:
    """Whether counts are exact o200k counts or the offline estimate, with a line to show the user."""
    encoding = _load()
    return TokenizerStatus(exact=encoding is not None, notice=_state["notice"])


def _factor(model_family: str) -> float:
    try:
        return FAMILY_FACTORS[model_family]
    except KeyError:
        known = ", ".join(sorted(FAMILY_FACTORS))
        raise ValueError(f"unknown model family {model_family!r}; use one of: {known}") from None


def _split_lines(text: str, size: int) -> list[str]:
    """Chunks of about ``size`` chars cut after a newline, so BPE merges across cuts are rare."""
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        chunks.append(text[start:end])
        start = end
    return chunks


def raw_o200k_count(text: str) -> int | None:
    """Exact o200k count, or None when the BPE is unavailable. Special tokens count as text."""
    encoding = _load()
    if encoding is None:
        return None
    if len(text) <= FAST_PATH_CHARS:
        return len(encoding.encode_ordinary(text))
    chunks = _split_lines(text, 64_000)
    return sum(len(ids) for ids in encoding.encode_ordinary_batch(chunks, num_threads=4))


def estimate_tokens_fast(text: str) -> int:
    """A cheap, deliberately generous estimate (no BPE): for routing decisions, never for hard limits."""
    return math.ceil(len(text) / FALLBACK_CHARS_PER_TOKEN)


def count_tokens(text: str, model_family: str = "generic") -> int:
    """Tokens of ``text`` for a model family: o200k count × the family factor, rounded up.

    Falls back to :func:`estimate_tokens_fast` (× factor) when the BPE file is unavailable; check
    :func:`tokenizer_status` to tell the user.
    """
    factor = _factor(model_family)
    if not text:
        return 0
    raw = raw_o200k_count(text)
    if raw is None:
        raw = estimate_tokens_fast(text)
    return _scaled(raw, factor)


def apply_factor(raw_count: int, model_family: str = "generic") -> int:
    """Scale a cached raw o200k count (see :func:`raw_o200k_count`) to a model family."""
    return _scaled(raw_count, _factor(model_family))


def _scaled(raw: int, factor: float) -> int:
    return math.ceil(raw * factor - 1e-9)  # 100 × 1.1 is 110.00000000000001 in floats
