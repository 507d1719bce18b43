"""Build the edit benchmark corpus from real changes between consecutive releases of Python projects.

Sdists come from PyPI (``pip download --no-deps --no-binary :all:``) into ``.bench-cache/sdists``
(gitignored; nothing downloaded is committed). Every change between two releases of a ``.py`` file
becomes an edit a model might send, then the mistakes models make are applied to it. Each case is
labelled with the exact bytes the file must hold afterwards, or ``None``: the tool must refuse and
leave the file untouched. Labels are derived from the real change, never from the tool under test.
"""

from __future__ import annotations

import difflib
import random
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

RELEASES = {
    "attrs": ["23.1.0", "23.2.0", "24.1.0"],
    "click": ["8.1.3", "8.1.4"],
    "more-itertools": ["10.1.0", "10.2.0", "10.3.0"],
    "itsdangerous": ["2.0.1", "2.1.0", "2.1.2"],
}
MAX_HUNK_LINES = 30
CHANGES_PER_RELEASE = 45
"""Changes sampled per release pair (every changed file still gets its patch cases)."""
IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]{2,}\b")


@dataclass
class Case:
    id: str
    mistake: str
    tool: str
    file: bytes
    args: dict[str, object]
    expected: bytes | None
    """The file's bytes after a correct tool call; None = the call must be refused."""
    stale: bool = False
    """Change the file on disk after the model read it."""
    path: str = "mod.py"
    extra: dict[str, bytes] = field(default_factory=dict)


def download(cache: Path) -> dict[tuple[str, str], Path]:
    """Fetch the sdists once (cached)."""
    folder = cache / "sdists"
    folder.mkdir(parents=True, exist_ok=True)
    found = {}
    for name, versions in RELEASES.items():
        for version in versions:
            stem = f"{name.replace('-', '[-_]')}-{re.escape(version)}\\.tar\\.gz"
            hits = [p for p in folder.iterdir() if re.fullmatch(stem, p.name, re.IGNORECASE)]
            if not hits:
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pip",
                        "download",
                        "-q",
                        "--no-deps",
                        "--no-binary",
                        ":all:",
                        "-d",
                        str(folder),
                        f"{name}=={version}",
                    ],
                    check=True,
                )
                hits = [p for p in folder.iterdir() if re.fullmatch(stem, p.name, re.IGNORECASE)]
            found[(name, version)] = hits[0]
    return found


def python_files(sdist: Path) -> dict[str, str]:
    """The sdist's .py files by path below the top folder (UTF-8 text ending in a newline only)."""
    files = {}
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".py"):
                raw = tar.extractfile(member).read()  # type: ignore[union-attr]
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if text.endswith("\n") and "\r" not in text and "\t" not in text:
                    files[member.name.split("/", 1)[1]] = text
    return files


def file_pairs(cache: Path) -> Iterator[tuple[str, str, str]]:
    """(label, old text, new text) for every .py file that changed between consecutive releases."""
    sdists = download(cache)
    for name, versions in RELEASES.items():
        for old_v, new_v in zip(versions, versions[1:], strict=False):
            old, new = python_files(sdists[(name, old_v)]), python_files(sdists[(name, new_v)])
            for path in sorted(old.keys() & new.keys()):
                if old[path] != new[path]:
                    yield f"{name}-{old_v}..{new_v}:{path}", old[path], new[path]


def joined(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


@dataclass
class Change:
    """One real change: old lines [i1, i2) become new lines; the model quotes [a, b) of the old file."""

    old: list[str]
    new_lines: list[str]
    i1: int
    i2: int
    a: int
    b: int

    @property
    def before(self) -> list[str]:
        return self.old[self.a : self.i1]

    @property
    def after(self) -> list[str]:
        return self.old[self.i2 : self.b]

    def old_string(self) -> list[str]:
        return self.old[self.a : self.b]

    def new_string(self) -> list[str]:
        return self.before + self.new_lines + self.after

    def new_positions(self) -> list[tuple[int | None, str]]:
        """The model's new_string lines, each with its old-file line number if it is unchanged context."""
        return (
            [(self.a + i, line) for i, line in enumerate(self.before)]
            + [(None, line) for line in self.new_lines]
            + [(self.i2 + i, line) for i, line in enumerate(self.after)]
        )

    def result(self, old: list[str] | None = None) -> list[str]:
        base = old or self.old
        return base[: self.i1] + self.new_lines + base[self.i2 :]


def changes(old_text: str, new_text: str) -> Iterator[tuple[Change | None, Change]]:
    """Each change with the smallest context that makes the quoted text unique (None if none does)."""
    old, new = old_text.split("\n")[:-1], new_text.split("\n")[:-1]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal" or max(i2 - i1, j2 - j1) > MAX_HUNK_LINES:
            continue
        first = None
        for k in range(0 if i2 > i1 else 1, 7):
            a, b = max(0, i1 - k), min(len(old), i2 + k)
            change = Change(old, new[j1:j2], i1, i2, a, b)
            if first is None:
                first = change
            quoted = joined(change.old_string())
            if quoted.strip() and old_text.count(quoted) == 1:
                yield change, first
                break
        else:
            if first is not None and first.old_string() and joined(first.old_string()).strip():
                yield None, first


def _edit(
    cid: str,
    mistake: str,
    file: str | bytes,
    old: list[str] | str,
    new: list[str] | str,
    expected: list[str] | bytes | None,
    **kw: object,
) -> Case:
    def text(v: list[str] | str) -> str:
        return joined(v) if isinstance(v, list) else v

    if expected is not None and mistake in _WHITESPACE_MISTAKES:
        file_text = file if isinstance(file, str) else file.decode()
        if not _unique_modulo_whitespace(file_text.split("\n"), text(old).split("\n")):
            expected = None

    data = file.encode() if isinstance(file, str) else file
    want = joined(expected).encode() if isinstance(expected, list) else expected
    return Case(
        cid,
        mistake,
        "edit_file",
        data,
        {"path": "mod.py", "old_string": text(old), "new_string": text(new)},
        want,
        **kw,
    )  # type: ignore[arg-type]


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _unique_modulo_whitespace(file_lines: list[str], quoted: list[str]) -> bool:
    """Does the quote (lines stripped, blank lines dropped) occur once in the file taken the same way?
    An edit whose quote is not unique this way cannot be placed by anyone: its label is "reject"."""
    hay = [line.strip() for line in file_lines if line.strip()]
    needle = [line.strip() for line in quoted if line.strip()]
    first = needle[0] if needle else None
    hits = sum(1 for i, line in enumerate(hay) if line == first and hay[i : i + len(needle)] == needle)
    return hits == 1


_WHITESPACE_MISTAKES = {
    "indent_shift+4",
    "indent_shift-4",
    "first_line_unindented",
    "trailing_ws_in_file",
    "trailing_ws_in_old_string",
    "missing_blank_line",
    "extra_blank_line",
}


def shift(lines: list[str], by: int) -> list[str] | None:
    out = []
    for line in lines:
        if not line.strip():
            out.append(line)
        elif by > 0:
            out.append(" " * by + line)
        elif line.startswith(" " * -by):
            out.append(line[-by:])
        else:
            return None
    return out


def edit_cases(cid: str, change: Change, rng: random.Random) -> Iterator[Case]:
    old_text = joined(change.old)
    old_s, new_s, want = change.old_string(), change.new_string(), change.result()
    if old_s == new_s:
        return
    yield _edit(cid, "clean", old_text, old_s, new_s, want)
    for by in (4, -4):
        o, n = shift(old_s, by), shift(new_s, by)
        if o is not None and n is not None and o != n:
            yield _edit(cid, f"indent_shift{by:+d}", old_text, o, n, want)
    if (
        old_s[0].strip()
        and old_s[0] != old_s[0].lstrip()
        and new_s
        and _indent(new_s[0]) == _indent(old_s[0])
    ):
        yield _edit(
            cid,
            "first_line_unindented",
            old_text,
            [old_s[0].lstrip()] + old_s[1:],
            [new_s[0].lstrip()] + new_s[1:],
            want,
        )
    ctx = [k for k in range(change.a, change.b) if not change.i1 <= k < change.i2 and change.old[k].strip()]
    if ctx:
        drifted = list(change.old)
        for k in ctx[:2]:
            drifted[k] += "  "
        yield _edit(cid, "trailing_ws_in_file", joined(drifted), old_s, new_s, change.result(drifted))
        marked = ctx[:2]
        o = [line + " " if change.a + i in marked else line for i, line in enumerate(old_s)]
        n = [line + " " if k in marked else line for k, line in change.new_positions()]
        yield _edit(cid, "trailing_ws_in_old_string", old_text, o, n, want)
    yield _edit(cid, "crlf_file", crlf(old_text), old_s, new_s, crlf(joined(want)))
    yield _edit(
        cid,
        "crlf_old_string",
        old_text,
        joined(old_s).replace("\n", "\r\n"),
        joined(new_s).replace("\n", "\r\n"),
        want,
    )
    blanks = [
        k for k in range(change.a, change.b) if not change.i1 <= k < change.i2 and not change.old[k].strip()
    ]
    if blanks:
        k = blanks[0]
        yield _edit(
            cid,
            "missing_blank_line",
            old_text,
            old_s[: k - change.a] + old_s[k - change.a + 1 :],
            [line for pos, line in change.new_positions() if pos != k],
            want,
        )
    if len(change.before) >= 2:
        cut = 1
        yield _edit(
            cid,
            "extra_blank_line",
            old_text,
            old_s[:cut] + [""] + old_s[cut:],
            new_s[:cut] + [""] + new_s[cut:],
            want,
        )
    yield from _reject_cases(cid, change, rng)


def _reject_cases(cid: str, change: Change, rng: random.Random) -> Iterator[Case]:
    old_text = joined(change.old)
    old_s, new_s = change.old_string(), change.new_string()
    present = {line.strip() for line in change.old}
    for index in rng.sample(range(len(old_s)), len(old_s)):
        words = IDENT.findall(old_s[index])
        if not words:
            continue
        word = rng.choice(words)
        wrong = re.sub(
            rf"\b{word}\b", word + "s" if not word.endswith("s") else word[:-1], old_s[index], count=1
        )
        if wrong.strip() not in present:
            yield _edit(
                cid, "wrong_token", old_text, old_s[:index] + [wrong] + old_s[index + 1 :], new_s, None
            )
            break
    for indent in ("", "    "):
        copy = [indent + line if line.strip() else line for line in old_s]
        at = rng.choice([0, len(change.old)])
        dup = change.old[:at] + copy + change.old[at:]
        yield _edit(cid, f"duplicated_region{'_shifted' if indent else ''}", joined(dup), old_s, new_s, None)
    yield _edit(cid, "stale_file", old_text, old_s, new_s, None, stale=True)


def ambiguous_case(cid: str, change: Change) -> Case:
    """The model quoted too little: the snippet occurs more than once."""
    return _edit(cid, "ambiguous_snippet", joined(change.old), change.old_string(), change.new_string(), None)


def patch_cases(cid: str, old_text: str, new_text: str, rng: random.Random) -> Iterator[Case]:
    old, new = old_text.splitlines(keepends=True), new_text.splitlines(keepends=True)
    diff = list(difflib.unified_diff(old, new, "a/mod.py", "b/mod.py", n=3))
    hunks = sum(line.startswith("@@") for line in diff)
    if not diff or hunks > 12:
        return
    want = new_text.encode()
    yield Case(cid, "patch_unified", "apply_patch", old_text.encode(), {"patch": "".join(diff)}, want)
    drift = rng.choice([-1, 1]) * rng.randint(3, 40)
    stale = [
        re.sub(
            r"^@@ -(\d+)(,\d+)? \+(\d+)",
            lambda m: f"@@ -{max(1, int(m[1]) + drift)}{m[2] or ''} +{max(1, int(m[3]) + drift)}",
            line,
        )
        if line.startswith("@@")
        else line
        for line in diff
    ]
    yield Case(cid, "patch_stale_numbers", "apply_patch", old_text.encode(), {"patch": "".join(stale)}, want)
    spaced = [line[:-1] + "  \n" if line.startswith(" ") and line.strip() else line for line in diff]
    yield Case(cid, "patch_ws_drift", "apply_patch", old_text.encode(), {"patch": "".join(spaced)}, want)
    body = ["*** Begin Patch\n", "*** Update File: mod.py\n"]
    body += ["@@\n" if line.startswith("@@") else line for line in diff[2:]]
    codex = "".join(body) + ("" if body[-1].endswith("\n") else "\n") + "*** End Patch\n"
    yield Case(cid, "patch_codex", "apply_patch", old_text.encode(), {"patch": codex}, want)
    yield Case(
        cid, "patch_crlf_file", "apply_patch", crlf(old_text), {"patch": "".join(diff)}, crlf(new_text)
    )
    present = {line.strip() for line in old}
    for index in rng.sample(range(len(diff)), len(diff)):
        line = diff[index]
        words = IDENT.findall(line) if line.startswith(" ") else []
        if words:
            word = rng.choice(words)
            wrong = re.sub(rf"\b{word}\b", word + "_old", line, count=1)
            if wrong[1:].strip() not in present:
                broken = diff[:index] + [wrong] + diff[index + 1 :]
                yield Case(
                    cid,
                    "patch_wrong_context",
                    "apply_patch",
                    old_text.encode(),
                    {"patch": "".join(broken)},
                    None,
                )
                break


def build(cache: Path, seed: int = 7, per_release: int = CHANGES_PER_RELEASE) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    by_release: dict[str, list[tuple[str, Change | None, Change]]] = {}
    for label, old_text, new_text in file_pairs(cache):
        found = by_release.setdefault(label.split(":")[0], [])
        found += [
            (f"{label}#{n}", change, first) for n, (change, first) in enumerate(changes(old_text, new_text))
        ]
        cases.extend(patch_cases(label, old_text, new_text, rng))
    for found in by_release.values():
        for cid, change, first in rng.sample(found, min(len(found), per_release)):
            cases.extend(edit_cases(cid, change, rng) if change else [ambiguous_case(cid, first)])
    return cases
