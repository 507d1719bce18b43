"""Model steps on one conversation: ask the routed model, run its tool calls, repeat until it answers
without calling a tool. Every other ending raises a StopTurn subclass (agent.core.turn)."""

from __future__ import annotations

import asyncio

from agent.config import AgentConfig
from agent.core.conversation import Conversation
from agent.core.ledger import Ledger
from agent.core.ports import Emit
from agent.core.requests import ModelRequests
from agent.core.routing import RouteDecision, Router, StepSignals
from agent.core.toolcalls import ToolEnv, ToolRunner
from agent.core.turn import CutOff, MaxTurns, Repetition
from agent.core.window import ContextWindow


class StepLoop:
    """Implements core.ports.StepRunner for the agent that owns these collaborators."""

    def __init__(self, config: AgentConfig, router: Router, window: ContextWindow, requests: ModelRequests,
                 ledger: Ledger, tools: ToolEnv) -> None:
        self.config = config
        self.router = router
        self.window = window
        self.requests = requests
        self.ledger = ledger
        self.tools = tools

    async def run_steps(self, conversation: Conversation, signals: StepSignals, emit: Emit, *,
                        fixed: RouteDecision | None = None, max_steps: int | None = None) -> str:
        """``fixed`` pins every step to one model and mode (the architect/editor phases)."""
        runner = conversation.runner = ToolRunner(self.tools, conversation, emit)
        limit = max_steps or self.config.limits.max_turns
        text = ""
        try:
            for step in range(limit):
                signals.step = step
                done, text = await self._step(conversation, runner, signals, emit, fixed)
                if done:
                    return text
        except asyncio.CancelledError:
            conversation.close_open_calls("interrupted by the user before it finished")
            raise
        raise MaxTurns(f"stopped after {limit} model requests (--max-turns)", text)

    async def _step(self, conversation: Conversation, runner: ToolRunner, signals: StepSignals, emit: Emit,
                    fixed: RouteDecision | None) -> tuple[bool, str]:
        """(whether the model answered without calling a tool, its text)."""
        decision = fixed or self.router.decide(signals, conversation.messages)
        emit(decision.event())
        if conversation.main:
            await self.window.maybe_compact(conversation, decision.model, emit)
        completion, decision = await self.requests.complete(conversation, decision, signals, emit)
        emit(self.ledger.charge(decision.model, completion.usage))
        conversation.append(completion.message)
        text = completion.message.content
        if not completion.message.tool_calls:
            if completion.truncated:
                raise CutOff("the reply hit the output limit and was cut off", text)
            return True, text
        outcome = await runner.run_calls(completion.message.tool_calls, truncated=completion.truncated)
        signals.after_tools = True
        signals.failures = signals.failures + outcome.failed_edits if outcome.failed_edits else 0
        if outcome.repeated:
            raise Repetition(outcome.repeated, text)
        self.ledger.check_cap()
        return False, text
