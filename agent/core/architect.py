"""Architect / editor: the remote model plans, the local model edits each file, the remote model reviews.

For repository-scale work the expensive model's strength is the plan and the review; the per-file
edits are mechanical and go to the free, private local model. Each phase is a side conversation
with its own pinned route, and every phase is visible in events (RouteDecided with its reason,
Notices for the plan and for escalations).

The review continues the plan's conversation: the reviewer sees its own full plan and the files it
read, and every request of the remote model in the task extends the previous one, so DeepSeek bills
that history at its cache-hit price instead of re-sending a summary as new tokens.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import prompts
from agent.context.compaction import conversation_tokens
from agent.context.tokens import count_tokens
from agent.core.conversation import Conversation
from agent.core.ports import Emit, StepRunner
from agent.core.routing import RouteDecision, Router, StepSignals
from agent.core.turn import CutOff, EmptyReply, MaxTurns
from agent.core.window import ContextWindow
from agent.events import Event, Notice, ToolCallFinished
from agent.messages import Message
from tools import Toolset

PLAN_STEPS, REVIEW_STEPS = 16, 8
DIFF_CAP = 60_000
MAP_TOKENS = 4096
REVIEW_SHARE = 0.5
"""The review continues the plan conversation while that fits in this share of the remote window."""
PHASE_ENDINGS = (MaxTurns, CutOff, EmptyReply)
"""Endings a phase reports instead of stopping the turn: the plan falls back, an editor escalates."""


def parse_plan(text: str) -> dict[str, Any] | None:
    """The plan JSON from the architect's answer (fenced or bare), or None."""
    fenced = re.search(r"```(?:json)?\s*(\{.*\})\s*```", text, re.S)
    candidates = [fenced.group(1)] if fenced else []
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            plan = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        files = plan.get("files") if isinstance(plan, dict) else None
        if isinstance(files, list) and all(isinstance(f, dict) and f.get("path") and f.get("change")
                                           for f in files):
            return plan
    return None


class Architect:
    """Runs one repository-scale task as plan, per-file edits and review on side conversations."""

    def __init__(self, router: Router, steps: StepRunner, window: ContextWindow, root: Path) -> None:
        self.router = router
        self.config = router.config
        self.steps = steps
        self.window = window
        self.root = root

    def _decision(self, name: str, mode: str, reason: str) -> RouteDecision:
        return RouteDecision(model=name, endpoint=self.config.models[name].base_url, mode=mode,  # type: ignore[arg-type]
                             reason=reason)

    async def _phase(self, emit: Emit, prompt: str, decision: RouteDecision, signals: StepSignals,
                     toolset: Toolset, max_steps: int, history: list[Message] | None = None
                     ) -> tuple[str, str, list[Message]]:
        """One side conversation (continuing ``history`` when given): its answer, stop reason, messages."""
        side = Conversation(messages=list(history or ()), toolset=toolset)
        side.append(Message(role="user", content=prompt))
        try:
            text = await self.steps.run_steps(side, StepSignals(prompt=signals.prompt), emit, fixed=decision,
                                              max_steps=max_steps)
        except PHASE_ENDINGS as stop:
            emit(stop.event())
            return stop.text, stop.reason, side.messages
        return text, "completed", side.messages

    def _repo_map(self, signals: StepSignals) -> str:
        """The files most relevant to the request (ranked by it and by the files it involves), best
        first, with their signatures, in the remote model's tokens."""
        repo_map = self.window.repo_map()
        if repo_map is None:
            return ""
        family = self.config.model_entry(self.router.remote).family
        try:
            ranking = repo_map.rank(focus_files=signals.files_involved, query=signals.prompt)
            order = {ranked.path: index for index, ranked in enumerate(ranking)}
            rendered = repo_map.render_map(MAP_TOKENS, query=signals.prompt, ranking=ranking, order=order,
                                           model_family=family).text
        except Exception:  # the plan can still be made with the tools
            return ""
        return f"\nRepository map (most relevant files first):\n{rendered}" if rendered else ""

    def _fits(self, messages: list[Message]) -> bool:
        """Whether a conversation leaves the review enough of the remote model's window."""
        entry = self.config.model_entry(self.router.remote)
        used = conversation_tokens(messages, count_tokens)
        return used <= (entry.context_window - entry.max_output_tokens) * REVIEW_SHARE

    def _combined_diff(self, diffs: list[str]) -> str:
        if (self.root / ".git").exists():
            result = subprocess.run(["git", "-C", str(self.root), "diff", "--no-color"], capture_output=True,
                                    text=True)
            if result.returncode == 0 and result.stdout:
                return result.stdout[:DIFF_CAP]
        return "".join(diffs)[:DIFF_CAP]

    async def run(self, conversation: Conversation, signals: StepSignals, emit: Emit) -> str:
        """Plan, edit, review; the summary joins ``conversation`` (the user's) as the answer."""
        router = self.router
        local, remote = router.local, router.remote
        read_only = Toolset(t for t in conversation.toolset if t.kind == "read")
        emit(Notice(text=f"architect/editor: {remote} plans ({router.architect_reason(signals)}), {local} edits "
                         f"each file, {remote} reviews"))
        plan_prompt = prompts.render("architect", request=signals.prompt, repo_map=self._repo_map(signals))
        plan_text, stop, plan_messages = await self._phase(
            emit, plan_prompt, self._decision(remote, "thinking", "architect: plan"), signals, read_only, PLAN_STEPS)
        plan = parse_plan(plan_text) if stop == "completed" else None
        if plan is None:
            emit(Notice(level="warning", text=f"the architect's plan was not usable JSON; {remote} does the task "
                                              "itself"))
            return await self.steps.run_steps(conversation, signals, emit)
        files = plan["files"]
        emit(Notice(text=f"plan: {len(files)} file(s): " + ", ".join(f["path"] for f in files)))
        diffs: list[str] = []

        def capture(event: Event) -> None:
            if isinstance(event, ToolCallFinished) and event.diff:
                diffs.append(event.diff)
            emit(event)

        results = [await self._edit(capture, plan, item, signals, conversation.toolset) for item in files]
        history = plan_messages if self._fits(plan_messages) else None
        shown = "Your plan is your answer above." if history else \
            f"Your plan:\n```json\n{json.dumps(plan, indent=1, ensure_ascii=False)}\n```"
        review_prompt = prompts.render("review", request=signals.prompt, plan=shown, results="\n".join(results),
                                       diff=self._combined_diff(diffs) or "(no changes)")
        reviewer = self._decision(remote, "thinking", "architect: review")
        review, _, _ = await self._phase(emit, review_prompt, reviewer, signals, read_only, REVIEW_STEPS, history)
        summary = f"{plan.get('summary', '').strip()}\n\n" + "\n".join(results) + f"\n\nReview:\n{review.strip()}"
        conversation.append(Message(role="assistant", content=summary))
        return summary

    async def _edit(self, emit: Emit, plan: dict[str, Any], item: dict[str, Any], signals: StepSignals,
                    toolset: Toolset) -> str:
        """One file's edit by the local model, escalated to the remote one if it cannot finish."""
        local, remote = self.router.local, self.router.remote
        path = item["path"]
        steps = max(4, self.config.limits.max_turns // 2)
        prompt = prompts.render("editor", summary=plan.get("summary", ""), path=path, change=item["change"])
        text, stop, _ = await self._phase(emit, prompt, self._decision(local, "fast", f"editor: {path}"), signals,
                                          toolset, steps)
        if stop != "completed":
            emit(Notice(level="warning", text=f"{local} could not finish {path} ({stop}); escalating to "
                                              f"{remote} in thinking mode"))
            escalated = self._decision(remote, "thinking", f"escalated editor: {path}")
            text, stop, _ = await self._phase(emit, prompt, escalated, signals, toolset, steps)
        return f"- {path}: {stop}: {text.strip()[:300]}"
