"""Agent loop overhead per step vs the bare openai client, on the same scripted requests.

Runs a 200-step scripted session (each step: a streamed reply with one tool call, a cheap tool)
through ``Agent.run``, records the request bodies, then replays exactly those bodies with a bare
``AsyncOpenAI`` streaming client against a fresh server with the same script. The difference per
step is what the loop itself costs (message building, validation, tool dispatch, events).
Target: ≤ 5 ms per step.

    python bench/loop_overhead.py [--steps 200] [--dialect vllm]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from openai import AsyncOpenAI

from agent.config import load_config
from agent import Agent
from agent.testing import ScriptedServer
from tools import tool


@tool
def note(text: str) -> str:
    """Record a note (a tool that costs nothing, so only the loop is measured)."""
    return f"noted {text}"


def script(steps: int) -> list[dict]:
    body = "Working on it, step by step. " * 4
    replies = [{"reasoning": "next step", "text": body,
                "tool_calls": [{"name": "note", "arguments": {"text": f"step {i}"}}]} for i in range(steps - 1)]
    return replies + [{"text": "finished"}]


async def run_agent(steps: int, dialect: str) -> tuple[float, list[dict]]:
    with ScriptedServer(script(steps), dialect=dialect) as server:
        workspace = Path(tempfile.mkdtemp())
        config = load_config(workspace, {"models": {"local": {"base_url": server.url, "dialect": dialect}},
                                         "routing": {"mode": "local"}, "limits": {"max_turns": steps + 5}},
                             env={}, use_user_file=False)
        agent = Agent(config, cwd=workspace, tools=[note])
        started = time.perf_counter()
        async for _ in agent.run("go"):
            pass
        elapsed = time.perf_counter() - started
        await agent.aclose()
        return elapsed, server.chat_requests()


async def run_bare(bodies: list[dict], steps: int, dialect: str, *, typed: bool) -> float:
    """typed=True: the idiomatic ``messages=`` call (the SDK transforms every message each request);
    typed=False: the same JSON body sent as-is, the cheapest way the client can make these requests."""
    with ScriptedServer(script(steps), dialect=dialect) as server:
        client = AsyncOpenAI(base_url=server.url, api_key="x", max_retries=0)
        started = time.perf_counter()
        for body in bodies:
            skip = ("model", "messages", "stream") if typed else ("model", "stream")
            rest = {k: v for k, v in body.items() if k not in skip}
            stream = await client.chat.completions.create(
                model=body["model"], messages=body["messages"] if typed else [], stream=True, extra_body=rest)
            async for _ in stream:
                pass
        elapsed = time.perf_counter() - started
        await client.close()
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--dialect", default="vllm")
    args = parser.parse_args()
    # Warm both paths first (imports, tokenizer load), so one-time start-up is not billed per step.
    _, warm_bodies = asyncio.run(run_agent(2, args.dialect))
    asyncio.run(run_bare(warm_bodies, 2, args.dialect, typed=False))
    agent_s, bodies = asyncio.run(run_agent(args.steps, args.dialect))
    raw_s = asyncio.run(run_bare(bodies, args.steps, args.dialect, typed=False))
    typed_s = asyncio.run(run_bare(bodies, args.steps, args.dialect, typed=True))
    per_step_ms = (agent_s - raw_s) / args.steps * 1000
    print(f"steps: {args.steps} ({args.dialect} dialect, {len(bodies)} requests)")
    print(f"qagent loop:               {agent_s:.3f} s  ({agent_s / args.steps * 1000:.2f} ms/step)")
    print(f"bare openai, raw body:     {raw_s:.3f} s  ({raw_s / args.steps * 1000:.2f} ms/step)")
    print(f"bare openai, messages=:    {typed_s:.3f} s  ({typed_s / args.steps * 1000:.2f} ms/step)")
    print(f"ratio vs raw client:       {agent_s / raw_s:.2f}x")
    print(f"loop overhead vs raw:      {per_step_ms:.2f} ms/step (target <= 5 ms)")


if __name__ == "__main__":
    main()
