"""Tag extraction with the grammars' own tags.scm on small real snippets, one per language."""

from __future__ import annotations

import pytest

from agent.context.tags import extract_tags, language_for

SNIPPETS = {
    "python": (
        "from store.db import Connection\n\nclass Cart(Base):\n    def add(self, item):\n"
        "        return price_of(item)\n",
        {"Cart", "add"},
        {"price_of", "Connection", "Base"},
    ),
    "javascript": (
        "class Cart {\n  add(item) { return priceOf(item); }\n}\n"
        "function checkout(cart) { return total(cart); }\n",
        {"Cart", "add", "checkout"},
        {"priceOf", "total"},
    ),
    "typescript": (
        "interface Priced { price(): number }\nexport function checkout(c: Priced): number {\n"
        "  return total(c);\n}\nclass Cart implements Priced { price() { return sum(); } }\n",
        {"Priced", "checkout", "Cart"},
        {"total", "sum"},
    ),
    "tsx": (
        "export function Button(props: Props) { return render(props); }\n",
        {"Button"},
        {"render"},
    ),
    "go": (
        "package shop\n\ntype Cart struct{}\n\nfunc (c *Cart) Add(i int) int { return priceOf(i) }\n"
        "func Checkout() { fmt.Println(total()) }\n",
        {"Cart", "Add", "Checkout"},
        {"priceOf", "total"},
    ),
    "rust": (
        "struct Cart;\nimpl Cart {\n    fn add(&self) -> u32 { price_of(1) }\n}\n"
        "fn checkout() { total(); }\n",
        {"Cart", "add", "checkout"},
        {"price_of", "total"},
    ),
    "java": (
        "class Cart {\n  int add(int i) { return priceOf(i); }\n}\n",
        {"Cart", "add"},
        {"priceOf"},
    ),
    "c": (
        "struct cart { int n; };\nint add(struct cart *c) { return price_of(c->n); }\n",
        {"cart", "add"},
        {"price_of"},
    ),
    "cpp": (
        "class Cart {\n public:\n  int add(int i);\n};\nint checkout() { return total(); }\n",
        {"Cart", "checkout"},
        {"total"},
    ),
    "ruby": (
        "class Cart\n  def add(item)\n    price_of(item)\n  end\nend\n",
        {"Cart", "add"},
        {"price_of"},
    ),
}
EXT = {
    "python": "py",
    "javascript": "js",
    "typescript": "ts",
    "tsx": "tsx",
    "go": "go",
    "rust": "rs",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
    "ruby": "rb",
}


@pytest.mark.parametrize("lang", sorted(SNIPPETS))
def test_definitions_and_references_per_language(lang: str) -> None:
    source, defs, refs = SNIPPETS[lang]
    assert language_for(f"src/file.{EXT[lang]}") == lang
    tags = extract_tags(lang, source.encode())
    found_defs = {d.name for d in tags.definitions}
    found_refs = {name for name, _ in tags.references}
    assert defs <= found_defs, f"{lang}: missing definitions {defs - found_defs}"
    assert refs <= found_refs, f"{lang}: missing references {refs - found_refs}"


def test_definition_lines_and_signatures_point_at_the_source() -> None:
    source = "import os\n\n\nclass Cart:\n    def add(self, item):\n        pass\n"
    tags = extract_tags("python", source.encode())
    by_name = {d.name: d for d in tags.definitions}
    assert by_name["Cart"].line == 3 and by_name["Cart"].signature == "class Cart:"
    assert by_name["add"].line == 4 and by_name["add"].signature == "    def add(self, item):"


def test_reference_counts_are_summed() -> None:
    tags = extract_tags("python", b"f()\nf()\ng()\n")
    assert dict(tags.references) == {"f": 2, "g": 1}


def test_unknown_extension_has_no_language() -> None:
    assert language_for("notes.txt") is None
