"""Edit benchmark: real release-to-release changes with realistic model mistakes, through the real tools.

    .venv/bin/python bench/edits.py [--cache .bench-cache] [--show N] [--changes 0]
        [--dump misses.json] [--only misses.json]

Every case runs edit_file or apply_patch exactly as the agent loop would (run_tool), on a real file
in a temporary workspace, after a read_file. Prints per mistake kind and in total: wrong edits (the
file ended up different from the label: must be 0), correct applies, false rejects, correct rejects.
Exit status 1 when any edit was wrong. ``--dump`` saves every false reject and wrong edit (id, mistake,
tool text) and ``--only`` re-runs just the cases such a file names, so the engine can be iterated on
without re-running the whole corpus; false rejects are also broken down by the refusal's cause.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.edit_corpus import Case, build  # noqa: E402
from tools import ToolSession, run_tool  # noqa: E402


def run_case(case: Case, root: Path) -> tuple[str, str]:
    """Outcome ("applied", "wrong", "rejected") and the tool's text."""
    for old in root.iterdir():
        old.unlink()
    target = root / case.path
    target.write_bytes(case.file)
    session = ToolSession()
    read = run_tool("read_file", {"path": case.path}, root=root, session=session)
    assert read.ok, read.text
    before = case.file
    if case.stale:
        before = case.file + b"# edited by the user meanwhile\n"
        target.write_bytes(before)
    result = run_tool(case.tool, dict(case.args), root=root, session=session)
    after = target.read_bytes() if target.exists() else b""
    if not result.ok:
        return ("rejected" if after == before else "wrong"), result.text
    return ("applied" if case.expected is not None and after == case.expected else "wrong"), result.text


CAUSES = (
    ("without its leading indentation", "one-line old_string lost its indentation, several new lines"),
    ("blank lines in your text differ", "edit touches miscounted blank lines"),
    ("also appear at", "exact match has a shifted twin"),
    ("places in", "ambiguous"),
    ("was not found", "not found"),
    ("have not read", "loose match on an unread file"),
)


def cause(text: str) -> str:
    """A short name for why the tool refused, from its message."""
    return next((name for needle, name in CAUSES if needle in text), text.split(";")[0][:60])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(__file__).resolve().parents[1] / ".bench-cache")
    parser.add_argument("--show", type=int, default=0, help="print this many failures of each kind")
    parser.add_argument("--changes", type=int, default=45,
                        help="real changes sampled per release pair (0: all of them, ~4x slower)")
    parser.add_argument("--dump", type=Path, help="write the false rejects and wrong edits here (JSON)")
    parser.add_argument("--only", type=Path, help="run only the cases named in a --dump file")
    args = parser.parse_args()
    cases = build(args.cache, per_release=args.changes or 10**9)
    if args.only:
        wanted = {(m["id"], m["mistake"]) for m in json.loads(args.only.read_text())}
        cases = [case for case in cases if (case.id, case.mistake) in wanted]
    misses: list[dict[str, str]] = []
    causes: Counter[tuple[str, str]] = Counter()
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    shown: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        for case in cases:
            outcome, text = run_case(case, root)
            label = "apply" if case.expected is not None else "reject"
            key = {("apply", "applied"): "correct_apply", ("apply", "rejected"): "false_reject",
                   ("reject", "rejected"): "correct_reject"}.get((label, outcome), "wrong")
            tally[case.mistake][key] += 1
            tally[case.mistake][label] += 1
            if key == "false_reject":
                causes[(case.mistake, cause(text))] += 1
            if key in ("false_reject", "wrong"):
                misses.append({"id": case.id, "mistake": case.mistake, "outcome": key, "text": text})
            if key != "correct_apply" and key != "correct_reject" and shown[key] < args.show:
                shown[key] += 1
                print(f"--- {key}: {case.id} [{case.mistake}]\n{text[:1500]}\n", file=sys.stderr)
    if args.dump:
        args.dump.write_text(json.dumps(misses, indent=1))
    total: Counter[str] = sum(tally.values(), Counter())
    print(f"{'mistake':28} {'cases':>6} {'wrong':>6} {'applied':>8} {'false rej':>9} {'rejected':>9}")
    for mistake, t in sorted(tally.items()):
        print(f"{mistake:28} {t['apply'] + t['reject']:6} {t['wrong']:6} {t['correct_apply']:8} "
              f"{t['false_reject']:9} {t['correct_reject']:9}")
    if causes:
        print("\nfalse rejects by cause:")
        for (mistake, why), n in sorted(causes.items(), key=lambda item: -item[1]):
            print(f"  {n:5}  {mistake:28} {why}")
    applies, rejects = max(1, total["apply"]), max(1, total["reject"])
    print(f"\ncases: {total['apply'] + total['reject']} ({total['apply']} labelled apply, "
          f"{total['reject']} labelled reject) from {len({c.id.split('#')[0] for c in cases})} changed files")
    print(f"wrong edits:      {total['wrong']}")
    print(f"correct applies:  {100 * total['correct_apply'] / applies:.1f}%")
    print(f"false rejects:    {100 * total['false_reject'] / applies:.1f}%")
    print(f"correct rejects:  {100 * total['correct_reject'] / rejects:.1f}%")
    return 1 if total["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
