"""200 MB of output through the shell tool keeps the agent's memory bounded (SAFETY.md row 8).

Measured in a fresh interpreter so the peak RSS (VmHWM) reflects this run alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, sys, time
from pathlib import Path
from tools import run_tool

def hwm_kb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

root = sys.argv[1]
run_tool("shell", {"command": "seq 1 1000 | tail -1"}, root=root)  # warm up imports and the probe
before = hwm_kb()
started = time.monotonic()
result = run_tool("shell", {"command": "yes | head -c 200000000", "timeout_s": 120}, root=root)
print(json.dumps({"before_kb": before, "after_kb": hwm_kb(), "seconds": time.monotonic() - started,
                  "text": result.text, "data": result.data}))
"""


def test_200mb_of_output_keeps_rss_bounded(workspace: Path) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(workspace)], capture_output=True, text=True,
                          timeout=180, check=True)
    report = json.loads(done.stdout)
    grown_mb = (report["after_kb"] - report["before_kb"]) / 1024
    print(f"200 MB streamed in {report['seconds']:.2f} s; peak RSS grew {grown_mb:.1f} MB")
    assert grown_mb < 40, f"peak RSS grew by {grown_mb:.0f} MB while streaming 200 MB"
    assert report["data"]["exit_code"] == 0 and report["data"]["total_bytes"] == 200_000_000, report["text"]
    assert len(report["text"]) < 30_000
    assert "bytes omitted of 200000000 bytes" in report["text"]
    spill = Path(report["data"]["output_path"])
    assert spill.stat().st_size == 64 * 1024 * 1024, "the spill file is capped too"
    assert "first 64 MB only" in report["text"]
    spill.unlink()
