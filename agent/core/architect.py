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
from typing import TYPE_CHECKING, Any

import prompts
from agent.events import Event, Notice, ToolCallFinished
from agent.messages import Message
from agent.core.routing import RouteDecision, StepSignals
from tools import Toolset

if TYPE_CHECKING:
    from agent.core.agent import Agent

PLAN_STEPS, REVIEW_STEPS = 16, 8
DIFF_CAP = 60_000
MAP_TOKENS = 4096
REVIEW_SHARE = 0.5
"""The review continues the plan conversation while that fits in this share of the remote window."""


def wants_architect(agent: Agent, signals: StepSignals) -> bool:
    """Only in auto routing, for repository-scale tasks, when both models can be used."""
    routing = agent.config.routing
    if not routing.architect or routing.mode != "auto" or signals.model_override or signals.images:
        return False
    if signals.route_override not in (None, "auto") or agent.router.pinned:
        return False
    return agent.router.architect_reason(signals) is not None


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


def _decision(agent: Agent, name: str, mode: str, reason: str) -> RouteDecision:
    return RouteDecision(model=name, endpoint=agent.config.models[name].base_url, mode=mode,  # type: ignore[arg-type]
                         reason=reason)


async def _phase(agent: Agent, emit: Any, prompt: str, decision: RouteDecision, signals: StepSignals,
                 toolset: Toolset | None, max_steps: int, history: list[Message] | None = None
                 ) -> tuple[str, str, list[Message]]:
    """One side conversation (continuing ``history`` when given); returns its answer, stop reason and
    messages."""
    async with agent.side_conversation(toolset) as messages:
        messages.extend(history or ())
        agent._append(Message(role="user", content=prompt))
        phase_signals = StepSignals(prompt=signals.prompt)
        text, stop = await agent._steps(phase_signals, emit, fixed=decision, max_steps=max_steps)
        return text, stop, list(messages)


def _read_only(agent: Agent) -> Toolset:
    return Toolset(t for t in agent.toolset if t.kind == "read")


def _repo_map(agent: Agent, signals: StepSignals) -> str:
    """The files most relevant to the request (ranked by it and by the files it involves), best first,
    with their signatures, in the remote model's tokens."""
    repo_map = agent.context.repo_map()
    if repo_map is None:
        return ""
    family = "deepseek" if agent.config.model_entry(agent.router.remote).dialect == "deepseek" else "generic"
    try:
        ranking = repo_map.rank(focus_files=signals.files_involved, query=signals.prompt)
        order = {ranked.path: index for index, ranked in enumerate(ranking)}
        rendered = repo_map.render_map(MAP_TOKENS, query=signals.prompt, ranking=ranking, order=order,
                                       model_family=family).text
    except Exception:  # the plan can still be made with the tools
        return ""
    return f"\nRepository map (most relevant files first):\n{rendered}" if rendered else ""


def _fits(agent: Agent, messages: list[Message]) -> bool:
    """Whether a conversation leaves the review enough of the remote model's window."""
    from agent.context.tokens import count_tokens

    entry = agent.config.model_entry(agent.router.remote)
    used = sum(count_tokens(m.content) + count_tokens(m.reasoning or "")
               + sum(count_tokens(c.arguments) for c in m.tool_calls) for m in messages)
    return used <= (entry.context_window - entry.max_output_tokens) * REVIEW_SHARE


def _combined_diff(agent: Agent, diffs: list[str]) -> str:
    if (agent.cwd / ".git").exists():
        result = subprocess.run(["git", "-C", str(agent.cwd), "diff", "--no-color"], capture_output=True,
                                text=True)
        if result.returncode == 0 and result.stdout:
            return result.stdout[:DIFF_CAP]
    return "".join(diffs)[:DIFF_CAP]


async def run_architect(agent: Agent, signals: StepSignals, emit: Any) -> tuple[str, str]:
    router = agent.router
    local, remote = router.local, router.remote
    emit(Notice(text=f"architect/editor: {remote} plans ({router.architect_reason(signals)}), {local} edits "
                     f"each file, {remote} reviews"))
    plan_prompt = prompts.render("architect", request=signals.prompt, repo_map=_repo_map(agent, signals))
    plan_text, stop, plan_messages = await _phase(
        agent, emit, plan_prompt, _decision(agent, remote, "thinking", "architect: plan"), signals,
        _read_only(agent), PLAN_STEPS)
    plan = parse_plan(plan_text) if stop == "completed" else None
    if plan is None:
        emit(Notice(level="warning", text=f"the architect's plan was not usable JSON; {remote} does the task "
                                          "itself"))
        return await agent._steps(signals, emit)
    files = plan["files"]
    emit(Notice(text=f"plan: {len(files)} file(s): " + ", ".join(f["path"] for f in files)))
    diffs: list[str] = []

    def capture(event: Event) -> None:
        if isinstance(event, ToolCallFinished) and event.diff:
            diffs.append(event.diff)
        emit(event)

    results = []
    editor_steps = max(4, agent.config.limits.max_turns // 2)
    for item in files:
        path = item["path"]
        edit_prompt = prompts.render("editor", summary=plan.get("summary", ""), path=path,
                                     change=item["change"])
        editor = _decision(agent, local, "fast", f"editor: {path}")
        text, stop, _ = await _phase(agent, capture, edit_prompt, editor, signals, None, editor_steps)
        if stop != "completed":
            emit(Notice(level="warning", text=f"{local} could not finish {path} ({stop}); escalating to "
                                              f"{remote} in thinking mode"))
            escalated = _decision(agent, remote, "thinking", f"escalated editor: {path}")
            text, stop, _ = await _phase(agent, capture, edit_prompt, escalated, signals, None, editor_steps)
        results.append(f"- {path}: {stop}: {text.strip()[:300]}")
    history = plan_messages if _fits(agent, plan_messages) else None
    shown = "Your plan is your answer above." if history else \
        f"Your plan:\n```json\n{json.dumps(plan, indent=1, ensure_ascii=False)}\n```"
    review_prompt = prompts.render("review", request=signals.prompt, plan=shown, results="\n".join(results),
                                   diff=_combined_diff(agent, diffs) or "(no changes)")
    reviewer = _decision(agent, remote, "thinking", "architect: review")
    review, _, _ = await _phase(agent, emit, review_prompt, reviewer, signals, _read_only(agent),
                                REVIEW_STEPS, history)
    summary = f"{plan.get('summary', '').strip()}\n\n" + "\n".join(results) + f"\n\nReview:\n{review.strip()}"
    agent._append(Message(role="assistant", content=summary))
    return summary, "completed"
