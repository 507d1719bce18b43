"""Cost from usage: DeepSeek bills cache hits, cache misses and output at different rates."""

from __future__ import annotations

from agent.config import Pricing
from agent.messages import Usage


def cost_usd(pricing: Pricing, usage: Usage) -> float:
    """hit × p_hit + miss × p_miss + completion × p_out, prices per million tokens.

    A server that reports no cache split bills every prompt token as a miss.
    """
    hit = min(usage.cache_hit_tokens, usage.prompt_tokens)
    miss = usage.prompt_tokens - hit
    return (hit * pricing.input_cache_hit + miss * pricing.input_cache_miss
            + usage.completion_tokens * pricing.output) / 1_000_000
