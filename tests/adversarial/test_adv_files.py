"""Files as users have them: binary, huge, odd encodings and endings, read-only, changed under us,
full disks."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from agent import Agent
from tests.adversarial.advhelpers import call, finished, results, turn
from tests.conftest import config_for
from tools import ToolSession

EDITS = [
    # (name, original bytes, old_string, new_string, expected bytes)
    (
        "latin1",
        "café = 1\nnaïve = 2\n".encode("latin-1"),
        "naïve = 2",
        "naïve = 3",
        "café = 1\nnaïve = 3\n".encode("latin-1"),
    ),
    (
        "utf16-bom",
        "\ufeffa = 1\r\nb = 2\r\n".encode("utf-16-le"),
        "b = 2",
        "b = 3",
        "\ufeffa = 1\r\nb = 3\r\n".encode("utf-16-le"),
    ),
    ("utf8-bom", b"\xef\xbb\xbfx = 1\ny = 2\n", "y = 2", "y = 3", b"\xef\xbb\xbfx = 1\ny = 3\n"),
    ("crlf", b"one\r\ntwo\r\nthree\r\n", "two", "two\nand a half", b"one\r\ntwo\r\nand a half\r\nthree\r\n"),
    ("mixed", b"a\r\nb\nc\r\nd\n", "c", "C", b"a\r\nb\nC\r\nd\n"),
    ("no-final-newline", b"first\nlast", "last", "final", b"first\nfinal"),
    ("lone-cr", b"keep\rthis\nline\n", "line", "row", b"keep\rthis\nrow\n"),
]


@pytest.mark.parametrize("name,original,old,new,expected", EDITS, ids=[e[0] for e in EDITS])
async def test_edits_keep_encoding_endings_and_everything_untouched(
    git_repo: Path, ledger, name: str, original: bytes, old: str, new: str, expected: bytes
) -> None:
    path = git_repo / f"{name}.txt"
    path.write_bytes(original)
    ledger.keep(path, allowed=[expected])
    session = ToolSession()
    read = await call("read_file", {"path": path.name}, git_repo, session=session)
    assert read.ok, read.text
    edit = await call(
        "edit_file", {"path": path.name, "old_string": old, "new_string": new}, git_repo, session=session
    )
    assert edit.ok, edit.text
    assert path.read_bytes() == expected


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        bytes(range(256)) * 8,
        b"\x7fELF\x02\x01\x01" + b"\x00" * 64,
    ],
)
async def test_binary_files_are_refused_untouched(git_repo: Path, ledger, data: bytes) -> None:
    path = git_repo / "blob.bin"
    path.write_bytes(data)
    ledger.keep(path)
    session = ToolSession()
    read = await call("read_file", {"path": "blob.bin"}, git_repo, session=session)
    assert not read.ok and "binary" in read.text
    for tool, args in [
        ("edit_file", {"path": "blob.bin", "old_string": "PNG", "new_string": "GIF"}),
        ("write_file", {"path": "blob.bin", "content": "text now"}),
    ]:
        result = await call(tool, args, git_repo, session=session)
        assert not result.ok, (tool, result.text)


async def test_a_1gb_sparse_file_is_refused_quickly_and_left_alone(git_repo: Path) -> None:
    path = git_repo / "huge.log"
    with path.open("wb") as handle:
        handle.write(b"start\n")
        handle.truncate(1 << 30)  # sparse: 1 GB that costs no disk
    before = path.stat()
    session = ToolSession()
    for tool, args in [
        ("read_file", {"path": "huge.log"}),
        ("edit_file", {"path": "huge.log", "old_string": "start", "new_string": "begin"}),
        ("write_file", {"path": "huge.log", "content": "small\n"}),
    ]:
        result = await call(tool, args, git_repo, session=session)
        assert not result.ok and "limit" in result.text, (tool, result.text)
    grep = await call("grep", {"pattern": "start"}, git_repo)
    assert grep.ok
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )


async def test_read_only_file_is_not_edited(git_repo: Path, ledger) -> None:
    path = git_repo / "vendored.py"
    path.write_text("VERSION = 1\n")
    path.chmod(0o444)
    ledger.keep(path)
    session = ToolSession()
    assert (await call("read_file", {"path": "vendored.py"}, git_repo, session=session)).ok
    for tool, args in [
        ("edit_file", {"path": "vendored.py", "old_string": "1", "new_string": "2"}),
        ("write_file", {"path": "vendored.py", "content": "VERSION = 2\n"}),
        (
            "apply_patch",
            {
                "patch": "*** Begin Patch\n*** Update File: vendored.py\n@@\n-VERSION = 1\n"
                "+VERSION = 2\n*** End Patch\n"
            },
        ),
    ]:
        result = await call(tool, args, git_repo, session=session)
        assert not result.ok and "read-only" in result.text, (tool, result.text)
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


async def test_file_deleted_between_read_and_edit_is_not_recreated(git_repo: Path) -> None:
    session = ToolSession()
    (git_repo / "gone.py").write_text("x = 1\n")
    assert (await call("read_file", {"path": "gone.py"}, git_repo, session=session)).ok
    (git_repo / "gone.py").unlink()
    result = await call(
        "edit_file",
        {"path": "gone.py", "old_string": "x = 1", "new_string": "x = 2"},
        git_repo,
        session=session,
    )
    assert not result.ok and "does not exist" in result.text
    assert not (git_repo / "gone.py").exists()


@pytest.mark.parametrize(
    "tool,args",
    [
        ("edit_file", {"path": "live.py", "old_string": "x = 1", "new_string": "x = 2"}),
        ("write_file", {"path": "live.py", "content": "x = 2\n"}),
        (
            "apply_patch",
            {"patch": "*** Begin Patch\n*** Update File: live.py\n@@\n-x = 1\n+x = 2\n*** End Patch\n"},
        ),
    ],
)
async def test_file_changed_between_read_and_edit_is_refused(
    git_repo: Path, ledger, tool: str, args: dict
) -> None:
    session = ToolSession()
    path = git_repo / "live.py"
    path.write_text("x = 1\n")
    assert (await call("read_file", {"path": "live.py"}, git_repo, session=session)).ok
    path.write_text("x = 1\ny = 'the user typed this meanwhile'\n")
    ledger.keep(path)
    result = await call(tool, args, git_repo, session=session)
    assert not result.ok and "changed on disk" in result.text, result.text


async def test_two_edits_to_one_file_in_one_parallel_batch_never_interleave(
    scripted_server, git_repo: Path, ledger
) -> None:
    path = git_repo / "app.py"
    lines = [f"value_{i} = {i}\n" for i in range(200)]
    path.write_text("".join(lines))
    one = "".join(lines).replace("value_10 = 10", "value_10 = 'ten'")
    both = one.replace("value_150 = 150", "value_150 = 'one-fifty'")
    two = "".join(lines).replace("value_150 = 150", "value_150 = 'one-fifty'")
    ledger.keep(path, allowed=[one.encode(), two.encode(), both.encode()])
    calls = [{"name": "read_file", "arguments": {"path": "app.py"}}]
    edits = [
        {
            "name": "edit_file",
            "arguments": {"path": "app.py", "old_string": "value_10 = 10", "new_string": "value_10 = 'ten'"},
        },
        {
            "name": "edit_file",
            "arguments": {
                "path": "app.py",
                "old_string": "value_150 = 150",
                "new_string": "value_150 = 'one-fifty'",
            },
        },
    ] * 3
    server = scripted_server([{"tool_calls": calls}, {"tool_calls": edits}, {"text": "done"}])
    config = config_for(
        git_repo,
        local=server,
        routing={"mode": "local"},
        permissions={"approval": "full-auto"},
        session={"checkpoints": False},
        limits={"idle_timeout_s": 30.0},
        context={"pack": False},
    )
    events = await turn(Agent(config, cwd=git_repo), "edit twice")
    assert finished(events).stop_reason == "completed"
    outcome = [r.ok for r in results(events) if r.name == "edit_file"]
    assert outcome.count(True) >= 2  # the first of each pair lands; repeats find nothing to replace
    assert path.read_text() == both


def _mount_tiny_tmpfs(where: Path) -> bool:
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True
    )
    return done.returncode == 0


@pytest.fixture
def full_disk(tmp_path: Path, ledger):
    mount = tmp_path / "tiny"
    if os.geteuid() != 0 or not _mount_tiny_tmpfs(mount):
        pytest.skip(
            "cannot mount a 64 KiB tmpfs here (needs root); disk-full is simulated only where it can be"
        )
    yield mount
    ledger.settle()
    subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_disk_full_during_a_write_leaves_the_original_intact(full_disk: Path, ledger) -> None:
    path = full_disk / "data.txt"
    path.write_text("line\n" * 5000)  # 25 KB of the 64 KB
    ledger.keep(path)
    session = ToolSession()
    assert (await call("read_file", {"path": "data.txt"}, full_disk, session=session)).ok
    for tool, args in [
        ("write_file", {"path": "data.txt", "content": "bigger line\n" * 5000}),
        (
            "edit_file",
            {"path": "data.txt", "old_string": "line\n" * 5000, "new_string": "another line\n" * 5000},
        ),
    ]:
        result = await call(tool, args, full_disk, session=session)
        assert not result.ok and "space" in result.text.lower(), (tool, result.text)
    leftovers = [p.name for p in full_disk.iterdir() if p.name != "data.txt"]
    assert leftovers == []  # no half-written temp files left to fill the disk


def test_parallel_writes_into_one_new_folder_all_land(git_repo: Path) -> None:
    """Tools run concurrently: two writes creating the same missing folder must both succeed."""
    from concurrent.futures import ThreadPoolExecutor

    from tools import textio

    for round_ in range(20):
        folder = git_repo / f"new{round_}" / "deeper"
        targets = [folder / f"{i}.txt" for i in range(16)]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda p: textio.atomic_write(git_repo, p, p.name.encode()), targets))
        assert sorted(p.read_bytes() for p in targets) == sorted(p.name.encode() for p in targets)
