"""Mine labelled routing requests from a project's real commit history.

    python bench/routing_mine.py --history /path/to/flask/.git --repo flask [--repo ...]

A commit's subject and body become the request; its label comes from what the commit touched,
by the rule below, applied mechanically (bench/routing_corpus/README.md states it for readers):

* Only non-merge commits reachable from the tag of the fixed version, whose every code file lies
  inside the package and exists in the fixed version (so the request names things that exist).
* Code files are ``.py .pyi .ts .tsx .js .go`` files that are not tests (a ``tests``/``test``/
  ``__tests__``/``testdata``/``spec`` folder, ``test_*``, ``*_test.go``, ``*.test.ts``,
  ``*.spec.ts``, ``conftest.py``), docs (``docs/``, ``www/``, ``examples/``) or changelogs.
  Lines changed = lines added + removed in code files; directories = distinct code-file folders.
* **local**: one code file and at most 80 lines changed in it.
* **remote**: three or more code files, or two or more directories with at least 100 lines changed.
* Anything else (two files in one folder, one file with a large rewrite, more than 50 code
  files, no code file at all) is ambiguous and left out.
* Commits that a tool rather than a person would do (releases, version bumps, merges, reverts,
  formatting, dependency updates) are left out by their subject.
* Mode is not labelled: what the commit touched says nothing about whether it needed thinking.

The request text is cleaned of what a user would not type: trailers (Signed-off-by,
Co-authored-by, ...), PR and issue numbers, conventional-commit prefixes such as ``fix(http):``.
Sampling per repository and label uses a fixed seed so the output is reproducible.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from routing_repos import REPOS, Repo, checkout  # noqa: E402

OUT = Path(__file__).resolve().parent / "routing_corpus" / "mined.jsonl"
CODE_SUFFIXES = (".py", ".pyi", ".ts", ".tsx", ".js", ".go")
TEST_DIRS = {"tests", "test", "__tests__", "testdata", "spec", "testing_utils"}
DOC_DIRS = {"docs", "www", "examples", "example"}
SKIP_SUBJECT = re.compile(
    r"^(merge|revert|release|bump|version|prepare|start version|update (changelog|version|dependencies))\b"
    r"|pre-commit|autoupdate|dependabot|requirements|pyupgrade|gofmt|code style"
    r"|\b(black|isort|prettier|ruff|reformat|lint|linter|linting|formatter)\b"
    r"|^v?\d+\.\d+",
    re.IGNORECASE,
)
TRAILER = re.compile(r"^[A-Za-z][A-Za-z-]*(-by|-authored-by|-Id| Id)?:\s", re.IGNORECASE)
KNOWN_TRAILERS = re.compile(
    r"^(signed-off-by|co-authored-by|reviewed-by|acked-by|tested-by|reported-by|change-id|"
    r"fixes|closes|resolves|refs|see|ref)\b:?", re.IGNORECASE,
)
CONVENTIONAL = re.compile(r"^[a-z]+(\([^)]*\))?!?:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str
    numstat: list[tuple[int, int, str]]


def is_test(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return (
        any(p in TEST_DIRS for p in parts[:-1])
        or name.startswith("test_") or name == "conftest.py"
        or name.endswith(("_test.go", ".test.ts", ".test.tsx", ".spec.ts", ".bench.ts"))
    )


def is_code(path: str) -> bool:
    parts = path.split("/")
    return (
        path.endswith(CODE_SUFFIXES)
        and not is_test(path)
        and not any(p in DOC_DIRS for p in parts[:-1])
        and not parts[-1].lower().startswith(("changes", "changelog"))
    )


def commits(history: Path, tag: str) -> list[Commit]:
    """Non-merge commits reachable from ``tag`` with their per-file line counts."""
    out = subprocess.run(
        ["git", "--git-dir", str(history), "log", "--no-merges", "--no-renames", "--numstat",
         "--format=%x1e%H%x1f%B%x1f", tag],
        capture_output=True, text=True, check=True, errors="replace",
    ).stdout
    found = []
    for record in out.split("\x1e")[1:]:
        sha, message, stats = record.split("\x1f")
        rows = []
        for line in stats.strip().splitlines():
            added, removed, path = line.split("\t", 2)
            if added != "-":  # binary files have no line counts
                rows.append((int(added), int(removed), path))
        found.append(Commit(sha, message.strip(), rows))
    return found


def label(commit: Commit, repo: Repo, existing: set[str]) -> tuple[str, str] | None:
    """(route, why) by the rule in the module docstring, or None when the commit is left out."""
    code = [(a + r, p) for a, r, p in commit.numstat if is_code(p)]
    if not code:
        return None
    inside = [(n, p[len(repo.prefix):]) for n, p in code if p.startswith(repo.prefix)]
    if len(inside) != len(code) or any(p not in existing for _, p in inside):
        return None
    lines = sum(n for n, _ in inside)
    dirs = {p.rpartition("/")[0] or "." for _, p in inside}
    files = sorted(p for _, p in inside)
    shown = ", ".join(files[:4]) + (f" and {len(files) - 4} more" if len(files) > 4 else "")
    why = (f"commit {commit.sha[:10]}: {len(files)} code file(s) in {len(dirs)} dir(s), "
           f"{lines} lines ({shown})")
    if len(files) == 1 and lines <= 80:
        return "local", why
    if 3 <= len(files) <= 50 or (len(dirs) >= 2 and lines >= 100 and len(files) <= 50):
        return "remote", why
    return None


def clean(message: str) -> str:
    """The commit message as a request: no trailers, PR/issue numbers or commit-type prefixes."""
    lines = [ln.rstrip() for ln in message.splitlines()]
    kept = [ln for ln in lines if not (TRAILER.match(ln) and KNOWN_TRAILERS.match(ln))]
    kept = [ln for ln in kept if not ln.lower().startswith(("merge pull request", "merge branch"))]
    text = "\n".join(kept).strip()
    text = re.sub(r"https?://github\.com/\S+", "", text)
    text = re.sub(r"\s*\((?:#|gh-)\d+\)", "", text)
    text = re.sub(r"\b(?:fix(?:es|ed)?|close[sd]?|resolve[sd]?|refs?|see)\s+#\d+", "", text,
                  flags=re.IGNORECASE)
    text = re.sub(r"#\d+", "", text)
    text = CONVENTIONAL.sub("", text, count=1)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if len(text) > 900:  # squash-merge bodies list every sub-commit; keep the head of it
        text = text[:900].rsplit("\n", 1)[0].strip()
    return text


def mine(repo: Repo, history: Path, per_label: int, seed: int) -> list[dict[str, object]]:
    """Up to ``per_label`` local and remote requests from ``repo``'s history, seeded sample."""
    tree = checkout(repo)
    existing = set(subprocess.run(["git", "ls-files"], cwd=tree, capture_output=True, text=True,
                                  check=True).stdout.splitlines())
    pools: dict[str, list[dict[str, object]]] = {"local": [], "remote": []}
    seen: set[str] = set()
    for commit in commits(history, repo.tag):
        subject = commit.message.splitlines()[0] if commit.message else ""
        if SKIP_SUBJECT.search(CONVENTIONAL.sub("", subject)) or subject.lower().startswith("chore"):
            continue
        verdict = label(commit, repo, existing)
        prompt = clean(commit.message)
        if verdict is None or len(prompt) < 15 or prompt.lower() in seen:
            continue
        seen.add(prompt.lower())
        route, why = verdict
        pools[route].append({
            "id": f"{repo.name}-m-{commit.sha[:10]}", "repo": repo.name, "source": "mined",
            "kind": "commit-one-file" if route == "local" else "commit-many-files",
            "route": route, "mode": None, "split": None, "prompt": prompt, "why": why,
        })
    rng = random.Random(f"{seed}-{repo.name}")
    picked: list[dict[str, object]] = []
    for route in ("local", "remote"):
        pool = sorted(pools[route], key=lambda r: str(r["id"]))
        picked += rng.sample(pool, min(per_label, len(pool)))
        print(f"{repo.name}: {len(pool)} {route} commits eligible, {min(per_label, len(pool))} taken",
              file=sys.stderr)
    return sorted(picked, key=lambda r: str(r["id"]))


def _existing_splits(path: Path) -> dict[str, str]:
    """Splits already given to mined requests: re-mining must never move one between splits."""
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {row["id"]: row["split"] for row in rows if row.get("split")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", action="append", required=True, choices=sorted(REPOS))
    parser.add_argument("--history", action="append", required=True, type=Path,
                        help="git dir of a clone of the repo's GitHub history (one per --repo)")
    parser.add_argument("--per-label", type=int, default=25)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if len(args.repo) != len(args.history):
        parser.error("give one --history per --repo, in the same order")
    rows = []
    for name, history in zip(args.repo, args.history, strict=True):
        if not (history / "HEAD").exists():
            parser.error(f"{history} is not a git directory (clone {REPOS[name].history} first)")
        rows += mine(REPOS[name], history, args.per_label, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    kept = _existing_splits(args.out)
    with args.out.open("w") as fh:
        for row in rows:
            row["split"] = kept.get(str(row["id"]))
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} requests to {args.out}; run `python bench/routing_labels.py split` "
          "to give new ones a split", file=sys.stderr)


if __name__ == "__main__":
    main()
