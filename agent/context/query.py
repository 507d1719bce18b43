"""What a task's text points at: mentioned paths, identifiers, and plain words.

A task rarely names files exactly. It names a class (``QuerySet.bulk_create()``), a dotted module
(``sphinx.ext.autodoc``), a file by its base name (``query.py``) or just words ("autodoc type hints
for overloads"). Each is resolved against the repository: paths by exact, suffix or dotted-module
match; identifiers against definitions; words against the sub-words of paths and definition names,
weighted by rarity (idf).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PATHLIKE = re.compile(r"[\w.\-/]*[\w\-]+(?:/[\w.\-]+)+|[\w\-]+\.[A-Za-z][\w]{0,5}\b|[A-Za-z_]\w*(?:\.\w+)+")
_SUBWORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
STOP_WORDS = frozenset(
    """
a an and are as at be been but by can could did do does doing done for from had has have how if in
into is it its it's let lets made make makes may more most must new no not of on only or other our
out over same should so some such than that the their them then there these they this those to too
under up use used uses using via was were what when where which while who why will with within would
you your fix fixed fixes fixing add added adds adding allow allowed allows remove removed removes
update updated updates support supported supports improve improved improves change changed changes
refs ref issue issues bug bugs now also instead correct correctly properly ensure case cases
""".split()  # noqa: SIM905 - a word list reads better as text
)


def subwords(name: str) -> list[str]:
    """``bulk_create`` → [bulk, create]; ``HTTPResponseBase`` → [http, response, base]."""
    return [w.lower() for w in _SUBWORD.findall(name)]


def stem(word: str) -> str:
    """Plural-insensitive matching, deliberately crude: "directives" and "directive" meet."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@lru_cache(maxsize=1 << 18)
def name_terms(name: str) -> frozenset[str]:
    """Stemmed sub-words of one identifier or path part (memoised: names repeat across files)."""
    return frozenset(stem(w) for w in subwords(name) if len(w) > 1) - STOP_WORDS


def path_terms(path: str) -> frozenset[str]:
    *dirs, name = path.split("/")
    dot = name.rfind(".")
    return frozenset().union(*map(name_terms, [*dirs, name[:dot] if dot > 0 else name]))


def def_terms(defnames: Iterable[str]) -> frozenset[str]:
    return frozenset().union(*map(name_terms, set(defnames)))


@dataclass(frozen=True)
class Mentions:
    paths: frozenset[str]
    """Repository files the text names."""
    identifiers: frozenset[str]
    """Names in the text that some file defines."""
    words: frozenset[str]
    """Stemmed words of the text, stop words removed."""
    mentions_tests: bool


def find_mentions(
    text: str,
    files: Iterable[str],
    defines: Mapping[str, set[str]],
    by_name: Mapping[str, list[str]] | None = None,
) -> Mentions:
    """Resolve the text's mentions against the repository's files and definitions.

    ``by_name`` (file name → paths, from :func:`index_names`) can be passed to avoid rebuilding it.
    """
    if not text.strip():
        return Mentions(frozenset(), frozenset(), frozenset(), mentions_tests=False)
    fileset = files if isinstance(files, (set, frozenset)) else set(files)
    names = by_name if by_name is not None else index_names(fileset)
    paths: set[str] = set()
    for raw in _PATHLIKE.findall(text):
        token = raw.strip("./-`'\"")
        paths |= _resolve_path(token, fileset, names)
    identifiers = {w for w in _WORD.findall(text) if w in defines and len(w) > 2}
    words = {stem(w) for tok in _WORD.findall(text) for w in subwords(tok) if len(w) > 1}
    lowered = text.lower()
    return Mentions(
        frozenset(paths),
        frozenset(identifiers),
        frozenset(words - STOP_WORDS),
        mentions_tests=bool(re.search(r"\btests?\b|\btesting\b|pytest|unittest", lowered)),
    )


def index_names(files: Iterable[str]) -> dict[str, list[str]]:
    """File name → the paths that have it."""
    by_name: dict[str, list[str]] = {}
    for f in files:
        by_name.setdefault(f.rpartition("/")[2], []).append(f)
    return by_name


def _resolve_path(token: str, fileset: Set[str], by_name: Mapping[str, list[str]]) -> set[str]:
    if not token:
        return set()
    if token in fileset:
        return {token}
    if "/" in token:
        return {f for f in by_name.get(PurePosixPath(token).name, []) if f.endswith("/" + token)}
    if token in by_name:  # a bare file name such as "query.py": every file with that name
        found = by_name[token]
        return set(found) if len(found) <= 3 else set()
    if "." in token:  # a dotted module: sphinx.ext.autodoc -> sphinx/ext/autodoc(.py|/__init__.py)
        base = token.replace(".", "/")
        options = {base + ".py", base + "/__init__.py"}
        hits = options & fileset
        if not hits:
            module = base.rsplit("/", 1)[0]  # a.b.Class: the module is a/b
            hits = {module + ".py", module + "/__init__.py"} & fileset
        return hits
    return set()


def idf(df: int, n: int) -> float:
    return math.log(1.0 + n / (1.0 + df))


def lexical_scores(
    words: frozenset[str], terms: Mapping[str, tuple[frozenset[str], frozenset[str]]], df: Mapping[str, int]
) -> dict[str, float]:
    """Per file: rarity-weighted overlap of task words with its path (×2) and definition terms."""
    if not words:
        return {}
    n = max(1, len(terms))
    weights = {w: idf(df.get(w, 0), n) for w in words if df.get(w)}
    if not weights:
        return {}
    scores: dict[str, float] = {}
    for path, (path_terms, def_terms) in terms.items():
        score = 0.0
        for w, wt in weights.items():
            if w in path_terms:
                score += 2.0 * wt
            elif w in def_terms:
                score += wt
        if score:
            scores[path] = score / (1.0 + math.log1p(len(def_terms)) / 4)
    return scores
