"""edit_file: a one-line old_string that lost its indentation, replaced by several lines, on real files.

Two readings exist: the model shifted all of new_string left like its first line, or only the first
line lost its indentation. The edit is made only when exactly one reading is possible.
"""

from __future__ import annotations

from pathlib import Path

from filefixtures import *  # noqa: F403

SRC = """\
def run(items, done):
    for item in items:
        item.start()
    return len(items)
"""


def setup(ws: Path, read, text: str = SRC, name: str = "jobs.py") -> Path:
    (ws / name).write_text(text)
    read(name)
    return ws / name


def test_every_line_shifted_is_reindented_when_only_that_reading_compiles(call, read, ws):
    """Read with only the first line unindented, 'if done:' would end the function: 'return' outside it."""
    path = setup(ws, read)
    result = call("edit_file", path="jobs.py", old_string="item.start()\n",
                  new_string="item.start()\nif done:\n    break\n")
    assert result.ok, result.text
    assert "re-indented" in result.text and result.data["match"] == "indentation"
    assert path.read_text() == SRC.replace(
        "        item.start()\n",
        "        item.start()\n        if done:\n            break\n")


def test_only_the_first_line_unindented_keeps_the_other_lines_as_written(call, read, ws):
    """Shifting every line would put the log call 8 columns deeper than item.start(): a syntax error."""
    path = setup(ws, read)
    result = call("edit_file", path="jobs.py", old_string="item.start()\n",
                  new_string="item.start()\n        log(item)\n")
    assert result.ok, result.text
    assert path.read_text() == SRC.replace("        item.start()\n",
                                           "        item.start()\n        log(item)\n")


def test_first_line_blank_leaves_one_reading_even_outside_python(call, read, ws):
    """A new_string starting with a blank line cannot be 'only the first line unindented'."""
    text = "server:\n  ports:\n    - 80\n"
    path = setup(ws, read, text, "conf.yaml")
    result = call("edit_file", path="conf.yaml", old_string="- 80\n", new_string="\n- 80\n- 443\n")
    assert result.ok, result.text
    assert path.read_text() == "server:\n  ports:\n\n    - 80\n    - 443\n"


def test_both_readings_compiling_is_refused(call, read, ws):
    text = "def total(xs):\n    return sum(xs)\n"
    path = setup(ws, read, text)
    result = call("edit_file", path="jobs.py", old_string="return sum(xs)\n",
                  new_string="return sum(xs)\nprint(total([1]))\n")
    assert not result.ok and "indentation is ambiguous" in result.text
    assert "line 2" in result.text
    assert path.read_text() == text


def test_two_readings_outside_python_are_refused(call, read, ws):
    text = "server:\n  ports:\n    - 80\n"
    path = setup(ws, read, text, "conf.yaml")
    result = call("edit_file", path="conf.yaml", old_string="- 80\n", new_string="- 80\n- 443\n")
    assert not result.ok and "ambiguous" in result.text
    assert path.read_text() == text


def test_two_candidate_lines_are_refused_before_any_reindent(call, read, ws):
    text = "def a():\n    go()\n\n\ndef b():\n    if True:\n        go()\n"
    path = setup(ws, read, text)
    result = call("edit_file", path="jobs.py", old_string="go()\n",
                  new_string="go()\nif ready:\n    stop()\n")
    assert not result.ok and "2 places" in result.text and "lines 2, 7" in result.text
    assert path.read_text() == text


def test_tabs_in_the_file_and_spaces_in_new_string_are_refused(call, read, ws):
    """Shifting would mix a tab with spaces; keeping the spaces is a TabError: no reading is left."""
    text = "def run(job):\n\tjob.start()\n\treturn job\n"
    path = setup(ws, read, text)
    result = call("edit_file", path="jobs.py", old_string="job.start()\n",
                  new_string="job.start()\n    job.log()\n")
    assert not result.ok and "ambiguous" in result.text
    assert path.read_text() == text


def test_tab_indented_file_is_reindented_with_tabs(call, read, ws):
    text = "def run(job):\n\tjob.start()\n\treturn job\n"
    path = setup(ws, read, text)
    result = call("edit_file", path="jobs.py", old_string="job.start()\n",
                  new_string="job.start()\nif job.slow:\n\tjob.log()\n")
    assert result.ok, result.text
    assert path.read_text() == "def run(job):\n\tjob.start()\n\tif job.slow:\n\t\tjob.log()\n\treturn job\n"


def test_a_file_that_does_not_compile_gets_no_guess(call, read, ws):
    """Without a compiling file the compiler cannot tell the readings apart."""
    text = "def run(items:\n    for item in items:\n        item.start()\n"
    path = setup(ws, read, text)
    result = call("edit_file", path="jobs.py", old_string="item.start()\n",
                  new_string="item.start()\n        log(item)\n")
    assert not result.ok and "ambiguous" in result.text
    assert path.read_text() == text


def test_unread_file_needs_a_read_for_a_reindented_edit(call, ws):
    (ws / "jobs.py").write_text(SRC)
    result = call("edit_file", path="jobs.py", old_string="item.start()\n",
                  new_string="item.start()\nif done:\n    break\n")
    assert not result.ok and "read_file" in result.text
    assert (ws / "jobs.py").read_text() == SRC
