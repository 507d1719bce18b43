"""Privacy does not hinge on the URL alone: a loopback proxy to a hosted API still sends data away.

An entry with a hosted dialect (deepseek, openai) or an API key counts as remote unless it says
``remote = false``; local-only privacy then sends it nothing, and what it is sent is redacted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent import Agent
from agent.config import load_config


def proxy_config(repo: Path, local_url: str, proxy_url: str, **proxy: object):
    """A local vLLM, and a DeepSeek entry reached through a proxy on this machine."""
    models = {"local": {"base_url": local_url, "dialect": "vllm"},
              "remote": {"base_url": proxy_url, "dialect": "deepseek", "api_key": "sk-test-remote-key", **proxy}}
    return load_config(repo, {"models": models, "routing": {"privacy": "local-only"},
                              "context": {"pack": False}, "limits": {"max_retries": 0}},
                       env={}, use_user_file=False)


@pytest.mark.parametrize("entry", [{}, {"api_key_env": "PROXY_KEY", "dialect": "vllm"}],
                         ids=["deepseek-dialect", "api-key"])
async def test_local_only_never_contacts_a_loopback_proxy_to_a_hosted_api(scripted_server, git_repo: Path,
                                                                          entry: dict) -> None:
    local = scripted_server([{"text": "answered locally"}], dialect="vllm")
    proxy = scripted_server([{"text": "must not happen"}], dialect="deepseek")
    config = proxy_config(git_repo, local.url, proxy.url, **entry)
    assert config.models["remote"].is_remote
    agent = Agent(config, cwd=git_repo)
    agent.pin_model("remote")  # even an explicit choice: local-only means nothing leaves
    events = [e async for e in agent.run("explain this repository")]
    assert events[-1].text == "answered locally"
    assert proxy.requests == []


@pytest.mark.parametrize(("remote", "redacted"), [(None, True), (False, False)], ids=["default", "remote-false"])
async def test_redaction_follows_whether_the_entry_counts_as_remote(scripted_server, git_repo: Path,
                                                                    remote: bool | None, redacted: bool) -> None:
    key = "ghp_" + "A1b2C3d4" * 5
    local = scripted_server([{"text": "unused"}], dialect="vllm")
    proxy = scripted_server([{"text": "ok"}], dialect="deepseek")
    config = proxy_config(git_repo, local.url, proxy.url, **({} if remote is None else {"remote": remote}))
    config.routing.privacy = "normal"
    [e async for e in Agent(config, cwd=git_repo).run(f"token {key} @remote")]
    sent = str(proxy.chat_requests()[0]["messages"])
    assert (key not in sent) == redacted
    assert ("[REDACTED:github-token]" in sent) == redacted


def test_doctor_says_why_an_entry_counts_as_remote(git_repo: Path) -> None:
    config = proxy_config(git_repo, "http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1")
    assert "hosted API" in (config.models["remote"].remote_reason() or "")
    assert config.models["local"].remote_reason() is None
    assert not config.models["remote"].may_contact("local-only")
    assert config.models["remote"].may_contact("normal")
