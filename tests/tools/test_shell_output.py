"""Output handling of the shell tool: bounded capture, omission counts, sanitising, live batching."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tools.shellio import Capture, LiveStream, sanitize


def test_short_output_is_kept_whole_without_a_spill_file(tmp_path: Path) -> None:
    capture = Capture(tmp_path, head=100, tail=100)
    for piece in (b"one\n", b"two\n", b"three\n"):
        capture.feed(piece)
    capture.close()
    assert capture.render() == "one\ntwo\nthree\n"
    assert capture.spill_path is None and list(tmp_path.iterdir()) == []


def test_overflow_keeps_head_and_tail_and_counts_what_is_omitted(tmp_path: Path) -> None:
    capture = Capture(tmp_path, head=40, tail=40)
    lines = [f"line {i:04d}\n".encode() for i in range(1000)]  # 10 bytes each
    for line in lines:
        capture.feed(line)
    capture.close()
    text = capture.render()
    assert text.startswith("line 0000\nline 0001\nline 0002\nline 0003\n")
    assert text.endswith("line 0996\nline 0997\nline 0998\nline 0999\n")
    assert "[... 992 lines / 9920 bytes omitted of 10000 bytes" in text
    assert capture.spill_path is not None and capture.spill_path.read_bytes() == b"".join(lines)


def test_spill_file_is_capped(tmp_path: Path) -> None:
    capture = Capture(tmp_path, head=10, tail=10, spill_cap=1000)
    for _ in range(100):
        capture.feed(b"x" * 99 + b"\n")
    capture.close()
    assert capture.spill_path is not None and capture.spill_path.stat().st_size == 1000
    assert "(first 1000 bytes only)" in capture.render()


@given(st.lists(st.binary(max_size=300), max_size=40))
def test_capture_memory_is_bounded_and_ends_are_exact(chunks: list[bytes]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        capture = Capture(Path(folder), head=64, tail=64)
        for chunk in chunks:
            capture.feed(chunk)
        capture.close()
        data = b"".join(chunks)
        assert bytes(capture.head) == data[:64]
        assert capture.tail == data[64:][-64:]
        assert capture.total_bytes == len(data)


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF)))
def test_sanitized_text_has_no_control_characters(text: str) -> None:
    clean = sanitize(text)
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in clean)


def test_sanitize_removes_escapes_but_keeps_text() -> None:
    raw = "\x1b]0;title\x07\x1b]8;;http://evil.invalid\x1b\\link\x1b]8;;\x1b\\ \x1b[1;31mred\x1b[0m\n" \
          "progress 10%\rprogress 100%\nback\bspace\x9b2J\n"
    assert sanitize(raw) == "link red\nprogress 100%\nbackspace2J\n"


def test_live_stream_batches_and_never_splits_an_escape() -> None:
    sent: list[str] = []
    live = LiveStream(sent.append, batch_chars=1_000_000, interval_s=3600)
    live.feed(b"hello \x1b[3")
    live.feed(b"1mred\x1b[0m \xe2\x82")
    live.feed(b"\xac done\n")
    assert sent == [], "small reads are batched"
    live.flush()
    live.flush(final=True)
    assert "".join(sent) == "hello red \u20ac done\n"
    assert all("\x1b" not in s and "[31m" not in s for s in sent)
