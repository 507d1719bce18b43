"""Untrusted text is shown inert; diffs are numbered and coloured; fuzzy ranking; long sessions prune."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent.tui.completion import FileIndex, completions, fuzzy_score
from agent.tui.conversation import AssistantMessage, ConversationView, NoticeLine, markdown
from agent.tui.mdstream import block_boundary
from agent.tui.render import clean, diff_text, inert

DIFF = """--- a/calc.py
+++ b/calc.py
@@ -3,3 +3,4 @@ def add(a, b):
 def subtract(a, b):
-    return a + b
+    return a - b
+
 # end
"""


def test_escape_sequences_and_markup_in_tool_output_are_inert() -> None:
    hostile = (
        "ok\x1b[2J\x1b[H\x1b]0;title\x07\x1b]52;c;cGFzc3dk\x1b\\\x1bP+q\x1b\\[red]not red[/red]\x9b\r\n\tend"
    )
    text = inert(hostile)
    assert text.plain == "ok[red]not red[/red]\n\tend"
    assert not text.spans, "no style was taken from the content"


@given(st.text())
def test_clean_leaves_no_control_characters(raw: str) -> None:
    out = clean(raw)
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in out)


def test_diff_lines_carry_old_and_new_line_numbers_and_colours() -> None:
    text = diff_text(DIFF)
    lines = text.plain.splitlines()
    assert lines[3].split() == ["3", "3", "def", "subtract(a,", "b):"]
    assert lines[4].split()[:2] == ["4", "-"] and lines[4].endswith("-    return a + b")
    assert lines[5].split()[:2] == ["4", "+"] and lines[5].endswith("+    return a - b")
    assert lines[7].split()[:3] == ["5", "6", "#"]
    styles = {text.plain[s.start : s.end].strip(): str(s.style) for s in text.spans}
    assert styles["-    return a + b"] == "red" and styles["+    return a - b"] == "green"


def test_fuzzy_file_ranking_prefers_file_names_and_runs(tmp_path) -> None:
    assert fuzzy_score("zq", "src/calc.py") is None
    index = FileIndex(tmp_path)
    index.files = ["docs/calculus/notes.md", "src/calc.py", "tests/test_calc.py", "README.md"]
    assert index.match("calc")[0] == "src/calc.py"
    assert index.match("tcalc")[0] == "tests/test_calc.py"
    start, found = completions("see @calc", index)
    assert start == 4 and found[0].value == "@src/calc.py"
    assert completions("email me@calc", index)[1] == [], "an @ inside a word is not a mention"


async def test_long_sessions_keep_a_bounded_number_of_blocks() -> None:
    from textual.app import App

    class Holder(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield ConversationView(max_items=5, id="view")

    app = Holder()
    async with app.run_test() as pilot:
        view = app.query_one(ConversationView)
        for n in range(12):
            await view.add(NoticeLine(f"line {n}"))
        await pilot.pause()
        shown = [item.text for item in view.items()]
        assert shown == [f"line {n}" for n in range(7, 12)]
        assert "7 earlier items hidden" in str(view.children[0].render())


def test_long_answers_are_cut_where_a_block_starts_never_inside_a_fence_or_a_list() -> None:
    fence = "```python\n" + "x = 1\n\n" * 200 + "```\n\n"
    text = "intro paragraph\n\n" + fence + "after the code\n\nlast"
    cut = block_boundary(text, 100)
    assert text[:cut].endswith("```\n\n") and text[cut:].startswith("after the code"), (
        "the last complete line that starts a block ('last' may still grow into a list item)"
    )
    assert block_boundary(text[: len("intro paragraph\n\n") + 300], 100) == len("intro paragraph\n\n"), (
        "blank lines inside an open fence are not boundaries"
    )
    assert block_boundary("short\n\ntext\n", 100) == 0
    assert block_boundary("a" * 500, 100) == 0, "no blank line: nothing to cut yet"
    loose_list = "intro\n\n" + "".join(f"{n}. item {n}\n\n" for n in range(1, 40))
    assert block_boundary(loose_list, 100) == 0, "items of one loose list stay together"
    assert block_boundary(loose_list + "after the list\n", 100) == len(loose_list)
    continued = "- item\n\n" + "  continued paragraph of the item\n\n" * 10
    assert block_boundary(continued, 100) == 0, "an indented line continues the item above"


BLOCKS = ["A paragraph with `code` and **bold** words that wraps " * 2, "- one\n- two", "1. first\n2. second",
          "```python\ndef f(x):\n    return x\n```", "# Title", "## Section", "### Sub", "> quoted text",
          "| a | b |\n|---|---|\n| 1 | 2 |", "---", "* star item", "line one\nline two\nline three",
          "```\na\nb\nc\nd\n```", "- a\n- b\n- c\n- d"]


@given(st.lists(st.sampled_from(BLOCKS), min_size=2, max_size=12), st.integers(min_value=20, max_value=200))
def test_parts_joined_with_measured_gaps_render_exactly_like_the_whole(blocks: list[str], limit: int) -> None:
    from rich.console import Console

    from agent.tui.mdstream import JoinGaps

    console = Console(width=60, color_system=None)

    def render(text: str) -> list[str]:
        lines = console.render_lines(markdown(text), console.options, new_lines=False)
        return ["".join(segment.text for segment in line) for line in lines]

    text = "\n\n".join(blocks) + "\n\n"
    parts, tail = [], text
    while cut := block_boundary(tail, limit):
        parts.append(tail[:cut])
        tail = tail[cut:]
    parts.append(tail)
    gaps = JoinGaps(lambda part: len(render(part)))
    shown: list[str] = []
    for before, part in zip(["", *parts], parts, strict=False):
        shown += [" " * 60] * gaps.gap(before, part) + render(part)
    assert "".join(parts) == text
    assert shown == render(text)


async def test_a_streamed_answer_shows_exactly_what_the_whole_answer_renders_to() -> None:
    """Streaming in small pieces (frozen parts + live tail) must draw the same lines, styles
    included, as rendering the finished answer in one go, also after a resize."""
    from textual.app import App
    from textual.visual import Visual, visualize

    class Holder(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield ConversationView(id="view")

    app = Holder()
    blocks = []
    for n in range(40):
        if n % 7 == 3:
            code = "".join(f"def f{n}_{i}(x):\n    return x * {i}\n" for i in range(3))
            blocks.append("```python\n" + code + "```\n\n")
        elif n % 5 == 4:
            blocks.append("".join(f"- item {i} with `code` and **bold**\n" for i in range(3)) + "\n")
        else:
            blocks.append(f"Paragraph {n} " + "word " * 30 + "\n\n")
    text = "".join(blocks)

    def whole(answer: AssistantMessage) -> list[str]:
        strips = Visual.to_strips(answer, visualize(answer, markdown(text)), answer.content_size.width, None,
                                  answer.visual_style, pad=True)
        return [strip.text for strip in strips]

    async with app.run_test(size=(100, 30)) as pilot:
        answer = AssistantMessage()
        await app.query_one(ConversationView).add(answer)
        for start in range(0, len(text), 37):
            await answer.append(text[start : start + 37])
        await pilot.pause()
        assert answer.text == text
        assert len(answer.frozen) > 3 and text.startswith("".join(answer.frozen))
        shown = [strip.text for strip in answer.lines]
        assert shown == whole(answer)
        assert answer.size.height == len(shown), "the widget is as tall as what it draws"
        assert "def f3_2(x):" in "\n".join(shown) and "• item 1 with code and bold" in "\n".join(shown)
        await pilot.resize_terminal(70, 30)
        await pilot.pause()
        assert [strip.text for strip in answer.lines] == whole(answer)
        assert max(len(line.rstrip()) for line in whole(answer)) < 70
        dark = list(answer.lines[0])
        app.theme = "textual-light"
        await pilot.pause()
        assert list(answer.lines[0]) != dark, "a new theme's colours reach the kept lines"
        assert [strip.text for strip in answer.lines] == whole(answer)


def test_frames_are_spaced_by_what_drawing_costs_so_the_stream_is_still_read() -> None:
    """About 60 fps while frames are cheap; on a busy machine at least twice a frame's cost apart
    (the event loop keeps half its time for reading the stream), and never slower than 10 fps."""
    from agent.tui.pump import FLUSH_INTERVAL, MAX_FLUSH_INTERVAL, frame_spacing

    assert frame_spacing(0.0) == frame_spacing(0.005) == FLUSH_INTERVAL
    assert frame_spacing(0.03) == 0.06
    assert frame_spacing(2.0) == MAX_FLUSH_INTERVAL == 0.1
