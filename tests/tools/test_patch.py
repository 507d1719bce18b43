"""apply_patch: both dialects, every file operation, tolerance, and all-or-nothing refusal."""

from __future__ import annotations

from pathlib import Path

from filefixtures import *  # noqa: F403

APP = """\
import sys


def greet(name):
    print("hello", name)


def main():
    greet(sys.argv[1])
    return 0
"""


def setup(ws: Path, read, name: str = "app.py", text: str = APP) -> Path:
    (ws / name).write_text(text)
    read(name)
    return ws / name


def test_codex_envelope_update_add_delete(call, read, ws):
    path = setup(ws, read)
    setup(ws, read, "old.py", "x = 1\n")
    patch = """*** Begin Patch
*** Update File: app.py
@@ def greet(name):
-    print("hello", name)
+    print("hello,", name)
*** Add File: docs/notes.md
+# Notes
+
+first
*** Delete File: old.py
*** End Patch"""
    result = call("apply_patch", patch=patch)
    assert result.ok, result.text
    assert path.read_text() == APP.replace('"hello", name', '"hello,", name')
    assert (ws / "docs/notes.md").read_text() == "# Notes\n\nfirst\n"
    assert not (ws / "old.py").exists()
    assert [f["action"] for f in result.data["files"]] == ["update", "add", "delete"]
    assert "+# Notes" in result.data["diff"] and '-    print("hello", name)' in result.data["diff"]
    assert "M app.py +1 -1" in result.text and "A docs/notes.md" in result.text


def test_codex_anchor_picks_the_occurrence_after_it(call, read, ws):
    text = "def a():\n    return 1\n\n\ndef b():\n    return 1\n"
    path = setup(ws, read, "m.py", text)
    patch = ("*** Begin Patch\n*** Update File: m.py\n@@ def b():\n-    return 1\n+    return 2\n"
             "*** End Patch\n")
    assert call("apply_patch", patch=patch).ok
    assert path.read_text() == "def a():\n    return 1\n\n\ndef b():\n    return 2\n"


def test_codex_move_and_end_of_file(call, read, ws):
    setup(ws, read)
    patch = """*** Begin Patch
*** Update File: app.py
*** Move to: src/app.py
@@
     greet(sys.argv[1])
-    return 0
+    return 1
*** End of File
*** End Patch"""
    result = call("apply_patch", patch=patch)
    assert result.ok, result.text
    assert not (ws / "app.py").exists()
    assert (ws / "src/app.py").read_text() == APP.replace("return 0", "return 1")
    assert result.data["files"][0]["action"] == "move" and "R app.py -> src/app.py" in result.text


def test_unified_git_diff_with_several_files_and_wrong_line_numbers(call, read, ws):
    path = setup(ws, read)
    other = setup(ws, read, "lib.py", "A = 1\nB = 2\nC = 3\n")
    blank = " "  # a blank context line is one space
    diff = f"""diff --git a/app.py b/app.py
index 111..222 100644
--- a/app.py
+++ b/app.py
@@ -57,7 +57,7 @@ def greet(name):
{blank}
{blank}
 def main():
-    greet(sys.argv[1])
+    greet(sys.argv[-1])
     return 0
diff --git a/lib.py b/lib.py
--- a/lib.py
+++ b/lib.py
@@ -1,3 +1,4 @@
 A = 1
+A2 = 11
 B = 2
 C = 3
"""
    result = call("apply_patch", patch=diff)
    assert result.ok, result.text
    assert path.read_text() == APP.replace("sys.argv[1]", "sys.argv[-1]")
    assert other.read_text() == "A = 1\nA2 = 11\nB = 2\nC = 3\n"


def test_bare_unified_diff_new_deleted_and_renamed_files(call, read, ws):
    setup(ws, read, "gone.py", "bye = True\n")
    setup(ws, read, "before.py", "name = 'x'\n")
    diff = """--- /dev/null
+++ b/new.py
@@ -0,0 +1,2 @@
+a = 1
+b = 2
--- a/gone.py
+++ /dev/null
@@ -1 +0,0 @@
-bye = True
diff --git a/before.py b/after.py
similarity index 80%
rename from before.py
rename to after.py
--- a/before.py
+++ b/after.py
@@ -1 +1 @@
-name = 'x'
+name = 'y'
"""
    result = call("apply_patch", patch=diff)
    assert result.ok, result.text
    assert (ws / "new.py").read_text() == "a = 1\nb = 2\n"
    assert not (ws / "gone.py").exists() and not (ws / "before.py").exists()
    assert (ws / "after.py").read_text() == "name = 'y'\n"


def test_no_newline_at_end_of_file_markers(call, read, ws):
    path = setup(ws, read, "n.txt", "one\ntwo")
    diff = "--- a/n.txt\n+++ b/n.txt\n@@ -1,2 +1,2 @@\n one\n-two\n\\ No newline at end of file\n+TWO\n"
    assert call("apply_patch", patch=diff).ok
    assert path.read_bytes() == b"one\nTWO\n"
    diff = "--- a/n.txt\n+++ b/n.txt\n@@ -1,2 +1,2 @@\n one\n-TWO\n+two\n\\ No newline at end of file\n"
    assert call("apply_patch", patch=diff).ok
    assert path.read_bytes() == b"one\ntwo"


def test_whitespace_drift_in_context_lines_keeps_the_file_lines(call, read, ws):
    path = setup(ws, read, "w.py", "def f():   \n    a = 1\n    return a\n")
    diff = "--- a/w.py\n+++ b/w.py\n@@ -1,3 +1,3 @@\n def f():\n-  a = 1\n+  a = 2\n   return a\n"
    result = call("apply_patch", patch=diff)
    assert result.ok, result.text
    assert path.read_text() == "def f():   \n    a = 2\n    return a\n"


def test_fenced_patch_with_prose_around_it(call, read, ws):
    path = setup(ws, read, "f.txt", "a\nb\nc\n")
    patch = "Here is the change:\n```diff\n--- a/f.txt\n+++ b/f.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n```\n"
    assert call("apply_patch", patch=patch).ok
    assert path.read_text() == "a\nB\nc\n"


def test_all_or_nothing_when_a_later_file_fails(call, read, ws):
    first = setup(ws, read, "one.py", "x = 1\n")
    second = setup(ws, read, "two.py", "y = 2\n")
    patch = """*** Begin Patch
*** Update File: one.py
-x = 1
+x = 10
*** Update File: two.py
-y = 3
+y = 30
*** Add File: three.py
+z = 1
*** End Patch"""
    result = call("apply_patch", patch=patch)
    assert not result.ok
    assert "hunk 1 of two.py does not match" in result.text and "-y = 3" in result.text  # the failing hunk
    assert "     1\ty = 2" in result.text  # and the closest region of the file
    assert first.read_text() == "x = 1\n" and second.read_text() == "y = 2\n"
    assert not (ws / "three.py").exists()


def test_ambiguous_hunk_is_refused_unless_the_line_number_points_at_one(call, read, ws):
    text = "def a():\n    pass\n\ndef b():\n    pass\n"
    path = setup(ws, read, "d.py", text)
    vague = "*** Begin Patch\n*** Update File: d.py\n-    pass\n+    return 1\n*** End Patch"
    result = call("apply_patch", patch=vague)
    assert not result.ok and "matches 2 places" in result.text and "anchor" in result.text
    assert path.read_text() == text
    pointed = "--- a/d.py\n+++ b/d.py\n@@ -5 +5 @@\n-    pass\n+    return 1\n"
    assert call("apply_patch", patch=pointed).ok
    assert path.read_text() == "def a():\n    pass\n\ndef b():\n    return 1\n"


def test_truncated_envelope_and_garbage_are_refused(call, read, ws):
    path = setup(ws, read)
    cut = "*** Begin Patch\n*** Update File: app.py\n@@\n-import sys\n+import os"
    result = call("apply_patch", patch=cut)
    assert not result.ok and "End Patch" in result.text
    assert not call("apply_patch", patch="please change app.py").ok
    assert path.read_text() == APP


def test_stale_file_and_existing_add_target_are_refused(call, read, ws):
    path = setup(ws, read)
    path.write_text(APP + "# user change\n")
    patch = "*** Begin Patch\n*** Update File: app.py\n-import sys\n+import os\n*** End Patch"
    result = call("apply_patch", patch=patch)
    assert not result.ok and "changed on disk" in result.text
    read("app.py")
    clash = "*** Begin Patch\n*** Add File: app.py\n+x\n*** End Patch"
    assert "already exists" in call("apply_patch", patch=clash).text


def test_patch_paths_are_confined(call, ws, tmp_path):
    patch = "*** Begin Patch\n*** Add File: ../evil.py\n+x\n*** End Patch"
    result = call("apply_patch", patch=patch)
    assert not result.ok and "outside the workspace" in result.text
    assert not (tmp_path / "evil.py").exists()


def test_crlf_file_patched_stays_crlf(call, read, ws):
    path = ws / "w.txt"
    path.write_bytes(b"a\r\nb\r\nc\r\n")
    read("w.txt")
    assert call("apply_patch", patch="--- a/w.txt\n+++ b/w.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n").ok
    assert path.read_bytes() == b"a\r\nB\r\nc\r\n"


def test_preview_shows_the_combined_diff_and_writes_nothing(ws, session):
    from tools import ToolContext, builtin_tools

    (ws / "f.txt").write_text("a\nb\n")
    tool = next(t for t in builtin_tools() if t.name == "apply_patch")
    ctx = ToolContext(root=ws.resolve(), session=session)
    patch = "*** Begin Patch\n*** Update File: f.txt\n a\n-b\n+B\n*** Add File: g.txt\n+g\n*** End Patch"
    preview = tool.preview(tool.parse({"patch": patch}), ctx)
    assert "--- a/f.txt" in preview and "+B" in preview and "+++ b/g.txt" in preview
    assert (ws / "f.txt").read_text() == "a\nb\n" and not (ws / "g.txt").exists()


def test_a_write_that_fails_midway_restores_the_files_already_written(call, read, ws):
    first = setup(ws, read, "one.py", "x = 1\n")
    (ws / "blocker").write_text("a file where the patch wants a folder\n")
    patch = ("*** Begin Patch\n*** Update File: one.py\n-x = 1\n+x = 2\n*** Add File: blocker/new.py\n+y\n"
             "*** End Patch")
    result = call("apply_patch", patch=patch)
    assert not result.ok and "restored" in result.text
    assert first.read_text() == "x = 1\n"
    assert (ws / "blocker").read_text() == "a file where the patch wants a folder\n"
