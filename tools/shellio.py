"""Command output handling: bounded capture, spill file, live streaming and terminal sanitising.

A command may print gigabytes (SAFETY.md row 8): memory holds only a head and a tail, the whole
stream goes to a spill file once it no longer fits, and the model sees head + tail with the count
of what was left out. Output may also carry invalid UTF-8 and terminal escapes (title sets, cursor
moves, OSC hyperlinks) that could garble or drive a terminal: the model and front ends get text
with those made inert.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

HEAD_BYTES = 12_000
TAIL_BYTES = 12_000
SPILL_CAP_BYTES = 64 * 1024 * 1024
STREAM_CAP_CHARS = 2_000_000
"""Live output sent to front ends per command; past it they get one note (the spill file has it all)."""
SPILL_MAX_AGE_S = 24 * 3600

_ESCAPES = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks, clipboard writes
    r"|\x1b[P^_X][^\x1b]*(?:\x1b\\)?"  # DCS / PM / APC / SOS strings
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, screen clears
    r"|\x1b[ -/]*[0-~]"  # other two-byte escapes
)
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")  # C0 (bar \t \n \r) and C1


def sanitize(text: str) -> str:
    """Plain text: escapes removed, carriage-return overwrites resolved, control bytes dropped."""
    text = _ESCAPES.sub("", text)
    text = text.replace("\r\n", "\n")
    if "\r" in text:
        text = "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))
    return _CONTROLS.sub("", text)


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def spill_dir(uid: int | None, gid: int | None) -> Path:
    """A private folder for spill files, owned by whoever runs the command (so it can read them)."""
    owner = os.geteuid() if uid is None else uid
    folder = Path(tempfile.gettempdir()) / f"qagent-spill-{owner}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = folder.lstat()
    if folder.is_symlink() or info.st_uid not in (owner, os.geteuid()):
        return Path(tempfile.mkdtemp(prefix="qagent-spill-"))  # someone else planted it
    if uid is not None and info.st_uid != uid:
        os.chown(folder, uid, gid if gid is not None else -1)
    _prune(folder)
    return folder


def _prune(folder: Path) -> None:
    cutoff = time.time() - SPILL_MAX_AGE_S
    for entry in folder.iterdir():
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime < cutoff:
                entry.unlink()


class Capture:
    """Keeps the first and last bytes of a stream, counts the rest, spills everything once it overflows."""

    def __init__(self, folder: Path, *, head: int = HEAD_BYTES, tail: int = TAIL_BYTES,
                 spill_cap: int = SPILL_CAP_BYTES) -> None:
        self._folder = folder
        self._head_cap, self._tail_cap, self._spill_cap = head, tail, spill_cap
        self.head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_size = 0
        self.total_bytes = 0
        self.total_lines = 0
        self.spill_path: Path | None = None
        self.spill_truncated = False
        self._spill: BinaryIO | None = None
        self._spilled = 0

    @property
    def overflowed(self) -> bool:
        return self.spill_path is not None

    def feed(self, chunk: bytes) -> None:
        self.total_bytes += len(chunk)
        self.total_lines += chunk.count(b"\n")
        if self._spill is None and self.total_bytes > self._head_cap + self._tail_cap:
            self._open_spill()
        if self._spill is not None:
            self._write_spill(chunk)
        room = self._head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self._tail.append(chunk)
            self._tail_size += len(chunk)
            while self._tail_size - len(self._tail[0]) >= self._tail_cap:
                self._tail_size -= len(self._tail.popleft())

    def _open_spill(self) -> None:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - stays open while streamingdir=self._folder, prefix="shell-", suffix=".log",
                                             delete=False)
        self._spill = handle  # type: ignore[assignment]
        self.spill_path = Path(handle.name)
        self._write_spill(bytes(self.head) + b"".join(self._tail))

    def _write_spill(self, data: bytes) -> None:
        assert self._spill is not None
        room = self._spill_cap - self._spilled
        if room <= 0:
            self.spill_truncated = True
            return
        self._spill.write(data[:room])
        self._spilled += min(room, len(data))

    @property
    def tail(self) -> bytes:
        data = b"".join(self._tail)
        return data[-self._tail_cap :] if len(data) > self._tail_cap else data

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()

    def render(self) -> str:
        """What the model sees: everything, or head + omission marker + tail."""
        tail = self.tail
        if not self.overflowed and len(self.head) + len(tail) >= self.total_bytes:
            return sanitize(decode(bytes(self.head) + tail))
        omitted = self.total_bytes - len(self.head) - len(tail)
        lines = max(self.total_lines - self.head.count(b"\n") - tail.count(b"\n"), 0)
        where = f"full output in {self.spill_path}"
        if self.spill_truncated:
            mb, rest = divmod(self._spill_cap, 1024 * 1024)
            where += f" (first {mb} MB only)" if mb and not rest else f" (first {self._spill_cap} bytes only)"
        marker = (f"\n[... {lines} lines / {omitted} bytes omitted of {self.total_bytes} bytes; "
                  f"{where}; read parts of it with sed -n 'A,Bp' or grep ...]\n")
        return sanitize(decode(bytes(self.head))) + marker + sanitize(decode(tail))


class LiveStream:
    """Batches output for front ends (not one event per read) and stops after STREAM_CAP_CHARS."""

    def __init__(self, send: Callable[[str], None], *, batch_chars: int = 8192,
                 interval_s: float = 0.05) -> None:
        self._send = send
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._sent = 0
        self._batch, self._interval = batch_chars, interval_s
        self._last = time.monotonic()
        self._capped = False

    def feed(self, chunk: bytes) -> None:
        if self._capped:
            return
        self._pending += self._decoder.decode(chunk)
        if len(self._pending) >= self._batch or time.monotonic() - self._last >= self._interval:
            self.flush()

    def flush(self, final: bool = False) -> None:
        if final:
            self._pending += self._decoder.decode(b"", final=True)
        text, self._pending = self._pending, ""
        if not final:
            text, self._pending = _split_partial_escape(text)
        self._last = time.monotonic()
        if not text or self._capped:
            return
        if self._sent + len(text) > STREAM_CAP_CHARS:
            text = (text[: STREAM_CAP_CHARS - self._sent]
                    + "\n[live output stopped here; the result shows the end]\n")
            self._capped = True
        self._sent += len(text)
        self._send(sanitize(text))


def _split_partial_escape(text: str) -> tuple[str, str]:
    """Hold back an escape sequence cut by the read boundary, so its pieces never leak as text."""
    start = text.rfind("\x1b")
    if start < 0 or len(text) - start > 256:
        return text, ""
    complete = re.search(r"[@-~\x07]", text[start + 2 :])
    if complete or (len(text) - start == 2 and text[start + 1] not in "[]P^_X"):
        return text, ""
    return text[:start], text[start:]
