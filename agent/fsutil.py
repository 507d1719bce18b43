"""File helpers shared by several packages: state files (sessions, caches, reports, backups) are
written atomically so a crash leaves the old or the new content, never a torn file.

Workspace files go through ``tools.textio.atomic_write`` instead, which also confines the write to
the workspace and never follows symlinks.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes, *, executable: bool | None = None) -> None:
    """Write via temp file + fsync + rename: a crash leaves the old or the new content, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if executable is None:
        mode = path.stat().st_mode & 0o7777 if path.is_file() and not path.is_symlink() else 0o644
    else:
        mode = 0o755 if executable else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".qagent-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        if path.is_symlink():
            path.unlink()
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
