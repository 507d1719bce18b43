"""The only code that calls the ``openai`` client.

Streams one completion, turning chunks into reasoning/text deltas and one final
:class:`Completion`; retries 429/5xx/resets with bounded backoff honouring Retry-After; turns
401/402/404 into one actionable :class:`ProviderError`; enforces local-only privacy before any
byte is sent; abandons streams that stay silent (keep-alive comments are not progress) and
finishes a turn after ``finish_reason`` even when ``[DONE]`` never comes.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from agent.config import LimitsConfig, ModelEntry, Privacy
from agent.events import Notice, ReasoningDelta, TextDelta
from agent.messages import Message, Usage
from agent.providers.accumulate import ThinkSplitter, ToolCallAccumulator, recover_text_tool_calls
from agent.providers.dialects import (
    StepMode,
    message_to_wire,
    reasoning_of,
    request_params,
    schema_types,
    usage_from,
)
from agent.providers.types import Completion, ProviderError

FINISH_GRACE_S = 2.0
"""How long to wait for [DONE]/usage after finish_reason before finishing anyway (PROTOCOLS §1.11)."""
REASONING_PLACEHOLDER = "."


def import_client() -> None:
    """Import the ``openai`` SDK's request and chunk modules now (they cost ~0.3 s on first use), so a
    front end can do it off the first prompt's path."""
    import openai.resources.chat.completions  # noqa: F401
    from openai.types.chat import ChatCompletionChunk  # noqa: F401


@dataclass
class _Reply:
    """One streamed reply as it is assembled: answer, reasoning (a reasoning field or <think> text),
    tool-call fragments, usage and finish reason."""

    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: ToolCallAccumulator = field(default_factory=ToolCallAccumulator)
    splitter: ThinkSplitter = field(default_factory=ThinkSplitter)
    usage: Usage = field(default_factory=Usage)
    finish: str | None = None

    def feed(self, chunk: Any) -> list[ReasoningDelta | TextDelta]:
        """Take one chunk; the deltas to show."""
        out: list[ReasoningDelta | TextDelta] = []
        if chunk.usage is not None:
            self.usage = usage_from(chunk.usage)
        for choice in chunk.choices or []:
            delta = choice.delta
            if delta is not None:
                piece = reasoning_of(delta)
                if piece:
                    self.reasoning.append(piece)
                    out.append(ReasoningDelta(text=piece))
                if delta.content:
                    out.extend(self._split(self.splitter.feed(delta.content)))
                for call in delta.tool_calls or []:
                    self.calls.add(call)
            if choice.finish_reason:
                self.finish = choice.finish_reason
        return out

    def flush(self) -> list[ReasoningDelta | TextDelta]:
        """What the <think> splitter still holds at the end of the stream."""
        return self._split(self.splitter.flush())

    def _split(self, parts: Any) -> list[ReasoningDelta | TextDelta]:
        out: list[ReasoningDelta | TextDelta] = []
        for kind, part in parts:
            if kind == "reasoning":
                self.reasoning.append(part)
                out.append(ReasoningDelta(text=part))
            else:
                self.text.append(part)
                out.append(TextDelta(text=part))
        return out


class _Retry(Exception):
    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class OpenAICompatProvider:
    """One configured endpoint (a ``[models.NAME]`` entry)."""

    def __init__(self, name: str, entry: ModelEntry, limits: LimitsConfig, *, privacy: Privacy = "normal",
                 redact: Callable[[str], str] | None = None) -> None:
        self.name = name
        self.entry = entry
        self.limits = limits
        self.privacy = privacy
        self.redact = redact
        self._client: Any = None

    @property
    def endpoint(self) -> str:
        return self.entry.base_url

    def _check_privacy(self) -> None:
        if not self.entry.may_contact(self.privacy):
            raise ProviderError("privacy", f"privacy is local-only: refusing to contact {self.name} "
                                f"({self.entry.base_url}); nothing was sent")

    def client(self) -> Any:
        if self._client is None:
            import httpx
            from openai import AsyncOpenAI

            key = self.entry.api_key.get_secret_value() if self.entry.api_key else "not-needed"
            timeout = httpx.Timeout(self.limits.idle_timeout_s, connect=10.0)
            self._client = AsyncOpenAI(base_url=self.entry.base_url, api_key=key, max_retries=0, timeout=timeout)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    # ------------------------------------------------------------------ streaming
    async def stream(self, messages: list[Message], tools: list[dict[str, Any]], mode: StepMode
                     ) -> AsyncIterator[ReasoningDelta | TextDelta | Notice | Completion]:
        """Yield deltas as they arrive, then exactly one Completion (or raise ProviderError)."""
        self._check_privacy()
        body = self._body(messages, tools, mode)
        attempt, placeholder_used = 0, False
        while True:
            try:
                async for item in self._stream_once(body, tools):
                    yield item
                return
            except _Retry as retry:
                attempt += 1
                if attempt > self.limits.max_retries:
                    raise ProviderError("retries_exhausted", f"{self.name}: {retry.reason}; gave up after "
                                        f"{attempt} attempts", retryable=True) from None
                delay = retry.delay if retry.delay is not None else min(8.0, 0.5 * 2 ** (attempt - 1))
                delay = min(delay, 60.0) + random.uniform(0, 0.1)
                yield Notice(level="warning", text=f"{self.name}: {retry.reason}; retrying in {delay:.1f}s "
                             f"(attempt {attempt + 1} of {self.limits.max_retries + 1})")
                await asyncio.sleep(delay)
            except ProviderError as exc:
                if exc.kind == "reasoning_replay" and not placeholder_used:
                    placeholder_used = True
                    _fill_reasoning_placeholders(body)
                    yield Notice(level="warning", text="DeepSeek asked for reasoning_content; resending with a "
                                 "placeholder for turns that had none")
                    continue
                raise

    def _body(self, messages: list[Message], tools: list[dict[str, Any]], mode: StepMode) -> dict[str, Any]:
        wire = [message_to_wire(m, self.entry.dialect) for m in messages]
        if self.redact and self.entry.is_remote:
            wire = [_redact_wire(m, self.redact) for m in wire]
        params = request_params(self.entry, mode)
        body: dict[str, Any] = {"model": self.entry.model, "messages": wire, "stream": True,
                                "stream_options": {"include_usage": True},
                                "max_tokens": self.entry.max_output_tokens,
                                **params.pop("extra_body", {}), **params}
        if tools:
            body["tools"] = tools
        return body

    async def _stream_once(self, body: dict[str, Any], tools: list[dict[str, Any]]
                           ) -> AsyncIterator[ReasoningDelta | TextDelta | Notice | Completion]:
        reply = _Reply()
        stream = await self._open(body)
        try:
            async for chunk in self._chunks(stream, reply):
                for item in reply.feed(chunk):
                    yield item
        finally:
            await stream.close()
        for item in reply.flush():
            yield item
        async for item in self._finish("".join(reply.text), "".join(reply.reasoning), reply.calls, reply.usage,
                                       reply.finish, tools):
            yield item

    async def _open(self, body: dict[str, Any]) -> Any:
        """Send the request; the SDK's stream of chunks."""
        import openai

        # The body is already in wire format (built and validated by our own types), so it goes out as
        # extra_body: the SDK's recursive TypedDict transform of a long conversation costs tens of ms
        # per request and grows with every turn.
        rest = {key: value for key, value in body.items() if key not in ("model", "stream")}
        try:
            return await asyncio.wait_for(
                self.client().chat.completions.create(model=body["model"], messages=[], stream=True,
                                                      extra_body=rest),
                timeout=self.limits.request_timeout_s)
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from None
        except (openai.APIConnectionError, asyncio.TimeoutError) as exc:
            raise self._connection_error(exc) from None

    async def _chunks(self, stream: Any, reply: _Reply) -> AsyncIterator[Any]:
        """The stream's chunks, within the idle and overall deadlines; once ``finish_reason`` came, a
        short grace for the usage chunk and [DONE]. Broken streams become retries."""
        import openai

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.request_timeout_s
        iterator = stream.__aiter__()
        try:
            while True:
                wait = FINISH_GRACE_S if reply.finish else self.limits.idle_timeout_s
                wait = min(wait, max(0.01, deadline - loop.time()))
                try:
                    yield await asyncio.wait_for(iterator.__anext__(), timeout=wait)
                except StopAsyncIteration:
                    return
                except asyncio.TimeoutError:
                    if reply.finish:
                        return
                    raise _Retry(f"no data for {wait:.0f}s (stream stalled)") from None
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from None
        except openai.APIError as exc:  # error payload mid-stream, reset, malformed SSE
            raise _Retry(f"stream broke: {exc.message}") from None
        except (openai.APIConnectionError, ConnectionError, OSError) as exc:
            raise _Retry(f"connection lost mid-stream ({type(exc).__name__})") from None
        except Exception as exc:
            if type(exc).__module__.startswith(("httpx", "httpcore", "h11")):
                raise _Retry(f"connection lost mid-stream ({type(exc).__name__})") from None
            raise

    async def _finish(self, text: str, reasoning: str, calls: ToolCallAccumulator, usage: Usage,
                      finish: str | None, tools: list[dict[str, Any]]
                      ) -> AsyncIterator[Notice | Completion]:
        tool_calls = calls.calls()
        if not tool_calls and tools and text:
            text, recovered, formats = recover_text_tool_calls(text, schema_types(tools))
            if recovered:
                tool_calls = recovered
                names = ", ".join(c.name for c in recovered)
                yield Notice(level="warning", text=f"{self.name} left {len(recovered)} tool call(s) in its text "
                             f"({', '.join(sorted(set(formats)))}): recovered {names}")
        if finish is None:
            finish = "tool_calls" if tool_calls else "stop"
        message = Message(role="assistant", content=text, reasoning=reasoning or None,
                          reasoning_model=self.entry.dialect, tool_calls=tuple(tool_calls))
        yield Completion(message=message, usage=usage, finish_reason=finish)

    # ------------------------------------------------------------------ errors
    def _status_error(self, exc: Any) -> Exception:
        status = exc.status_code
        detail = _error_message(exc)
        retry_after = _retry_after(exc.response.headers)
        if status == 429:
            return _Retry("rate limited (429)", retry_after)
        if status >= 500:
            return _Retry(f"server error {status}: {detail}", retry_after)
        if status == 401:
            env = f" (set {self.entry.api_key_env})" if self.entry.api_key_env else ""
            return ProviderError("auth", f"{self.name}: the API key was rejected (401){env}: {detail}",
                                 status=401)
        if status == 402:
            return ProviderError("balance", f"{self.name}: insufficient balance (402) — top up your account "
                                 f"at the provider, or route locally with --route local: {detail}", status=402)
        if status == 404:
            return ProviderError("model_not_found", f"{self.name}: model {self.entry.model!r} not found at "
                                 f"{self.entry.base_url} (404). Check `model` in [models.{self.name}]; for Ollama "
                                 f"run `ollama pull {self.entry.model}`: {detail}", status=404)
        if status == 400 and "reasoning_content" in detail:
            return ProviderError("reasoning_replay", detail, status=400)
        if status == 400 and any(w in detail.lower() for w in ("context length", "maximum context",
                                                               "context_length", "too long")):
            return ProviderError("context_length", f"{self.name}: the request is longer than the model's "
                                 f"context window: {detail}", status=400)
        return ProviderError("bad_request", f"{self.name}: request rejected ({status}): {detail}", status=status)

    def _connection_error(self, exc: Exception) -> Exception:
        import openai

        if isinstance(exc, asyncio.TimeoutError) or isinstance(exc, openai.APITimeoutError):
            return _Retry("timed out waiting for the server")
        cause = exc.__cause__
        if cause is not None and "ConnectError" in type(cause).__name__:
            return ProviderError("unreachable", f"{self.name}: cannot connect to {self.entry.base_url} "
                                 f"({cause}). Is the server running?", retryable=True)
        return _Retry(f"connection failed ({exc})")


def _error_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", exc))


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _fill_reasoning_placeholders(body: dict[str, Any]) -> None:
    for message in body["messages"]:
        if message.get("role") == "assistant" and message.get("tool_calls") and not message.get("reasoning_content"):
            message["reasoning_content"] = REASONING_PLACEHOLDER


def _redact_wire(message: dict[str, Any], redact: Callable[[str], str]) -> dict[str, Any]:
    out = dict(message)
    if isinstance(out.get("content"), str):
        out["content"] = redact(out["content"])
    elif isinstance(out.get("content"), list):
        out["content"] = [{**p, "text": redact(p["text"])} if p.get("type") == "text" else p for p in out["content"]]
    if out.get("tool_calls"):
        out["tool_calls"] = [{**c, "function": {**c["function"], "arguments": redact(c["function"]["arguments"])}}
                             for c in out["tool_calls"]]
    return out
