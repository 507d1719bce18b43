"""Packs for long-context models: the best-ranked files in full, then the map of the rest.

Budget = model window − reserved output − conversation; the caller computes it. One ranking
feeds every budget, and nested packs are built by continuing the same greedy fill, so the full
files of the 8K pack are a subset of the 32K pack's, and so on: the router can pick a small local
window or DeepSeek's 1M without re-ranking.

Cache stability: files are laid out by (generation in which their content first appeared, path),
not by rank. An unchanged repository gives a byte-identical pack; after an edit the edited file
moves to the end of its section, so everything before it stays a shared prefix and DeepSeek's
prefix cache keeps hitting. Ignored, binary, generated, lock and secret-looking files never enter.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.context.cache import UNSCANNED, content_digest, content_flags
from agent.context.repomap import RankedFile, RepoMap
from agent.context.tokens import apply_factor, count_tokens, raw_o200k_count

PACK_OPEN = "<repository_pack>\n"
PACK_CLOSE = "</repository_pack>\n"
MAP_OPEN = '<repo_map note="definition lines of files not included in full">\n'
MAP_CLOSE = "</repo_map>\n"
MAX_FULL_SHARE = 0.5
"""A single file may take at most this share of a budget; bigger ones are only mapped."""


def map_share(budget: int) -> int:
    """Tokens kept for the map: most of a small window, a thin slice of a huge one."""
    if budget <= 8_192:
        return budget // 3
    return max(budget // 3 if budget <= 16_384 else 0, min(budget // 10, 32_768), 4_096)


@dataclass(frozen=True)
class Pack:
    text: str
    tokens: int
    full_files: tuple[str, ...]
    """Files whose whole content is in the pack, in pack order."""
    mapped_files: tuple[str, ...]
    """Files present only as definition lines in the map."""


class _Packer:
    def __init__(self, repo_map: RepoMap, ranking: list[RankedFile], family: str) -> None:
        self.rm, self.ranking, self.family = repo_map, ranking, family
        self._blocks: dict[str, tuple[str, int] | None] = {}

    def block(self, path: str) -> tuple[str, int] | None:
        """(text, tokens) of a file's full block, or None when it cannot be read as text."""
        if path not in self._blocks:
            self._blocks[path] = self._read(path)
        return self._blocks[path]

    def _read(self, path: str) -> tuple[str, int] | None:
        entry = self.rm.entries.get(path)
        if entry is None or not entry.packable:
            return None
        try:
            data = (self.rm.root / path).read_bytes()
        except OSError:
            return None
        if entry.flags & UNSCANNED or entry.digest != content_digest(data):
            flags = content_flags(data)  # never trust a name alone: check what is packed
            if self.rm.cache is not None and entry.flags & UNSCANNED:
                self.rm.cache.set_scanned(path, content_digest(data), flags)
            if flags:
                return None
        try:
            content = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if content and not content.endswith("\n"):
            content += "\n"
        text = f'<file path="{path}">\n{content}</file>\n'
        raw = entry.tokens
        if raw < 0:
            raw = raw_o200k_count(content)
            if raw is not None and self.rm.cache is not None:
                self.rm.cache.set_tokens(path, raw)
        if raw is None:
            return text, count_tokens(text, self.family)
        return text, apply_factor(raw + 8 + len(path) // 3, self.family)  # + the <file> lines, generously

    def order(self) -> dict[str, tuple[int, str]]:
        return {p: (e.gen, p) for p, e in self.rm.entries.items()}

    def assemble(self, full: list[str], budget: int, query: str, focus: Sequence[str]) -> Pack:
        order = self.order()
        full_sorted = sorted(full, key=lambda p: order[p])
        body = "".join(self.block(p)[0] for p in full_sorted)  # type: ignore[index]
        fixed = count_tokens(PACK_OPEN + body + MAP_OPEN + MAP_CLOSE + PACK_CLOSE, self.family)
        room = budget - fixed
        while True:
            rendered = self.rm.render_map(
                max(0, room),
                focus,
                (),
                (),
                query,
                exclude=full,
                ranking=self.ranking,
                order=order,
                model_family=self.family,
            )
            map_part = MAP_OPEN + rendered.text + MAP_CLOSE if rendered.text else ""
            text = PACK_OPEN + body + map_part + PACK_CLOSE
            tokens = count_tokens(text, self.family)
            if tokens <= budget or room <= 0:
                return Pack(text, tokens, tuple(full_sorted), rendered.files)
            room -= tokens - budget


def _fill(packer: _Packer, chosen: list[str], used: int, limit: int, budget: int) -> int:
    """Greedy in rank order: add every file that still fits; returns the tokens used."""
    taken = set(chosen)
    for ranked in packer.ranking:
        if limit - used < 64:
            break
        if ranked.path in taken:
            continue
        block = packer.block(ranked.path)
        if block is None or block[1] > budget * MAX_FULL_SHARE or used + block[1] > limit:
            continue
        chosen.append(ranked.path)
        taken.add(ranked.path)
        used += block[1]
    return used


def build_nested_packs(
    root: Path | str,
    budgets: Iterable[int],
    query: str = "",
    focus: Sequence[str] = (),
    *,
    model_family: str = "generic",
    repo_map: RepoMap | None = None,
) -> list[Pack]:
    """One pack per budget (ascending), from one ranking; each pack's full files contain the previous'."""
    rm = repo_map or RepoMap(root)
    rm.refresh(code_only=False)  # docs and other text files are packable too
    ranking = rm.rank(focus_files=focus, query=query, refresh=False)
    packer = _Packer(rm, ranking, model_family)
    packs: list[Pack] = []
    chosen: list[str] = []
    used = 0
    for budget in sorted(budgets):
        if budget <= 0:
            raise ValueError(f"budget must be positive, got {budget}")
        base = list(chosen)
        used = _fill(packer, chosen, used, budget - map_share(budget), budget)
        pack = packer.assemble(chosen, budget, query, focus)
        while pack.tokens > budget and len(chosen) > len(base):  # estimates were short: drop new files
            dropped = chosen.pop()
            used -= packer.block(dropped)[1]  # type: ignore[index]
            pack = packer.assemble(chosen, budget, query, focus)
        packs.append(pack)
    if rm.cache is not None:
        rm.cache.maybe_save()
    return packs


def build_pack(
    root: Path | str,
    budget_tokens: int,
    query: str = "",
    focus: Sequence[str] = (),
    *,
    model_family: str = "generic",
    repo_map: RepoMap | None = None,
) -> Pack:
    """Fill ``budget_tokens`` with the highest-ranked files in full plus the map of the rest."""
    return build_nested_packs(
        root, [budget_tokens], query, focus, model_family=model_family, repo_map=repo_map
    )[0]


def relative_focus(root: Path | str, paths: Iterable[str]) -> list[str]:
    """Focus arguments as repo-relative POSIX paths (accepts absolute or cwd-relative paths)."""
    base = os.path.realpath(root)
    out = []
    for p in paths:
        real = os.path.realpath(p) if Path(p).exists() else str(Path(base) / p)
        out.append(Path(os.path.relpath(real, base)).as_posix())
    return out
