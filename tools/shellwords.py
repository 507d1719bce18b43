"""The one shell parser: every command a line would run, so rules and classifiers see through ``;``,
``&&``, ``$(…)``.

:func:`parse` walks bashlex's tree once and records every simple command and the facts the
permission layer judges a line by (substitutions, redirections, assignments, compounds), for
:mod:`tools.shellparse`'s classification. ``command_words("echo ok && $(curl x) | sh -c 'rm -rf /'")``
gives each simple command's words, including commands inside substitutions, ``bash -c``/``eval``
strings, and the command a wrapper runs (``env X=1 sudo nice rm …`` also yields ``rm …``), for the
allow/deny rules of :mod:`agent.policy.permissions`. :func:`redirect_targets` lists the files a line
redirects to or from, for path rules. ``None`` means bashlex could not parse the line: callers must
then fail closed (never allow by rule).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import bashlex

WRAPPERS = frozenset({
    "sudo", "doas", "env", "nice", "nohup", "time", "timeout", "stdbuf", "ionice", "xargs", "command",
    "builtin", "exec", "watch", "flock", "setsid", "unbuffer", "chroot", "parallel",
})  # fmt: skip
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish"})
_MAX_DEPTH = 4


@dataclass
class ShellLine:
    """What one parse of a line found: every simple command (outer before nested) and the facts the
    permission layer judges a line by."""

    commands: list[list[str]] = field(default_factory=list)
    """The words of every simple command, including those inside substitutions (not expanded)."""
    targets: list[str] = field(default_factory=list)
    """Files the line redirects to or from."""
    substitution: bool = False
    file_redirect: bool = False
    """Output redirected to a file other than /dev/null."""
    any_redirect: bool = False
    assignment: bool = False
    compound: bool = False
    expansion: bool = False
    operators: int = 0


def parse(command: str) -> ShellLine | None:
    """The line's commands and facts, or None when bashlex cannot parse it (callers fail closed)."""
    try:
        trees = bashlex.parse(command)
    except Exception:  # bashlex raises ParsingError, NotImplementedError, IndexError …
        return None
    line = ShellLine()
    for tree in trees:
        _walk(tree, line)
    return line


def command_words(command: str, depth: int = 0) -> list[list[str]] | None:
    """The words of every command in ``command`` (see module docstring), or None if unparseable."""
    line = parse(command)
    return None if line is None else [run for words in line.commands for run in _expand(words, depth)]


def redirect_targets(command: str) -> list[str] | None:
    """Files the line redirects to or from (``> out``, ``< .env``), or None if unparseable."""
    line = parse(command)
    return None if line is None else line.targets


def _walk(node: Any, line: ShellLine) -> None:
    kind = node.kind
    if kind == "command":
        words: list[str] = []
        line.commands.append(words)
        for part in node.parts:
            if part.kind == "word":
                words.append(part.word)
                _walk_parts(part, line)
            elif part.kind == "assignment":
                line.assignment = True
                _walk_parts(part, line)
            elif part.kind == "redirect":
                _walk_redirect(part, line)
            else:
                _walk(part, line)
        return
    if kind in ("operator", "pipe"):
        line.operators += 1
        return
    if kind in ("compound", "for", "if", "while", "until", "function", "case"):
        line.compound = True
    if kind in ("commandsubstitution", "processsubstitution"):
        line.substitution = True
    if kind == "redirect":
        _walk_redirect(node, line)
        return
    if kind == "parameter":
        line.expansion = True
    for child in _children(node):
        _walk(child, line)


def _walk_parts(word: Any, line: ShellLine) -> None:
    for part in getattr(word, "parts", None) or []:
        _walk(part, line)


def _walk_redirect(node: Any, line: ShellLine) -> None:
    line.any_redirect = True
    target = node.output
    if isinstance(target, int):  # 2>&1 and friends: fd duplication, no file
        return
    if target is not None and target.kind == "word":
        line.targets.append(target.word)
        _walk_parts(target, line)
        if node.type in ("<", "<<", "<<<", "<&"):
            return
        if target.word != "/dev/null":
            line.file_redirect = True
        return
    line.file_redirect = True


def _children(node: Any) -> list[Any]:
    children: list[Any] = []
    for attr in ("parts", "list"):
        children.extend(getattr(node, attr, None) or [])
    sub = getattr(node, "command", None)
    if sub is not None and hasattr(sub, "kind"):
        children.append(sub)
    return children


def _expand(words: list[str], depth: int) -> list[list[str]]:
    """The command itself plus what it runs: wrapper suffixes and ``sh -c``/``eval`` scripts."""
    if not words:
        return []
    out = [words]
    name = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    if depth >= _MAX_DEPTH:
        return out
    if name in WRAPPERS:  # every suffix that could be the wrapped command (`sudo -u bob rm …`)
        for index, arg in enumerate(args):
            if not arg.startswith("-") and "=" not in arg and not arg.replace(".", "").isdigit():
                out.extend(_expand(args[index:], depth + 1))
    script = None
    flag = next((i for i, a in enumerate(args[:-1]) if re.fullmatch(r"-[A-Za-z]*c[A-Za-z]*", a)), None)
    if name in SHELLS and flag is not None:  # sh -c, bash -lc, sh -ec …
        script = args[flag + 1]
    elif name == "eval" and args:
        script = " ".join(args)
    if script is not None:
        inner = command_words(script, depth + 1)
        out.extend(inner if inner is not None else [_rough_words(script)])
    return out


def _rough_words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def rough_segments(command: str, depth: int = 0) -> list[list[str]]:
    """Fallback split at shell operators for lines bashlex cannot parse (used to *deny*, never
    allow). Quoted strings with spaces are split again, since they may be ``sh -c`` scripts."""
    text = command.replace("$(", " ; ").replace("`", " ; ").replace("<(", " ; ").replace(">(", " ; ")
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes
        tokens = text.replace("'", " ").replace('"', " ").split()
    segments: list[list[str]] = [[]]
    for token in tokens:
        if set(token) <= set(";&|()<>\n"):
            segments.append([])
            continue
        segments[-1].append(token)
        if " " in token.strip() and depth < _MAX_DEPTH:
            segments.extend(rough_segments(token, depth + 1))
    return [s for s in segments if s]
