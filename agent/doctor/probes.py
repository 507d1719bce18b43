"""``qagent doctor``: is every configured endpoint usable, and which Qwen 3.5 fits this machine?

For each model entry: the server answers ``/v1/models`` and lists the model, the API key is
accepted, the context length the server really keeps (Ollama ``/api/ps``/``/api/show``,
llama.cpp ``/props``, vLLM/SGLang ``max_model_len``), and live round trips: a tiny reply with
its latency, a tool call, and a thinking-mode tool call whose reasoning is replayed (the DeepSeek
``reasoning_content`` rule). Then the machine's GPU memory and a model-size recommendation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from agent.config import AgentConfig, ModelEntry
from agent.messages import Message
from agent.providers.openai_compat import Completion, OpenAICompatProvider, ProviderError

PACKING_MIN_CONTEXT = 32_768
PING_TOOL = {"type": "function", "function": {
    "name": "ping", "description": "Answer a health check. Always call this when asked to ping.",
    "parameters": {"type": "object", "properties": {"token": {"type": "string"}}, "required": ["token"]}}}


@dataclass
class EndpointReport:
    name: str
    base_url: str
    model: str
    dialect: str
    remote: bool
    remote_reason: str | None = None
    """Why the entry counts as remote (privacy and redaction follow it), or None when local."""
    reachable: bool = False
    model_listed: bool | None = None
    context_length: int | None = None
    latency_ms: float | None = None
    tool_call: bool | None = None
    reasoning_replay: bool | None = None
    problems: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.reachable and self.latency_ms is not None


def _root_url(base_url: str) -> str:
    return base_url.rstrip("/").removesuffix("/v1")


async def _server_facts(name: str, entry: ModelEntry, report: EndpointReport, client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {entry.api_key.get_secret_value()}"} if entry.api_key else {}
    try:
        response = await client.get(entry.base_url.rstrip("/") + "/models", headers=headers)
    except httpx.HTTPError as exc:
        report.problems.append(f"cannot reach {entry.base_url}: {type(exc).__name__}")
        report.advice.append(_start_advice(entry))
        return
    report.reachable = True
    if response.status_code == 401:
        report.problems.append("the API key was rejected (401)")
        if entry.api_key_env:
            report.advice.append(f"export {entry.api_key_env}=<your key>")
        return
    if response.status_code >= 400:
        report.problems.append(f"/models answered {response.status_code}")
        return
    models = response.json().get("data", [])
    ids = [m.get("id") for m in models]
    report.model_listed = entry.model in ids
    if not report.model_listed:
        report.problems.append(f"model {entry.model!r} not listed (server has: {', '.join(map(str, ids[:6]))})")
        if entry.dialect == "ollama":
            report.advice.append(f"ollama pull {entry.model}")
    for item in models:
        if item.get("id") == entry.model and item.get("max_model_len"):
            report.context_length = int(item["max_model_len"])
    root = _root_url(entry.base_url)
    if entry.dialect == "ollama":
        report.context_length = await _ollama_context(client, root, entry.model) or report.context_length
    elif entry.dialect == "llamacpp":
        try:
            props = (await client.get(root + "/props")).json()
            report.context_length = int(props["default_generation_settings"]["n_ctx"])
        except (httpx.HTTPError, KeyError, ValueError, TypeError):
            pass


async def _ollama_context(client: httpx.AsyncClient, root: str, model: str) -> int | None:
    """The num_ctx Ollama really allocated (/api/ps after a load), else nothing: /api/show gives only
    the trained maximum, which Ollama does not use by default."""
    try:
        for item in (await client.get(root + "/api/ps")).json().get("models", []):
            if item.get("name") == model or item.get("model") == model:
                return int(item.get("context_length") or 0) or None
    except (httpx.HTTPError, ValueError, TypeError):
        return None
    return None


def _start_advice(entry: ModelEntry) -> str:
    if entry.dialect == "ollama":
        return f"start Ollama: OLLAMA_CONTEXT_LENGTH=65536 ollama serve, then ollama pull {entry.model}"
    if entry.dialect in ("vllm", "sglang"):
        return ("start the server, e.g. vllm serve Qwen/Qwen3.5-9B --reasoning-parser qwen3 "
                "--enable-auto-tool-choice --tool-call-parser qwen3_coder")
    if entry.dialect == "llamacpp":
        return "start llama-server with --jinja -c 65536 and point base_url at it"
    return f"check base_url {entry.base_url}"


async def _collect(provider: OpenAICompatProvider, messages: list[Message], tools: list[dict], mode: str
                   ) -> Completion:
    completion = None
    async for item in provider.stream(messages, tools, mode):  # type: ignore[arg-type]
        if isinstance(item, Completion):
            completion = item
    assert completion is not None
    return completion


async def _live_probes(name: str, entry: ModelEntry, config: AgentConfig, report: EndpointReport) -> None:
    limits = config.limits.model_copy(update={"max_retries": 1, "idle_timeout_s": 60.0, "request_timeout_s": 120.0})
    provider = OpenAICompatProvider(name, entry, limits, privacy=config.routing.privacy)
    try:
        started = time.monotonic()
        await _collect(provider, [Message(role="user", content="Reply with the single word OK.")], [], "fast")
        report.latency_ms = round((time.monotonic() - started) * 1000, 1)
        ask = Message(role="user", content="Health check: call the ping tool with token 'qagent'.")
        first = await _collect(provider, [ask], [PING_TOOL], "fast")
        report.tool_call = any(c.name == "ping" for c in first.message.tool_calls)
        if not report.tool_call:
            report.problems.append("no tool call came back (is the server's tool parser enabled?)")
            if entry.dialect == "vllm":
                report.advice.append("vLLM needs --enable-auto-tool-choice --tool-call-parser qwen3_coder")
        thinking = await _collect(provider, [ask], [PING_TOOL], "thinking")
        if thinking.message.tool_calls:
            call = thinking.message.tool_calls[0]
            replay = [ask, thinking.message, Message(role="tool", tool_call_id=call.id, content="pong")]
            await _collect(provider, replay, [PING_TOOL], "thinking")
            report.reasoning_replay = True
    except ProviderError as exc:
        report.problems.append(exc.message)
        if exc.kind == "reasoning_replay":
            report.reasoning_replay = False
    finally:
        await provider.aclose()


async def diagnose(config: AgentConfig) -> list[EndpointReport]:
    reports = []
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0)) as client:
        for name, entry in config.models.items():
            report = EndpointReport(name=name, base_url=entry.base_url, model=entry.model, dialect=entry.dialect,
                                    remote=entry.is_remote, remote_reason=entry.remote_reason())
            reports.append(report)
            if not entry.may_contact(config.routing.privacy):
                report.problems.append("skipped: privacy is local-only (nothing is sent to remote endpoints)")
                continue
            if entry.is_remote and entry.api_key_env and entry.api_key is None:
                report.problems.append(f"{entry.api_key_env} is not set")
                report.advice.append(f"export {entry.api_key_env}=<your key> (without it every step runs locally)")
                continue
            await _server_facts(name, entry, report, client)
            if report.reachable and not report.problems:
                await _live_probes(name, entry, config, report)
            _context_advice(entry, report)
    return reports


def _context_advice(entry: ModelEntry, report: EndpointReport) -> None:
    kept = report.context_length
    if kept is None or entry.is_remote:
        return
    if kept < PACKING_MIN_CONTEXT:
        report.problems.append(f"the server keeps only {kept:,} tokens of context; repository packing needs "
                               f"≥ {PACKING_MIN_CONTEXT:,}")
        if entry.dialect == "ollama":
            report.advice.append("restart Ollama with OLLAMA_CONTEXT_LENGTH=65536, or run `qagent doctor --fix` "
                                 "to create a variant with num_ctx 65536")
    if kept < entry.context_window:
        report.advice.append(f"set context_window = {kept} in [models.{report.name}] (configured "
                             f"{entry.context_window:,})")


async def create_ollama_variant(entry: ModelEntry, num_ctx: int = 65536) -> str:
    """Create ``<model>-<N>k`` with a larger num_ctx through Ollama's create API; returns its name."""
    name = f"{entry.model.split(':')[0]}:{entry.model.split(':')[-1]}-ctx{num_ctx // 1024}k"
    async with httpx.AsyncClient(timeout=120) as client:
        response = await client.post(_root_url(entry.base_url) + "/api/create",
                                     json={"model": name, "from": entry.model, "parameters": {"num_ctx": num_ctx},
                                           "stream": False})
        response.raise_for_status()
    return name
