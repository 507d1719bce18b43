"""edit_file: every matching level, every refusal, stale edits, parallel edits, on real files."""

from __future__ import annotations

import threading
from pathlib import Path

from filefixtures import *  # noqa: F403

from tools import ToolContext, ToolSession, builtin_tools, run_tool

SRC = """\
import os


class Store:
    def __init__(self, path):
        self.path = path
        self.items = {}

    def load(self):
        with open(self.path) as fh:
            for line in fh:
                key, value = line.split("=")
                self.items[key] = value

        return self.items
"""


def setup(ws: Path, read, text: str = SRC, name: str = "store.py") -> Path:
    (ws / name).write_text(text)
    read(name)
    return ws / name


def test_exact_edit_reports_counts_snippet_and_diff(call, read, ws):
    path = setup(ws, read)
    result = call("edit_file", path="store.py", old_string="        self.items = {}\n",
                  new_string="        self.items = {}\n        self.dirty = False\n")
    assert result.ok
    assert result.text.startswith("Edited store.py: +1 -0\n")
    assert "     8\t        self.dirty = False" in result.text  # a numbered snippet around the edit
    assert result.data["path"] == "store.py" and "+        self.dirty = False" in result.data["diff"]
    added = "self.items = {}\n        self.dirty = False\n"
    assert path.read_text() == SRC.replace("self.items = {}\n", added, 1)


def test_ambiguous_match_names_the_candidate_lines_and_changes_nothing(call, read, ws):
    path = setup(ws, read, "def a():\n    return None\n\ndef b():\n    return None\n")
    result = call("edit_file", path="store.py", old_string="    return None\n", new_string="    return 0\n")
    assert not result.ok and "2 places" in result.text and "lines 2, 5" in result.text
    assert "replace_all" in result.text and "more surrounding lines" in result.text
    assert path.read_text() == "def a():\n    return None\n\ndef b():\n    return None\n"


def test_replace_all_changes_every_occurrence(call, read, ws):
    path = setup(ws, read, "x = old\ny = old\n")
    result = call("edit_file", path="store.py", old_string="old", new_string="new", replace_all=True)
    assert result.ok and "2 places" in result.text
    assert path.read_text() == "x = new\ny = new\n"


def test_no_match_quotes_the_closest_region_with_line_numbers(call, read, ws):
    path = setup(ws, read)
    result = call("edit_file", path="store.py",
                  old_string="    def load(self):\n        with open(self.path, 'rb') as fh:\n",
                  new_string="    def load(self):\n        with open(self.path, 'r') as fh:\n")
    assert not result.ok and "not found" in result.text
    assert "     9\t    def load(self):" in result.text
    assert "    10\t        with open(self.path) as fh:" in result.text
    assert path.read_text() == SRC


def test_trailing_whitespace_and_crlf_drift_in_old_string(call, read, ws):
    path = setup(ws, read, "a = 1   \nb = 2\nc = 3\n")
    result = call("edit_file", path="store.py", old_string="a = 1\r\nb = 2\r\n",
                  new_string="a = 1\r\nb = 20\r\n")
    assert result.ok, result.text
    assert path.read_text() == "a = 1   \nb = 20\nc = 3\n"  # the untouched line keeps its own whitespace


def test_indentation_shift_is_reindented_to_the_file(call, read, ws):
    path = setup(ws, read)
    old = "for line in fh:\n    key, value = line.split(\"=\")\n    self.items[key] = value\n"
    new = "for line in fh:\n    key, value = line.split(\"=\", 1)\n    self.items[key.strip()] = value\n"
    result = call("edit_file", path="store.py", old_string=old, new_string=new)
    assert result.ok, result.text
    assert "indentation" in result.text
    assert path.read_text() == SRC.replace('line.split("=")', 'line.split("=", 1)').replace(
        "self.items[key] = value", "self.items[key.strip()] = value")


def test_tabs_file_with_space_indented_old_string(call, read, ws):
    path = setup(ws, read, "func main() {\n\tif x {\n\t\treturn 1\n\t}\n}\n", "main.go")
    result = call("edit_file", path="main.go", old_string="    if x {\n        return 1\n    }\n",
                  new_string="    if x {\n        return 2\n    }\n")
    assert result.ok, result.text
    assert path.read_text() == "func main() {\n\tif x {\n\t\treturn 2\n\t}\n}\n"


def test_missing_blank_line_in_old_string_keeps_the_file_blank_line(call, read, ws):
    path = setup(ws, read)
    old = "                self.items[key] = value\n        return self.items\n"
    new = "                self.items[key] = value\n        return dict(self.items)\n"
    result = call("edit_file", path="store.py", old_string=old, new_string=new)
    assert result.ok, result.text
    assert path.read_text() == SRC.replace("return self.items", "return dict(self.items)")


def test_extra_blank_line_in_old_string(call, read, ws):
    path = setup(ws, read)
    old = "        self.path = path\n\n        self.items = {}\n"
    new = "        self.path = str(path)\n\n        self.items = {}\n"
    assert call("edit_file", path="store.py", old_string=old, new_string=new).ok
    assert path.read_text() == SRC.replace("self.path = path", "self.path = str(path)")


def test_exact_match_is_refused_when_a_shifted_copy_exists_elsewhere(call, read, ws):
    text = "def f():\n    x = 1\n    y = 2\n\nclass A:\n    def f(self):\n        x = 1\n        y = 2\n"
    path = setup(ws, read, text)
    result = call("edit_file", path="store.py", old_string="    x = 1\n    y = 2\n",
                  new_string="    x = 9\n    y = 2\n")
    assert not result.ok and "exactly once (line 2)" in result.text
    assert "also appear at line(s) 7" in result.text
    assert path.read_text() == text


def test_identical_strings_and_empty_old_string_are_errors(call, read, ws):
    setup(ws, read)
    same = call("edit_file", path="store.py", old_string="import os", new_string="import os")
    assert not same.ok and "identical" in same.text
    empty = call("edit_file", path="store.py", old_string="", new_string="x")
    assert not empty.ok and "old_string is empty" in empty.text


def test_empty_old_string_creates_a_new_file(call, ws):
    result = call("edit_file", path="new/mod.py", old_string="", new_string="VALUE = 1\n")
    assert result.ok and result.text.startswith("Created new/mod.py")
    assert (ws / "new/mod.py").read_text() == "VALUE = 1\n"


def test_edit_of_a_file_changed_on_disk_since_read_is_refused(call, read, ws):
    path = setup(ws, read)
    path.write_text(SRC + "# added by the user\n")
    result = call("edit_file", path="store.py", old_string="import os", new_string="import sys")
    assert not result.ok and "changed on disk since you last read it" in result.text
    assert "read_file" in result.text
    assert path.read_text() == SRC + "# added by the user\n"
    read("store.py")
    assert call("edit_file", path="store.py", old_string="import os", new_string="import sys").ok


def test_unread_file_accepts_exact_edits_but_not_loose_ones(call, ws):
    (ws / "store.py").write_text(SRC)
    loose = call("edit_file", path="store.py",
                 old_string="def load(self):\n    with open(self.path) as fh:\n",
                 new_string="def load(self):\n    with open(self.path, encoding='utf-8') as fh:\n")
    assert not loose.ok and "read_file" in loose.text
    exact = call("edit_file", path="store.py", old_string="import os\n", new_string="import os\nimport sys\n")
    assert exact.ok
    assert (ws / "store.py").read_text().startswith("import os\nimport sys\n")


def test_missing_file_error_suggests_the_right_name(call, ws):
    (ws / "store.py").write_text(SRC)
    result = call("edit_file", path="stor.py", old_string="a", new_string="b")
    assert not result.ok and "store.py" in result.text


def test_parallel_edits_to_one_file_both_land(ws: Path):
    (ws / "f.txt").write_text("".join(f"line {n}\n" for n in range(40)))
    session = ToolSession()
    run_tool("read_file", {"path": "f.txt"}, root=ws, session=session)
    results = []

    def edit(n: int) -> None:
        args = {"path": "f.txt", "old_string": f"line {n}\n", "new_string": f"line {n} edited\n"}
        results.append(run_tool("edit_file", args, root=ws, session=session))

    threads = [threading.Thread(target=edit, args=(n,)) for n in (11, 22, 33)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.ok for r in results), [r.text for r in results]
    text = (ws / "f.txt").read_text()
    assert all(f"line {n} edited\n" in text for n in (11, 22, 33))


def test_preview_is_the_diff_the_edit_would_make_and_writes_nothing(ws, session):
    (ws / "a.py").write_text("v = 1\n")
    session.note_read((ws / "a.py").resolve())
    tool = next(t for t in builtin_tools() if t.name == "edit_file")
    ctx = ToolContext(root=ws.resolve(), session=session)
    preview = tool.preview(tool.parse({"path": "a.py", "old_string": "v = 1", "new_string": "v = 2"}), ctx)
    assert preview == "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-v = 1\n+v = 2\n"
    assert (ws / "a.py").read_text() == "v = 1\n"
    failing = tool.preview(tool.parse({"path": "a.py", "old_string": "nope", "new_string": "x"}), ctx)
    assert "will fail" in failing


def test_less_indented_copy_is_reindented_not_spliced_into_the_indentation(call, read, ws):
    """'    raise X' is text inside '        raise X', but the model's lines are shifted: re-indent."""
    path = setup(ws, read, "def f(run):\n    if run:\n        raise TypeError('bad')\n")
    result = call("edit_file", path="store.py", old_string="    raise TypeError('bad')\n",
                  new_string="    msg = 'bad'\n    raise TypeError(msg)\n")
    assert result.ok, result.text
    want = "def f(run):\n    if run:\n        msg = 'bad'\n        raise TypeError(msg)\n"
    assert path.read_text() == want


def test_unindented_first_line(call, read, ws):
    path = setup(ws, read, "class A:\n    x = 1\n    y = 2\n")
    assert call("edit_file", path="store.py", old_string="x = 1\n    y = 2\n",
                new_string="x = 10\n    y = 2\n").ok
    assert path.read_text() == "class A:\n    x = 10\n    y = 2\n"
    assert call("edit_file", path="store.py", old_string="x = 10\n", new_string="").ok
    assert path.read_text() == "class A:\n    y = 2\n"  # the whole line went, indentation included
    result = call("edit_file", path="store.py", old_string="y = 2", new_string="y = 2\nz = 3")
    assert not result.ok and "indentation is ambiguous" in result.text
    assert path.read_text() == "class A:\n    y = 2\n"


def test_insert_next_to_blank_lines_the_model_miscounted_is_refused(call, read, ws):
    text = "import os\n\n\ndef f():\n    pass\n"
    path = setup(ws, read, text)
    result = call("edit_file", path="store.py", old_string="import os\n\ndef f():\n",
                  new_string="import os\n\nimport sys\n\ndef f():\n")
    assert not result.ok and "blank lines" in result.text
    assert path.read_text() == text
