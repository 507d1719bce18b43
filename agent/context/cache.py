"""Persistent, incremental per-repository index of file facts: tags, flags, token counts.

One file per repository in the user cache dir (platformdirs). An entry is trusted while the
file's (mtime, size) match; when they differ the content hash decides, so a ``touch`` or a
``git checkout`` that restores the same bytes costs a hash, not a parse.

Racy timestamps (git's "racy clean" problem): a file rewritten with the same size within the same
timestamp tick as the version we read keeps its mtime, so the stamp alone would hide the change.
A file whose mtime is that close to the moment we read it is recorded with a smudged stamp, which
never matches: the next update hashes it again (a hash, not a parse, unless it really changed) and
then records the real stamp. Only files written moments before an update pay that one extra hash.

A cold build parses on every core with a process pool; later updates hash in-process and parse
only files whose bytes changed.
"""

from __future__ import annotations

import atexit
import hashlib
import marshal
import os
import sys
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from agent.context import parallel, workspace
from agent.context.query import def_terms
from agent.context.tags import compile_language, extract_tags, language_for
from agent.fsutil import atomic_write
from tools.secrets import contains_secret

FORMAT = 5
BINARY, GENERATED, SECRET, LARGE, UNSCANNED = 1, 2, 4, 8, 16
EXCLUDED = BINARY | GENERATED | SECRET | LARGE
"""UNSCANNED marks a non-source file known by (mtime, size) only: the packer checks its content
(binary, generated, secret) when it reads it, so a cold build never reads files the map ignores."""
MAX_PARSE_BYTES = 1_000_000
"""Bigger files are data or generated code: recorded, never parsed or packed."""
RACY_NS, RACY_COARSE_NS = 100_000_000, 2_000_000_000
"""How close to the read an mtime makes a file racy: one timestamp tick plus clock slack.
Sub-second stamps (ext4, btrfs, xfs, tmpfs, APFS, NTFS, exFAT) tick in at most 10 ms; whole-second
stamps (FAT's 2 s, ext3, HFS+) need the coarse window."""
SMUDGED = -1
"""The mtime recorded for a racily clean file: matches no stat, so the next update re-hashes it."""
SAVE_AFTER_PARSES, SAVE_EVERY_S = 20, 30.0
POOL_BYTES = {"fork": 256 << 10, "spawn": 8 << 20}
"""Bytes to parse below which a process pool costs more than it saves: a forked worker starts in
milliseconds, a spawned one (needed once threads run) imports Python and tree-sitter first."""

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
    terms: tuple[str, ...] = ()
    """Search terms of the definition names (``query.def_terms``), worked out where the file is
    parsed (so in parallel on a cold build) and kept, so loading an index does not redo them."""

    @property
    def packable(self) -> bool:
        """Not excluded so far (an UNSCANNED file is checked again when read for a pack)."""
        return not self.flags & EXCLUDED


Analysis = tuple[str | None, int, Defs, Refs, tuple[str, ...]]


def content_flags(data: bytes) -> int:
    """BINARY, GENERATED and SECRET as found in a file's bytes (0 when none applies)."""
    if workspace.is_binary(data):
        return BINARY
    flags = GENERATED if workspace.looks_generated(data) else 0
    return flags | (SECRET if contains_secret(data) else 0)


def analyse(rel: str, data: bytes) -> Analysis:
    """(lang, flags, defs, refs, terms) of one file's bytes; pure, so it runs in any process."""
    flags = content_flags(data)
    if flags & BINARY:
        return None, BINARY, (), (), ()
    lang = language_for(rel)
    if lang is None or flags:
        return lang, flags, (), (), ()
    tags = extract_tags(lang, data)
    defs = tuple((d.name, d.line, d.category, d.signature) for d in tags.definitions)
    return lang, flags, defs, tags.references, tuple(sorted(def_terms(d[0] for d in defs)))


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def read_file(root: str, rel: str) -> bytes:
    with open(os.path.join(root, rel), "rb") as handle:  # noqa: PTH118 - hot path
        return handle.read()


def _parse_batch(root: str, rels: list[str]) -> list[tuple[str, str, Analysis]]:
    """(path, digest, analysis) of each file; runs in a worker or inline."""
    out = []
    for rel in rels:
        try:
            data = read_file(root, rel)
        except OSError:
            continue  # vanished or unreadable between stat and read: simply not indexed
        out.append((rel, content_digest(data), analyse(rel, data)))
    return out


def _parse_packed(root: str, rels: list[str]) -> bytes:
    """``_parse_batch`` for a worker: marshal moves these plain tuples at twice pickle's speed."""
    return marshal.dumps(_parse_batch(root, rels))


def stamp_of(st: os.stat_result, read_ns: int) -> int:
    """The mtime to record for a file read after ``read_ns``, or SMUDGED when it is racily clean."""
    mtime = st.st_mtime_ns
    window = RACY_COARSE_NS if mtime % 1_000_000_000 == 0 else RACY_NS
    return SMUDGED if mtime > read_ns - window else mtime


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
        self._listed: workspace.Listing | None = None
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
        atomic_write(self.path, marshal.dumps(blob))
        self.dirty = False
        self._unsaved = 0

    def update(self, code_only: bool = False) -> UpdateStats:
        """Re-scan the work tree; parse only what changed.

        ``code_only`` checks just the files a grammar handles (what the map needs, well under
        half of a typical tree); packs need every text file and use the full scan.
        """
        start = time.perf_counter()
        read_ns = time.time_ns()  # before any stat or read: what stamp_of measures racy files by
        stats = UpdateStats()
        listing = self._listing()
        wanted = listing.code if code_only else listing.files
        todo: list[tuple[str, os.stat_result]] = []
        missing: list[str] = []
        prefix = str(self.root) + os.sep
        known = self.files.get
        stat = os.stat
        for rel in wanted:  # the hot loop of every refresh: one stat per file, nothing else
            try:
                st = stat(prefix + rel)
            except OSError:
                missing.append(rel)
                continue
            old = known(rel)
            if old is None or old.mtime_ns != st.st_mtime_ns or old.size != st.st_size:
                if st.st_mode & 0o170000 == 0o100000:
                    todo.append((rel, st))
                else:
                    missing.append(rel)  # not a regular file (submodule directory, socket...)
        self._absorb(todo, listing.code_set, read_ns, stats)
        stale = self.files.keys() - (listing.code_set if code_only else listing.file_set)
        if code_only:
            stale = {rel for rel in stale - listing.other_set if language_for(rel)}
        stale.update(rel for rel in missing if rel in self.files)
        for rel in sorted(stale):
            del self.files[rel]
            stats.removed.append(rel)
        if stats.changed:
            self.generation += 1
            self.dirty = True
            self._unsaved += len(stats.changed)
        stats.seconds = time.perf_counter() - start
        return stats

    def _absorb(
        self, todo: list[tuple[str, os.stat_result]], code: frozenset[str], read_ns: int, stats: UpdateStats
    ) -> None:
        """Entries for files whose stamp changed: hash what may be unchanged, parse the rest."""
        gen = self.generation + 1
        root = str(self.root)
        parse: list[tuple[str, os.stat_result]] = []
        for rel, st in todo:
            old = self.files.get(rel)
            if st.st_size > MAX_PARSE_BYTES or rel not in code:
                flags = LARGE if st.st_size > MAX_PARSE_BYTES else UNSCANNED
                self._put(rel, Entry(st.st_mtime_ns, st.st_size, "", gen, None, flags, (), (), -1), stats)
            elif old is not None and old.digest and old.size == st.st_size:
                try:  # a touch, a checkout restoring the same bytes, or a racily clean file
                    digest = content_digest(read_file(root, rel))
                except OSError:
                    continue
                if digest != old.digest:
                    parse.append((rel, st))
                    continue
                stats.hashed += 1
                stamp = stamp_of(st, read_ns)
                if stamp != old.mtime_ns:
                    self.files[rel] = old._replace(mtime_ns=stamp)
                    self.dirty = True
            else:
                parse.append((rel, st))
        stat_of = dict(parse)
        for rel, digest, (lang, flags, defs, refs, terms) in self._parse(parse):
            st = stat_of[rel]
            stats.hashed += 1
            entry = Entry(stamp_of(st, read_ns), st.st_size, digest, gen, lang, flags, defs, refs, -1, terms)
            self._put(rel, entry, stats)

    def _parse(self, todo: list[tuple[str, os.stat_result]]) -> list[tuple[str, str, Analysis]]:
        """Analyses sorted by path: inline for a few files, on every core for many."""
        rels = [rel for rel, _ in todo]
        method = parallel.start_method()
        if sum(st.st_size for _, st in todo) < POOL_BYTES[method] or (os.cpu_count() or 1) < 2:
            return _parse_batch(str(self.root), rels)
        if method == "fork":
            for lang in {language_for(rel) for rel in rels} - {None}:
                compile_language(lang)  # once here, inherited by the forked workers
        batches = parallel.by_size(todo, max(2, len(rels) // 64))
        parallel.prefetch(str(self.root), [rel for batch in batches for rel in batch])
        packed = parallel.run_parallel(_parse_packed, batches, str(self.root))
        return sorted(r for blob in packed for r in marshal.loads(blob))

    def _listing(self) -> workspace.Listing:
        listed = self._listed
        self._listed = workspace.Listing.take(self.root) if listed is None else listed.refreshed(self.root)
        return self._listed

    def _put(self, rel: str, entry: Entry, stats: UpdateStats) -> None:
        self.files[rel] = entry
        stats.parsed.append(rel)

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
