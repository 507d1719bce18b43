"""The provider over real HTTP against the scripted server, one dialect at a time."""

from __future__ import annotations

import json
import time

import pytest

from agent.config import LimitsConfig, ModelEntry
from agent.events import Notice, ReasoningDelta, TextDelta
from agent.messages import Message, ToolCall
from agent.providers.openai_compat import Completion, OpenAICompatProvider, ProviderError
from agent.testing import DIALECTS

READ_TOOL = {"type": "function", "function": {"name": "read_file", "description": "read",
             "parameters": {"type": "object", "properties": {"path": {"type": "string"},
                                                              "limit": {"type": "integer"}}}}}
FAST_LIMITS = LimitsConfig(max_retries=3, idle_timeout_s=3.0, request_timeout_s=20.0)
_open_providers: list[OpenAICompatProvider] = []


@pytest.fixture(autouse=True)
async def _close_providers():
    yield
    while _open_providers:
        await _open_providers.pop().aclose()


def provider_for(server, *, limits=FAST_LIMITS, **entry) -> OpenAICompatProvider:
    model = ModelEntry(base_url=server.url, model="m", dialect=server.dialect, **entry)
    provider = OpenAICompatProvider("local", model, limits)
    _open_providers.append(provider)
    return provider


async def collect(provider, messages=None, tools=(READ_TOOL,), mode="fast"):
    items = [i async for i in provider.stream(messages or [Message(role="user", content="hi")], list(tools), mode)]
    completion = items[-1]
    assert isinstance(completion, Completion)
    return items, completion


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_reasoning_text_and_fragmented_tool_calls_per_dialect(scripted_server, dialect):
    server = scripted_server([{"reasoning": "think about it carefully", "text": "Reading two files.",
                               "tool_calls": [{"name": "read_file", "arguments": {"path": "a.py"}},
                                              {"name": "read_file", "arguments": {"path": "b/c.py", "limit": 5}}],
                               "usage": {"prompt_tokens": 100, "completion_tokens": 20, "cache_hit_tokens": 60}}],
                             dialect=dialect)
    items, completion = await collect(provider_for(server))
    reasoning = "".join(i.text for i in items if isinstance(i, ReasoningDelta))
    text = "".join(i.text for i in items if isinstance(i, TextDelta))
    message = completion.message
    assert text == message.content == "Reading two files."
    if dialect != "openai":  # OpenAI's own servers send no reasoning
        assert reasoning == message.reasoning == "think about it carefully"
    assert "think" not in message.content
    assert [(c.name, json.loads(c.arguments)) for c in message.tool_calls] == [
        ("read_file", {"path": "a.py"}), ("read_file", {"path": "b/c.py", "limit": 5})]
    assert len({c.id for c in message.tool_calls}) == 2
    assert completion.usage.prompt_tokens == 100 and completion.usage.completion_tokens == 20
    if dialect != "ollama":  # Ollama reports no cache split
        assert completion.usage.cache_hit_tokens == 60
        assert completion.usage.cache_miss_tokens == 40


async def test_deepseek_cache_fields_are_read(scripted_server):
    server = scripted_server([{"text": "ok", "usage": {"prompt_tokens": 1000, "completion_tokens": 5,
                                                       "cache_hit_tokens": 900}}], dialect="deepseek")
    _, completion = await collect(provider_for(server))
    assert (completion.usage.cache_hit_tokens, completion.usage.cache_miss_tokens) == (900, 100)


@pytest.mark.parametrize(("dialect", "fast", "thinking"), [
    ("deepseek", {"thinking": {"type": "disabled"}}, {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}),
    ("vllm", {"chat_template_kwargs": {"enable_thinking": False}, "temperature": 0.7, "top_p": 0.8, "top_k": 20},
     {"chat_template_kwargs": {"enable_thinking": True}, "temperature": 0.6, "top_p": 0.95}),
    ("sglang", {"chat_template_kwargs": {"enable_thinking": False}}, {"chat_template_kwargs": {"enable_thinking": True}}),
    ("llamacpp", {"chat_template_kwargs": {"enable_thinking": False}},
     {"chat_template_kwargs": {"enable_thinking": True}}),
    ("ollama", {"reasoning_effort": "none", "temperature": 0.7, "top_p": 0.8},
     {"reasoning_effort": "high", "temperature": 0.6}),
])
async def test_thinking_switch_goes_on_the_wire_the_dialects_way(scripted_server, dialect, fast, thinking):
    server = scripted_server([{"text": "a"}, {"text": "b"}], dialect=dialect)
    provider = provider_for(server)
    await collect(provider, mode="fast")
    await collect(provider, mode="thinking")
    sent_fast, sent_thinking = server.chat_requests()
    for key, value in fast.items():
        assert sent_fast[key] == value, key
    for key, value in thinking.items():
        assert sent_thinking[key] == value, key
    if dialect == "ollama":
        assert "chat_template_kwargs" not in sent_fast and "top_k" not in sent_fast


async def test_deepseek_replays_reasoning_content_and_never_forwards_foreign_reasoning(scripted_server):
    server = scripted_server([{"text": "done"}], dialect="deepseek")
    call = ToolCall(id="call_1", name="read_file", arguments='{"path": "a"}')
    history = [
        Message(role="user", content="go"),
        Message(role="assistant", content="", reasoning="deepseek thoughts", reasoning_model="deepseek",
                tool_calls=(call,)),
        Message(role="tool", tool_call_id="call_1", content="file"),
        Message(role="assistant", content="", reasoning="qwen thoughts", reasoning_model="vllm",
                tool_calls=(ToolCall(id="call_2", name="read_file", arguments="{}"),)),
        Message(role="tool", tool_call_id="call_2", content="file"),
    ]
    await collect(provider_for(server), messages=history)
    sent = server.chat_requests()[0]["messages"]
    assert sent[1]["reasoning_content"] == "deepseek thoughts"
    assert sent[3]["reasoning_content"] == ""  # key present, foreign reasoning not forwarded
    assert "qwen thoughts" not in json.dumps(sent)


async def test_local_dialects_get_no_reasoning_back(scripted_server):
    server = scripted_server([{"text": "done"}], dialect="vllm")
    history = [Message(role="user", content="go"),
               Message(role="assistant", content="x", reasoning="secret plan", reasoning_model="deepseek")]
    await collect(provider_for(server), messages=history)
    assert "secret plan" not in json.dumps(server.chat_requests()[0])


async def test_think_tags_in_content_become_reasoning(scripted_server):
    server = scripted_server([{"reasoning": "hidden chain", "text": "visible answer", "think_tags": True,
                               "chunk_chars": 3}], dialect="openai")
    items, completion = await collect(provider_for(server))
    assert completion.message.content == "visible answer"
    assert completion.message.reasoning == "hidden chain"
    assert "<think>" not in "".join(i.text for i in items if isinstance(i, TextDelta))


async def test_unclosed_think_at_end_is_reasoning_not_answer(scripted_server):
    server = scripted_server([{"text": "<think>I was cut off while thinking", "chunk_chars": 4}])
    _, completion = await collect(provider_for(server))
    assert completion.message.content == ""
    assert completion.message.reasoning == "I was cut off while thinking"


@pytest.mark.parametrize("text", [
    "I'll read it.\n<tool_call>\n<function=read_file>\n<parameter=path>\nsrc/a.py\n</parameter>\n"
    "<parameter=limit>\n20\n</parameter>\n</function>\n</tool_call>",
    "<function=read_file><parameter=path>src/a.py</parameter><parameter=limit>20</parameter></function>",
    '<tool_call>{"name": "read_file", "arguments": {"path": "src/a.py", "limit": 20}}</tool_call>',
    'Calling:\n```json\n{"name": "read_file", "arguments": {"path": "src/a.py", "limit": 20}}\n```',
])
async def test_tool_calls_left_in_text_are_recovered_with_a_notice(scripted_server, text):
    server = scripted_server([{"text": text}], dialect="llamacpp")
    items, completion = await collect(provider_for(server))
    [call] = completion.message.tool_calls
    assert (call.name, json.loads(call.arguments)) == ("read_file", {"path": "src/a.py", "limit": 20})
    assert any(isinstance(i, Notice) and "recovered read_file" in i.text for i in items)
    assert "<function" not in completion.message.content and "tool_call" not in completion.message.content


async def test_text_calls_to_unknown_tools_are_left_alone(scripted_server):
    text = '<tool_call>{"name": "rm_everything", "arguments": {}}</tool_call>'
    server = scripted_server([{"text": text}])
    _, completion = await collect(provider_for(server))
    assert completion.message.tool_calls == () and completion.message.content == text


async def test_ollama_same_index_and_llamacpp_object_arguments(scripted_server):
    server = scripted_server([
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "a"}},
                        {"name": "read_file", "arguments": {"path": "b"}}], "same_index": True},
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "c"}}], "arguments_object": True},
    ], dialect="ollama")
    provider = provider_for(server)
    _, first = await collect(provider)
    assert [json.loads(c.arguments)["path"] for c in first.message.tool_calls] == ["a", "b"]
    _, second = await collect(provider)
    assert json.loads(second.message.tool_calls[0].arguments) == {"path": "c"}


async def test_malformed_arguments_are_passed_through_for_the_loop_to_reject(scripted_server):
    server = scripted_server([{"tool_calls": [{"name": "read_file", "arguments": '{"path": "a.py"'}]}])
    _, completion = await collect(provider_for(server))
    assert completion.message.tool_calls[0].arguments == '{"path": "a.py"'


async def test_429_with_retry_after_is_honoured_then_succeeds(scripted_server):
    server = scripted_server([{"fault": "http", "status": 429, "retry_after": 1}, {"text": "after wait"}])
    started = time.monotonic()
    items, completion = await collect(provider_for(server))
    assert time.monotonic() - started >= 1.0
    assert completion.message.content == "after wait"
    assert any(isinstance(i, Notice) and "429" in i.text for i in items)


@pytest.mark.parametrize("fault", [
    {"fault": "http", "status": 500}, {"fault": "http", "status": 503}, {"fault": "reset_midstream"},
    {"fault": "close"},
])
async def test_transient_faults_are_retried(scripted_server, fault):
    server = scripted_server([fault, {"text": "recovered"}])
    items, completion = await collect(provider_for(server))
    assert completion.message.content.endswith("recovered")
    assert len(server.chat_requests()) == 2


@pytest.mark.parametrize(("status", "kind", "words"), [
    (401, "auth", "API key"), (402, "balance", "top up"), (404, "model_not_found", "not found"),
])
async def test_permanent_errors_are_one_clear_message_without_retries(scripted_server, status, kind, words):
    server = scripted_server([{"fault": "http", "status": status}, {"text": "never"}])
    with pytest.raises(ProviderError) as info:
        await collect(provider_for(server))
    assert info.value.kind == kind and words in info.value.message
    assert len(server.chat_requests()) == 1


async def test_retries_are_bounded(scripted_server):
    server = scripted_server([{"fault": "http", "status": 500}] * 3)
    limits = LimitsConfig(max_retries=2, idle_timeout_s=3.0, request_timeout_s=20.0)
    with pytest.raises(ProviderError) as info:
        await collect(provider_for(server, limits=limits))
    assert info.value.kind == "retries_exhausted"


async def test_stall_with_keepalives_is_abandoned_by_the_idle_timer(scripted_server):
    server = scripted_server([{"fault": "stall", "seconds": 30, "keepalive": True}, {"text": "second try"}])
    limits = LimitsConfig(max_retries=1, idle_timeout_s=1.0, request_timeout_s=20.0)
    started = time.monotonic()
    items, completion = await collect(provider_for(server, limits=limits))
    assert time.monotonic() - started < 10
    assert completion.message.content == "second try"
    assert any(isinstance(i, Notice) and "stalled" in i.text for i in items)


async def test_finish_without_done_still_completes(scripted_server):
    server = scripted_server([{"text": "complete answer", "no_done": True}])
    started = time.monotonic()
    _, completion = await collect(provider_for(server))
    assert completion.message.content == "complete answer"
    assert time.monotonic() - started < 8


async def test_content_after_done_is_ignored(scripted_server):
    server = scripted_server([{"text": "clean", "after_done": "data: {\"garbage\": true}\n\n"}])
    _, completion = await collect(provider_for(server))
    assert completion.message.content == "clean"


async def test_unreachable_endpoint_is_reported_not_hung():
    entry = ModelEntry(base_url="http://127.0.0.1:9/v1", model="m", dialect="ollama")
    provider = OpenAICompatProvider("local", entry, FAST_LIMITS)
    _open_providers.append(provider)
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        await collect(provider)
    assert info.value.kind == "unreachable" and "127.0.0.1:9" in info.value.message
    assert time.monotonic() - started < 5


async def test_local_only_privacy_sends_nothing_to_a_remote_entry(scripted_server):
    server = scripted_server([{"text": "must not be used"}], dialect="deepseek")
    entry = ModelEntry(base_url=server.url, model="m", dialect="deepseek", remote=True)
    provider = OpenAICompatProvider("remote", entry, FAST_LIMITS, privacy="local-only")
    with pytest.raises(ProviderError) as info:
        await collect(provider)
    assert info.value.kind == "privacy"
    assert server.requests == []


async def test_reasoning_content_400_is_retried_once_with_a_placeholder(scripted_server):
    message = "The reasoning_content in the thinking mode must be passed back to the API."
    server = scripted_server([{"fault": "http", "status": 400, "message": message}, {"text": "ok"}],
                             dialect="deepseek")
    history = [Message(role="user", content="go"),
               Message(role="assistant", content="", tool_calls=(ToolCall(id="c1", name="read_file",
                                                                          arguments="{}"),)),
               Message(role="tool", tool_call_id="c1", content="x")]
    _, completion = await collect(provider_for(server), messages=history)
    assert completion.message.content == "ok"
    first, second = server.chat_requests()
    assert first["messages"][1]["reasoning_content"] == ""
    assert second["messages"][1]["reasoning_content"] == "."
