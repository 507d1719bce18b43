"""Which model and which mode each step uses, with a one-line reason a person can check.

Signals, strongest first: privacy local-only, explicit user choice (``--model``, ``--route``,
``@local``/``@remote``), images (DeepSeek is text-only), a missing API key, endpoint health,
escalation after failed local edits, the tokens the step needs vs the local window, and the shape
of the task (repository-scale wording, many files involved). ``qagent route`` prints the decision
without calling any model.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agent.config import AgentConfig
from agent.context.compaction import conversation_tokens
from agent.context.tokens import count_tokens
from agent.events import RouteDecided
from agent.messages import Message

StepMode = Literal["thinking", "fast"]

REPO_SCALE = re.compile(
    r"\b(across (the|our|this) (code ?base|repo(sitory)?|project)|codebase[- ]wide|all callers|every (caller|file|module"
    r"|call site|usage)|all (files|modules|usages|call sites|occurrences)|throughout the (code|repo|project)"
    r"|migrate|migration|rename \S+ (to|into) \S+ everywhere|everywhere|architecture|re-?architect"
    r"|whole (repo|project|codebase)|entire (repo|project|codebase)|repo-?wide|project-?wide)\b",
    re.I,
)
THINKING_WORDS = re.compile(
    r"\b(why|debug|diagnos\w*|investigat\w*|root cause|design|plan|architect\w*|failing|fails|crash\w*|bug|"
    r"race|deadlock|leak|explain|review|trade-?offs?|optimi[sz]e|performance|security)\b", re.I)
PATH_MENTION = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.[A-Za-z0-9]{1,8})\b")
FORCE_REMOTE = re.compile(r"(^|\s)@(remote|deepseek)\b", re.I)
FORCE_LOCAL = re.compile(r"(^|\s)@(local|qwen)\b", re.I)


@functools.lru_cache(maxsize=1024)
def _text_tokens(text: str) -> int:
    """Remembered per text: the router counts the whole conversation before every step, and
    without this a long session would re-tokenise every earlier message each time."""
    return count_tokens(text)


@dataclass(frozen=True)
class RouteDecision:
    model: str
    """Name of the [models.*] entry."""
    endpoint: str
    mode: StepMode
    reason: str
    est_tokens: int = 0

    def event(self) -> RouteDecided:
        return RouteDecided(model=self.model, endpoint=self.endpoint, mode=self.mode, reason=self.reason,
                            est_tokens=self.est_tokens)


@dataclass
class StepSignals:
    """What the loop knows about the step it is about to take."""

    prompt: str
    images: bool = False
    model_override: str | None = None
    route_override: str | None = None
    mode_override: str | None = None
    step: int = 0
    after_tools: bool = False
    failures: int = 0
    """Consecutive failed edit calls."""
    pack_tokens: int = 0
    """Tokens of repository context the step would carry."""
    files_involved: list[str] = field(default_factory=list)


def mentioned_paths(prompt: str, root: Path) -> list[str]:
    """Paths the prompt names that exist in the workspace."""
    found = []
    for candidate in PATH_MENTION.findall(prompt):
        if (root / candidate).exists() and candidate not in found:
            found.append(candidate)
    return found


class Router:
    def __init__(self, config: AgentConfig, root: Path) -> None:
        self.config = config
        self.root = root
        self.unhealthy: set[str] = set()
        self.pinned: str | None = None
        """A model chosen with /model for the rest of the session."""

    # ------------------------------------------------------------------ names
    @property
    def local(self) -> str:
        return self.config.routing.local

    @property
    def remote(self) -> str:
        return self.config.routing.remote

    def why_unusable(self, name: str) -> str | None:
        """Why ``name`` cannot be used right now, or None."""
        if name not in self.config.models:
            return f"no [models.{name}] entry"
        entry = self.config.models[name]
        if not entry.may_contact(self.config.routing.privacy):
            return "privacy is local-only"
        if entry.is_remote and entry.api_key_env and entry.api_key is None:
            return f"{entry.api_key_env} is not set"
        if name in self.unhealthy:
            return "it failed earlier in this session"
        return None

    def pin(self, name: str | None) -> None:
        """Use model ``name`` for every step from now on (``/model``), or let the router choose (None)."""
        if name is not None:
            self.config.model_entry(name)  # a ConfigError naming the models that exist
        self.pinned = name

    def is_open(self, signals: StepSignals) -> bool:
        """Whether repository signals can change the route (auto routing, no override, packing on):
        building the repo map for a pinned route would be wasted work (batch tasks, --route local)."""
        if not self.config.context.pack or signals.model_override or self.pinned:
            return False
        return (signals.route_override or self.config.routing.mode) == "auto"

    def wants_architect(self, signals: StepSignals) -> bool:
        """Architect/editor only in auto routing, for repository-scale tasks, when both models can be used."""
        routing = self.config.routing
        if not routing.architect or routing.mode != "auto" or signals.model_override or signals.images:
            return False
        if signals.route_override not in (None, "auto") or self.pinned:
            return False
        return self.architect_reason(signals) is not None

    def _decision(self, name: str, mode: StepMode, reason: str, tokens: int) -> RouteDecision:
        return RouteDecision(model=name, endpoint=self.config.models[name].base_url, mode=mode, reason=reason,
                             est_tokens=tokens)

    # ------------------------------------------------------------------ deciding
    def decide(self, signals: StepSignals, conversation: list[Message] | None = None) -> RouteDecision:
        tokens = signals.pack_tokens + conversation_tokens(conversation or [], _text_tokens)
        if not conversation:
            tokens += count_tokens(signals.prompt)
        name, reason = self._choose_model(signals, tokens)
        mode, why_mode = self._choose_mode(signals, name)
        return self._decision(name, mode, f"{reason}; {why_mode}", tokens)

    def _choose_model(self, s: StepSignals, tokens: int) -> tuple[str, str]:
        local, remote = self.local, self.remote
        privacy = self.config.routing.privacy == "local-only"
        explicit = s.model_override or self.pinned
        if explicit:
            blocked = self.why_unusable(explicit) if explicit in self.config.models else f"no [models.{explicit}] entry"
            if blocked and (privacy or explicit not in self.config.models):
                return local, f"{explicit} is not usable ({blocked}), using {local}"
            return explicit, f"you chose {explicit}"
        if privacy:
            return local, "privacy is local-only"
        wanted = s.route_override or self.config.routing.mode
        if FORCE_REMOTE.search(s.prompt):
            wanted = "remote"
        elif FORCE_LOCAL.search(s.prompt):
            wanted = "local"
        if wanted in ("local", "remote"):
            target = local if wanted == "local" else remote
            blocked = self.why_unusable(target)
            if blocked:
                other = remote if target == local else local
                return other, f"you asked for {wanted} but {target} is unusable ({blocked})"
            return target, f"you asked for {wanted}"
        return self._auto(s, tokens)

    def _auto(self, s: StepSignals, tokens: int) -> tuple[str, str]:
        local, remote = self.local, self.remote
        remote_blocked = self.why_unusable(remote)
        local_blocked = self.why_unusable(local)
        if local_blocked and not remote_blocked:
            return remote, f"{local} is unusable ({local_blocked})"
        if s.images:
            vision = self.config.models[local].vision if local in self.config.models else False
            return local, "images attached: DeepSeek is text-only" + ("" if vision else
                                                                      f" (warning: {local} has vision = false)")
        reason = self._remote_reason(s, tokens)
        if reason is None:
            return local, "single-file or tool-heavy work fits the local model"
        if remote_blocked:
            return local, f"{reason}, but {remote} is unusable ({remote_blocked})"
        return remote, reason

    def _remote_reason(self, s: StepSignals, tokens: int) -> str | None:
        local_entry = self.config.models.get(self.local)
        if s.failures >= self.config.routing.escalate_after_failures:
            return f"escalating: {s.failures} local edits failed in a row"
        if local_entry is not None:
            usable = int((local_entry.context_window - local_entry.max_output_tokens) * 0.85)
            if tokens > usable:
                return f"needs ~{tokens:,} tokens, more than {self.local}'s usable {usable:,}"
        if self._escalating(s):
            return f"escalating: step {s.step + 1} without finishing locally"
        return self.scale_reason(s)

    def _escalating(self, s: StepSignals) -> bool:
        """A long local run that has not finished: the step limit is near."""
        return s.step >= max(8, int(self.config.limits.max_turns * 0.6))

    def scale_reason(self, s: StepSignals) -> str | None:
        """Why the task is repository-scale (its wording, or three or more files involved), or None."""
        match = REPO_SCALE.search(s.prompt)
        if match:
            return f"repository-scale task ({match.group(0)})"
        files = s.files_involved or mentioned_paths(s.prompt, self.root)
        if len(files) >= 3:
            return f"multi-file change ({len(files)} files involved)"
        return None

    def _choose_mode(self, s: StepSignals, model: str) -> tuple[StepMode, str]:
        wanted = s.mode_override or self.config.routing.thinking
        if wanted in ("thinking", "fast"):
            return wanted, f"{wanted} mode as you asked"  # type: ignore[return-value]
        if s.failures:
            return "thinking", "thinking after a failure"
        if model == self.remote and self._escalating(s):
            return "thinking", "thinking for an escalated step"
        if s.after_tools:
            return "fast", "fast for a tool follow-up"
        if THINKING_WORDS.search(s.prompt) or REPO_SCALE.search(s.prompt):
            return "thinking", "thinking for planning/diagnosis"
        return "fast", "fast for a mechanical edit"

    def architect_reason(self, s: StepSignals) -> str | None:
        """Why this task suits architect/editor (repository scale or many files), when both models work."""
        if self.why_unusable(self.local) or self.why_unusable(self.remote):
            return None
        if FORCE_REMOTE.search(s.prompt) or FORCE_LOCAL.search(s.prompt):
            return None
        return self.scale_reason(s)

    # ------------------------------------------------------------------ failures
    def report_failure(self, name: str, kind: str) -> None:
        if kind in ("unreachable", "retries_exhausted", "auth", "balance", "model_not_found"):
            self.unhealthy.add(name)

    def fallback(self, failed: RouteDecision, signals: StepSignals, kind: str, tried: set[str]
                 ) -> RouteDecision | None:
        """The other endpoint, if it may be used; never silently (the loop emits a Notice)."""
        if kind in ("privacy", "context_length", "bad_request", "reasoning_replay"):
            return None
        if signals.model_override or self.pinned:
            return None  # the user chose this model: say it failed rather than answer with another
        for name in (self.local, self.remote):
            if name not in tried and self.why_unusable(name) is None:
                return self._decision(name, failed.mode, f"fallback: {failed.model} failed ({kind})",
                                      failed.est_tokens)
        return None


CODE_NAME = re.compile(r"(?!__)\w*(?:[a-z0-9]_[A-Za-z0-9]|[a-z][A-Z])\w*")
"""snake_case, or camelCase/PascalCase with an inner capital. Plain words (run, write, test, User) and
dunder methods (__repr__) are not code names: a real repository defines most of them somewhere, and
counting their definers made one-file requests look repository-scale."""


def repo_signals(signals: StepSignals, root: Path, repo_map: Any = None) -> StepSignals:
    """Fill the repository-derived signals: the files likely involved. Paths the prompt names are the
    scope the user gave; a prompt naming none has its code names (snake_case, camelCase) resolved to
    the files defining them, in a git repository (the map is only built when there are some)."""
    files = mentioned_paths(signals.prompt, root)
    names = [word for word in re.findall(r"\w+", signals.prompt) if CODE_NAME.fullmatch(word)]
    if not files and names:
        if repo_map is None and (root / ".git").exists():
            from agent.context.repomap import RepoMap

            repo_map = RepoMap(root)
        if repo_map is not None:
            try:
                files = repo_map.files_likely_involved(" ".join(names), k=8, lexical=False)
            except Exception:  # routing must not fail because the map could not be built
                pass
    signals.files_involved = files
    return signals
