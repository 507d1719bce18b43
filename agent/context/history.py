"""Replaying a repository's history: past commits as (task, files that changed, tree before).

Used by ``qagent map --calibrate`` and ``bench/recall.py``. A commit's task is its message, its
gold files are the source files it modified (tests excluded: a map is for finding the code), and
the state to rank is the parent's tree, read straight from git objects so the work tree is never
touched. Blob analyses are memoised by blob id: consecutive commits share almost every blob, so
replaying N commits costs about one cold parse plus the changed blobs.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agent.context.cache import LARGE, MAX_PARSE_BYTES, Analysis, Entry, analyse
from agent.context.parallel import run_parallel
from agent.context.tags import language_for
from agent.context.workspace import excluded_by_name, is_test_path

_NOISE = re.compile(r"^(merge|revert|bump|release|version|prepare|update changelog|changelog)\b", re.I)


@dataclass(frozen=True)
class Commit:
    sha: str
    parent: str
    message: str
    gold: tuple[str, ...]


def git(git_dir: Path, *args: str, data: bytes | None = None) -> bytes:
    proc = subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], input=data, capture_output=True, check=False, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args[:3])} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def find_git_dir(path: Path) -> Path:
    """The git directory of a work tree or a bare repository."""
    out = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--absolute-git-dir"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{path} is not a git repository: {out.stderr.strip()}")
    return Path(out.stdout.strip())


def replay_commits(
    git_dir: Path, count: int, rev: str = "HEAD", max_gold: int = 6, scan: int = 3000
) -> list[Commit]:
    """Up to ``count`` recent non-merge commits that modified 1..max_gold non-test source files."""
    raw = git(
        git_dir,
        "log",
        "--no-merges",
        f"-n{scan}",
        "--format=%x1e%H %P%x00%B%x00",
        "--name-status",
        "--no-renames",
        rev,
    ).decode("utf-8", "replace")
    commits: list[Commit] = []
    for record in raw.split("\x1e")[1:]:
        head, message, status = (record.split("\x00") + ["", ""])[:3]
        shas = head.split()
        if len(shas) != 2 or _NOISE.match(message.strip()) or len(message.strip()) < 12:
            continue
        gold = []
        for line in status.strip().splitlines():
            flag, _, path = line.partition("\t")
            if flag == "M" and language_for(path) and not is_test_path(path) and not excluded_by_name(path):
                gold.append(path)
        if 1 <= len(gold) <= max_gold:
            commits.append(Commit(shas[0], shas[1], message.strip(), tuple(sorted(gold))))
        if len(commits) >= count:
            break
    return commits


class TreeIndexer:
    """Entries for any commit's tree, analysing each distinct blob once."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self.memo: dict[tuple[str, str | None], Analysis] = {}

    def entries_at(self, rev: str) -> dict[str, Entry]:
        listing = git(self.git_dir, "ls-tree", "-r", "-z", "--long", rev).decode("utf-8", "replace")
        wanted: dict[str, tuple[str, int]] = {}
        for item in listing.split("\0"):
            if not item:
                continue
            meta, _, path = item.partition("\t")
            mode, kind, blob, size = meta.split()
            if kind != "blob" or mode == "120000" or excluded_by_name(path) or size == "-":
                continue
            wanted[path] = (blob, int(size))
        key = {p: (b, language_for(p)) for p, (b, _) in wanted.items()}
        missing = sorted(
            {key[p] for p, (_, s) in wanted.items() if key[p] not in self.memo and s <= MAX_PARSE_BYTES},
            key=lambda k: (k[0], k[1] or ""),
        )
        if missing:
            self._analyse(missing, {key[p]: p for p in wanted})
        entries = {}
        for path, (blob, size) in wanted.items():
            lang, flags, defs, refs, terms = self.memo.get(key[path], (None, LARGE, (), (), ()))
            entries[path] = Entry(0, size, blob, 0, lang, flags, defs, refs, -1, terms)
        return entries

    def _analyse(
        self, keys: list[tuple[str, str | None]], path_of: Mapping[tuple[str, str | None], str]
    ) -> None:
        out = git(self.git_dir, "cat-file", "--batch", data="".join(b + "\n" for b, _ in keys).encode())
        items: list[tuple[tuple[str, str | None], str, bytes]] = []
        pos = 0
        for blob in keys:
            header_end = out.index(b"\n", pos)
            size = int(out[pos:header_end].split()[2])
            start = header_end + 1
            items.append((blob, path_of[blob], out[start : start + size]))
            pos = start + size + 1
        nb = 1 if len(items) < 48 else max(2, len(items) // 64)
        for batch in run_parallel(_analyse_batch, [items[i::nb] for i in range(nb)]):
            for blob, analysis in batch:
                self.memo[blob] = analysis


def _analyse_batch(
    items: list[tuple[tuple[str, str | None], str, bytes]],
) -> list[tuple[tuple[str, str | None], Analysis]]:
    return [(blob, analyse(path, data)) for blob, path, data in items]
