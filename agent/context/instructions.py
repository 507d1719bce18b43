"""Project instructions: AGENTS.md (CLAUDE.md / CONVENTIONS.md as fallbacks) for the system prompt.

The root files (from the git top down to the workspace root) go into the system prompt once.
Nested ones apply to files under their directory: when the model touches such a file,
:func:`for_paths` (or :class:`InstructionTracker`, which reports each file once) returns them so the
loop can add them to the conversation. Files are capped in size so a huge one cannot eat the window.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

NAMES = ("AGENTS.md", "CLAUDE.md", "CONVENTIONS.md")
"""Looked for in this order in each directory; the first one present wins."""
MAX_CHARS = 32_000


def instruction_file(directory: Path) -> Path | None:
    """The instructions file of one directory, if any."""
    for name in NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _git_top(root: Path) -> Path:
    for folder in (root, *root.parents):
        if (folder / ".git").exists():
            return folder
    return root


def _read(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS] + f"\n[... {path.name} truncated at {MAX_CHARS} characters]"
    return text


def _section(path: Path, root: Path, scope: str) -> str:
    shown = os.path.relpath(path, root)
    return f"## Instructions from {shown} ({scope})\n\n{_read(path)}"


def load_instructions(root: Path) -> str:
    """Root instructions for the system prompt: the repo root's file and any between it and
    ``root`` (the workspace may be a subfolder), outermost first. Empty string when none."""
    root = Path(root).resolve()
    top = _git_top(root)
    folders = [root, *root.parents]
    folders = folders[: folders.index(top) + 1] if top in folders else [root]
    sections = []
    for folder in reversed(folders):
        found = instruction_file(folder)
        if found is not None:
            sections.append(_section(found, root, "project instructions; follow them"))
    return "\n\n".join(sections)


def nested_files(root: Path, paths: Iterable[Path | str]) -> list[Path]:
    """Instruction files in directories strictly below ``root`` that contain one of ``paths``,
    shallowest first."""
    root = Path(root).resolve()
    found: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw)
        full = (path if path.is_absolute() else root / path).resolve()
        try:
            rel = full.relative_to(root)
        except ValueError:
            continue
        parts = rel.parts if full.is_dir() else rel.parts[:-1]
        folder = root
        for part in parts:
            folder = folder / part
            candidate = instruction_file(folder)
            if candidate is not None:
                found[candidate] = None
    return sorted(found, key=lambda p: (len(p.parts), str(p)))


def for_paths(root: Path, paths: Iterable[Path | str]) -> str:
    """Nested instructions that apply to ``paths`` (empty string when none)."""
    root = Path(root).resolve()
    sections = [
        _section(f, root, f"applies to files under {os.path.relpath(f.parent, root)}/")
        for f in nested_files(root, paths)
    ]
    return "\n\n".join(sections)


class InstructionTracker:
    """Gives each nested instruction file once per session, the first time a path under it is used."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.seen: set[Path] = set()

    def new_for_paths(self, paths: Iterable[Path | str]) -> str:
        fresh = [f for f in nested_files(self.root, paths) if f not in self.seen]
        self.seen.update(fresh)
        return "\n\n".join(
            _section(f, self.root, f"applies to files under {os.path.relpath(f.parent, self.root)}/")
            for f in fresh
        )

    def annotate(self, tool: str, args: dict[str, Any], text: str) -> str:
        """A tool result with the nested instructions for the files the call named appended (each
        file once per session); the loop calls this on read/edit results."""
        from agent.policy.permissions import paths_of

        extra = self.new_for_paths(p for p in paths_of(tool, args) if p != args.get("cwd"))
        return f"{text}\n\n{extra}" if extra else text
