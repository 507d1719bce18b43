"""Work spread over every core: process pools, batches that finish together, read-ahead.

Tree-sitter parsing holds the GIL, so a cold build needs processes. Forked workers inherit the
compiled grammars and start in milliseconds; once other threads run, forking could copy a held
lock into the child, so workers are spawned instead (and cost an interpreter start each).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def start_method() -> str:
    """fork when no other thread runs (a thread holding a lock at fork time could deadlock the child)."""
    return "fork" if sys.platform == "linux" and threading.active_count() == 1 else "spawn"


def run_parallel(fn: Any, batches: list[Any], *args: Any) -> list[Any]:
    """``fn(*args, batch)`` for each batch on every core.

    One worker more than there are cores (ninja's default on two): a worker waiting for a file
    read would leave a core idle, and on a machine busy with other work the build keeps its share.
    """
    if len(batches) <= 1:
        return [fn(*args, b) for b in batches]
    workers = min(len(batches), (os.cpu_count() or 1) + 1)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(start_method())) as pool:
        futures = [pool.submit(fn, *args, b) for b in batches]
        return [f.result() for f in futures]


def by_size(todo: list[tuple[str, os.stat_result]], count: int) -> list[list[str]]:
    """About ``count`` batches of equal bytes, biggest files first: the workers start on the slow
    files and finish together on small ones, rather than one waiting on a big file dealt last."""
    share = sum(st.st_size for _, st in todo) / count
    batches: list[list[str]] = [[]]
    size = 0
    for rel, st in sorted(todo, key=lambda item: -item[1].st_size):
        if size >= share:
            batches.append([])
            size = 0
        batches[-1].append(rel)
        size += st.st_size
    return batches


def prefetch(root: str, rels: list[str]) -> None:
    """Ask the kernel to read these files now, all at once, in the order they will be parsed.

    On a cold page cache the workers would otherwise each block on one small read at a time; told
    up front, the kernel keeps the disk queue full while the first files are already being parsed.
    """
    if not hasattr(os, "posix_fadvise"):
        return
    for rel in rels:
        try:
            fd = os.open(os.path.join(root, rel), os.O_RDONLY)  # noqa: PTH118 - hot path
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass  # a file system without readahead: the workers simply read it themselves
        finally:
            os.close(fd)
