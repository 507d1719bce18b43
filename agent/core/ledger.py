"""Tokens and dollars of a session: what each reply cost, what running it remotely would have cost,
and the ``--max-cost`` cap."""

from __future__ import annotations

from agent.config import AgentConfig
from agent.core.turn import MaxCost
from agent.events import UsageReported, UsageTotal
from agent.messages import Usage
from agent.providers.pricing import cost_usd


class Ledger:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.total = Usage()
        self.cost = 0.0
        self.saved_vs_remote = 0.0
        """What local replies would have cost on the remote model, minus what they cost."""

    def charge(self, model: str, usage: Usage) -> UsageReported:
        """Count one reply of ``model``; the event that reports it."""
        entry = self.config.model_entry(model)
        cost = cost_usd(entry.pricing, usage)
        remote = self.config.models.get(self.config.routing.remote)
        if not entry.is_remote and remote is not None:
            self.saved_vs_remote += cost_usd(remote.pricing, usage) - cost
        self.total = self.total + usage
        self.cost += cost
        return UsageReported(model=model, prompt_tokens=usage.prompt_tokens,
                             completion_tokens=usage.completion_tokens, cache_hit_tokens=usage.cache_hit_tokens,
                             reasoning_tokens=usage.reasoning_tokens, cost_usd=round(cost, 6))

    def check_cap(self) -> None:
        """Raise MaxCost once the session reached ``--max-cost``."""
        cap = self.config.limits.max_cost
        if cap is not None and self.cost >= cap:
            raise MaxCost(f"stopped: session cost ${self.cost:.4f} reached --max-cost ${cap:.4f}")

    def totals(self) -> UsageTotal:
        return UsageTotal(prompt_tokens=self.total.prompt_tokens, completion_tokens=self.total.completion_tokens,
                          cache_hit_tokens=self.total.cache_hit_tokens, cost_usd=round(self.cost, 6),
                          saved_vs_remote_usd=round(self.saved_vs_remote, 6))
