"""Property tests: a unique region is edited exactly; a duplicated region is never edited."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from tools import ToolRetry, ToolSession, editmatch, run_tool

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_=()[]:.,'", min_size=1, max_size=12)
LINE = st.builds(lambda indent, words: "    " * indent + " ".join(words),
                 st.integers(0, 3), st.lists(WORD, min_size=1, max_size=4))
UNIQUE_LINES = st.lists(LINE, min_size=3, max_size=40, unique_by=lambda line: line.strip())
NEW_TEXT = st.lists(LINE, min_size=0, max_size=5).map(lambda lines: "".join(line + "\n" for line in lines))


@st.composite
def file_and_region(draw):
    lines = draw(UNIQUE_LINES)
    start = draw(st.integers(0, len(lines) - 1))
    end = draw(st.integers(start + 1, min(len(lines), start + 6)))
    return lines, start, end


def joined(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


@settings(max_examples=200, deadline=None)
@given(file_and_region(), NEW_TEXT)
def test_a_unique_region_is_replaced_exactly(case, new):
    lines, start, end = case
    old = joined(lines[start:end])
    assume(old != new and joined(lines).count(old) == 1)  # "0\n" also occurs inside "1 0\n"
    result = editmatch.plan(joined(lines), old, new)
    assert result.text == joined(lines[:start]) + new + joined(lines[end:])
    assert result.lines == (start + 1,)


@settings(max_examples=150, deadline=None)
@given(file_and_region(), NEW_TEXT, st.sampled_from(["  ", "    ", "\t"]))
def test_a_unique_region_with_shifted_indentation_lands_in_place(case, new, shift):
    """The model's copy is indented more than the file: the edit still lands on the right lines."""
    lines, start, end = case
    old = "".join(shift + line + "\n" for line in lines[start:end])
    new_shifted = "".join(shift + line + "\n" if line else "\n" for line in new.split("\n")[:-1])
    assume(old != new_shifted)
    result = editmatch.plan(joined(lines), old, new_shifted)
    assert result.text == joined(lines[:start]) + new + joined(lines[end:])


@settings(max_examples=200, deadline=None)
@given(file_and_region(), NEW_TEXT, st.integers(0, 40), st.sampled_from(["", "    ", "\t"]))
def test_a_duplicated_region_is_always_rejected(case, new, where, indent):
    """Two copies of the region (the second possibly re-indented): no level may pick one of them."""
    lines, start, end = case
    region = lines[start:end]
    copy = [indent + line if line else line for line in region]
    at = where % (len(lines) + 1)
    assume(at <= start or at >= end)  # a copy inside the region would interleave with it, not repeat it
    text = joined(lines[:at] + copy + lines[at:])
    old = joined(region)
    assume(old != new)
    with pytest.raises(ToolRetry, match="places|also appear at"):
        editmatch.plan(text, old, new)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file_and_region(), NEW_TEXT)
def test_through_the_tool_on_real_files(case, new):
    lines, start, end = case
    old = joined(lines[start:end])
    assume(old != new and joined(lines).count(old) == 1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "f.py").write_text(joined(lines))
        session = ToolSession()
        run_tool("read_file", {"path": "f.py"}, root=root, session=session)
        dup = run_tool("edit_file", {"path": "f.py", "old_string": old, "new_string": new}, root=root,
                       session=session)
        assert dup.ok, dup.text
        assert (root / "f.py").read_text() == joined(lines[:start]) + new + joined(lines[end:])


NAMES = st.sampled_from(["a", "b", "c", "d", "e"])


@st.composite
def python_block(draw, depth: int = 0) -> list[str]:
    """A small random Python block (statements, nested if/for/def), indented by 4 per level."""
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["assign", "call", "if", "for"] + (["def"] if depth == 0 else [])))
        name = draw(NAMES)
        if kind in ("assign", "call") or depth >= 3:
            lines.append(f"{name} = {draw(st.integers(0, 99))}" if kind == "assign" else f"{name}()")
            continue
        head = {"if": f"if {name}:", "for": f"for {name} in {name}s:", "def": f"def {name}():"}[kind]
        lines += [head] + ["    " + line for line in draw(python_block(depth + 1))]
    return lines


@settings(max_examples=150, deadline=None)
@given(python_block(), st.integers(0, 10_000), st.integers(1, 4), st.booleans())
def test_a_one_line_old_string_without_indentation_is_never_reindented_wrongly(lines, pick, count, shift_all):
    """The model drops the matched line's indentation, then either shifts its added lines the same way
    or writes them as the file needs them: the edit lands exactly as meant, or is refused."""
    indented = [j for j, line in enumerate(lines[:-1]) if line.startswith(" ")]
    assume(indented)
    j = indented[pick % len(indented)]
    added = lines[j + 1:j + 1 + count]
    indent = lines[j][: len(lines[j]) - len(lines[j].lstrip())]
    assume(all(line.startswith(indent) for line in added) or not shift_all)
    file_text = joined(lines[:j + 1] + lines[j + 1 + count:])
    written = [line[len(indent):] for line in added] if shift_all else added
    new = joined([lines[j].lstrip()] + written)
    try:
        result = editmatch.plan(file_text, lines[j].lstrip() + "\n", new, name="mod.py")
    except ToolRetry:
        event("refused")
        return
    event("applied")
    assert result.text == joined(lines[:j + 1] + added + lines[j + 1 + count:])
