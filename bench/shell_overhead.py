"""Shell tool cost per call and output throughput vs a bare ``subprocess.run`` in the same run.

Per call: ``true`` through the shell tool (bwrap sandbox where it works, and with the sandbox off)
against ``subprocess.run(["bash", "-c", "true"])``. Throughput: ``yes | head -c N`` through the
tool (capture, spill file, sanitising) against reading the same pipe into /dev/null.
Targets: ≤ 20 ms per sandboxed call on a small repo; ≥ 100 MB/s of output.

    python bench/shell_overhead.py [--calls 50] [--megabytes 200]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from agent.config import AgentConfig
from tools import run_tool
from tools import sandbox as sandboxes


def per_call(root: Path, calls: int, policy: str) -> float:
    config = AgentConfig.model_validate({"sandbox": {"policy": policy}})
    run_tool("shell", {"command": "true"}, root=root, config=config)
    started = time.perf_counter()
    for _ in range(calls):
        run_tool("shell", {"command": "true"}, root=root, config=config)
    return (time.perf_counter() - started) / calls


def bare_call(calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        subprocess.run(["bash", "-c", "true"], check=True)
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--megabytes", type=int, default=200)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        kind = sandboxes.detect("auto").kind
        bare = bare_call(opts.calls)
        sandboxed = per_call(root, opts.calls, "auto")
        unsandboxed = per_call(root, opts.calls, "off")
        print(f"bare subprocess.run        {bare * 1000:7.1f} ms/call")
        for label, value in ((f"sandbox {kind:6}", sandboxed), ("sandbox off   ", unsandboxed)):
            print(f"shell tool, {label} {value * 1000:7.1f} ms/call  ({value / bare:.1f}x bare)")
        size = opts.megabytes * 1_000_000
        started = time.perf_counter()
        subprocess.run(["bash", "-c", f"yes | head -c {size} > /dev/null"], check=True)
        bare_s = time.perf_counter() - started
        started = time.perf_counter()
        result = run_tool("shell", {"command": f"yes | head -c {size}", "timeout_s": 600}, root=root)
        tool_s = time.perf_counter() - started
        Path(result.data["output_path"]).unlink(missing_ok=True)
        print(f"{opts.megabytes} MB to /dev/null       {opts.megabytes / bare_s:7.0f} MB/s")
        print(f"{opts.megabytes} MB through the tool   {opts.megabytes / tool_s:7.0f} MB/s  "
              f"({tool_s / bare_s:.1f}x slower than /dev/null)")


if __name__ == "__main__":
    main()
