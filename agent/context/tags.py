"""Definitions and references of a source file, from tree-sitter and the grammars' own tag queries.

The official per-language wheels ship ``queries/tags.scm`` (the queries GitHub's code navigation
uses), so no tag queries are maintained here. TypeScript's file only adds TS-only nodes on top of
JavaScript's, so both are combined. For Python the official query records calls only; a few extra
reference patterns (imports, base classes, decorators, annotations) are added because an import is
the strongest evidence that one file depends on another. C and C++ ship definitions only, so calls
and type names are added as references there.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

# language name -> (grammar module, language function, tag query files in that order)
_GRAMMARS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "python": ("tree_sitter_python", "language", ("python",)),
    "javascript": ("tree_sitter_javascript", "language", ("javascript",)),
    "typescript": ("tree_sitter_typescript", "language_typescript", ("javascript", "typescript")),
    "tsx": ("tree_sitter_typescript", "language_tsx", ("javascript", "typescript")),
    "go": ("tree_sitter_go", "language", ("go",)),
    "rust": ("tree_sitter_rust", "language", ("rust",)),
    "java": ("tree_sitter_java", "language", ("java",)),
    "c": ("tree_sitter_c", "language", ("c",)),
    "cpp": ("tree_sitter_cpp", "language", ("cpp",)),
    "ruby": ("tree_sitter_ruby", "language", ("ruby",)),
}
_QUERY_MODULES = {
    "python": "tree_sitter_python",
    "javascript": "tree_sitter_javascript",
    "typescript": "tree_sitter_typescript",
    "go": "tree_sitter_go",
    "rust": "tree_sitter_rust",
    "java": "tree_sitter_java",
    "c": "tree_sitter_c",
    "cpp": "tree_sitter_cpp",
    "ruby": "tree_sitter_ruby",
}
EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".rb": "ruby",
}

_EXTRA_QUERIES = {
    "python": """
(import_from_statement name: (dotted_name (identifier) @name) @reference.import)
(import_from_statement name: (aliased_import name: (dotted_name (identifier) @name)) @reference.import)
(class_definition superclasses: (argument_list (identifier) @name) @reference.class)
(class_definition superclasses: (argument_list (attribute attribute: (identifier) @name)) @reference.class)
(decorator (identifier) @name @reference.call)
(decorator (attribute attribute: (identifier) @name) @reference.call)
(type (identifier) @name @reference.type)
(except_clause (identifier) @name @reference.class)
""",
    # The C and C++ grammars' tags.scm have definitions only; without references a C file has no edges.
    "c": """
(call_expression function: (identifier) @name) @reference.call
(type_identifier) @name @reference.type
""",
    "cpp": """
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (field_expression field: (field_identifier) @name)) @reference.call
(call_expression function: (qualified_identifier name: (identifier) @name)) @reference.call
(type_identifier) @name @reference.type
""",
}

MAX_SIGNATURE_CHARS = 160


@dataclass(frozen=True)
class Definition:
    name: str
    line: int
    """0-based line of the definition's first line."""
    category: str
    """class, function, method, interface, module, constant, type, macro..."""
    signature: str
    """The definition's first source line (indentation kept, truncated), for rendering maps."""


@dataclass(frozen=True)
class FileTags:
    definitions: tuple[Definition, ...]
    references: tuple[tuple[str, int], ...]
    """(identifier, number of references), sorted by identifier."""


def language_for(path: str) -> str | None:
    """The tag language of a path by extension, or None when no grammar handles it."""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return EXTENSIONS.get(name[dot:].lower()) if dot > 0 else None


def _query_text(name: str) -> str:
    module = importlib.import_module(_QUERY_MODULES[name])
    return (Path(module.__file__).parent / "queries" / "tags.scm").read_text(encoding="utf-8")


@cache
def _machinery(lang: str) -> tuple[Any, Any]:
    """(parser, query) for a language, built once per process (workers build their own)."""
    import tree_sitter as ts

    module_name, function, query_names = _GRAMMARS[lang]
    language = ts.Language(getattr(importlib.import_module(module_name), function)())
    source = "\n".join(_query_text(q) for q in query_names) + _EXTRA_QUERIES.get(lang, "")
    return ts.Parser(language), ts.Query(language, source)


def compile_language(lang: str) -> None:
    """Build a language's parser and query now (a process pool forked later inherits them)."""
    _machinery(lang)


def extract_tags(lang: str, source: bytes) -> FileTags:
    """Definitions and references in ``source`` written in ``lang`` (a key of ``EXTENSIONS``)."""
    import tree_sitter as ts

    parser, query = _machinery(lang)
    tree = parser.parse(source)
    lines = source.split(b"\n")
    defs: dict[tuple[str, int], Definition] = {}
    refs: dict[str, int] = {}
    for _pattern, captures in ts.QueryCursor(query).matches(tree.root_node):
        names = captures.get("name")
        if not names:
            continue
        for capture, nodes in captures.items():
            kind, _, category = capture.partition(".")
            if kind == "definition":
                for name_node in names:
                    name = _text(name_node)
                    if not name:
                        continue
                    row = nodes[0].start_point.row
                    key = (name, row)
                    if key not in defs:
                        defs[key] = Definition(name, row, category, _signature(lines, row))
            elif kind == "reference":
                for name_node in names:
                    name = _text(name_node)
                    if name:
                        refs[name] = refs.get(name, 0) + 1
    ordered = tuple(sorted(defs.values(), key=lambda d: (d.line, d.name)))
    return FileTags(ordered, tuple(sorted(refs.items())))


def _text(node: Any) -> str:
    return node.text.decode("utf-8", "replace") if node.text else ""


def _signature(lines: list[bytes], row: int) -> str:
    text = lines[row].decode("utf-8", "replace").rstrip() if row < len(lines) else ""
    return text if len(text) <= MAX_SIGNATURE_CHARS else text[: MAX_SIGNATURE_CHARS - 1] + "…"
