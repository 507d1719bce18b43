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
    candidate = Path(path) if os.path.isabs(path) else real_root / path
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
