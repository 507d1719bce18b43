"""grep tool vs raw ripgrep on Django's source tree, same patterns, same run. Target: <= 1.3x rg.

    .venv/bin/python bench/grep.py [--cache .bench-cache] [--repeat 7]

The tree is Django's sdist from PyPI (``pip download --no-deps --no-binary :all: django==5.1.4``),
unpacked under ``.bench-cache`` (gitignored). The peer is the same rg binary with the same search
flags, its whole output read through a pipe; the tool is called through run_tool, as the agent
loop calls it (argument validation, confinement, capping to max_results, counting the rest).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import ToolSession, run_tool  # noqa: E402
from tools.search import find_rg  # noqa: E402

VERSION = "5.1.4"
PATTERNS = [
    r"def get_\w+",
    r"class \w+Field\(",
    r"^import os$",
    r"TODO|FIXME|XXX",
    r"self\.assert\w+\(",
    r"queryset",
    r"no_such_identifier_anywhere",
]


def django_tree(cache: Path) -> Path:
    folder = cache / f"django-{VERSION}"
    if folder.is_dir():
        return folder
    sdists = cache / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    archive = next(sdists.glob(f"[Dd]jango-{VERSION}.tar.gz"), None)
    if archive is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        "-d", str(sdists), f"django=={VERSION}"], check=True)
        archive = next(sdists.glob(f"[Dd]jango-{VERSION}.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(cache / "django-unpack", filter="data")
    (cache / "django-unpack" / archive.name.removesuffix(".tar.gz")).rename(folder)
    return folder


def time_rg(tree: Path, pattern: str) -> tuple[float, int]:
    cmd = [find_rg(), "--no-config", "--hidden", "--no-require-git", "--glob", "!.git", "--color", "never",
           "--no-heading", "--with-filename", "--line-number", "--regexp", pattern]
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    return time.perf_counter() - start, out.count(b"\n")


def time_tool(tree: Path, pattern: str, session: ToolSession) -> tuple[float, int]:
    start = time.perf_counter()
    result = run_tool("grep", {"pattern": pattern}, root=tree, session=session)
    elapsed = time.perf_counter() - start
    assert result.ok, result.text
    return elapsed, int(result.data["total"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(__file__).resolve().parents[1] / ".bench-cache")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    tree = django_tree(args.cache)
    files = sum(1 for p in tree.rglob("*") if p.is_file())
    session = ToolSession()
    time_tool(tree, "warm", session)  # first call imports the tool modules; the loop pays that once
    print(f"tree: Django {VERSION} sdist, {files} files; median of {args.repeat} runs each\n")
    print(f"{'pattern':30} {'matches':>8} {'rg ms':>8} {'tool ms':>8} {'ratio':>6}")
    total_rg = total_tool = 0.0
    for pattern in PATTERNS:
        rg_runs, tool_runs = [], []
        for _ in range(args.repeat):  # interleaved so both see the same cache and machine load
            rg_t, rg_n = time_rg(tree, pattern)
            tool_t, tool_n = time_tool(tree, pattern, session)
            rg_runs.append(rg_t)
            tool_runs.append(tool_t)
        assert rg_n == tool_n, f"{pattern}: rg found {rg_n} lines, the tool counted {tool_n}"
        rg_ms, tool_ms = 1000 * statistics.median(rg_runs), 1000 * statistics.median(tool_runs)
        total_rg += rg_ms
        total_tool += tool_ms
        print(f"{pattern[:30]:30} {rg_n:8} {rg_ms:8.1f} {tool_ms:8.1f} {tool_ms / rg_ms:6.2f}")
    ratio = total_tool / total_rg
    print(f"\noverall: tool {total_tool:.0f} ms vs rg {total_rg:.0f} ms = {ratio:.2f}x (target <= 1.3x)")
    return 0 if ratio <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
