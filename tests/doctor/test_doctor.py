"""qagent doctor against scripted servers on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agent.doctor.hardware import Memory, recommend_qwen
from agent.doctor.probes import diagnose
from tests.conftest import config_for

PROBES = [
    {"text": "OK"},
    {"tool_calls": [{"name": "ping", "arguments": {"token": "qagent"}}]},
    {"reasoning": "the user wants a ping", "tool_calls": [{"name": "ping", "arguments": {"token": "qagent"}}]},
    {"text": "pong received"},
]


async def test_doctor_probes_both_endpoints_and_replays_deepseek_reasoning(scripted_server, tmp_path):
    local = scripted_server(PROBES, dialect="ollama", context_length=4096, model_ids=["qwen3.5:9b"])
    remote = scripted_server(PROBES, dialect="deepseek", model_ids=["deepseek-v4-pro"])
    config = config_for(tmp_path, local=local, remote=remote)
    config.models["local"].model = "qwen3.5:9b"
    config.models["remote"].model = "deepseek-v4-pro"
    reports = {r.name: r for r in await diagnose(config)}
    for report in reports.values():
        assert report.reachable and report.model_listed and report.tool_call and report.reasoning_replay
        assert report.latency_ms is not None
    assert reports["local"].context_length == 4096
    assert any("65536" in advice for advice in reports["local"].advice)
    replayed = remote.chat_requests()[3]["messages"][1]
    assert replayed["reasoning_content"] == "the user wants a ping"
    assert remote.chat_requests()[2]["thinking"] == {"type": "enabled"}


async def test_doctor_reports_missing_model_and_unreachable_endpoint(scripted_server, tmp_path):
    local = scripted_server([], dialect="ollama", model_ids=["llama3:8b"])
    config = config_for(tmp_path, local=local)
    config.models["remote"].base_url = "http://127.0.0.1:9"
    config.models["remote"].remote = False  # pretend it is a second local server that is down
    reports = {r.name: r for r in await diagnose(config)}
    assert reports["local"].model_listed is False
    assert any("ollama pull" in a for a in reports["local"].advice)
    assert not reports["remote"].reachable and not reports["remote"].usable
    assert local.chat_requests() == []  # no live probes against a server without the model


async def test_doctor_in_local_only_mode_sends_nothing_remote(scripted_server, tmp_path):
    local = scripted_server(PROBES, dialect="vllm", model_ids=["qwen3.5:9b"])
    remote = scripted_server(PROBES, dialect="deepseek")
    config = config_for(tmp_path, local=local, remote=remote, routing={"privacy": "local-only"})
    config.models["local"].model = "qwen3.5:9b"
    await diagnose(config)
    assert remote.requests == []


def test_recommendation_follows_the_vram_table():
    assert recommend_qwen(Memory("nvidia", 24.0))["model"] == "qwen3.5:35b-a3b"
    assert recommend_qwen(Memory("nvidia", 8.0)) == {**recommend_qwen(Memory("nvidia", 8.0)),
                                                     "model": "qwen3.5:9b", "quantisation": "Q4_K_M"}
    assert recommend_qwen(Memory("nvidia", 4.0))["model"] == "qwen3.5:0.8b"
    assert recommend_qwen(Memory("apple-unified", 96.0))["model"] == "qwen3.5:122b-a10b"


def test_doctor_cli_json_and_exit_code(scripted_server, tmp_path):
    local = scripted_server(PROBES, dialect="llamacpp", context_length=131072, model_ids=["qwen"])
    (tmp_path / ".qagent.toml").write_text(
        f'[models.local]\nbase_url = "{local.url}"\nmodel = "qwen"\ndialect = "llamacpp"\n'
        '[models.remote]\nbase_url = "http://127.0.0.1:9"\nremote = true\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QAGENT_", "DEEPSEEK"))}
    env["HOME"] = str(tmp_path)
    qagent = Path(sys.executable).with_name("qagent")
    result = subprocess.run([str(qagent), "doctor", "--json"], cwd=tmp_path, capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    local_report = next(e for e in payload["endpoints"] if e["name"] == "local")
    assert local_report["usable"] and local_report["context_length"] == 131072
    remote_report = next(e for e in payload["endpoints"] if e["name"] == "remote")
    assert "DEEPSEEK_API_KEY is not set" in remote_report["problems"]
    assert payload["recommendation"]["model"].startswith("qwen3.5:")
    assert payload["sandbox"]["kind"] in ("bwrap", "landlock", "none")
    (tmp_path / ".qagent.toml").write_text('[models.local]\nbase_url = "http://127.0.0.1:9/v1"\n')
    down = subprocess.run([str(qagent), "doctor"], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=60)
    assert down.returncode == 1 and "No usable model" in down.stdout


def test_doctor_fix_creates_an_ollama_variant_with_a_larger_context(scripted_server, tmp_path):
    local = scripted_server(PROBES, dialect="ollama", context_length=4096, model_ids=["qwen3.5:9b"])
    (tmp_path / ".qagent.toml").write_text(
        f'[models.local]\nbase_url = "{local.url}"\nmodel = "qwen3.5:9b"\ndialect = "ollama"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QAGENT_", "DEEPSEEK"))}
    env["HOME"] = str(tmp_path)
    qagent = Path(sys.executable).with_name("qagent")
    result = subprocess.run([str(qagent), "doctor", "--fix"], cwd=tmp_path, capture_output=True, text=True,
                            env=env, input="y\n", timeout=60)
    assert result.returncode == 0, result.stderr
    create = next(r for r in local.requests if r["path"] == "/api/create")
    assert create["body"]["from"] == "qwen3.5:9b" and create["body"]["parameters"] == {"num_ctx": 65536}
    assert "context_window = 65536" in result.stdout
