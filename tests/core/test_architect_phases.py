"""Architect/editor phases on the wire: the request-ranked map, and a review that continues the plan.

Real HTTP to two scripted servers (local vLLM, remote DeepSeek), real tools, a real git repository.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from agent import Agent
from agent.events import RouteDecided
from tests.conftest import config_for
from tests.repos import git

FILLER = [f"pkg/{name}.py" for name in ("alpha", "beta", "core", "delta", "epsilon", "gamma", "io")]


def make_project(root: Path) -> Path:
    """Files that sort before the one the request is about, and two of its callers."""
    for path in FILLER:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        stem = Path(path).stem
        (root / path).write_text(f"def {stem}_value(x):\n    return x\n\n\n"
                                 f"def {stem}_name():\n    return '{stem}'\n")
    (root / "zz_billing").mkdir()
    (root / "zz_billing/payments.py").write_text("def charge_card(amount):\n    return round(amount, 2)\n")
    (root / "pkg/checkout.py").write_text("from zz_billing.payments import charge_card\n\n\n"
                                          "def pay(total):\n    return charge_card(total)\n")
    (root / "pkg/refund.py").write_text("from zz_billing.payments import charge_card\n\n\n"
                                        "def refund(total):\n    return charge_card(-total)\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "project")
    return root


def plan_for(paths: list[str]) -> str:
    plan = {"summary": "rename charge_card to charge_payment",
            "files": [{"path": p, "change": "replace every charge_card with charge_payment"} for p in paths]}
    return "```json\n" + json.dumps(plan) + "\n```"


def editor_script(paths: list[str], old: str = "charge_card", new: str = "charge_payment") -> list[dict]:
    script: list[dict] = []
    for path in paths:
        script += [{"tool_calls": [{"name": "read_file", "arguments": {"path": path}}]},
                   {"tool_calls": [{"name": "edit_file", "arguments": {
                       "path": path, "old_string": old, "new_string": new, "replace_all": True}}]},
                   {"text": f"renamed in {path}"}]
    return script


async def run(agent: Agent, prompt: str) -> list:
    return [e async for e in agent.run(prompt)]


async def test_architect_map_lists_the_files_the_request_is_about_first(scripted_server, git_repo):
    root = make_project(git_repo)
    remote = scripted_server([{"reasoning": "plan", "text": plan_for(["zz_billing/payments.py"])},
                              {"reasoning": "ok", "text": "Looks right."}], dialect="deepseek")
    local = scripted_server(editor_script(["zz_billing/payments.py"]), dialect="vllm")
    config = config_for(root, local=local, remote=remote, permissions={"approval": "full-auto"})
    events = await run(Agent(config, cwd=root), "rename charge_card to charge_payment across the codebase")
    assert events[-1].stop_reason == "completed"
    plan_prompt = remote.chat_requests()[0]["messages"][-1]["content"]
    listed = re.findall(r"^(\S+\.py):?$", plan_prompt.split("Repository map")[1], re.M)
    assert listed[0] == "zz_billing/payments.py"  # it sorts last by path; the request makes it first
    assert set(listed[1:3]) == {"pkg/checkout.py", "pkg/refund.py"}  # then its callers


async def test_review_continues_the_plan_so_every_remote_request_extends_the_last(scripted_server, git_repo):
    root = make_project(git_repo)
    files = ["zz_billing/payments.py", "pkg/checkout.py", "pkg/refund.py"]
    remote = scripted_server([
        {"reasoning": "find the callers",
         "tool_calls": [{"name": "grep", "arguments": {"pattern": "charge_card"}}]},
        {"reasoning": "read the definition", "tool_calls": [
            {"name": "read_file", "arguments": {"path": "zz_billing/payments.py"}}]},
        {"reasoning": "three files", "text": plan_for(files)},
        {"reasoning": "compare with what I read", "text": "All three renamed; no caller uses charge_card."},
    ], dialect="deepseek")
    local = scripted_server(editor_script(files), dialect="vllm")
    config = config_for(root, local=local, remote=remote, permissions={"approval": "full-auto"})
    agent = Agent(config, cwd=root)
    events = await run(agent, "rename charge_card to charge_payment across the codebase")
    assert [e.reason for e in events if isinstance(e, RouteDecided) and e.model == "remote"] == \
        ["architect: plan"] * 3 + ["architect: review"]
    assert "charge_card" not in "".join((root / f).read_text() for f in files)
    bodies = remote.chat_requests()
    for earlier, later in zip(bodies, bodies[1:], strict=False):  # a cacheable prefix every time
        assert later["messages"][:len(earlier["messages"])] == earlier["messages"]
        assert later["tools"] == earlier["tools"]
    review = bodies[-1]["messages"]
    assert review[-2]["role"] == "assistant" and "charge_payment" in review[-2]["content"]  # its own plan
    assert review[-2]["reasoning_content"] == "three files"
    read = [m["content"] for m in review if m["role"] == "tool"]
    assert any("def charge_card(amount)" in content for content in read)  # what it read is still there
    last = review[-1]["content"]
    assert "+def charge_payment(amount):" in last and "renamed in pkg/refund.py" in last
    assert "replace every charge_card" not in last  # the plan is not re-sent as new tokens
    assert "All three renamed" in events[-1].text
    assert [m.role for m in agent.messages] == ["user", "assistant"]


async def test_review_starts_afresh_with_the_whole_plan_when_the_plan_conversation_is_too_big(
        scripted_server, git_repo):
    root = make_project(git_repo)
    (root / "pkg/big.py").write_text("".join(f"def f{i}(x):\n    return charge_card(x) + {i}\n"
                                             for i in range(800)))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "big")
    remote = scripted_server([
        {"reasoning": "read it all",
         "tool_calls": [{"name": "read_file", "arguments": {"path": "pkg/big.py"}}]},
        {"reasoning": "one file", "text": plan_for(["zz_billing/payments.py"])},
        {"reasoning": "fine", "text": "Renamed."},
    ], dialect="deepseek")
    local = scripted_server(editor_script(["zz_billing/payments.py"]), dialect="vllm")
    config = config_for(root, local=local, remote=remote, permissions={"approval": "full-auto"})
    config.models["remote"].context_window = 20_000  # the read alone (~30K chars) is over half of what is
    config.models["remote"].max_output_tokens = 8_000  # left after the reply
    events = await run(Agent(config, cwd=root), "rename charge_card to charge_payment across the codebase")
    assert events[-1].stop_reason == "completed"
    review = remote.chat_requests()[-1]["messages"]
    assert [m["role"] for m in review] == ["system", "user"]
    assert "replace every charge_card with charge_payment" in review[-1]["content"]  # the per-file plan
    assert "+def charge_payment(amount):" in review[-1]["content"]
