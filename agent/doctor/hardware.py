"""How much memory can hold a model here, and which Qwen 3.5 size and quantisation fits it.

VRAM needs (Q4_K_M unless noted) from the project seeds: 0.8B ~0.5 GB, 4B ~2.5–3 GB,
9B ~5–6 GB, 27B ~16–17 GB, 35B-A3B ~20 GB, 122B-A10B ~70 GB; BF16 9B ~18 GB.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# (model tag, quantisation, GB needed incl. a KV cache margin), best first.
QWEN_SIZES: list[tuple[str, str, float]] = [
    ("qwen3.5:122b-a10b", "Q4_K_M", 70 + 6),
    ("qwen3.5:35b-a3b", "Q4_K_M", 20 + 4),
    ("qwen3.5:27b", "Q4_K_M", 17 + 4),
    ("qwen3.5:9b", "BF16", 18 + 3),
    ("qwen3.5:9b", "Q4_K_M", 6 + 2),
    ("qwen3.5:4b", "Q4_K_M", 3 + 1.5),
    ("qwen3.5:0.8b", "Q4_K_M", 0.5 + 0.5),
]


@dataclass
class Memory:
    kind: str
    """nvidia | apple-unified | ram"""
    total_gb: float
    detail: str = ""


def detect_memory() -> Memory:
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=memory.total,name", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=10, check=True).stdout
            rows = [line.split(",") for line in out.strip().splitlines() if line.strip()]
            if rows:
                total = sum(float(r[0]) for r in rows) / 1024
                return Memory("nvidia", round(total, 1), ", ".join(r[1].strip() for r in rows))
        except (subprocess.SubprocessError, ValueError, IndexError, OSError):
            pass
    if platform.system() == "Darwin":
        try:
            size = int(subprocess.run(["sysctl", "-n", "hw.memsize"], capture_output=True, text=True,
                                      timeout=5, check=True).stdout)
            # macOS lets the GPU use about three quarters of unified memory by default.
            return Memory("apple-unified", round(size / 2**30 * 0.75, 1), "75% of unified memory")
        except (subprocess.SubprocessError, ValueError, OSError):
            pass
    return Memory("ram", round(_ram_gb(), 1), "no GPU found: CPU inference is slow; prefer small models")


def _ram_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def recommend_qwen(memory: Memory) -> dict[str, str | float]:
    """The largest Qwen 3.5 that fits, with its quantisation and a one-line reason."""
    budget = memory.total_gb if memory.kind != "ram" else min(memory.total_gb * 0.5, 16)
    for tag, quant, need in QWEN_SIZES:
        if need <= budget:
            return {"model": tag, "quantisation": quant, "needs_gb": need,
                    "reason": f"{memory.total_gb:g} GB {memory.kind} memory fits {tag} {quant} (~{need:g} GB with "
                              "KV cache)"}
    return {"model": "qwen3.5:0.8b", "quantisation": "Q4_K_M", "needs_gb": 1.0,
            "reason": "very little memory: the smallest model, or route everything to DeepSeek"}
