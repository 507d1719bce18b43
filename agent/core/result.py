"""What ``Agent.run_sync`` returns: the answer and what the run did, from its events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.events import Event, ToolCallFinished, TurnFinished
from agent.messages import Usage


@dataclass
class Result:
    """What ``run_sync`` returns."""

    text: str
    """The model's final answer."""
    stop_reason: str
    """completed | max_turns | max_cost | repetition | interrupted | error | length (TurnFinished's)."""
    changed_files: list[str] = field(default_factory=list)
    """Files the agent's tools wrote in this session, relative to the workspace."""
    diff: str = ""
    """Unified diffs of this run's edits, in the order they were made."""
    usage: Usage = Usage()
    """Token counts of the session so far (all runs of this Agent)."""
    cost: float = 0.0
    """USD of the session so far, from the configured price tables (local models: 0)."""
    events: list[Event] = field(default_factory=list)
    """Every event of this run, as ``run`` would have yielded them."""

    @classmethod
    def of(cls, events: Sequence[Event], changed_files: list[str], usage: Usage, cost: float) -> Result:
        """The result of a run that yielded ``events``."""
        finished = next((e for e in reversed(events) if isinstance(e, TurnFinished)), None)
        diffs = [e.diff for e in events if isinstance(e, ToolCallFinished) and e.diff]
        return cls(text=finished.text if finished else "", stop_reason=finished.stop_reason if finished else "error",
                   changed_files=changed_files, diff="".join(diffs), usage=usage, cost=cost, events=list(events))
