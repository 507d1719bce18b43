"""Files as users have them: decode, re-encode and write without changing what the edit did not touch.

Every tool that writes goes through here, so a CRLF file stays CRLF, a Latin-1 file stays Latin-1, a
file without a final newline keeps lacking one, and a kill -9 mid-write leaves the old file or the new
one, never a torn mix. The edit engines work on ``TextFile.text`` (``\\n`` line endings only) and hand
the result back to :func:`encode`.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from tools import FileStamp, ToolRetry, ToolSession
from tools.paths import display_path, open_parent_dir

MAX_BYTES = 10_000_000
"""Files larger than this are refused: the model cannot use them and diffs of them are useless."""

_SNIFF = 8192
_TMP_SUFFIX = ".qagent-tmp"
_BOM_OF = {"utf-8-sig": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_CONTROL = set(range(32)) - {8, 9, 10, 12, 13, 27} | {127}


@dataclass(frozen=True)
class TextFile:
    """A decoded text file: ``text`` with ``\\n`` endings plus what is needed to write it back as it was."""

    text: str
    encoding: str
    """"utf-8", "utf-8-sig" (BOM), "utf-16-le"/"utf-16-be" (with BOM) or "latin-1" (fallback)."""
    newline: str
    """The dominant line ending, used for lines the edit adds."""
    crlf_lines: tuple[bool, ...] = ()
    """Per line, whether it ended in CRLF; only kept for files that mix endings."""

    @property
    def final_newline(self) -> bool:
        return self.text.endswith("\n")


class BinaryFileError(ToolRetry):
    """The file is not text; tools refuse to show or edit it."""


def decode(data: bytes, name: str = "file") -> TextFile:
    """Decode bytes the way an editor would; refuse binary content with a clear message."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                raw = data[len(bom):].decode(encoding.replace("-sig", ""))
            except UnicodeDecodeError:
                raise BinaryFileError(f"{name} starts with a {encoding} mark but does not decode; "
                                      "it is not a text file this tool can edit") from None
            return _split_endings(raw, "utf-8-sig" if encoding == "utf-8-sig" else encoding)
    sample = data[:_SNIFF]
    if b"\x00" in sample:
        raise BinaryFileError(f"{name} is a binary file (it contains NUL bytes); "
                              "it cannot be shown or edited")
    try:
        return _split_endings(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    if sample and sum(b in _CONTROL for b in sample) > len(sample) // 10:
        raise BinaryFileError(f"{name} is a binary file (not UTF-8, many control bytes); it cannot be edited")
    return _split_endings(data.decode("latin-1"), "latin-1")


def _split_endings(raw: str, encoding: str) -> TextFile:
    parts = raw.split("\n")
    crlf = tuple(p.endswith("\r") for p in parts[:-1])
    n_crlf = sum(crlf)
    newline = "\r\n" if n_crlf * 2 > len(crlf) else "\n"
    mixed = 0 < n_crlf < len(crlf)
    text = raw.replace("\r\n", "\n") if n_crlf else raw
    return TextFile(text, encoding, newline, crlf if mixed else ())


def encode(new_text: str, like: TextFile | None = None) -> bytes:
    """Encode ``new_text`` (``\\n`` endings) in the style of ``like`` (the file as it was).

    Lines that existed before keep their own ending even in files that mix CRLF and LF; new lines
    get the dominant one. Raises ToolRetry when the text cannot be written in the file's encoding.
    """
    if like is None:
        return new_text.encode("utf-8")
    text = new_text.replace("\r\n", "\n")
    if like.crlf_lines:
        text = _mixed_endings(text, like)
    elif like.newline == "\r\n":
        text = text.replace("\n", "\r\n")
    codec = like.encoding.replace("-sig", "")
    try:
        body = text.encode(codec)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start:exc.end]
        raise ToolRetry(
            f"the file is {like.encoding}-encoded and {bad!r} cannot be written in that encoding; "
            "use only characters the encoding has (or an escape sequence)"
        ) from None
    return _BOM_OF.get(like.encoding, b"") + body


def _mixed_endings(text: str, like: TextFile) -> str:
    old = like.text.split("\n")
    new = text.split("\n")
    endings = [like.newline] * (len(new) - 1)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("equal", "replace"):  # kept lines, and lines rewritten one for one, keep their ending
            for k in range(min(i2 - i1, j2 - j1)):
                if j1 + k < len(endings) and i1 + k < len(like.crlf_lines):
                    endings[j1 + k] = "\r\n" if like.crlf_lines[i1 + k] else "\n"
    return "".join(line + end for line, end in zip(new, endings, strict=False)) + new[-1]


def match_final_newline(text: str, like: TextFile | None) -> str:
    """Give whole-file content the existing file's final-newline convention (present or absent)."""
    if like is None or not text:
        return text
    if like.final_newline and not text.endswith("\n"):
        return text + "\n"
    if not like.final_newline and like.text and text.endswith("\n"):
        return text[:-1]
    return text


def read_bytes(root: Path, path: Path) -> bytes:
    """Read a confined file without following a symlink swapped in after the path was checked."""
    dir_fd, name = open_parent_dir(root, path)
    try:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(name, flags, dir_fd=dir_fd)  # O_NONBLOCK: a FIFO must not hang the tool
        except OSError as exc:
            if isinstance(exc, (FileNotFoundError, IsADirectoryError)):
                raise
            raise ToolRetry(f"{display_path(root, path)} cannot be opened safely ({exc.strerror})") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError(str(path))
            if not stat.S_ISREG(info.st_mode):
                raise ToolRetry(f"{display_path(root, path)} is not a regular file (a pipe, socket or "
                                "device); file tools only read regular files")
            if info.st_size > MAX_BYTES:
                raise ToolRetry(
                    f"{display_path(root, path)} is {info.st_size:,} bytes, over the {MAX_BYTES:,}-byte "
                    "limit for file tools; use grep, or shell tools such as head/sed, to look at parts of it"
                )
            return handle.read(MAX_BYTES + 1)
    finally:
        os.close(dir_fd)


def load(root: Path, path: Path) -> tuple[TextFile, bytes]:
    """Read and decode a workspace file (refusing binary and oversized files)."""
    data = read_bytes(root, path)
    return decode(data, display_path(root, path)), data


def atomic_write(root: Path, path: Path, data: bytes) -> None:
    """Write via a temp file in the same directory, fsync, then rename over the target.

    The file's permission bits (and owner, where allowed) are kept; new files get the umask default.
    Parent directories are opened without following symlinks, so the write cannot leave the workspace.
    """
    dir_fd, name = open_parent_dir(root, path, create=True)
    try:
        try:
            old = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            old = None
        if old is not None and not stat.S_ISREG(old.st_mode):
            raise ToolRetry(f"{display_path(root, path)} is not a regular file (symlink or special file); "
                            "refusing to replace it")
        if old is not None and not old.st_mode & 0o222:
            # Replacing via rename works on read-only files (and root ignores modes anyway): respect the mark.
            mode = f"{stat.S_IMODE(old.st_mode):o}"
            raise ToolRetry(f"{display_path(root, path)} is read-only (mode {mode}); it was left as it is. "
                            "Ask the user to make it writable (chmod u+w) if it should change")
        tmp = f".{name}.{os.getpid()}-{secrets.token_hex(4)}{_TMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(tmp, flags, 0o666 if old is None else 0o600, dir_fd=dir_fd)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                if old is not None:
                    os.fchmod(fd, stat.S_IMODE(old.st_mode))
                    if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                        try:
                            os.fchown(fd, old.st_uid, old.st_gid)
                        except PermissionError:
                            pass
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except FileNotFoundError:
                pass
            raise
        os.fsync(dir_fd)
        _sweep_dead_writers(dir_fd, name)
    finally:
        os.close(dir_fd)


def _sweep_dead_writers(dir_fd: int, name: str) -> None:
    """Remove temp files of ``name`` left by writers that were killed between write and rename.

    kill -9 at that moment leaves the target whole (old bytes) plus a ``.name.<pid>-<hex>.qagent-tmp``
    sibling that would otherwise clutter the repo (and show up in git status or an auto-commit). A temp
    file is only removed when the process that made it is gone.
    """
    prefix = f".{name}."
    for entry in os.listdir(dir_fd):
        if not (entry.startswith(prefix) and entry.endswith(_TMP_SUFFIX)):
            continue
        pid = entry[len(prefix):-len(_TMP_SUFFIX)].partition("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # still writing
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # alive, someone else's
        try:
            os.unlink(entry, dir_fd=dir_fd)
        except FileNotFoundError:
            pass


def delete(root: Path, path: Path) -> None:
    """Remove a confined file (never through a swapped-in symlinked directory)."""
    dir_fd, name = open_parent_dir(root, path)
    try:
        os.unlink(name, dir_fd=dir_fd)
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def stamp_from(data: bytes, path: Path) -> FileStamp:
    """The stamp of exactly these bytes (not of whatever is on disk a moment later)."""
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        mtime = 0
    return FileStamp(mtime, len(data), hashlib.sha256(data).hexdigest())


def note_read(session: ToolSession, path: Path, data: bytes) -> None:
    """Record that the model has seen these bytes of ``path``."""
    session.read_stamps[path] = stamp_from(data, path)


def note_written(session: ToolSession, path: Path, data: bytes | None) -> None:
    """Record our own write (``None`` = deleted): the model now knows the file's content."""
    session.note_written(path)
    if data is not None:
        session.read_stamps[path] = stamp_from(data, path)


def check_fresh(session: ToolSession, root: Path, path: Path, data: bytes) -> bool:
    """Refuse an edit if the file changed since the model last read or wrote it.

    Returns whether the model has seen the file at all in this session (callers that only accept
    exact matches on unseen files use this).
    """
    seen = session.read_stamps.get(path)
    if seen is None:
        return False
    if seen.size != len(data) or seen.sha256 != hashlib.sha256(data).hexdigest():
        raise ToolRetry(
            f"{display_path(root, path)} changed on disk since you last read it; call read_file on it "
            "again and redo the edit against its current content (nothing was written)"
        )
    return True
