"""Runs aider's RepoMap for the benches, inside aider's own venv (never imports qagent).

Modes:
  timing ROOT BUDGET EDIT_PATH  -> one JSON line: cold/warm seconds, peak RSS, map tokens
  serve                         -> JSON lines on stdin {"root","files","text","budget"} -> {"map","tokens"}

Token counts use tiktoken o200k_base (the same counter as qagent's side). Mentions are computed the
way aider's Coder does (get_file_mentions, get_ident_mentions, get_ident_filename_matches).
"""

# ruff: noqa: PTH118, PTH119 - mirrors aider's os.path code; runs in aider's venv
from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import tiktoken

ENC = tiktoken.get_encoding("o200k_base")
PROBE = "\n\ndef qagent_bench_probe(rows):\n    return QuerySet(rows).bulk_create(rows)\n"


class Model:
    def token_count(self, text: str) -> int:
        return len(ENC.encode_ordinary(text))


class IO:
    def tool_output(self, *args: object, **kwargs: object) -> None:
        pass

    tool_warning = tool_error = tool_output

    def read_text(self, fname: str) -> str | None:
        try:
            return Path(fname).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None


def new_map(root: str, budget: int):  # type: ignore[no-untyped-def]
    from aider.repomap import RepoMap

    return RepoMap(map_tokens=budget, root=root, main_model=Model(), io=IO(), refresh="always")


def mentions(text: str, rel_files: list[str]) -> tuple[set[str], set[str]]:
    """aider's Coder.get_file_mentions(ignore_current=True) + get_ident_mentions + filename matches."""
    words = {w.rstrip(",.!;:?").strip("\"'`*_") for w in text.split()}
    fnames: set[str] = set()
    by_base: dict[str, list[str]] = defaultdict(list)
    for rel in rel_files:
        if rel in words:
            fnames.add(rel)
        base = os.path.basename(rel)
        if any(c in base for c in "/\\._-"):
            by_base[base].append(rel)
    fnames |= {rels[0] for base, rels in by_base.items() if len(rels) == 1 and base in words}
    idents = set(re.split(r"\W+", text))
    stems: dict[str, set[str]] = defaultdict(set)
    for rel in rel_files:
        stem = Path(rel).stem.lower()
        if len(stem) >= 5:
            stems[stem].add(rel)
    for ident in idents:
        if len(ident) >= 5:
            fnames |= stems.get(ident.lower(), set())
    return fnames, idents


def timing(root: str, budget: int, edit_path: str) -> None:
    os.chdir(root)
    files = [
        os.path.join(root, f)
        for f in subprocess.run(
            ["git", "ls-files"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
    ]
    start, cpu = time.perf_counter(), time.process_time()
    rm = new_map(root, budget)
    cold_map = rm.get_ranked_tags_map([], files, budget, set(), set(), force_refresh=True) or ""
    cold, cold_cpu = time.perf_counter() - start, time.process_time() - cpu
    with open(os.path.join(root, edit_path), "a") as handle:
        handle.write(PROBE)
    start = time.perf_counter()
    warm_map = rm.get_ranked_tags_map([], files, budget, set(), set(), force_refresh=True) or ""
    warm = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "cold": cold,
                "cold_cpu": cold_cpu,
                "warm": warm,
                "rss": rss,
                "tokens": Model().token_count(cold_map),
                "warm_has_probe": "qagent_bench_probe" in warm_map,
            }
        )
    )


def serve() -> None:
    maps: dict[str, object] = {}
    for line in sys.stdin:
        req = json.loads(line)
        root = req["root"]
        os.chdir(root)
        rm = maps.get(root) or maps.setdefault(root, new_map(root, req["budget"]))
        fnames, idents = mentions(req["text"], req["files"])
        files = [os.path.join(root, f) for f in req["files"]]
        text = rm.get_ranked_tags_map([], files, req["budget"], fnames, idents, force_refresh=True) or ""  # type: ignore[attr-defined]
        print(json.dumps({"map": text, "tokens": Model().token_count(text)}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "timing":
        timing(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        serve()
