"""Untrusted text is shown inert; diffs are numbered and coloured; fuzzy ranking; long sessions prune."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from textual.widgets import Static

from agent.tui.completion import FileIndex, completions, fuzzy_score
from agent.tui.conversation import AssistantMessage, ConversationView, NoticeLine, block_boundary
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


def test_long_answers_are_cut_between_blocks_never_inside_a_code_fence() -> None:
    fence = "```python\n" + "x = 1\n\n" * 200 + "```\n\n"
    text = "intro paragraph\n\n" + fence + "after the code\n\nlast"
    cut = block_boundary(text, 100)
    assert text[:cut].endswith("after the code\n\n"), "the last blank line outside a fence"
    assert block_boundary(text[: len("intro paragraph\n\n") + 300], 100) == len("intro paragraph\n\n"), (
        "blank lines inside an open fence are not boundaries"
    )
    assert block_boundary("short\n\ntext", 100) == 0
    assert block_boundary("a" * 500, 100) == 0, "no blank line: nothing to cut yet"


async def test_a_streamed_answer_keeps_every_character_across_segments() -> None:
    from textual.app import App

    class Holder(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield ConversationView(id="view")

    app = Holder()
    text = "".join(f"Paragraph {n} " + "word " * 30 + "\n\n" for n in range(40))
    async with app.run_test() as pilot:
        answer = AssistantMessage()
        await app.query_one(ConversationView).add(answer)
        for start in range(0, len(text), 37):
            await answer.append(text[start : start + 37])
        await pilot.pause()
        assert answer.text == text
        assert len(answer.frozen) > 3 and all(part.endswith("\n\n") for part in answer.frozen)
        assert text.startswith("".join(answer.frozen))
        assert len(answer.query(Static)) == len(answer.frozen) + 1, (
            "one widget per frozen part + the live tail"
        )
