"""Routing: each signal drives the expected decision, end to end with two scripted servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent import Agent
from agent.core.routing import Router, StepSignals
from agent.events import Notice, RouteDecided, UsageReported
from tests.conftest import config_for
from tests.repos import git
from tools import ToolContext, ToolRetry, tool

CASES = Path(__file__).parent.parent / "data" / "routing_cases.jsonl"
REPO_FILES = ["src/cli.py", "src/utils.py", "src/io.py", "src/models.py", "src/server.py", "src/api.py", "src/db.py",
              "src/net.py", "src/report.py", "static/site.css", "pyproject.toml", "README.md"]


def make_repo(root: Path) -> Path:
    for name in REPO_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"# {name}\n")
    return root


def routing_config(root: Path, **routing):
    config = config_for(root, routing=routing)
    config.models["remote"].api_key = "sk-test"  # type: ignore[assignment]
    return config


def load_cases() -> list[dict]:
    return [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]


def decide(root: Path, prompt: str, **kwargs) -> tuple[str, str, str]:
    privacy = kwargs.pop("privacy", "normal")
    router = Router(routing_config(root, privacy=privacy), root)
    decision = router.decide(StepSignals(prompt=prompt, **kwargs))
    return decision.model, decision.mode, decision.reason


def test_labelled_cases_are_routed_as_a_senior_engineer_would(tmp_path):
    root = make_repo(tmp_path)
    cases = load_cases()
    assert len(cases) >= 40
    wrong = []
    for case in cases:
        model, _, reason = decide(root, case["prompt"], images=case.get("images", False),
                                  privacy=case.get("privacy", "normal"))
        if model != case["route"]:
            wrong.append((case["prompt"], model, reason))
    accuracy = 1 - len(wrong) / len(cases)
    assert accuracy >= 0.9, wrong


@pytest.mark.parametrize(("prompt", "kwargs", "model", "reason_words"), [
    ("fix a typo in src/cli.py", {}, "local", "single-file"),
    ("rename Session to Conversation across the codebase", {}, "remote", "repository-scale"),
    ("update src/api.py, src/db.py and src/net.py together", {}, "remote", "3 files"),
    ("rename Session across the codebase", {"images": True}, "local", "text-only"),
    ("fix a typo", {"model_override": "remote"}, "remote", "you chose remote"),
    ("rename across the codebase", {"route_override": "local"}, "local", "you asked for local"),
    ("rename across the codebase @local", {}, "local", "you asked for local"),
    ("small fix @remote", {}, "remote", "you asked for remote"),
    ("small fix", {"failures": 2}, "remote", "2 local edits failed"),
    ("small fix", {"step": 30}, "remote", "without finishing locally"),
    ("small fix", {"pack_tokens": 200_000}, "remote", "more than local"),
    ("rename across the codebase @remote", {"privacy": "local-only"}, "local", "local-only"),
])
def test_each_signal_drives_the_decision_and_says_why(tmp_path, prompt, kwargs, model, reason_words):
    chosen, _, reason = decide(make_repo(tmp_path), prompt, **kwargs)
    assert chosen == model
    assert reason_words in reason


def test_without_api_key_everything_routes_local_with_the_reason(tmp_path):
    config = config_for(tmp_path)
    decision = Router(config, tmp_path).decide(StepSignals(prompt="migrate the project to httpx"))
    assert decision.model == "local" and "DEEPSEEK_API_KEY is not set" in decision.reason


@pytest.mark.parametrize(("kwargs", "mode"), [
    ({"prompt": "why does the login test fail?"}, "thinking"),
    ({"prompt": "add a docstring to parse()"}, "fast"),
    ({"prompt": "why does it fail?", "after_tools": True}, "fast"),
    ({"prompt": "add a docstring", "failures": 1}, "thinking"),
    ({"prompt": "why?", "mode_override": "fast"}, "fast"),
    ({"prompt": "add a docstring", "after_tools": True, "step": 30}, "thinking"),
])
def test_auto_mode_thinks_for_diagnosis_and_goes_fast_for_follow_ups(tmp_path, kwargs, mode):
    decision = Router(routing_config(tmp_path), tmp_path).decide(StepSignals(**kwargs))
    assert decision.mode == mode


@tool(kind="edit")
def flaky_edit(path: str, ctx: ToolContext) -> str:
    """An edit that always fails to match."""
    raise ToolRetry(f"old_string not found in {path}")


async def test_two_failed_local_edits_escalate_to_remote_thinking(scripted_server, tmp_path):
    local = scripted_server([{"tool_calls": [{"name": "flaky_edit", "arguments": {"path": "a.py"}}]},
                             {"tool_calls": [{"name": "flaky_edit", "arguments": {"path": "b.py"}}]}], dialect="vllm")
    remote = scripted_server([{"reasoning": "let me think", "text": "fixed it properly"}], dialect="deepseek")
    config = config_for(tmp_path, local=local, remote=remote, permissions={"approval": "full-auto"})
    events = [e async for e in Agent(config, cwd=tmp_path, tools=[flaky_edit]).run("tweak a.py")]
    routes = [e for e in events if isinstance(e, RouteDecided)]
    assert [r.model for r in routes] == ["local", "local", "remote"]
    assert routes[-1].mode == "thinking" and "2 local edits failed" in routes[-1].reason
    assert remote.chat_requests()[0]["thinking"] == {"type": "enabled"}
    assert events[-1].text == "fixed it properly"


async def test_remote_down_falls_back_to_local_with_a_notice(scripted_server, tmp_path):
    local = scripted_server([{"text": "local did it"}], dialect="ollama")
    config = config_for(tmp_path, local=local, routing={"mode": "remote"})
    config.models["remote"].base_url = "http://127.0.0.1:9/v1"
    config.models["remote"].api_key = "sk-test"  # type: ignore[assignment]
    events = [e async for e in Agent(config, cwd=tmp_path, tools=[flaky_edit]).run("anything")]
    assert events[-1].text == "local did it"
    assert any(isinstance(e, Notice) and "falling back to local" in e.text for e in events)


async def test_local_only_sends_zero_bytes_to_remote_for_repo_scale_work(scripted_server, tmp_path):
    local = scripted_server([{"text": "done locally"}], dialect="vllm")
    remote = scripted_server([{"text": "must not happen"}], dialect="deepseek")
    config = config_for(tmp_path, local=local, remote=remote, routing={"privacy": "local-only"})
    events = [e async for e in Agent(config, cwd=make_repo(tmp_path), tools=[flaky_edit]).run(
        "migrate the whole codebase to async, all callers, @remote")]
    assert events[-1].text == "done locally"
    assert remote.requests == []


async def test_cost_uses_cache_hit_prices_and_reports_savings(scripted_server, tmp_path):
    local = scripted_server([{"text": "cheap", "usage": {"prompt_tokens": 1_000_000, "completion_tokens": 0}}])
    remote = scripted_server([{"text": "pricey", "usage": {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000,
                                                           "cache_hit_tokens": 800_000}}], dialect="deepseek")
    config = config_for(tmp_path, local=local, remote=remote)
    agent = Agent(config, cwd=tmp_path, tools=[flaky_edit])
    first = [e async for e in agent.run("tiny fix", route="local")]
    second = [e async for e in agent.run("another", route="remote")]
    pricing = config.models["remote"].pricing
    remote_usage = next(e for e in second if isinstance(e, UsageReported))
    expected = (800_000 * pricing.input_cache_hit + 200_000 * pricing.input_cache_miss + 1_000_000 * pricing.output) / 1e6
    assert remote_usage.cost_usd == pytest.approx(expected, rel=1e-6)
    assert remote_usage.cache_hit_tokens == 800_000
    assert next(e for e in first if isinstance(e, UsageReported)).cost_usd == 0
    saved = second[-1].usage_total.saved_vs_remote_usd
    assert saved == pytest.approx(1_000_000 * pricing.input_cache_miss / 1e6, rel=1e-6)


@tool
def peek(path: str, ctx: ToolContext) -> str:
    """Read a file."""
    return (ctx.root / path).read_text()


@tool(kind="edit")
def put(path: str, content: str, ctx: ToolContext) -> str:
    """Write a file."""
    (ctx.root / path).write_text(content)
    ctx.session.note_written(ctx.root / path)
    return f"wrote {path}"


async def test_architect_plans_local_edits_each_file_remote_reviews(scripted_server, git_repo):
    root = make_repo(git_repo)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "files")
    plan = {"summary": "rename fetch to load", "files": [
        {"path": "src/api.py", "change": "rename fetch to load"}, {"path": "src/db.py", "change": "rename fetch to load"}]}
    remote = scripted_server([
        {"reasoning": "look first", "tool_calls": [{"name": "peek", "arguments": {"path": "src/api.py"}}]},
        {"reasoning": "now plan", "text": "```json\n" + json.dumps(plan) + "\n```"},
        {"reasoning": "diff looks right", "text": "Both files renamed; nothing else calls fetch."},
    ], dialect="deepseek")
    local = scripted_server([
        {"tool_calls": [{"name": "put", "arguments": {"path": "src/api.py", "content": "load = 1\n"}}]},
        {"text": "renamed in api"},
        {"tool_calls": [{"name": "put", "arguments": {"path": "src/db.py", "content": "load = 2\n"}}]},
        {"text": "renamed in db"},
    ], dialect="vllm")
    config = config_for(root, local=local, remote=remote, permissions={"approval": "full-auto"})
    agent = Agent(config, cwd=root, tools=[peek, put])
    events = [e async for e in agent.run("rename fetch to load across the codebase")]
    reasons = [(e.model, e.mode, e.reason) for e in events if isinstance(e, RouteDecided)]
    assert reasons[0] == ("remote", "thinking", "architect: plan")
    assert ("local", "fast", "editor: src/api.py") in reasons and ("local", "fast", "editor: src/db.py") in reasons
    assert reasons[-1] == ("remote", "thinking", "architect: review")
    assert (root / "src/api.py").read_text() == "load = 1\n" and (root / "src/db.py").read_text() == "load = 2\n"
    plan_tools = [t["function"]["name"] for t in remote.chat_requests()[0]["tools"]]
    assert plan_tools == ["peek"]  # the architect only reads
    editor_prompt = local.chat_requests()[0]["messages"][-1]["content"]
    assert "src/api.py" in editor_prompt and "rename fetch to load" in editor_prompt
    review_prompt = remote.chat_requests()[2]["messages"][-1]["content"]
    assert "renamed in api" in review_prompt and "load = 2" in review_prompt
    assert events[-1].stop_reason == "completed" and "nothing else calls fetch" in events[-1].text
    assert [m.role for m in agent.messages] == ["user", "assistant"]  # side conversations stay out


def test_in_a_git_repo_identifiers_resolve_to_files_but_words_do_not(git_repo):
    from agent.core.routing import repo_signals

    for name in ("alpha", "beta", "gamma"):
        (git_repo / f"{name}.py").write_text(f"def {name}_handler():\n    return 'verbose flag handling'\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "modules")
    config = routing_config(git_repo)
    plain = repo_signals(StepSignals(prompt="add a verbose flag to alpha.py"), git_repo)
    assert Router(config, git_repo).decide(plain).model == "local"
    named = repo_signals(StepSignals(prompt="make alpha_handler, beta_handler and gamma_handler async"), git_repo)
    assert sorted(named.files_involved) == ["alpha.py", "beta.py", "gamma.py"]
    decision = Router(config, git_repo).decide(named)
    assert decision.model == "remote" and "3 files" in decision.reason


def test_tool_call_arguments_count_towards_the_tokens_a_step_needs(tmp_path):
    """A model that wrote big files through tool calls has filled the window as surely as one that
    read them: the estimate includes call arguments, not only message text."""
    from agent.messages import Message, ToolCall

    router = Router(routing_config(make_repo(tmp_path)), tmp_path)
    window = router.config.models["local"]
    usable = int((window.context_window - window.max_output_tokens) * 0.85)
    body = "value = 1\n" * (usable // 3)  # ~4 tokens a line: comfortably over the usable window
    conversation = [
        Message(role="user", content="write the fixtures"),
        Message(role="assistant", content="", tool_calls=[
            ToolCall(id="c1", name="write_file",
                     arguments=json.dumps({"path": "fixtures.py", "content": body}))]),
        Message(role="tool", content="wrote fixtures.py", tool_call_id="c1"),
    ]
    decision = router.decide(StepSignals(prompt=""), conversation)
    assert decision.est_tokens > usable
    assert decision.model == "remote" and "more than local" in decision.reason
    assert router.decide(StepSignals(prompt=""), conversation).est_tokens == decision.est_tokens


def test_plain_words_defined_across_a_real_repo_do_not_make_a_one_file_task_repository_scale(git_repo):
    """A real repository defines ``run``, ``write``, ``test`` and ``__repr__`` in many files, and a
    second ``create_user``; a request about one named file must still stay local."""
    from agent.core.routing import repo_signals

    common = "def run():\n    pass\n\ndef write():\n    pass\n\ndef test():\n    pass\n\n" \
             "class Thing:\n    def __repr__(self):\n        return 'x'\n"
    for name in ("jobs", "io_helpers", "checks", "admin"):
        (git_repo / f"{name}.py").write_text(common + f"\ndef create_user():\n    return '{name}'\n")
    (git_repo / "src").mkdir()
    (git_repo / "src/api.py").write_text("def create_user(payload):\n    return payload\n")
    (git_repo / "src/utils.py").write_text("def slugify(text):\n    return text.lower()\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "a repository with common names")
    router = Router(routing_config(git_repo), git_repo)
    for prompt in ("write a unit test for slugify in src/utils.py",
                   "add input validation to the create_user handler in src/api.py",
                   "run the tests and fix what fails in src/utils.py",
                   "improve the __repr__ of Thing"):
        decision = router.decide(repo_signals(StepSignals(prompt=prompt), git_repo))
        assert decision.model == "local", (prompt, decision.reason)
    spread = router.decide(repo_signals(StepSignals(prompt="make create_user validate its input"), git_repo))
    assert spread.model == "remote", "a code name defined in five files is repository-scale"
