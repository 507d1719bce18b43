"""Routing accuracy on the labelled set, and session cost vs always-remote measured from the wire.

Accuracy: the router's choice for each request in tests/data/routing_cases.jsonl vs a senior engineer's.

Cost: a realistic repository — click 8.1.7's sdist plus the files the labelled prompts name (src/cli.py,
src/utils.py, ...) filled with real Django 5.1.4 modules of matching purpose — committed to git, so the
real packer builds the real packs (local 8K, remote 64K budgets by default). Each labelled request runs
through the real Agent and real tools twice, each time as a new session against two scripted servers
(local: vLLM dialect, remote: DeepSeek dialect): (a) qagent's auto routing, (b) always-remote
(``route="remote"``, as ``--route remote``: no architect, DeepSeek does the whole task). Both runs do the
same real work on the same real files:

    small task:            read_file, edit_file, answer
    repository-scale task: grep, 3 x (read_file, edit_file), answer
      under architect/editor: plan (2 x read_file, then the JSON plan for the same 3 files, remote),
      3 editor phases (read_file, edit_file, answer, local), review (answer, remote)

Each run asserts its script matched the agent: requests per server, the thinking switch on the wire per
request, every tool call succeeded, exactly the planned files changed, and the route it took.

Cost of the remote requests, from the recorded bodies (bench/wire_cost.py):
  prompt tokens  count_tokens(request rendered as a chat template lays it out, "deepseek");
  cache hits     within the task's session (no cache across tasks), by DeepSeek V4's rule: a request hits
                 only a whole persisted unit of an earlier one (end of its input, end of its output, a common
                 prefix of two earlier requests). The pre-V4 rule (longest common prefix, in 64-token units)
                 is printed for comparison;
  output tokens  what the scripted reply carries: reasoning + text + tool-call arguments. The one stated
                 assumption: every thinking-mode reply carries REASONING_TOKENS of reasoning (replayed in
                 later requests as reasoning_content, as DeepSeek requires), fast replies none.
Priced with config ``models["remote"].pricing``. Local requests cost 0; their tokens are counted and printed.
Left out of both sums, having no always-remote baseline (and asserted to send nothing remote): privacy
local-only cases (such a user never sends them) and image cases (DeepSeek is text-only).

    TIKTOKEN_CACHE_DIR=... .venv/bin/python bench/routing.py [--cache .bench-cache]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.config import Pricing, load_config  # noqa: E402
from agent.context.tokens import tokenizer_status  # noqa: E402
from agent.events import RouteDecided, ToolCallFinished  # noqa: E402
from agent import Agent  # noqa: E402
from agent.messages import ImagePart, Usage  # noqa: E402
from agent.providers.pricing import cost_usd  # noqa: E402
from agent.core.routing import Router, StepSignals, mentioned_paths, repo_signals  # noqa: E402
from agent.testing import ScriptedServer  # noqa: E402
from bench.wire_cost import RULES, session_usage  # noqa: E402
from tests.conftest import config_for, git  # noqa: E402
from tests.core.test_routing import CASES, make_repo  # noqa: E402

REASONING_TOKENS = 1_000  # o200k tokens, about: 67 x 15
REASONING = " ".join(["The request needs this file changed; check the callers and keep the style."] * 67)
CLICK, DJANGO = ("click", "8.1.7"), ("Django", "5.1.4")
DJANGO_FILES = {  # the labelled prompts' files, with real code of matching purpose
    "src/cli.py": "django/core/management/base.py", "src/utils.py": "django/utils/text.py",
    "src/io.py": "django/core/files/base.py", "src/models.py": "django/contrib/auth/models.py",
    "src/server.py": "django/core/servers/basehttp.py", "src/api.py": "django/views/generic/base.py",
    "src/db.py": "django/db/backends/sqlite3/base.py", "src/net.py": "django/utils/http.py",
    "src/report.py": "django/views/debug.py",
    "static/site.css": "django/contrib/admin/static/admin/css/base.css"}
FALLBACK_FILES = ["src/click/core.py", "src/click/decorators.py", "src/click/types.py", "src/click/utils.py"]
PYPROJECT = ('[project]\nname = "click"\nversion = "8.1.7"\nrequires-python = ">=3.7"\n'
             'dependencies = ["colorama; platform_system == \'Windows\'"]\n')
NOTES = {".css": "/* reviewed */", ".md": "(reviewed)"}
TAG = re.compile(r"(^|\s)@(remote|deepseek|local|qwen)\b", re.I)
PNG = ImagePart(data_b64="iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
                          "AAAABJRU5ErkJggg==")


# ------------------------------------------------------------------------------------------ the repository
def sdist(cache: Path, name: str, version: str) -> Path:
    folder = cache / "sdists"  # pip download creates it
    found = folder / f"{name}-{version}.tar.gz"
    if not found.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        "-d", str(folder), f"{name}=={version}"], check=True)
    return found


def build_repo(cache: Path, dest: Path) -> Path:
    with tarfile.open(sdist(cache, *CLICK)) as tar:
        tar.extractall(dest, filter="data")
    root = dest / f"click-{CLICK[1]}"
    with tarfile.open(sdist(cache, *DJANGO)) as tar:
        for path, member in DJANGO_FILES.items():
            data = tar.extractfile(f"Django-{DJANGO[1]}/{member}")
            assert data is not None
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(data.read())
    (root / "README.md").write_text((root / "README.rst").read_text())
    (root / "pyproject.toml").write_text(PYPROJECT)
    shutil.rmtree(root / "src" / "click.egg-info")
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "click 8.1.7 and the labelled set's files")
    return root


def edit_line(root: Path, path: str) -> tuple[str, str] | None:
    """A real, unique line of the file to edit (a def in Python) and its replacement."""
    text = (root / path).read_text()
    wanted = r"\s*def \w+\(.*" if path.endswith(".py") else r".*\S.{11,}"
    line = next((ln for ln in text.splitlines() if re.fullmatch(wanted, ln) and text.count(ln) == 1), None)
    return (line, f"{line}  {NOTES.get(Path(path).suffix, '# reviewed')}") if line else None


@dataclass
class Work:
    kind: str  # small | repo
    edits: dict[str, tuple[str, str]]  # path -> (a real, unique line; its replacement), in edit order

    @property
    def files(self) -> list[str]:
        return list(self.edits)

    @property
    def grep(self) -> str:
        first = next(iter(self.edits.values()))[0]
        name = re.search(r"(\w+)\(", first)
        return rf"\b{name.group(1)}\b" if name else re.escape(first.strip()[:20])


def plan_work(root: Path, prompt: str, kind: str, repo_map: Any) -> Work:
    candidates = mentioned_paths(prompt, root) + repo_map.files_likely_involved(prompt, k=8) + FALLBACK_FILES
    edits: dict[str, tuple[str, str]] = {}
    for path in dict.fromkeys(candidates):
        line = edit_line(root, path) if (root / path).is_file() else None
        if line is not None:
            edits[path] = line
        if len(edits) == (3 if kind == "repo" else 1):
            break
    return Work(kind, edits)


# ------------------------------------------------------------------------------------------ scripts
Step = tuple[str, dict[str, Any]]  # (the mode the agent must request, the scripted reply)


def step(mode: str, **reply: Any) -> Step:
    return mode, ({"reasoning": REASONING, **reply} if mode == "thinking" else reply)


def call(mode: str, name: str, **args: Any) -> Step:
    return step(mode, tool_calls=[{"name": name, "arguments": args}])


def answer(mode: str, what: str) -> Step:
    return step(mode, text=f"Done: {what}. The change keeps the existing behaviour for current callers, "
                           "the edited lines follow the file's style, and nothing else in the file needed to "
                           "move. Run the test suite to confirm; no new dependencies were added.")


def solo(work: Work, first: str) -> list[Step]:
    """One model does the whole task (local, or remote as always-remote does): the first step in the
    router's first mode, tool follow-ups fast."""
    actions: list[dict[str, Any]] = [{"name": "grep", "pattern": work.grep}] if work.kind == "repo" else []
    for path in work.files:
        old, new = work.edits[path]
        actions += [{"name": "read_file", "path": path},
                    {"name": "edit_file", "path": path, "old_string": old, "new_string": new}]
    modes = [first] + ["fast"] * len(actions)
    steps = [call(mode, **action) for mode, action in zip(modes, actions, strict=False)]
    return steps + [answer(modes[-1], "edited " + ", ".join(work.files))]


def architect_scripts(work: Work) -> tuple[list[Step], list[Step]]:
    plan = {"summary": "Mark the reviewed entry points in each module so the follow-up audit can find them; "
                       "behaviour does not change.",
            "files": [{"path": p, "change": f"Append the comment marker to the line `{old.strip()}` so it "
                                            f"reads `{new.strip()}`. Change nothing else."}
                      for p, (old, new) in work.edits.items()]}
    remote = [call("thinking", "read_file", path=p) for p in work.files[:2]]
    remote += [step("thinking", text="```json\n" + json.dumps(plan, indent=1) + "\n```"),
               answer("thinking", "all three files carry the marker; the diff matches the plan")]
    local: list[Step] = []
    for path in work.files:
        old, new = work.edits[path]
        local += [call("fast", "read_file", path=path),
                  call("fast", "edit_file", path=path, old_string=old, new_string=new),
                  answer("fast", f"edited {path}")]
    return remote, local


# ------------------------------------------------------------------------------------------ measuring
def wire_mode(body: dict[str, Any]) -> str:
    """The thinking switch as each dialect puts it on the wire (DeepSeek; vLLM)."""
    if "thinking" in body:
        return "thinking" if body["thinking"]["type"] == "enabled" else "fast"
    return "thinking" if body["chat_template_kwargs"]["enable_thinking"] else "fast"


@dataclass
class Run:
    route: str  # architect | local | remote
    rules: dict[str, Usage] = field(default_factory=dict)
    """Remote usage under each cache rule."""
    local: Usage = field(default_factory=Usage)
    remote_requests: int = 0
    local_requests: int = 0

    @property
    def remote(self) -> Usage:
        return self.rules["v4"]


async def run_task(root: Path, case: dict[str, Any], always_remote: bool) -> Run:
    """One task in a new session; scripts follow the route the agent will take, checked afterwards."""
    git(root, "checkout", "-q", "--", ".")
    git(root, "clean", "-fdq")
    remote, local = ScriptedServer(dialect="deepseek").start(), ScriptedServer(dialect="vllm").start()
    try:
        config = config_for(root, local=local, remote=remote, permissions={"approval": "full-auto"},
                            routing={"privacy": case.get("privacy", "normal")})
        agent = Agent(config, cwd=root)
        prompt, images = case["prompt"], [PNG] if case.get("images") else []
        if always_remote:  # a DeepSeek-only user has no @local/@remote to pick
            prompt = TAG.sub(" ", prompt).strip()
        override = "remote" if always_remote else None
        signals = StepSignals(prompt=prompt, images=bool(images), route_override=override)
        await agent.window.prepare(prompt, lambda _event: None)
        signals.pack_tokens = agent.window.pack_sizes.get(config.routing.local, 0)
        repo_map = agent.window.repo_map()
        probe = repo_signals(StepSignals(prompt=prompt), root, repo_map)
        work = plan_work(root, prompt, "repo" if agent.router.scale_reason(probe) else "small", repo_map)
        if agent.router.is_open(signals):
            repo_signals(signals, root, repo_map)
        decision = agent.router.decide(signals)
        architect = agent.router.wants_architect(signals)
        route = "architect" if architect else decision.model
        assert route == "remote" or not always_remote, (prompt, decision.reason)
        scripts: dict[str, list[Step]] = {"remote": [], "local": []}
        if architect:
            scripts["remote"], scripts["local"] = architect_scripts(work)
        else:
            scripts[decision.model] = solo(work, decision.mode)  # type: ignore[assignment]
        remote.extend([r for _, r in scripts["remote"]])
        local.extend([r for _, r in scripts["local"]])
        events = [e async for e in agent.run(prompt, images=images, route=override)]
        await agent.aclose()
        label = f"{prompt[:50]!r} ({'always-remote' if always_remote else 'auto'}, {route})"
        first = next(e for e in events if isinstance(e, RouteDecided))
        took = "architect" if first.reason == "architect: plan" else first.model
        assert took == route, (label, first)
        assert events[-1].stop_reason == "completed", (label, events[-1])  # type: ignore[union-attr]
        failed = [e.output[:200] for e in events if isinstance(e, ToolCallFinished) and not e.ok]
        assert not failed, (label, failed)
        assert agent.changed_files() == sorted(work.files), (label, agent.changed_files(), work.files)
        bodies = {"remote": remote.chat_requests(), "local": local.chat_requests()}
        for name in bodies:
            assert [wire_mode(b) for b in bodies[name]] == [m for m, _ in scripts[name]], (label, name)
        usage = {name: session_usage(bodies[name], [r for _, r in scripts[name]], family)
                 for name, family in (("remote", "deepseek"), ("local", "qwen"))}
        run = Run(route, usage["remote"], usage["local"]["v4"], len(bodies["remote"]), len(bodies["local"]))
        if case.get("privacy") == "local-only" or images:
            assert remote.requests == [], label
        return run
    finally:
        remote.stop()
        local.stop()


# ------------------------------------------------------------------------------------------ report
def accuracy(cases: list[dict[str, Any]]) -> int:
    root = make_repo(Path(tempfile.mkdtemp()))
    config = load_config(root, {"models": {"remote": {"api_key": "sk-bench"}}}, env={}, use_user_file=False)
    correct = 0
    print(f"{'ok':<3} {'chose':<7} {'want':<7} request")
    for case in cases:
        config.routing.privacy = case.get("privacy", "normal")
        decision = Router(config, root).decide(StepSignals(case["prompt"], images=case.get("images", False)))
        correct += (ok := decision.model == case["route"])
        print(f"{'✓' if ok else '✗':<3} {decision.model:<7} {case['route']:<7} {case['prompt'][:60]}")
        if not ok:
            print(f"    reason: {decision.reason}")
    return correct


def pct(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def split(usage: Usage, pricing: Pricing) -> str:
    hit, miss = usage.cache_hit_tokens, usage.prompt_tokens - usage.cache_hit_tokens
    return (f"{usage.prompt_tokens:,} prompt tokens ({pct(hit, usage.prompt_tokens)} cache hits), "
            f"{usage.completion_tokens:,} output; $ input miss {miss * pricing.input_cache_miss / 1e6:.4f}, "
            f"input hit {hit * pricing.input_cache_hit / 1e6:.4f}, "
            f"output {usage.completion_tokens * pricing.output / 1e6:.4f}")


def columns(run: Run, pricing: Pricing) -> str:
    return (f"{run.remote_requests:>3}/{run.local_requests:<3} {run.remote.prompt_tokens:>9,} "
            f"{pct(run.remote.cache_hit_tokens, run.remote.prompt_tokens):>4} "
            f"{cost_usd(pricing, run.remote):>8.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(__file__).resolve().parents[1] / ".bench-cache")
    args = parser.parse_args()
    cases = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    correct = accuracy(cases)
    if not (status := tokenizer_status()).exact:
        print(f"WARNING: {status.notice}")
    tmp = Path(tempfile.mkdtemp(prefix="qagent-routing-bench-"))
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")  # the repo map index stays out of the user's cache
    root = build_repo(args.cache.resolve(), tmp)
    pricing = load_config(root, {}, env={}, use_user_file=False).models["remote"].pricing
    print(f"\ncost on the wire (click {CLICK[1]} + the labelled files; {REASONING_TOKENS} reasoning tokens "
          "per thinking reply; R = remote, L = local)")
    print(f"{'#':>2} {'qagent':<9} {'req R/L':>7} {'R prompt':>9} {'hit':>4} {'$':>8} {'L prompt':>9} | "
          f"{'always-remote':>13} {'R prompt':>9} {'hit':>4} {'$':>8}  request")
    auto_sum, base_sum = {rule: Usage() for rule in RULES}, {rule: Usage() for rule in RULES}
    local_tokens = 0
    by_route: dict[str, tuple[float, float, int]] = {}
    misrouted = []
    for index, case in enumerate(cases, 1):
        auto = asyncio.run(run_task(root, case, always_remote=False))
        local_tokens += auto.local.prompt_tokens
        if {"architect": "remote"}.get(auto.route, auto.route) != case["route"]:
            misrouted.append(f"  #{index} took {auto.route}, labelled {case['route']}: {case['prompt']}")
        line = f"{index:>2} {auto.route:<9} {columns(auto, pricing)} {auto.local.prompt_tokens:>9,} | "
        if case.get("privacy") == "local-only" or case.get("images"):
            why = "image: DeepSeek is text-only" if case.get("images") else "privacy local-only"
            print(f"{line}{'no baseline (' + why + ')':<41}  {case['prompt'][:40]}")
            continue
        base = asyncio.run(run_task(root, case, always_remote=True))
        for rule in RULES:
            auto_sum[rule] += auto.rules[rule]
            base_sum[rule] += base.rules[rule]
        routed, baseline, count = by_route.get(auto.route, (0.0, 0.0, 0))
        by_route[auto.route] = (routed + cost_usd(pricing, auto.remote),
                                baseline + cost_usd(pricing, base.remote), count + 1)
        print(f"{line}{'':>5}{columns(base, pricing)}  {case['prompt'][:40]}")
    print(f"\naccuracy: {correct}/{len(cases)} = {correct / len(cases):.1%} (target >= 90%)")
    print(f"routes the agent took in the realistic repo: {len(cases) - len(misrouted)}/{len(cases)} as "
          "labelled (architect counts as remote)", *misrouted, sep="\n")
    print(f"remote tokens, qagent:        {split(auto_sum['v4'], pricing)}")
    print(f"remote tokens, always-remote: {split(base_sum['v4'], pricing)}")
    print(f"local model (free): {local_tokens:,} prompt tokens")
    routed_total, baseline_total = cost_usd(pricing, auto_sum["v4"]), cost_usd(pricing, base_sum["v4"])
    for route, (routed, baseline, count) in sorted(by_route.items()):
        print(f"  qagent route {route:<9} {count:>2} tasks: ${routed:.4f} vs always-remote ${baseline:.4f} "
              f"({pct(routed, baseline)})")
    old_rule = cost_usd(pricing, auto_sum["lcp"]) / cost_usd(pricing, base_sum["lcp"])
    print(f"session cost: qagent routing ${routed_total:.4f}, always remote ${baseline_total:.4f}\n"
          f"(pre-V4 cache rule, 64-token common prefixes: {old_rule:.1%})\n"
          f"qagent / always-remote: {routed_total / baseline_total:.1%} (target <= 35%)")


if __name__ == "__main__":
    main()
