"""Every command a shell line would run, so prefix rules see through ``;``, ``&&``, ``$(…)``.

``command_words("echo ok && $(curl x) | sh -c 'rm -rf /'")`` gives each simple command's words,
including commands inside substitutions, ``bash -c``/``eval`` strings, and the command a wrapper
runs (``env X=1 sudo nice rm …`` also yields ``rm …``). :func:`redirect_targets` lists the
files a line redirects to or from, for path rules. ``None`` means bashlex could not parse the
line: callers must then fail closed (never allow by rule).
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import bashlex

WRAPPERS = frozenset({
    "sudo", "doas", "env", "nice", "nohup", "time", "timeout", "stdbuf", "ionice", "xargs", "command",
    "builtin", "exec", "watch", "flock", "setsid", "unbuffer", "chroot", "parallel",
})  # fmt: skip
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish"})
_MAX_DEPTH = 4


def command_words(command: str, depth: int = 0) -> list[list[str]] | None:
    """The words of every command in ``command`` (see module docstring), or None if unparseable."""
    parsed = _parse(command, depth)
    return None if parsed is None else parsed[0]


def redirect_targets(command: str) -> list[str] | None:
    """Files the line redirects to or from (``> out``, ``< .env``), or None if unparseable."""
    parsed = _parse(command, 0)
    return None if parsed is None else parsed[1]


def _parse(command: str, depth: int) -> tuple[list[list[str]], list[str]] | None:
    try:
        trees = bashlex.parse(command)
    except Exception:  # bashlex raises ParsingError, NotImplementedError, IndexError …
        return None
    commands: list[list[str]] = []
    targets: list[str] = []
    for tree in trees:
        _walk(tree, commands, targets, depth)
    return commands, targets


def _walk(node: Any, commands: list[list[str]], targets: list[str], depth: int) -> None:
    if node.kind == "command":
        words = [p.word for p in node.parts if p.kind == "word"]
        commands.extend(_expand(words, depth))
    if node.kind == "redirect" and hasattr(node.output, "word"):
        targets.append(node.output.word)
    for child in _children(node):
        _walk(child, commands, targets, depth)


def _children(node: Any) -> list[Any]:
    children: list[Any] = []
    for attr in ("parts", "list", "command"):
        value = getattr(node, attr, None)
        if isinstance(value, list):
            children.extend(value)
        elif value is not None and hasattr(value, "kind"):
            children.append(value)
    if node.kind == "redirect" and hasattr(getattr(node, "output", None), "kind"):
        children.append(node.output)
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
