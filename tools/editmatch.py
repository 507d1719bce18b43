"""Where does ``old_string`` sit in the file? Exactly one answer, or none.

Levels, strictest first: exact text; then whole lines equal up to trailing whitespace; then up to a
consistent indentation shift (and tabs vs spaces); then also ignoring missing or extra blank lines.
The loosest level doubles as the uniqueness check: an exact whole-line match is refused when the same
lines also appear elsewhere with other indentation or blank lines, because the model may have meant
that other place and shifted its copy (the most common way an edit lands in the wrong place).

A fuzzy match is applied as the model's own change: lines the model did not change keep the file's
real text (its whitespace, its blank lines), changed lines are re-indented to the file's indentation.
A one-line old_string that lost its indentation has two readings of new_string's indentation; it is
re-indented only when exactly one of them is possible (see _readings).
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from tools import ToolRetry
from tools.diffs import numbered

LEVELS = ("exact", "whitespace", "indentation", "blank-lines")


@dataclass(frozen=True)
class Candidate:
    """A line-level match: ``align[i]`` is the file line of old line ``i`` (None = not in the file)."""

    align: tuple[int | None, ...]
    lo: int
    hi: int
    level: str
    reindent: Callable[[str, bool], str]


@dataclass(frozen=True)
class EditPlan:
    text: str
    level: str
    lines: tuple[int, ...]
    """1-based first line of each replaced region, in the old file."""


def _split(s: str) -> list[str]:
    if not s:
        return []
    lines = s.split("\n")
    if s.endswith("\n"):
        lines.pop()
    return lines


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def plan(text: str, old: str, new: str, *, replace_all: bool = False, name: str = "the file") -> EditPlan:
    """Apply the edit to ``text`` in memory, or raise ToolRetry saying why not and what to do."""
    old, new = old.replace("\r\n", "\n"), new.replace("\r\n", "\n")
    if old == new:
        raise ToolRetry("old_string and new_string are identical; there is nothing to change")
    if not old:
        raise ToolRetry(f"old_string is empty but {name} exists; give the exact text to replace "
                        "(use write_file to replace a whole file)")
    exact = [pos for pos in _find_all(text, old) if not _shifted(text, pos, old)]
    if exact and (replace_all or len(exact) == 1):
        if len(exact) == 1 and _whole_lines(text, exact[0], old):
            loose = find_candidates(text.split("\n"), _split(old))
            if len(loose) > 1:
                raise _shifted_twins(name, text.count("\n", 0, exact[0]) + 1, [c.lo + 1 for c in loose])
        out, last, level = [], 0, "exact"
        for pos in exact:
            start, replacement = _unindented_start(text, pos, old, new, name)
            out += [text[last:start], replacement]
            last, level = pos + len(old), level if replacement == new else "indentation"
        lines = tuple(text.count("\n", 0, pos) + 1 for pos in exact)
        return EditPlan("".join(out) + text[last:], level, lines)
    if exact:
        raise _ambiguous(name, [text.count("\n", 0, p) + 1 for p in exact], "exactly")
    file_lines = text.split("\n")
    old_lines, new_lines = _split(old), _split(new)
    found = find_candidates(file_lines, old_lines)
    if not found:
        raise ToolRetry(no_match_message(file_lines, old_lines, name))
    if len(found) > 1 and not replace_all:
        raise _ambiguous(name, [c.lo + 1 for c in found], "when whitespace is ignored")
    chosen, end = [], -1
    for cand in found:
        if cand.lo > end:
            chosen.append(cand)
            end = cand.hi
    for cand in reversed(chosen):
        file_lines[cand.lo:cand.hi + 1] = merge(file_lines, old_lines, new_lines, cand)
    level = max((c.level for c in chosen), key=LEVELS.index)
    return EditPlan("\n".join(file_lines), level, tuple(c.lo + 1 for c in chosen))


def _find_all(text: str, old: str) -> list[int]:
    found, pos = [], text.find(old)
    while pos != -1:
        found.append(pos)
        pos = text.find(old, pos + len(old))
    return found


def _shifted(text: str, pos: int, old: str) -> bool:
    """A match that starts inside a line's indentation while old_string itself starts indented:
    the model's copy is less indented than the file, so its other lines would land too far left."""
    prefix = text[text.rfind("\n", 0, pos) + 1:pos]
    return bool(prefix) and not prefix.strip() and old[:1] in (" ", "\t")


def _unindented_start(text: str, pos: int, old: str, new: str, name: str) -> tuple[int, str]:
    """Where the replacement starts, and what it is, when old_string left out its first line's indentation.

    Deleting such whole lines deletes the indentation too. A one-line old_string that becomes several
    lines reads two ways: every line of new_string is shifted left like its first line (re-indent them
    all by the line's indentation), or only its first line lost the indentation. Both are kept only when
    they could be meant (see _readings); the edit is made when exactly one reading is left.
    """
    line_start = text.rfind("\n", 0, pos) + 1
    prefix = text[line_start:pos]
    if not prefix or prefix.strip() or old[:1] in (" ", "\t"):
        return pos, new
    if not new and old.endswith("\n"):
        return line_start, new
    if "\n" not in old.rstrip("\n") and sum(1 for line in new.split("\n") if line.strip()) > 1:
        readings = _readings(text, line_start, pos + len(old), prefix, new, name)
        if len(readings) != 1 or not _whole_lines(text, pos, old):
            number = text.count("\n", 0, pos) + 1
            raise ToolRetry(
                f"old_string matches line {number} without its leading indentation, and new_string has "
                "several lines, so their indentation is ambiguous (shifted like the first line, or only "
                "the first line unindented); nothing was changed. Include the line's full indentation in "
                "old_string and write new_string with the indentation each line should have."
            )
        return line_start, readings[0]
    return pos, new


def _readings(text: str, start: int, end: int, indent: str, new: str, name: str) -> list[str]:
    """The readings of new_string that could be meant, re-indented for the file.

    Shifting every line is refused when it would mix tabs and spaces. When new_string starts with an
    unindented line, either reading fits its text, so only the compiler can tell them apart: in a
    Python file that compiles, a reading whose result does not compile is dropped (the readings differ
    only in indentation, so when one is a syntax error the model meant the other); elsewhere, or when
    both compile, the edit is refused.
    """
    lines = new.split("\n")
    found = []
    if all(set(_indent(line)) <= set(indent) for line in lines):
        found.append("\n".join(indent + line if line.strip() else line for line in lines))
    if lines[0][:1].strip():
        if not (name.endswith((".py", ".pyi")) and _compiles(text, name)):
            return []
        found = [r for r in [*found, indent + new] if _compiles(text[:start] + r + text[end:], name)]
    return found


def _compiles(source: str, name: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(source, name, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def _whole_lines(text: str, pos: int, old: str) -> bool:
    """Does the match cover whole lines (indentation before it allowed)?"""
    line_start = text.rfind("\n", 0, pos) + 1
    end = pos + len(old)
    return not text[line_start:pos].strip() and (old.endswith("\n") or end == len(text) or text[end] == "\n")


def _ambiguous(name: str, lines: list[int], how: str) -> ToolRetry:
    shown = ", ".join(str(n) for n in lines[:12]) + (" …" if len(lines) > 12 else "")
    return ToolRetry(
        f"old_string matches {len(lines)} places in {name} {how} (starting at lines {shown}); nothing was "
        "changed. Include more surrounding lines in old_string so it matches exactly one place, or set "
        "replace_all=true to change every occurrence."
    )


def _shifted_twins(name: str, line: int, starts: list[int]) -> ToolRetry:
    others = ", ".join(str(n) for n in starts if n != line)
    return ToolRetry(
        f"old_string matches {name} exactly once (line {line}), but the same lines with other indentation "
        f"or blank lines also appear at line(s) {others}; a copy with shifted indentation would mean one "
        "of those, so nothing was changed. Include a neighbouring line that makes old_string unique even "
        "when indentation is ignored."
    )


def find_candidates(file_lines: list[str], old_lines: list[str]) -> list[Candidate]:
    """Every place the old lines match at the loosest level, labelled with the strictest level that fits."""
    core = [i for i, line in enumerate(old_lines) if line.strip()]
    if not core:
        return []
    keys = [line.strip() for line in file_lines]
    nonblank = [j for j, k in enumerate(keys) if k]
    position = {j: n for n, j in enumerate(nonblank)}
    first = old_lines[core[0]].strip()
    found = []
    for j in (j for j in nonblank if keys[j] == first):
        n = position[j]
        if n + len(core) > len(nonblank):
            break
        pairs = [(i, nonblank[n + t]) for t, i in enumerate(core)]
        if any(keys[f] != old_lines[i].strip() for i, f in pairs):
            continue
        reindent = _indent_relation(file_lines, old_lines, pairs)
        if reindent is None:
            continue
        found.append(_candidate(file_lines, old_lines, pairs, reindent))
    return found


def _indent_relation(file_lines: list[str], old_lines: list[str],
                     pairs: list[tuple[int, int]]) -> Callable[[str, bool], str] | None:
    """How to turn the model's indentation into the file's, if one consistent shift explains every line."""
    first_free = len(pairs) > 1 and not _indent(old_lines[pairs[0][0]])
    checked = pairs[1:] if first_free else pairs
    first_file_indent = _indent(file_lines[pairs[0][1]])
    for convert in _CONVERSIONS:
        rel = _shift([(convert(_indent(old_lines[i])), _indent(file_lines[f])) for i, f in checked])
        if rel is not None:
            add, remove = rel

            def reindent(line: str, is_first: bool, convert=convert, add=add, remove=remove) -> str:
                if not line.strip():
                    return line
                body = line.lstrip()
                indent = convert(_indent(line))
                if is_first and first_free and not indent:
                    return first_file_indent + body
                if indent.startswith(remove):
                    indent = indent[len(remove):]
                else:  # less indented than the shift: remove what is there
                    indent = indent.lstrip(remove[:1] or " ")
                return add + indent + body

            return reindent
    return None


def _shift(indents: list[tuple[str, str]]) -> tuple[str, str] | None:
    """(prefix to add, prefix to remove) so that every old indent becomes its file indent."""
    if not indents:
        return "", ""
    old0, file0 = indents[0]
    if file0.endswith(old0):
        add = file0[: len(file0) - len(old0)]
        if all(f == add + o for o, f in indents):
            return add, ""
    if old0.endswith(file0):
        remove = old0[: len(old0) - len(file0)]
        if all(o == remove + f for o, f in indents):
            return "", remove
    return None


def _tabs(width: int) -> Callable[[str], str]:
    return lambda indent: indent.replace(" " * width, "\t")


def _spaces(width: int) -> Callable[[str], str]:
    return lambda indent: indent.replace("\t", " " * width)


_CONVERSIONS: tuple[Callable[[str], str], ...] = (
    lambda indent: indent, _tabs(4), _tabs(8), _tabs(2), _spaces(4), _spaces(8), _spaces(2),
)


def _candidate(file_lines: list[str], old_lines: list[str], pairs: list[tuple[int, int]],
               reindent: Callable[[str, bool], str]) -> Candidate:
    align: list[int | None] = [None] * len(old_lines)
    for (i0, f0), (i1, f1) in zip(pairs, pairs[1:] + [(None, None)], strict=True):
        align[i0] = f0
        if i1 is None:
            break
        for k in range(min(i1 - i0, f1 - f0) - 1):  # blank lines between two matched lines
            align[i0 + 1 + k] = f0 + 1 + k
    i, f = pairs[0]
    while i > 0 and f > 0 and not old_lines[i - 1].strip() and not file_lines[f - 1].strip():
        i, f = i - 1, f - 1
        align[i] = f
    i, f = pairs[-1]
    while i + 1 < len(old_lines) and f + 1 < len(file_lines) - 1 and not old_lines[i + 1].strip() \
            and not file_lines[f + 1].strip():
        i, f = i + 1, f + 1
        align[i] = f
    spans = [f for f in align if f is not None]
    lo, hi = min(spans), max(spans)
    gaps = any(a is None for a in align) or hi - lo + 1 != len(old_lines)
    same_indent = all(reindent(old_lines[i], i == 0) == old_lines[i] for i, _ in pairs)
    if gaps:
        level = "blank-lines"
    elif not same_indent or any(_indent(file_lines[f]) != _indent(old_lines[i]) for i, f in pairs[1:]):
        level = "indentation"
    else:
        level = "whitespace"
    return Candidate(tuple(align), lo, hi, level, reindent)


def merge(file_lines: list[str], old_lines: list[str], new_lines: list[str], cand: Candidate) -> list[str]:
    """The region's new lines: the model's change applied, with everything it did not change kept as is."""
    out: list[str] = []
    cursor = cand.lo
    ops = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes()
    gaps = _gap_boundaries(cand.align, old_lines)
    if any(_ambiguous_blanks(tag, i1, i2, gaps, cand.align) for tag, i1, i2, _, _ in ops):
        raise ToolRetry(
            f"the blank lines in your text differ from the file's (near line {cand.lo + 1}) right where "
            "the edit changes lines, so where blank lines belong is ambiguous; nothing was changed. Copy "
            "the lines to replace exactly from the file, blank lines included."
        )
    for tag, i1, i2, j1, j2 in ops:
        aligned = [f for f in cand.align[i1:i2] if f is not None]
        if tag == "equal":
            if aligned:
                out += file_lines[cursor:aligned[-1] + 1]
                cursor = aligned[-1] + 1
            continue
        if aligned:
            out += file_lines[cursor:aligned[0]]
            cursor = aligned[-1] + 1
        out += [cand.reindent(new_lines[j], j == 0) for j in range(j1, j2)]
    return out + file_lines[cursor:cand.hi + 1]


def _ambiguous_blanks(tag: str, i1: int, i2: int, gaps: set[int], align: tuple[int | None, ...]) -> bool:
    """Does this change of the model's touch blank lines it disagrees with the file about?

    Lines inserted at a boundary inside such a blank run could go on either side of the file's blank
    lines; a replaced range that contains one would drop or keep blank lines by guesswork. Replacing
    whole matched lines next to the run is fine: they are pinned to their file lines.
    """
    if tag == "equal":
        return False
    if tag == "insert":
        return i1 in gaps
    return bool(gaps.intersection(range(i1 + 1, i2))) or any(align[i] is None for i in range(i1, i2))


def _gap_boundaries(align: tuple[int | None, ...], old_lines: list[str]) -> set[int]:
    """Boundaries between old lines (k = just before old line k) inside a run of blank lines whose
    length differs from the file's: which of those blank lines an edit sits next to is unknowable."""
    core = [i for i, line in enumerate(old_lines) if line.strip()]
    bounds: set[int] = set()
    if any(align[i] is None for i in range(core[0])):
        bounds |= set(range(core[0] + 1))
    if any(align[i] is None for i in range(core[-1] + 1, len(old_lines))):
        bounds |= set(range(core[-1] + 1, len(old_lines) + 1))
    for c0, c1 in zip(core, core[1:], strict=False):
        if align[c1] - align[c0] != c1 - c0:  # type: ignore[operator]
            bounds |= set(range(c0 + 1, c1 + 1))
    return bounds


def no_match_message(file_lines: list[str], old_lines: list[str], name: str) -> str:
    """'Not found', quoting the most similar region of the file with line numbers."""
    if file_lines and file_lines[-1] == "":
        file_lines = file_lines[:-1]  # the empty string after the final newline is not a line
    width = max(1, len(old_lines))
    wanted = {line.strip() for line in old_lines if line.strip()}
    hits = [1 if line.strip() in wanted else 0 for line in file_lines]
    windows, total = [], sum(hits[:width])
    for start in range(max(1, len(file_lines) - width + 1)):
        if start:
            total += (hits[start + width - 1] if start + width - 1 < len(hits) else 0) - hits[start - 1]
        windows.append((total, start))
    best = sorted(windows, reverse=True)[:8]
    target = "\n".join(line.strip() for line in old_lines)

    def similarity(start: int) -> float:
        region = "\n".join(line.strip() for line in file_lines[start:start + width])
        return difflib.SequenceMatcher(None, target, region, autojunk=False).ratio()

    if not best or best[0][0] == 0:
        key = next((line.strip() for line in old_lines if line.strip()), "")
        scores = [(difflib.SequenceMatcher(None, key, line.strip()).quick_ratio(), j)
                  for j, line in enumerate(file_lines[:20000])]
        best = [(0, max(0, j - 1)) for _, j in sorted(scores, reverse=True)[:8]]
    score, start = max((similarity(s), s) for _, s in best)
    shown = file_lines[start:start + min(width + 2, 30)]
    head = f"old_string was not found in {name}; nothing was changed."
    if score < 0.3:
        return head + " No similar region exists: read_file it and copy the lines to replace exactly."
    return (f"{head} The most similar region ({round(score * 100)}% alike) is lines "
            f"{start + 1}-{start + len(shown)}:\n{numbered(shown, start + 1)}\n"
            "Copy the text to replace exactly from the current file (read_file it again if unsure), "
            "then retry.")
