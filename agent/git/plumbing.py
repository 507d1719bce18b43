"""Git plumbing for checkpoints: snapshot a working tree into a tree object without touching the
user's index, and write a tree's blobs back byte-exactly.

Blobs are stored without git's clean filters (autocrlf, ``text``/``eol`` attributes, LFS) and
written back by us rather than by ``git checkout``, so what comes back is exactly what was there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from agent.fsutil import atomic_write

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
IDENTITY = {
    "GIT_AUTHOR_NAME": "qagent",
    "GIT_AUTHOR_EMAIL": "qagent@localhost",
    "GIT_COMMITTER_NAME": "qagent",
    "GIT_COMMITTER_EMAIL": "qagent@localhost",
}
"""Used for checkpoint objects, which never land on a user's branch."""
MAX_UNTRACKED_BYTES = 50 * 1024 * 1024
"""Untracked files above this size are left out of checkpoints (and so never touched by undo)."""
_FILTER_ATTRS = ("text", "eol", "crlf", "filter", "ident", "working-tree-encoding")


class GitError(RuntimeError):
    """A git command failed; the message has the command and git's own words."""


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    sha: str


def run_git(top: Path, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> bytes:
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        ["git", "-c", "core.quotepath=off", *args],
        cwd=top,
        env=full_env,
        input=stdin,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise GitError(f"git {' '.join(args[:3])} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def find_repo(path: Path) -> tuple[Path, Path] | None:
    """(work tree top, git dir) of the repository containing ``path``, or None outside git."""
    try:
        out = run_git(path, "rev-parse", "--show-toplevel", "--absolute-git-dir").decode().splitlines()
    except (GitError, FileNotFoundError, NotADirectoryError):
        return None
    if len(out) != 2 or not out[0]:
        return None
    return Path(out[0]), Path(out[1])


def is_linked_worktree(top: Path, git_dir: Path) -> bool:
    """True for a ``git worktree add`` checkout (its refs are shared with the main one)."""
    common = run_git(top, "rev-parse", "--git-common-dir").decode().strip()
    return (top / common).resolve() != git_dir.resolve()


def ignored_paths(top: Path, paths: set[str]) -> set[str]:
    """The subset of ``paths`` that git ignores (untracked and matched by an ignore rule)."""
    if not paths:
        return set()
    proc = subprocess.run(
        ["git", "check-ignore", "-z", "--stdin"],
        cwd=top,
        capture_output=True,
        input="\0".join(sorted(paths)).encode() + b"\0",
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise GitError(f"git check-ignore failed: {proc.stderr.decode(errors='replace').strip()}")
    return {p.decode() for p in proc.stdout.split(b"\0") if p}


class Snapshot(NamedTuple):
    tree: str
    skipped: frozenset[str]
    """Untracked files left out for their size (never snapshotted, never touched by undo)."""


def snapshot_tree(
    top: Path,
    git_dir: Path,
    forced: Iterable[str] = (),
    *,
    base_tree: str | None = None,
    all_files: bool = True,
    skip: Iterable[str] = (),
) -> Snapshot:
    """Write the working tree (tracked + untracked non-ignored, plus ``forced`` paths even if
    ignored, minus ``skip`` and untracked files over :data:`MAX_UNTRACKED_BYTES`) as a tree
    object, using a throwaway index."""
    with tempfile.TemporaryDirectory(prefix="qagent-idx-") as tmp:
        index = Path(tmp) / "index"
        env = {"GIT_INDEX_FILE": str(index)}
        if base_tree:
            run_git(top, "read-tree", base_tree, env=env)
        elif (git_dir / "index").is_file():
            # copy2 keeps the mtime: git's racy-clean check compares file times against it
            shutil.copy2(git_dir / "index", index)  # its stat cache spares rehashing unchanged files
        skipped: set[str] = set(skip)
        if all_files:
            skipped |= _large_untracked(top, env)
            excludes = [f":(exclude,literal){p}" for p in sorted(skipped)]
            run_git(top, "add", "-A", "--ignore-errors", "--", ".", *excludes, env=env)
        present = [p for p in sorted(forced) if (top / p).is_file() or (top / p).is_symlink()]
        if present:
            run_git(top, "add", "-f", "--", *present, env=env)
        _store_raw_bytes(top, env, None if all_files else present)
        tree = run_git(top, "write-tree", env=env).decode().strip()
        return Snapshot(tree, frozenset(skipped))


def _large_untracked(top: Path, env: dict[str, str]) -> set[str]:
    """Untracked, non-ignored files too big to copy into the user's object store every turn."""
    listing = run_git(top, "ls-files", "-z", "--others", "--exclude-standard", env=env)
    big = set()
    for raw in listing.split(b"\0"):
        if raw:
            try:
                if (top / raw.decode()).lstat().st_size > MAX_UNTRACKED_BYTES:
                    big.add(raw.decode())
            except OSError:
                continue
    return big


def _store_raw_bytes(top: Path, env: dict[str, str], only: list[str] | None) -> None:
    """Replace filtered blobs (eol conversion, clean filters) by the file's exact bytes.

    Only files whose bytes a filter could have changed are re-hashed: those under a ``filter``,
    ``ident`` or ``working-tree-encoding`` attribute, and text-converted files that contain CR.
    """
    if only is not None and not only:
        return
    listing = run_git(top, "ls-files", "-s", "-z", *(["--", *only] if only else []), env=env)
    entries = {}
    for rec in listing.split(b"\0"):
        if rec:
            meta, path = rec.split(b"\t", 1)
            mode, _sha, _stage = meta.split()
            if mode in (b"100644", b"100755"):
                entries[path.decode()] = mode.decode()
    if not entries:
        return
    converting = git_config(top, "core.autocrlf") in ("true", "input")
    if not converting and not _may_have_attributes(top, entries):
        return
    attrs = run_git(top, "check-attr", "-z", "--stdin", *_FILTER_ATTRS, env=env,
                    stdin="\0".join(entries).encode() + b"\0").split(b"\0")  # fmt: skip
    set_attrs: dict[str, set[str]] = {}
    for i in range(0, len(attrs) - 2, 3):
        if attrs[i + 2] not in (b"unspecified", b"unset"):
            set_attrs.setdefault(attrs[i].decode(), set()).add(attrs[i + 1].decode())
    suspects = []
    for path in entries if converting else set_attrs:
        full = top / path
        if full.is_symlink() or not full.is_file() or full.stat().st_size > MAX_UNTRACKED_BYTES:
            continue
        if (
            set_attrs.get(path, set()) & {"filter", "ident", "working-tree-encoding"}
            or b"\r" in full.read_bytes()
        ):
            suspects.append(path)
    if not suspects:
        return
    shas = run_git(top, "hash-object", "-w", "--no-filters", "--stdin-paths",
                   stdin="\n".join(suspects).encode() + b"\n").decode().split()  # fmt: skip
    info = "".join(f"{entries[p]} {sha}\t{p}\n" for p, sha in zip(suspects, shas, strict=True))
    run_git(top, "update-index", "--index-info", env=env, stdin=info.encode())


def _may_have_attributes(top: Path, entries: Iterable[str]) -> bool:
    """Whether any gitattributes file could apply (skips a check-attr run in the common case)."""
    if any(p == ".gitattributes" or p.endswith("/.gitattributes") for p in entries):
        return True
    if (top / ".gitattributes").exists() or git_config(top, "core.attributesfile"):
        return True
    common = run_git(top, "rev-parse", "--git-common-dir").decode().strip()
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return (top / common / "info" / "attributes").is_file() or (Path(xdg) / "git" / "attributes").is_file()


def git_config(top: Path, key: str) -> str:
    try:
        return run_git(top, "config", "--get", key).decode().strip().lower()
    except GitError:
        return ""


def has_head(top: Path) -> bool:
    return (
        subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=top, capture_output=True
        ).returncode
        == 0
    )


def has_identity(top: Path) -> bool:
    return bool(git_config(top, "user.email")) and bool(git_config(top, "user.name"))


def read_tree(top: Path, tree: str) -> dict[str, TreeEntry]:
    out = run_git(top, "ls-tree", "-r", "-z", "--full-tree", tree)
    entries = {}
    for rec in out.split(b"\0"):
        if rec:
            meta, path = rec.split(b"\t", 1)
            mode, _kind, sha = meta.decode().split()
            entries[path.decode()] = TreeEntry(mode, sha)
    return entries


def remove_file(top: Path, rel: str) -> None:
    target = top / rel
    if target.is_symlink() or target.is_file():
        target.unlink()
    parent = target.parent
    while parent != top and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def write_blobs(top: Path, entries: dict[str, TreeEntry]) -> None:
    if not entries:
        return
    paths = list(entries)
    out = run_git(top, "cat-file", "--batch", stdin="".join(entries[p].sha + "\n" for p in paths).encode())
    pos = 0
    for rel in paths:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        data = out[header_end + 1 : header_end + 1 + size]
        pos = header_end + 1 + size + 1
        target = top / rel
        _clear_path(top, target)
        if entries[rel].mode == "120000":
            if target.is_symlink() or target.exists():
                target.unlink()
            target.symlink_to(os.fsdecode(data))
        else:
            atomic_write(target, data, executable=entries[rel].mode == "100755")


def _clear_path(top: Path, target: Path) -> None:
    """Make room for a file: parents must be directories, the path itself not a directory."""
    for parent in reversed(target.relative_to(top).parents[:-1]):
        node = top / parent
        if node.is_symlink() or node.is_file():
            node.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
