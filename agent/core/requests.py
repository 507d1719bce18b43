"""One model request as the loop needs it: streamed, retried once when the reply is empty, shrunk
once when it overflows the window, and moved to the other endpoint when this one is unreachable.

Each of those reactions is announced with a Notice (never silent), and each is bounded, so a
failing endpoint can never loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from agent.core.conversation import Conversation
from agent.core.ports import Emit, ProviderPool
from agent.core.routing import RouteDecision, Router, StepSignals
from agent.core.turn import EmptyReply, ModelFailed
from agent.core.window import ContextWindow
from agent.events import Notice, TextDelta
from agent.messages import Message
from agent.providers.types import Completion, ProviderError

BuildRequest = Callable[[Conversation, str], list[Message]]
"""The messages to send for a conversation to model NAME (system prompt, pack, conversation)."""


class ModelRequests:
    def __init__(self, pool: ProviderPool, router: Router, window: ContextWindow, build: BuildRequest) -> None:
        self.pool = pool
        self.router = router
        self.window = window
        self.build = build

    async def complete(self, conversation: Conversation, decision: RouteDecision, signals: StepSignals,
                       emit: Emit) -> tuple[Completion, RouteDecision]:
        """The reply and the decision that produced it (a fallback may have changed it).

        An empty reply is asked again once; a second one raises EmptyReply.
        """
        asked_again = False
        while True:
            completion, decision = await self._with_fallback(conversation, decision, signals, emit)
            message = completion.message
            if message.content.strip() or message.tool_calls:
                return completion, decision
            what = "reasoning but no answer" if message.reasoning else "an empty reply"
            if asked_again:
                raise EmptyReply(f"{decision.model} returned {what} twice; stopping")
            asked_again = True
            emit(Notice(level="warning", text=f"{decision.model} returned {what}; asking again once"))

    async def _with_fallback(self, conversation: Conversation, decision: RouteDecision, signals: StepSignals,
                             emit: Emit) -> tuple[Completion, RouteDecision]:
        tried: set[str] = set()
        may_shrink = conversation.main
        while True:
            try:
                return await self._stream(conversation, decision, emit), decision
            except ProviderError as exc:
                if exc.kind == "context_length" and may_shrink:
                    may_shrink = False
                    emit(Notice(level="warning", text=f"{exc.message} — compacting and retrying once"))
                    await self.window.maybe_compact(conversation, decision.model, emit, force=True)
                    continue
                self.router.report_failure(decision.model, exc.kind)
                tried.add(decision.model)
                fallback = self.router.fallback(decision, signals, exc.kind, tried)
                if fallback is None:
                    raise ModelFailed(exc) from None
                emit(Notice(level="warning", text=f"{exc.message} — falling back to {fallback.model}"))
                emit(fallback.event())
                decision = fallback

    async def _stream(self, conversation: Conversation, decision: RouteDecision, emit: Emit) -> Completion:
        """Stream one request, forwarding deltas; an interrupt keeps the partial answer in the conversation."""
        provider = self.pool.get(decision.model)
        completion: Completion | None = None
        partial: list[str] = []
        try:
            async for item in provider.stream(self.build(conversation, decision.model),
                                              conversation.toolset.schemas(), decision.mode):
                if isinstance(item, Completion):
                    completion = item
                    continue
                if isinstance(item, TextDelta):
                    partial.append(item.text)
                emit(item)
        except asyncio.CancelledError:
            if partial:
                conversation.append(Message(role="assistant", content="".join(partial) + " [interrupted]"))
            raise
        if completion is None:
            raise ProviderError("bad_response", f"{decision.model}: the stream ended without a reply")
        return completion
