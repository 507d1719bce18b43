"""Workspace confinement: every path a tool touches resolves (symlinks too) inside the root."""

from __future__ import annotations

import os
from pathlib import Path

from tools import ToolRetry


def resolve_in_workspace(root: Path, path: str, *, allow_git: bool = False) -> Path:
    """Resolve ``path`` (relative to root, or absolute) and refuse anything outside the workspace.

    Symlinks are resolved before the check, so a link pointing outside is refused as well as
    ``../`` and absolute paths. Paths inside ``.git`` are refused unless ``allow_git``: tools never
    edit the repository's own database (checkpoints do that through git).
    """
    if not path or "\x00" in path:
        raise ToolRetry("path is empty or contains a NUL byte")
    real_root = Path(os.path.realpath(root))
    candidate = Path(path) if Path(path).is_absolute() else real_root / path
    resolved = Path(os.path.realpath(candidate))
    try:
        relative = resolved.relative_to(real_root)
    except ValueError:
        raise ToolRetry(
            f"{path!r} is outside the workspace {real_root}; only paths inside it can be used"
        ) from None
    if not allow_git and relative.parts[:1] == (".git",):
        raise ToolRetry(f"{path!r} is inside .git; the repository database is not edited by tools")
    return resolved


def display_path(root: Path, path: Path) -> str:
    """Repo-relative path for messages, with forward slashes."""
    try:
        return path.relative_to(Path(os.path.realpath(root))).as_posix()
    except ValueError:
        return str(path)


def open_parent_dir(root: Path, resolved: Path, *, create: bool = False) -> tuple[int, str]:
    """Open the directory holding ``resolved`` by walking down from the root with ``O_NOFOLLOW``.

    ``resolve_in_workspace`` checks a path once; a symlink swapped into the path between that check
    and the write would otherwise redirect the write outside the workspace. Walking component by
    component relative to directory descriptors, refusing symlinks at each step, closes that race.
    Returns ``(dir_fd, file_name)``; the caller closes ``dir_fd``. ``create`` makes missing
    directories (for new files).
    """
    real_root = Path(os.path.realpath(root))
    try:
        parts = resolved.relative_to(real_root).parts
    except ValueError:
        raise ToolRetry(f"{resolved} is outside the workspace {real_root}") from None
    if not parts:
        raise ToolRetry("the workspace root itself is a directory, not a file")
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(real_root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            try:
                next_fd = os.open(part, flags, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass  # a parallel write into the same new folder made it first
                try:
                    next_fd = os.open(part, flags, dir_fd=fd)
                except OSError:  # what appeared there is a symlink or a file
                    raise ToolRetry(
                        f"{display_path(real_root, resolved)}: {part!r} is not a plain directory; "
                        "refusing to write through it"
                    ) from None
            except OSError:  # ELOOP (a symlink) or ENOTDIR
                raise ToolRetry(
                    f"{display_path(real_root, resolved)}: {part!r} is not a plain directory "
                    "(it may have been replaced by a symlink); refusing to write through it"
                ) from None
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd, parts[-1]
