"""Secrets in files and tool output never reach a remote endpoint or the session log; local-only
privacy sends zero bytes to the remote endpoint in a whole session (web, tools, compaction)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.wiring import build_agent
from tests.adversarial.advhelpers import finished, notices, results, turn
from tests.adversarial.conftest import CANARIES, plant_secrets
from tests.conftest import config_for
from tests.repos import git
from tests.tools.toolhelpers import LoopbackServer, bwrap_works, reply


def nosy_calls(page: str) -> list[dict]:
    """Everything an over-eager model might do to look at secrets."""
    calls = [
        {"name": "read_file", "arguments": {"path": ".env"}},
        {"name": "read_file", "arguments": {"path": "id_rsa"}},
        {"name": "read_file", "arguments": {"path": "deploy.pem"}},
        {"name": "read_file", "arguments": {"path": "settings.py"}},
        {"name": "grep", "arguments": {"pattern": "PASSWORD|KEY|TOKEN|PRIVATE"}},
        {"name": "grep", "arguments": {"pattern": "PASSWORD", "path": ".env"}},
        {
            "name": "edit_file",
            "arguments": {"path": ".env", "old_string": "DB_PASSWORD=", "new_string": "DB_PASS="},
        },
        {
            "name": "apply_patch",
            "arguments": {
                "patch": "*** Begin Patch\n*** Update File: deploy.pem\n@@\n"
                "-----END PRIVATE KEY-----\n+\n*** End Patch\n"
            },
        },
        {"name": "shell", "arguments": {"command": "cat settings.py; env; echo " + CANARIES["deepseek"]}},
        {"name": "web_fetch", "arguments": {"url": page}},
    ]
    if bwrap_works():  # only the bwrap sandbox masks secret files from commands (Landlock cannot)
        calls.append({"name": "shell", "arguments": {"command": "cat .env id_rsa deploy.pem; ls -la"}})
    return calls


def _leaky_page() -> LoopbackServer:
    body = (
        f"<html><body><p>config dump: aws {CANARIES['aws']} token {CANARIES['github']}</p>"
        f"<pre>-----BEGIN PRIVATE KEY-----\n{CANARIES['pem_body']}\n-----END PRIVATE KEY-----</pre>"
        "</body></html>"
    )
    return LoopbackServer({"/dump": reply(body)}).__enter__()


async def test_no_secret_reaches_the_remote_model_or_the_session_log(
    scripted_server, git_repo: Path, ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant_secrets(git_repo)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "oops, committed secrets")  # the pack sees tracked files
    monkeypatch.setenv("DEEPSEEK_API_KEY", CANARIES["deepseek"])
    for name in (".env", "id_rsa", "deploy.pem", "settings.py"):
        ledger.keep(git_repo / name)
    page = _leaky_page()
    try:
        remote = ledger.watch(
            scripted_server(
                [
                    {"tool_calls": nosy_calls(f"{page.url}/dump")},
                    {
                        "text": f"Your key is {CANARIES['deepseek']}"
                    },  # the model echoing a key back is logged redacted
                ],
                dialect="deepseek",
            )
        )
        config = config_for(
            git_repo,
            remote=remote,
            routing={"mode": "remote"},
            permissions={"approval": "full-auto"},
            session={"data_dir": str(tmp_path / "data")},
        )
        agent = build_agent(config, git_repo)
        events = await turn(agent, f"check the config; my token is {CANARIES['github']}")
    finally:
        page.__exit__()
    assert finished(events).stop_reason == "completed"
    by_name = {(r.name, i): r for i, r in enumerate(results(events))}
    refused = [r for (name, _), r in by_name.items() if "secret file" in r.output]
    assert len(refused) >= 6, [r.output[:80] for r in results(events)]
    assert len(remote.chat_requests()) == 2 and remote.chat_requests()[0]["messages"][1]["role"] == "user"
    wire = str(remote.requests)
    assert "[REDACTED:" in wire  # shaped keys in tool output and the prompt were replaced, not dropped
    logs = list((tmp_path / "data").rglob("*.jsonl"))
    assert logs
    for log in logs:
        text = log.read_text()
        leaked = [name for name, value in CANARIES.items() if value in text]
        assert leaked == [], f"{log.name} holds {leaked}"


async def test_local_only_sends_zero_bytes_to_remote_in_a_whole_session(
    scripted_server, git_repo: Path, ledger, tmp_path: Path
) -> None:
    plant_secrets(git_repo)
    page = LoopbackServer(
        {
            "/local": reply(
                "<html><body><h1>Docs</h1><p>" + "The local docs page. " * 20 + "</p></body></html>"
            )
        }
    ).__enter__()
    steps = [
        {
            "tool_calls": [
                {"name": "web_fetch", "arguments": {"url": "https://example.com/"}},
                {"name": "web_fetch", "arguments": {"url": f"{page.url}/local"}},
                {"name": "browser", "arguments": {"url": "https://example.org/"}},
            ]
        },
        {
            "tool_calls": [
                {"name": "read_file", "arguments": {"path": "settings.py"}},
                {"name": "grep", "arguments": {"pattern": "KEY"}},
            ]
        },
        {"tool_calls": [{"name": "shell", "arguments": {"command": "echo " + "padding " * 400}}]},
        {"tool_calls": [{"name": "shell", "arguments": {"command": "git log --oneline | head -3"}}]},
    ]
    local = scripted_server(
        [
            *steps,
            {"fault": "http", "status": 400, "message": "maximum context length exceeded"},
            {"text": "summary by the local model"},
            {"fault": "http", "status": 503},
            {"fault": "close"},  # local trouble must not fall back to remote
            {"text": "all local"},
            {"text": "summary again"},  # explicit /compact
            {"fault": "http", "status": 500},
            {"fault": "http", "status": 500},
            {"fault": "http", "status": 500},
        ],
        dialect="ollama",
    )
    remote = ledger.silent(scripted_server([{"text": "leak"}] * 5, dialect="deepseek"))
    try:
        config = config_for(
            git_repo,
            local=local,
            remote=remote,
            routing={"privacy": "local-only", "mode": "auto", "architect": True},
            permissions={"approval": "full-auto"},
            session={"data_dir": str(tmp_path / "data")},
            limits={"max_retries": 2, "idle_timeout_s": 2.0},
        )
        agent = build_agent(config, git_repo)
        events = await turn(
            agent, "refactor every module across the whole repository and review the architecture"
        )
        assert finished(events).text == "all local"
        await agent.compact()
        later = await turn(
            agent, "now explain the design in depth"
        )  # local keeps failing: an error, not remote
    finally:
        page.__exit__()
    assert finished(later).stop_reason == "error"
    assert "compacting and retrying once" in notices(events)
    assert any(
        "summary by the local model" in str(r["messages"]) for r in local.chat_requests()
    )  # local wrote it
    fetches = [r for r in results(events) if r.name in ("web_fetch", "browser")]  # in finishing order
    assert sorted(r.ok for r in fetches) == [False, False, True]
    assert all("local-only" in r.output or "playwright" in r.output.lower() for r in fetches if not r.ok)
    assert any(r.ok and "The local docs page" in r.output for r in fetches)  # loopback never leaves
