"""File backups for undo outside git: copies of the files a turn is about to change.

Used by :class:`agent.git.checkpoints.Checkpointer` when the workspace is not a git repository. Only files
named by the tools are covered (a shell command's changes are not), which the Notice says.
Layout: ``<base>/<hash of root>/<session>/<turn>/manifest.json`` plus one copy per file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from agent.fsutil import atomic_write


class BackupStore:
    """Per-turn copies of files, for one workspace and session."""

    def __init__(self, base: Path, root: Path, session_id: str) -> None:
        self.root = Path(root).resolve()
        self.dir = Path(base) / hashlib.sha256(str(self.root).encode()).hexdigest()[:16] / session_id
        self.turn: int | None = None

    @staticmethod
    def latest_session(base: Path, root: Path) -> str | None:
        """The session with the newest backup for ``root`` (for ``qagent undo`` in a new process)."""
        folder = Path(base) / hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:16]
        sessions = [d for d in folder.glob("*") if d.is_dir() and any(d.glob("*/manifest.json"))]
        return max(sessions, key=lambda d: d.stat().st_mtime).name if sessions else None

    def begin_turn(self, turn: int) -> None:
        """Start a turn; a resumed session restarts its count, so existing turns are skipped."""
        done = self._turns()
        self.turn = max(turn, done[-1] + 1) if done else turn

    def _turn_dir(self) -> Path:
        if self.turn is None:
            done = self._turns()
            self.turn = (done[-1] + 1) if done else 1
        return self.dir / str(self.turn)

    def _turns(self) -> list[int]:
        return sorted(
            int(d.name) for d in self.dir.glob("*") if d.name.isdigit() and (d / "manifest.json").is_file()
        )

    def save(self, paths: list[Path]) -> None:
        """Copy each file the first time it is named in this turn (absent files are noted, so undo
        deletes what the turn created)."""
        folder = self._turn_dir()
        manifest_path = folder / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
        changed = False
        for path in paths:
            full = Path(os.path.abspath(path))  # noqa: PTH100 - a symlink names itself, not its target
            try:
                rel = full.relative_to(self.root).as_posix()
            except ValueError:
                continue
            if rel in manifest:
                continue
            folder.mkdir(parents=True, exist_ok=True)
            if full.is_file():
                copy = folder / f"{len(manifest)}.bak"
                shutil.copyfile(full, copy)
                manifest[rel] = {"existed": True, "copy": copy.name, "mode": full.stat().st_mode & 0o7777}
            else:
                manifest[rel] = {"existed": False}
            changed = True
        if changed:
            atomic_write(manifest_path, json.dumps(manifest, indent=1).encode())

    def undo_last(self) -> tuple[list[str], list[str]]:
        """Restore the newest backed-up turn; returns (restored, deleted) paths."""
        turns = self._turns()
        if not turns:
            return [], []
        folder = self.dir / str(turns[-1])
        manifest = json.loads((folder / "manifest.json").read_text())
        restored, deleted = [], []
        for rel, item in sorted(manifest.items()):
            target = self.root / rel
            if item["existed"]:
                atomic_write(target, (folder / item["copy"]).read_bytes())
                target.chmod(item["mode"])
                restored.append(rel)
            elif target.is_file() or target.is_symlink():
                target.unlink()
                deleted.append(rel)
                parent = target.parent
                while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
                    parent.rmdir()  # folders the turn created for its files
                    parent = parent.parent
        shutil.rmtree(folder)
        self.turn = None
        return restored, deleted
