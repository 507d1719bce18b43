"""Persistent, incremental per-repository index of file facts: tags, flags, token counts.

One file per repository in the user cache dir (platformdirs). An entry is trusted while the
file's (mtime, size) match; when they differ the content hash decides, so a ``touch`` or a
``git checkout`` that restores the same bytes costs a hash, not a parse. Like git's index, entries
whose mtime is within two seconds of the last save are "racily clean" and re-hashed once.
A cold build parses on every core with a process pool; later updates parse only changed files.
"""

from __future__ import annotations

import atexit
import hashlib
import marshal
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import weakref
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from agent.context import workspace
from agent.context.tags import compile_language, extract_tags, language_for

FORMAT = 3
BINARY, GENERATED, SECRET, LARGE, UNSCANNED = 1, 2, 4, 8, 16
EXCLUDED = BINARY | GENERATED | SECRET | LARGE
"""UNSCANNED marks a non-source file known by (mtime, size) only: the packer checks its content
(binary, generated, secret) when it reads it, so a cold build never reads files the map ignores."""
MAX_PARSE_BYTES = 1_000_000
"""Bigger files are data or generated code: recorded, never parsed or packed."""
RACY_NS = 2_000_000_000
SAVE_AFTER_PARSES, SAVE_EVERY_S = 20, 30.0
POOL_THRESHOLD = 48
"""Below this many files to scan, a process pool costs more than it saves."""

Defs = tuple[tuple[str, int, str, str], ...]
"""(name, line, category, signature) per definition."""
Refs = tuple[tuple[str, int], ...]


class Entry(NamedTuple):
    mtime_ns: int
    size: int
    digest: str
    gen: int
    """Generation in which this content was first seen: orders packs so edits go last."""
    lang: str | None
    flags: int
    defs: Defs
    refs: Refs
    tokens: int
    """Raw o200k token count of the content, or -1 when not counted yet."""

    @property
    def packable(self) -> bool:
        """Not excluded so far (an UNSCANNED file is checked again when read for a pack)."""
        return not self.flags & EXCLUDED


Analysis = tuple[str | None, int, Defs, Refs]


def content_flags(data: bytes) -> int:
    """BINARY, GENERATED and SECRET as found in a file's bytes (0 when none applies)."""
    if workspace.is_binary(data):
        return BINARY
    flags = GENERATED if workspace.looks_generated(data) else 0
    return flags | (SECRET if workspace.contains_secret(data) else 0)


def analyse(rel: str, data: bytes) -> Analysis:
    """(lang, flags, defs, refs) of one file's bytes; pure, so it runs in any process."""
    flags = content_flags(data)
    if flags & BINARY:
        return None, BINARY, (), ()
    lang = language_for(rel)
    if lang is None or flags:
        return lang, flags, (), ()
    tags = extract_tags(lang, data)
    defs = tuple((d.name, d.line, d.category, d.signature) for d in tags.definitions)
    return lang, flags, defs, tags.references


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _scan(root: str, rel: str, old_digest: str | None) -> tuple[str, str, Analysis | None]:
    """Hash a file; analyse it only when the content differs from what the cache holds."""
    with open(os.path.join(root, rel), "rb") as handle:  # noqa: PTH118
        data = handle.read()
    digest = content_digest(data)
    if digest == old_digest:
        return rel, digest, None
    return rel, digest, analyse(rel, data)


def _scan_batch(root: str, items: list[tuple[str, str | None]]) -> list[tuple[str, str, Analysis | None]]:
    out = []
    for rel, old in items:
        try:
            out.append(_scan(root, rel, old))
        except OSError:
            continue  # vanished or unreadable between stat and read: simply not indexed
    return out


def run_parallel(fn: Any, batches: list[Any], *args: Any) -> list[Any]:
    """``fn(*args, batch)`` for each batch on every core; fork when no threads could deadlock it."""
    if len(batches) <= 1:
        return [fn(*args, b) for b in batches]
    method = "fork" if sys.platform == "linux" and threading.active_count() == 1 else "spawn"
    workers = min(len(batches), os.cpu_count() or 1)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        futures = [pool.submit(fn, *args, b) for b in batches]
        return [f.result() for f in futures]


def _stamps(paths: list[str]) -> list[int]:
    stamps = []
    for path in paths:
        try:
            stamps.append(os.stat(path).st_mtime_ns)  # noqa: PTH116 - hot loop
        except OSError:
            stamps.append(-1)
    return stamps


_PENDING: weakref.WeakSet[TagCache] = weakref.WeakSet()
"""Caches with unsaved small updates. Weak: a map dropped by its owner is not kept alive."""


@atexit.register
def _flush_pending() -> None:
    for cache in list(_PENDING):
        try:
            cache.save()
        except OSError:
            pass  # a cache that cannot be written is rebuilt next time


def default_cache_dir(root: Path) -> Path:
    """``<user cache>/qagent/repomap/<name>-<hash of the real path>``."""
    import platformdirs

    real = os.path.realpath(root)
    key = hashlib.sha1(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return Path(platformdirs.user_cache_dir("qagent")) / "repomap" / f"{Path(real).name}-{key}"


@dataclass
class UpdateStats:
    parsed: list[str] = field(default_factory=list)
    """Files whose content was (re)analysed."""
    hashed: int = 0
    """Files read and hashed (parsed ones included)."""
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> set[str]:
        return set(self.parsed) | set(self.removed)


class TagCache:
    """The index of one repository; ``update()`` brings it in line with the work tree."""

    def __init__(self, root: Path, cache_dir: Path | None = None) -> None:
        self.root = Path(os.path.realpath(root))
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir(self.root)
        self.path = self.cache_dir / f"index-v{FORMAT}-py{sys.version_info[0]}{sys.version_info[1]}.marshal"
        self.files: dict[str, Entry] = {}
        self.generation = 0
        self.saved_ns = 0
        self.settings: dict[str, Any] = {}
        """Small per-repo settings kept with the index (e.g. calibrated ranking weights)."""
        self.dirty = False
        self._listed: tuple[list[str], list[int], list[str]] | None = None
        self._unsaved = 0
        self._load()

    def _load(self) -> None:
        try:
            blob = marshal.loads(self.path.read_bytes())
            self.files = {k: Entry._make(v) for k, v in blob["files"].items()}
            self.generation, self.saved_ns = blob["generation"], blob["saved_ns"]
            self.settings = blob.get("settings", {})
        except (OSError, EOFError, ValueError, TypeError, KeyError):
            self.files, self.generation, self.saved_ns = {}, 0, 0  # missing or unreadable: rebuild

    def maybe_save(self) -> None:
        """Save now after big changes or every 30 s; small updates otherwise wait for exit.

        Writing the whole index costs more than a warm update itself; losing a few entries to a
        crash only means re-parsing those files next time.
        """
        if not self.dirty:
            return
        age_s = (time.time_ns() - self.saved_ns) / 1e9  # of the file on disk, whoever wrote it
        if self._unsaved >= SAVE_AFTER_PARSES or age_s > SAVE_EVERY_S:
            self.save()
        else:
            _PENDING.add(self)

    def save(self) -> None:
        """Atomic write (temp + fsync + replace), skipped when nothing changed."""
        if not self.dirty:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.saved_ns = time.time_ns()
        blob = {
            "generation": self.generation,
            "saved_ns": self.saved_ns,
            "settings": self.settings,
            "files": {k: tuple(v) for k, v in self.files.items()},
        }
        fd, tmp = tempfile.mkstemp(dir=self.cache_dir, prefix=".index-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(marshal.dumps(blob))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)  # noqa: PTH105
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.dirty = False
        self._unsaved = 0

    def update(self, code_only: bool = False) -> UpdateStats:
        """Re-scan the work tree; parse only what changed.

        ``code_only`` checks just the files a grammar handles (what the map needs, well under
        half of a typical tree); packs need every text file and use the full scan.
        """
        start = time.perf_counter()
        stats = UpdateStats()
        wanted = self._listing()
        if code_only:
            wanted = [rel for rel in wanted if language_for(rel)]
        racy_before = self.saved_ns - RACY_NS
        todo: list[tuple[str, str | None]] = []
        stat_of: dict[str, os.stat_result] = {}
        prefix = str(self.root) + os.sep
        for rel in wanted:
            try:
                st = os.stat(prefix + rel)  # noqa: PTH116 - the hot loop of every refresh
            except OSError:
                continue
            if st.st_mode & 0o170000 != 0o100000:
                continue  # not a regular file (submodule directory, socket...)
            stat_of[rel] = st
            old = self.files.get(rel)
            if (
                old
                and old.mtime_ns == st.st_mtime_ns
                and old.size == st.st_size
                and (old.mtime_ns < racy_before)
            ):
                continue
            lang = language_for(rel)
            if st.st_size > MAX_PARSE_BYTES or lang is None:
                if old and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns:
                    continue
                flags = LARGE if st.st_size > MAX_PARSE_BYTES else UNSCANNED
                entry = Entry(st.st_mtime_ns, st.st_size, "", self.generation + 1, None, flags, (), (), -1)
                self._put(rel, entry, stats)
                continue
            todo.append((rel, old.digest if old else None))
        self._scan(todo, stat_of, stats)
        gone = [r for r in self.files if r not in stat_of and (not code_only or language_for(r))]
        for rel in gone:
            del self.files[rel]
            stats.removed.append(rel)
        if stats.changed:
            self.generation += 1
            self.dirty = True
            self._unsaved += len(stats.changed)
        stats.seconds = time.perf_counter() - start
        return stats

    def _listing(self) -> list[str]:
        """``workspace.list_files``, reused while no directory, ignore file or git index changed.

        Adding, removing or renaming a file changes its directory's mtime; ``git add``/``rm``
        rewrite the index; so a signature of those mtimes tells when git must be asked again.
        """
        if self._listed is not None:
            watched, stamps, files = self._listed
            if watched and _stamps(watched) == stamps:
                return files
        files = workspace.list_files(self.root)
        watched = self._watched(files)
        self._listed = (watched, _stamps(watched), files)
        return files

    def _watched(self, files: list[str]) -> list[str]:
        git_dir = self.root / ".git"
        if not git_dir.is_dir():
            return []  # a worktree or no git: always ask git
        root = str(self.root) + os.sep
        dirs = sorted({rel.rpartition("/")[0] for rel in files})
        watched = [str(git_dir / "index"), str(git_dir / "info" / "exclude"), str(self.root)]
        watched += [root + d for d in dirs if d]
        return watched + [root + f for f in files if f.endswith(".gitignore")]

    def _put(self, rel: str, entry: Entry, stats: UpdateStats) -> None:
        self.files[rel] = entry
        stats.parsed.append(rel)

    def _scan(
        self, todo: list[tuple[str, str | None]], stat_of: dict[str, os.stat_result], stats: UpdateStats
    ) -> None:
        if not todo:
            return
        for lang in {language_for(rel) for rel, _ in todo} - {None}:
            compile_language(lang)  # once here, inherited by forked workers and reused by warm updates
        nbatches = 1 if len(todo) < POOL_THRESHOLD else max(2, len(todo) // 64)
        batches = [todo[i::nbatches] for i in range(nbatches)]
        results = [r for batch in run_parallel(_scan_batch, batches, str(self.root)) for r in batch]
        gen = self.generation + 1
        for rel, digest, analysis in sorted(results):
            st = stat_of[rel]
            stats.hashed += 1
            old = self.files.get(rel)
            if analysis is None and old is not None:  # same bytes: refresh the stamp only
                self.files[rel] = old._replace(mtime_ns=st.st_mtime_ns, size=st.st_size)
                self.dirty = True
                continue
            lang, flags, defs, refs = analysis if analysis else (None, 0, (), ())
            self._put(rel, Entry(st.st_mtime_ns, st.st_size, digest, gen, lang, flags, defs, refs, -1), stats)

    def set_scanned(self, rel: str, digest: str, flags: int) -> None:
        """Record what reading an UNSCANNED file found (the packer reads it anyway)."""
        entry = self.files.get(rel)
        if entry is not None and entry.flags & UNSCANNED:
            self.files[rel] = entry._replace(digest=digest, flags=flags)
            self.dirty = True

    def set_tokens(self, rel: str, tokens: int) -> None:
        entry = self.files.get(rel)
        if entry is not None and entry.tokens != tokens:
            self.files[rel] = entry._replace(tokens=tokens)
            self.dirty = True
