"""Property tests: a unique region is edited exactly; a duplicated region is never edited."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
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
