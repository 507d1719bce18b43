"""The providers of an agent, one per ``[models.NAME]`` entry, created on first use.

A pool can be shared: batch tasks running in one event loop share one pool, so each endpoint's
HTTP client (about 80 ms of CPU for its TLS context) is made once. Whoever made the pool closes it.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.config import AgentConfig
from agent.providers.openai_compat import OpenAICompatProvider


class ModelPool:
    """OpenAI-compatible providers for the entries of one config (implements core.ports.ProviderPool)."""

    def __init__(self, config: AgentConfig, *, redact: Callable[[str], str] | None = None) -> None:
        self.config = config
        self.redact = redact
        self._providers: dict[str, OpenAICompatProvider] = {}

    def get(self, name: str) -> OpenAICompatProvider:
        if name not in self._providers:
            self._providers[name] = OpenAICompatProvider(
                name, self.config.model_entry(name), self.config.limits,
                privacy=self.config.routing.privacy, redact=self.redact)
        return self._providers[name]

    def contacted(self) -> list[str]:
        return list(self._providers)

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()
