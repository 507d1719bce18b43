"""Consume the event stream: what the TUI and ``qagent -p`` see, as typed pydantic events.

    python examples/stream_events.py "explain what main.py does" [--route local|remote] [--model NAME]
                                                                  [--mode fast|thinking] [--jsonl]

``--route``/``--model``/``--mode`` override the router for this one call. ``--jsonl`` prints each
event as the JSON line of ``qagent -p --output-format stream-json`` (``events.from_json_line`` reads
them back).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from agent import Agent, events


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompt", nargs="*")
    parser.add_argument("--route", choices=["auto", "local", "remote"])
    parser.add_argument("--model", help="a [models.NAME] entry for every step")
    parser.add_argument("--mode", choices=["auto", "fast", "thinking"])
    parser.add_argument("--jsonl", action="store_true")
    args = parser.parse_args(argv)
    prompt = " ".join(args.prompt) or "What does this repository do? Answer in three sentences."

    agent = Agent()
    stop = "error"
    try:
        async for event in agent.run(prompt, route=args.route, model=args.model, mode=args.mode):
            if args.jsonl:
                print(events.to_json_line(event), flush=True)
            else:
                show(event)
            if isinstance(event, events.TurnFinished):
                stop = event.stop_reason
    finally:
        await agent.aclose()
    return 0 if stop == "completed" else 1


def show(event: events.Event) -> None:
    err = sys.stderr
    match event:
        case events.RouteDecided(model=model, mode=mode, reason=reason):
            print(f"[{model}, {mode}] {reason}", file=err)
        case events.TextDelta(text=text):
            print(text, end="", flush=True)
        case events.ToolCallStarted(name=name, args=args):
            print(f"\n→ {name} {json.dumps(args)[:120]}", file=err)
        case events.ToolCallFinished(name=name, ok=ok, output=output):
            first = output.splitlines()[0] if output else ""
            print(f"  {'✓' if ok else '✗'} {name}: {first[:120]}", file=err)
        case events.Notice(level=level, text=text):
            print(f"[{level}] {text}", file=err)
        case events.Error(message=message):
            print(f"error: {message}", file=err)
        case events.TurnFinished(stop_reason=stop, usage_total=total):
            print(flush=True)  # end the answer's line
            print(f"[{stop}] {total.prompt_tokens} prompt + {total.completion_tokens} completion tokens, "
                  f"${total.cost_usd:.4f}", file=err)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
