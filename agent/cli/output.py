"""``qagent -p``: run one prompt without the TUI and print it in the chosen format.

text: the answer streams to stdout, notices and errors to stderr. json: one object at the end.
stream-json: every event as a JSON line (the DESIGN.md union). claude-stream-json: Claude
Code's message shapes, so harnesses written for ``claude -p`` can drive qagent.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from agent.cli.exitcodes import ExitCode
from agent.core.agent import Agent
from agent.events import (
    Error,
    Event,
    Notice,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
    to_json_line,
)


class TextRenderer:
    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err
        self.mid_line = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self.out.write(event.text)
            self.out.flush()
            self.mid_line = not event.text.endswith("\n")
            return
        if self.mid_line and isinstance(event, (ToolCallStarted, TurnFinished)):
            self.out.write("\n")
            self.out.flush()
            self.mid_line = False
        if isinstance(event, Notice):
            self.err.write(f"[{event.level}] {event.text}\n")
        elif isinstance(event, Error):
            self.err.write(f"error: {event.message}\n")
        elif isinstance(event, ToolCallStarted):
            self.err.write(f"→ {event.name} {json.dumps(event.args)[:160]}\n")
        elif isinstance(event, ToolCallFinished) and not event.ok:
            self.err.write(f"  ✗ {event.output.splitlines()[0][:200] if event.output else 'failed'}\n")

    def close(self, final: TurnFinished | None, agent: Agent) -> None:
        pass


class StreamJsonRenderer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        self.out.write(to_json_line(event) + "\n")
        self.out.flush()

    def close(self, final: TurnFinished | None, agent: Agent) -> None:
        pass


class JsonRenderer:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.errors: list[str] = []

    def __call__(self, event: Event) -> None:
        if isinstance(event, Error):
            self.errors.append(event.message)

    def close(self, final: TurnFinished | None, agent: Agent) -> None:
        payload: dict[str, Any] = {
            "result": final.text if final else "",
            "stop_reason": final.stop_reason if final else "error",
            "usage": agent.total.model_dump(),
            "cost_usd": round(agent.total_cost, 6),
            "saved_vs_remote_usd": round(agent.saved_vs_remote, 6),
            "changed_files": agent.changed_files(),
            "errors": self.errors,
            "session_id": agent.session_id,
        }
        self.out.write(json.dumps(payload) + "\n")


def make_renderer(output_format: str, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> Any:
    if output_format == "json":
        return JsonRenderer(out)
    if output_format == "stream-json":
        return StreamJsonRenderer(out)
    if output_format == "claude-stream-json":
        from agent.cli.claude_stream import ClaudeStreamRenderer

        return ClaudeStreamRenderer(out)
    return TextRenderer(out, err)


async def run_headless(agent: Agent, prompt: str, output_format: str, **run_args: Any) -> int:
    """Run and render; returns the process exit code."""
    renderer = make_renderer(output_format)
    if hasattr(renderer, "bind"):
        renderer.bind(agent)
    final: TurnFinished | None = None
    errors: list[Error] = []
    try:
        async for event in agent.run(prompt, **run_args):
            renderer(event)
            if isinstance(event, TurnFinished):
                final = event
            elif isinstance(event, Error):
                errors.append(event)
    finally:
        await agent.aclose()
    renderer.close(final, agent)
    if final is not None and final.stop_reason == "completed":
        return ExitCode.OK
    if errors and all(e.kind in ("unreachable", "retries_exhausted", "privacy") for e in errors):
        _explain_unreachable(agent)
        return ExitCode.UNREACHABLE
    return ExitCode.FAILED


def _explain_unreachable(agent: Agent) -> None:
    tried = ", ".join(f"{name} ({agent.config.models[name].base_url})" for name in agent.providers.contacted()) or "none"
    sys.stderr.write(
        f"qagent: no model reachable. Tried: {tried}.\n"
        "Start a local model, e.g. `ollama serve` then `ollama pull qwen3.5:9b`, or vLLM/llama.cpp with an\n"
        "OpenAI-compatible server (set [models.local] base_url in .qagent.toml), or set DEEPSEEK_API_KEY.\n"
        "`qagent doctor` checks every configured endpoint.\n")
