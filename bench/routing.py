"""Routing accuracy on the labelled set, and session cost vs sending everything to DeepSeek.

Accuracy: the router's choice for each request in tests/data/routing_cases.jsonl against the route a
senior engineer chose (with the reason written next to it).

Cost: the labelled requests are replayed as one session under a stated token model (below), priced with
the configured DeepSeek prices, cache hits included. Always-remote runs every step on DeepSeek; qagent
runs local steps for free and, for repository-scale tasks, only the architect's plan and review steps
remotely (the per-file edits go to the local model).

    python bench/routing.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.config import load_config  # noqa: E402
from agent.messages import Usage  # noqa: E402
from agent.providers.pricing import cost_usd  # noqa: E402
from agent.routing import Router, StepSignals  # noqa: E402
from tests.routing.test_routing import CASES, make_repo  # noqa: E402

# Token model (per step): the fixed prefix (system prompt, tools, repository pack) is cached after the
# first step of a task; the conversation grows by the previous step's output and tool results.
PREFIX_TOKENS = {"small": 12_000, "large": 40_000}
GROWTH_PER_STEP = 2_500
OUTPUT_PER_STEP = {"fast": 400, "thinking": 1_800}
STEPS = {"small": 5, "large": 14}
ARCHITECT_REMOTE_STEPS = 4  # plan (reads + JSON) and one review


def task_usage(kind: str, steps: int, mode: str) -> Usage:
    total = Usage()
    for step in range(steps):
        prompt = PREFIX_TOKENS[kind] + step * GROWTH_PER_STEP
        cached = 0 if step == 0 else PREFIX_TOKENS[kind] + (step - 1) * GROWTH_PER_STEP
        total = total + Usage(prompt_tokens=prompt, completion_tokens=OUTPUT_PER_STEP[mode], cache_hit_tokens=cached,
                              cache_miss_tokens=prompt - cached)
    return total


def main() -> None:
    root = make_repo(Path(tempfile.mkdtemp()))
    config = load_config(root, {"models": {"remote": {"api_key": "sk-bench"}}}, env={}, use_user_file=False)
    pricing = config.models["remote"].pricing
    cases = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    correct, always_remote, routed = 0, 0.0, 0.0
    rows = []
    for case in cases:
        privacy = case.get("privacy", "normal")
        config.routing.privacy = privacy
        router = Router(config, root)
        signals = StepSignals(prompt=case["prompt"], images=case.get("images", False))
        decision = router.decide(signals)
        ok = decision.model == case["route"]
        correct += ok
        kind = "large" if case["route"] == "remote" or router._scale_reason(signals) else "small"
        mode = "thinking" if kind == "large" else "fast"
        if privacy == "normal":  # a local-only user would never send these remotely: no baseline
            always_remote += cost_usd(pricing, task_usage(kind, STEPS[kind], mode))
        if decision.model == "remote":
            architect = config.routing.architect and router.architect_reason(signals) is not None
            steps = ARCHITECT_REMOTE_STEPS if architect else STEPS[kind]
            routed += cost_usd(pricing, task_usage(kind, steps, "thinking"))
        rows.append((ok, decision.model, case["route"], case["prompt"][:60], decision.reason))
    config.routing.privacy = "normal"
    print(f"{'ok':<3} {'chose':<7} {'want':<7} request")
    for ok, chose, want, prompt, reason in rows:
        print(f"{'✓' if ok else '✗':<3} {chose:<7} {want:<7} {prompt}")
        if not ok:
            print(f"    reason: {reason}")
    print(f"\naccuracy: {correct}/{len(cases)} = {correct / len(cases):.1%} (target >= 90%)")
    print(f"session cost, always remote: ${always_remote:.4f}")
    print(f"session cost, qagent routing: ${routed:.4f}")
    print(f"qagent / always-remote: {routed / always_remote:.1%} (target <= 35%)")


if __name__ == "__main__":
    main()
