"""How far the TUI lags behind a fast token stream, batched vs drawing every delta.

A scripted server (a separate process, so it does not share the UI's GIL) streams a long Markdown
answer at ``--rate`` tokens/s (4 characters ≈ 1 token; chunks paced by the clock) through the real
provider and agent loop into the real app, headless at 120×40. The server logs when each chunk
left; for every text delta the pump records when the screen refresh that showed it completed. The
difference is the UI's lag behind the stream (``perf_counter`` is the system-wide monotonic clock,
so the two processes' times compare). Lag from the delta's arrival in the UI's event loop is
printed too: the gap between the two is time the chunk waited in the socket. A heartbeat task
measures how long the event loop is blocked (what a keypress would wait).

The peer, measured in the same run on a shorter stream, is the same app drawing every delta as
it arrives (no batching: what a naive front end does). Target: lag p95 ≤ 50 ms.

    python bench/tui_stream.py [--tokens 20000] [--rate 1000] [--peer-tokens 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent.config import load_config
from agent.tui import pump as pump_module
from agent.tui.app import QAgentApp
from agent.tui.conversation import AssistantMessage
from agent.wiring import build_agent

CHARS_PER_TOKEN = 4
TOKENS_PER_CHUNK = 2


def answer(tokens: int) -> str:
    """About ``tokens`` tokens of Markdown: paragraphs, bullet lists and code blocks."""
    parts, size, n = [], 0, 0
    while size < tokens * CHARS_PER_TOKEN:
        n += 1
        if n % 7 == 0:
            block = (
                "```python\n"
                + "".join(f"def step_{n}_{i}(x):\n    return x * {i}\n" for i in range(4))
                + "```\n\n"
            )
        elif n % 5 == 0:
            block = "".join(f"- item {i} of list {n} with `code` and **bold**\n" for i in range(4)) + "\n"
        else:
            block = f"Paragraph {n}: " + "the agent streams words quickly " * 10 + "\n\n"
        parts.append(block)
        size += len(block)
    return "".join(parts)[: tokens * CHARS_PER_TOKEN]


def start_server(text: str, rate: float, folder: Path) -> tuple[subprocess.Popen[str], str]:
    """The scripted server in its own process; it logs chunk send times to ``folder/sent.jsonl``."""
    script = folder / "script.json"
    delay = TOKENS_PER_CHUNK / rate
    script.write_text(
        json.dumps([{"text": text, "chunk_chars": TOKENS_PER_CHUNK * CHARS_PER_TOKEN, "chunk_delay": delay}])
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.testing", "serve", "--script", str(script), "--dialect", "vllm",
         "--send-log", str(folder / "sent.jsonl")],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    return proc, line.split()[-1]


async def heartbeat(stalls: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        stalls.append(time.perf_counter() - before - 0.01)


async def measure(tokens: int, rate: float, batched: bool, interval: float | None = None) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="tui-bench-"))
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    text = answer(tokens)
    proc, url = start_server(text, rate, folder)
    try:
        config = load_config(
            folder,
            {
                "models": {"local": {"base_url": url, "dialect": "vllm"}},
                "routing": {"mode": "local", "privacy": "local-only"},
                "session": {"data_dir": str(folder / "data")},
            },
            env={},
            use_user_file=False,
        )
        app = QAgentApp(folder, config, lambda approver, _: build_agent(config, folder, approver=approver))
        saved = pump_module.FLUSH_INTERVAL, pump_module.MAX_FLUSH_INTERVAL
        pump_module.FLUSH_INTERVAL = (interval or saved[0]) if batched else 0.0
        if not batched:  # the peer draws every delta as it comes: no pacing either
            pump_module.MAX_FLUSH_INTERVAL = 0.0
        try:
            result = await _drive(app, text)
        finally:
            pump_module.FLUSH_INTERVAL, pump_module.MAX_FLUSH_INTERVAL = saved
    finally:
        proc.terminate()
        proc.wait()
    return result | lag_from_server(result.pop("probe"), folder / "sent.jsonl")


def lag_from_server(probe: list[tuple[float, float, int]], log: Path) -> dict[str, float]:
    """Lag of each delta's last character from when the server sent it."""
    sent = json.loads(log.read_text().splitlines()[-1])
    ends, times, total = [], [], 0
    for when, chars in sent:
        if chars:
            total += chars
            ends.append(total)
            times.append(when)
    lags, offset = [], 0
    for _, painted, chars in sorted(probe):
        offset += chars
        lags.append(painted - times[bisect.bisect_left(ends, offset)])
    lags.sort()
    return {
        "server_lag_p50_ms": 1000 * statistics.median(lags),
        "server_lag_p95_ms": 1000 * lags[int(0.95 * (len(lags) - 1))],
        "server_lag_max_ms": 1000 * lags[-1],
        "server_rate_tokens_per_s": total / CHARS_PER_TOKEN / (times[-1] - times[0]),
    }


async def _drive(app: QAgentApp, text: str) -> dict[str, float]:
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.to_thread(app.agent.system_prompt)  # repo map built before timing starts
        app.pump.probe = probe = []
        stalls: list[float] = []
        stop = asyncio.Event()
        beat = asyncio.create_task(heartbeat(stalls, stop))
        cpu = time.process_time()
        app.send("stream")
        while app.busy or not app.pump.idle:
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        cpu = time.process_time() - cpu
        stop.set()
        await beat
        shown = app.query_one(AssistantMessage).text
        assert shown == text, f"rendered {len(shown)} of {len(text)} characters"
    lags = sorted(painted - arrived for arrived, painted, _ in probe)
    first, last = min(a for a, _, _ in probe), max(a for a, _, _ in probe)
    painted_last = max(p for _, p, _ in probe)
    stream_s = last - first
    return {
        "deltas": len(probe),
        "stream_s": stream_s,
        "tokens_per_s": len(text) / CHARS_PER_TOKEN / stream_s,
        "lag_p50_ms": 1000 * statistics.median(lags),
        "lag_p95_ms": 1000 * lags[int(0.95 * (len(lags) - 1))],
        "lag_max_ms": 1000 * lags[-1],
        "render_s": painted_last - first,
        "behind_at_end_ms": 1000 * (painted_last - last),
        "loop_stall_p95_ms": 1000 * sorted(stalls)[int(0.95 * (len(stalls) - 1))],
        "loop_stall_max_ms": 1000 * max(stalls),
        "cpu_s": cpu,
        "probe": probe,
    }


def report(name: str, tokens: int, r: dict[str, float]) -> None:
    print(
        f"\n{name}: {tokens:,} tokens, {r['deltas']:,.0f} deltas, streamed in {r['stream_s']:.2f} s "
        f"({r['tokens_per_s']:,.0f} tokens/s)"
    )
    print(
        f"  UI lag behind the stream (server sent → on screen): p50 {r['server_lag_p50_ms']:.1f} ms, "
        f"p95 {r['server_lag_p95_ms']:.1f} ms, max {r['server_lag_max_ms']:.1f} ms "
        f"(server paced {r['server_rate_tokens_per_s']:,.0f} tokens/s)"
    )
    print(
        f"  lag from arrival in the UI's event loop: p50 {r['lag_p50_ms']:.1f} ms, "
        f"p95 {r['lag_p95_ms']:.1f} ms, max {r['lag_max_ms']:.1f} ms"
    )
    print(
        f"  render time {r['render_s']:.2f} s vs stream time {r['stream_s']:.2f} s "
        f"(ratio {r['render_s'] / r['stream_s']:.3f}; last token on screen "
        f"{r['behind_at_end_ms']:.0f} ms after it arrived)"
    )
    print(
        f"  event-loop stalls (keypress wait): p95 {r['loop_stall_p95_ms']:.1f} ms, "
        f"max {r['loop_stall_max_ms']:.1f} ms; UI-process CPU {r['cpu_s']:.1f} s "
        f"({100 * r['cpu_s'] / r['render_s']:.0f}% of one core)"
    )


def run_isolated(tokens: int, rate: float, batched: bool, interval: float) -> dict[str, float]:
    """One measurement in a fresh process (Textual apps are not meant to run twice in one process)."""
    args = [
        sys.executable,
        __file__,
        "--one",
        "--tokens",
        str(tokens),
        "--rate",
        str(rate),
        "--interval",
        str(interval),
    ]
    out = subprocess.run([*args, *([] if batched else ["--unbatched"])], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"measurement failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="tokens per second")
    parser.add_argument("--peer-tokens", type=int, default=4000, help="0 skips the unbatched peer")
    parser.add_argument(
        "--interval", type=float, default=pump_module.FLUSH_INTERVAL, help="flush interval, s"
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--unbatched", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    if args.one:
        result = asyncio.run(
            measure(args.tokens, args.rate, batched=not args.unbatched, interval=args.interval)
        )
        print(json.dumps(result))
        return
    print(
        f"machine load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs",
        flush=True,
    )
    ours = run_isolated(args.tokens, args.rate, True, args.interval)
    report(f"qagent TUI (batched every {args.interval * 1000:.0f} ms)", args.tokens, ours)
    if args.peer_tokens:
        same = run_isolated(args.peer_tokens, args.rate, True, args.interval)
        peer = run_isolated(args.peer_tokens, args.rate, False, args.interval)
        report("qagent TUI, batched (same stream as the peer)", args.peer_tokens, same)
        report("peer: same app drawing every delta (no batching)", args.peer_tokens, peer)
        ratio = peer["server_lag_p95_ms"] / max(same["server_lag_p95_ms"], 0.001)
        print(
            f"\nlag p95: peer / batched = {ratio:.1f}x; "
            f"UI CPU: peer / batched = {peer['cpu_s'] / max(same['cpu_s'], 0.001):.1f}x"
        )
    lag = ours["server_lag_p95_ms"]
    verdict = "meets" if lag <= 50 else "MISSES"
    print(f"\ntarget lag p95 ≤ 50 ms at {args.rate:,.0f} tokens/s: {verdict} ({lag:.1f} ms)")
    print(f"machine load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
