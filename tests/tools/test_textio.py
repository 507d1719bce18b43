"""Files as users have them: encodings, line endings, final newline, mode, atomic writes, refusals."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from filefixtures import *  # noqa: F403

from tools import ToolRetry, textio

ENCODED = [
    ("utf-8", "naïve café\n".encode()),
    ("utf-8-sig", b"\xef\xbb\xbf" + "naïve café\n".encode()),
    ("latin-1", "naïve café\n".encode("latin-1")),
    ("utf-16-le", b"\xff\xfe" + "naïve café\n".encode("utf-16-le")),
    ("utf-16-be", b"\xfe\xff" + "naïve café\n".encode("utf-16-be")),
]


@pytest.mark.parametrize(("encoding", "data"), ENCODED)
def test_edit_keeps_the_encoding_and_touches_nothing_else(call, read, ws, encoding, data):
    (ws / "f.txt").write_bytes(data)
    read("f.txt")
    result = call("edit_file", path="f.txt", old_string="naïve", new_string="naïf")
    assert result.ok, result.text
    codec = encoding.replace("-sig", "")
    expected = data.replace("naïve".encode(codec), "naïf".encode(codec))
    assert (ws / "f.txt").read_bytes() == expected


def test_read_file_names_a_non_utf8_encoding(call, ws):
    (ws / "f.txt").write_bytes("café\n".encode("latin-1"))
    result = call("read_file", path="f.txt")
    assert "café" in result.text and "latin-1" in result.text


def test_latin1_file_refuses_characters_it_cannot_hold(call, read, ws):
    (ws / "f.txt").write_bytes("café\n".encode("latin-1"))
    read("f.txt")
    result = call("edit_file", path="f.txt", old_string="café", new_string="café →")
    assert not result.ok and "latin-1" in result.text and "→" in result.text
    assert (ws / "f.txt").read_bytes() == "café\n".encode("latin-1")


def test_crlf_stays_crlf_and_new_lines_get_crlf(call, read, ws):
    (ws / "w.bat").write_bytes(b"@echo off\r\necho one\r\n")
    read("w.bat")
    assert call("edit_file", path="w.bat", old_string="echo one\n", new_string="echo one\necho two\n").ok
    assert (ws / "w.bat").read_bytes() == b"@echo off\r\necho one\r\necho two\r\n"


def test_mixed_line_endings_keep_each_untouched_line_as_it_was(call, read, ws):
    (ws / "m.txt").write_bytes(b"a\r\nb\nc\r\nd\n")
    read("m.txt")
    assert call("edit_file", path="m.txt", old_string="c", new_string="C").ok
    assert (ws / "m.txt").read_bytes() == b"a\r\nb\nC\r\nd\n"


def test_missing_final_newline_stays_missing(call, read, ws):
    (ws / "n.py").write_bytes(b"x = 1\ny = 2")
    read("n.py")
    assert call("edit_file", path="n.py", old_string="x = 1", new_string="x = 10").ok
    assert (ws / "n.py").read_bytes() == b"x = 10\ny = 2"
    assert call("write_file", path="n.py", content="z = 3\n").ok
    assert (ws / "n.py").read_bytes() == b"z = 3"


def test_write_keeps_the_file_mode(call, read, ws):
    script = ws / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o754)
    read("run.sh")
    assert call("edit_file", path="run.sh", old_string="echo hi", new_string="echo bye").ok
    assert stat.S_IMODE(script.stat().st_mode) == 0o754
    assert script.read_text() == "#!/bin/sh\necho bye\n"


def test_atomic_write_leaves_no_temp_files_and_replaces_the_inode(ws):
    target = ws / "a.txt"
    target.write_text("old\n")
    before = target.stat().st_ino
    textio.atomic_write(ws, target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_ino != before  # renamed over, not rewritten in place: never torn
    assert sorted(p.name for p in ws.iterdir()) == ["a.txt"]


def test_binary_files_are_refused(call, ws):
    (ws / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result = call("read_file", path="img.png")
    assert not result.ok and "binary" in result.text
    result = call("edit_file", path="img.png", old_string="PNG", new_string="GIF")
    assert not result.ok and "binary" in result.text


def test_non_utf8_control_heavy_data_is_binary():
    with pytest.raises(textio.BinaryFileError):
        textio.decode(bytes([0x01, 0x02, 0x03, 0x9F, 0x04] * 100))


def test_files_over_the_size_cap_are_refused_with_a_way_forward(call, ws, monkeypatch):
    (ws / "big.log").write_bytes(b"x" * (textio.MAX_BYTES + 1))
    result = call("read_file", path="big.log")
    assert not result.ok and "limit" in result.text and "grep" in result.text


def test_decode_of_crlf_text_normalises_and_remembers_the_style():
    doc = textio.decode(b"a\r\nb\r\n")
    assert doc.text == "a\nb\n" and doc.newline == "\r\n"
    assert textio.encode("a\nb\nc\n", doc) == b"a\r\nb\r\nc\r\n"


def test_write_through_a_symlinked_directory_swapped_in_after_the_check_is_refused(ws, tmp_path: Path):
    """The race of resolve-then-write: the path is checked, then a directory becomes a symlink."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (ws / "sub").mkdir()
    target = ws / "sub" / "f.txt"  # checked and resolved while sub/ is a real directory
    (ws / "sub").rmdir()
    (ws / "sub").symlink_to(outside)
    with pytest.raises(ToolRetry, match="symlink"):
        textio.atomic_write(ws, target, b"escaped\n")
    assert list(outside.iterdir()) == []


def test_write_over_a_file_swapped_for_a_symlink_is_refused(ws, tmp_path: Path):
    secret = tmp_path / "secret"
    secret.write_text("keep\n")
    target = ws / "f.txt"
    target.symlink_to(secret)
    with pytest.raises(ToolRetry, match="not a regular file"):
        textio.atomic_write(ws, target, b"x\n")
    with pytest.raises(ToolRetry):
        textio.read_bytes(ws, target)
    assert secret.read_text() == "keep\n"


def test_a_named_pipe_is_refused_instead_of_hanging(call, ws):
    os.mkfifo(ws / "pipe")
    result = call("read_file", path="pipe")
    assert not result.ok and "not a regular file" in result.text
