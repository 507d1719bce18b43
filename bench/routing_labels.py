"""The labelled routing corpus: loading, validation, and the dev/held-out split.

    python bench/routing_labels.py split     # give a split to requests that have none yet
    python bench/routing_labels.py stats     # counts per repo, source, kind, label and split

The corpus lives in ``bench/routing_corpus/hand.jsonl`` (written by hand) and ``mined.jsonl``
(made by ``bench/routing_mine.py``). Splits are stored in the files so that they never move:
``split`` only assigns requests that have none, stratified by (repo, kind, route) with a fixed
seed, about 40 % held out. Re-running it after adding requests leaves every earlier assignment
alone, so nothing that was held out can drift into dev. The held-out split is never used for
tuning: only its aggregate figures are looked at.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "routing_corpus"
FILES = ("hand.jsonl", "mined.jsonl")
HELDOUT_SHARE = 0.4
SEED = 17
ROUTES = {"local", "remote"}
MODES = {"fast", "thinking", None}
SOURCES = {"hand", "mined"}
SPLITS = {"dev", "heldout", None}


@dataclass(frozen=True)
class Request:
    """One labelled request; ``mode`` is None where the labelling rule cannot set it."""

    id: str
    repo: str
    source: str
    kind: str
    route: str
    mode: str | None
    split: str | None
    prompt: str
    why: str


class CorpusError(ValueError):
    """A corpus line is malformed; the message names the file, line and field."""


def _parse(line: str, where: str) -> Request:
    try:
        raw = json.loads(line)
        req = Request(**{f: raw.get(f) for f in Request.__dataclass_fields__})
    except (json.JSONDecodeError, TypeError) as exc:
        raise CorpusError(f"{where}: not a request object ({exc})") from exc
    checks = {
        "route": req.route in ROUTES, "mode": req.mode in MODES, "source": req.source in SOURCES,
        "split": req.split in SPLITS, "id": bool(req.id), "prompt": bool(req.prompt),
        "kind": bool(req.kind), "repo": bool(req.repo),
    }
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise CorpusError(f"{where}: bad or missing {', '.join(bad)}")
    return req


def load(corpus: Path = CORPUS) -> list[Request]:
    """Every request of the corpus, validated; ids must be unique."""
    requests: list[Request] = []
    for name in FILES:
        path = corpus / name
        if not path.exists():
            raise CorpusError(f"{path} is missing")
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip():
                requests.append(_parse(line, f"{path.name}:{number}"))
    dupes = [i for i, n in Counter(r.id for r in requests).items() if n > 1]
    if dupes:
        raise CorpusError(f"duplicate ids: {dupes[:5]}")
    return requests


def assign_splits(requests: list[Request], seed: int = SEED) -> dict[str, str]:
    """id -> split for the requests without one, stratified by (repo, kind, route)."""
    strata: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for req in requests:
        if req.split is None:
            strata[(req.repo, req.kind, req.route)].append(req.id)
    assigned: dict[str, str] = {}
    for key in sorted(strata):
        ids = sorted(strata[key])
        random.Random(f"{seed}:{':'.join(key)}").shuffle(ids)
        cut = round(len(ids) * HELDOUT_SHARE)
        assigned.update({i: "heldout" for i in ids[:cut]})
        assigned.update({i: "dev" for i in ids[cut:]})
    return assigned


def write_splits(corpus: Path = CORPUS) -> int:
    """Store a split on every request that has none; return how many were assigned."""
    assigned = assign_splits(load(corpus))
    for name in FILES:
        path = corpus / name
        rows = []
        for line in path.read_text().splitlines():
            if line.strip():
                req = _parse(line, name)
                if req.split is None:
                    req = Request(**{**asdict(req), "split": assigned[req.id]})
                rows.append(json.dumps(asdict(req), ensure_ascii=False))
        path.write_text("\n".join(rows) + "\n")
    return len(assigned)


def stats(requests: list[Request]) -> str:
    """A short table of what the corpus holds, for the README and for reviewers."""
    lines = [f"{len(requests)} requests"]
    for field in ("repo", "source", "split", "route", "mode"):
        counts = Counter(str(getattr(r, field)) for r in requests)
        lines.append(f"  {field}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    by = Counter((r.repo, r.route, r.split) for r in requests)
    for repo in sorted({r.repo for r in requests}):
        cells = [f"{route}/{split} {by[(repo, route, split)]}"
                 for route in sorted(ROUTES) for split in ("dev", "heldout")]
        lines.append(f"  {repo}: " + ", ".join(cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["split", "stats"])
    args = parser.parse_args()
    try:
        if args.command == "split":
            print(f"assigned a split to {write_splits()} requests")
        print(stats(load()))
    except CorpusError as exc:
        sys.exit(f"routing corpus: {exc}")


if __name__ == "__main__":
    main()
