"""Classify a shell command line for the permission layer.

Consent decisions hinge on this: a "read-only" line may run without asking, so the classifier must
not be fooled by chaining (``;``, ``&&``, ``||``, newlines), pipes into writers, command or process
substitution (``$(…)``, backticks, ``<(…)``), redirections to files, or environment prefixes that
make read-only programs run code (``PAGER=…``, ``LD_PRELOAD=…``). The line is parsed with bashlex;
anything it cannot parse is "other" (ask), after a token-level scan that still spots destructive
commands. The parse is :func:`tools.shellwords.parse`, the one the allow/deny rules use too. The sandbox, not this module, is the guard: this only decides when to ask.
"""

from __future__ import annotations

import re
import shlex
from typing import Literal

from tools.secrets import is_secret_name
from tools.shellwords import SHELLS, WRAPPERS, parse

Classification = Literal["read-only", "destructive", "simple", "other"]

# Programs that never write files or run other programs, whatever their arguments, except the
# flags listed (which write files or run commands).
_READ_ONLY: dict[str, frozenset[str]] = {
    name: frozenset(bad)
    for name, bad in {
        "ls": (), "cat": (), "head": (), "tail": (), "wc": (), "pwd": (), "echo": (), "printf": (),
        "true": (), "false": (), "cd": (), "basename": (), "dirname": (), "realpath": (),
        "readlink": (), "stat": (), "du": (), "df": (), "nl": (), "cut": (), "tr": (),
        "file": ("-C", "--compile"),
        "diff": (), "cmp": (), "comm": (), "column": (), "jq": (), "which": (), "type": (),
        "whoami": (), "id": (), "uname": (), "printenv": (), "test": (), "[": (), "grep": (),
        "egrep": (), "fgrep": (), "md5sum": (), "sha1sum": (), "sha256sum": (), "tac": (),
        "rev": (), "seq": (), "sleep": (), "od": (), "hexdump": (),
        "sort": ("-o", "--output", "--compress-program"), "tree": ("-o",), "date": ("-s", "--set"),
        "rg": ("--pre", "--pre-glob"),
        "find": ("-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0",
                 "-fprintf", "-fls"),
    }.items()
}

_GIT_READ_ONLY = frozenset({
    "status", "diff", "log", "show", "rev-parse", "ls-files", "blame", "grep", "describe",
    "shortlog", "cat-file", "ls-tree", "rev-list", "merge-base", "show-ref", "whatchanged",
})
# git flags that write files or run external programs even under a read-only subcommand.
_GIT_BAD_FLAGS = ("--output", "--ext-diff", "-O", "--open-files-in-pager")
_GIT_GLOBAL_WITH_VALUE = frozenset({"-C", "--git-dir", "--work-tree", "--namespace"})

_SUBSTITUTION_MARKS = ("$(", "`", "<(", ">(")
_SECRET_PLACES = (".ssh", ".aws/", ".gnupg", ".kube/", ".docker/config", ".config/gcloud", ".password-store",
                  ".git-credentials", "/etc/shadow")
_EDITORS = frozenset({"vi", "vim", "nvim", "view", "vimdiff", "nano", "pico", "emacs", "joe", "mcedit",
                      "micro", "hx", "kak"})


def classify_command(command: str) -> Classification:
    """'read-only', 'destructive', 'simple' (one plain command, safe for prefix rules) or 'other'."""
    if not command.strip():
        return "other"
    facts = parse(command)
    if facts is None:
        return "destructive" if _token_scan_destructive(command) else "other"
    if any(_is_destructive(words) for words in facts.commands):
        return "destructive"
    if any(mark in word for words in facts.commands for word in words for mark in _SUBSTITUTION_MARKS):
        # bashlex leaves substitutions inside ${...} unparsed: scan the tokens, never auto-approve.
        facts.substitution = True
        if _token_scan_destructive(command):
            return "destructive"
    if not facts.commands or facts.substitution or facts.file_redirect or facts.assignment:
        return "other"
    if not facts.compound and all(_is_read_only(words) and not _touches_secret(words)
                                  for words in facts.commands):
        return "read-only"
    if (len(facts.commands) == 1 and not facts.operators and not facts.any_redirect
            and not facts.compound and not facts.expansion):
        return "simple"
    return "other"


def interactive_editor(command: str) -> str | None:
    """The full-screen editor a line would start (they wait for a terminal forever), if any."""
    facts = parse(command)
    for words in facts.commands if facts else []:
        for word in words[:1] + [w for w in words[1:2] if words[0] in WRAPPERS]:
            name = word.rsplit("/", 1)[-1]
            if name in _EDITORS:
                return name
    return None


def _touches_secret(words: list[str]) -> bool:
    """Reading keys or .env files is never auto-approved, even with a read-only program."""
    for arg in words[1:]:
        if any(part in arg for part in _SECRET_PLACES):
            return True
        for piece in re.split(r"[:=]", arg):
            if is_secret_name(piece.rstrip("/").rsplit("/", 1)[-1]):
                return True
    return False


# ---------------------------------------------------------------- read-only


def _is_read_only(words: list[str]) -> bool:
    if not words:
        return True
    name = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    if name == "git":
        return _git_read_only(args)
    bad = _READ_ONLY.get(name)
    if bad is None:
        return False
    return not any(_matches_flag(arg, bad) for arg in args)


def _matches_flag(arg: str, flags: frozenset[str] | tuple[str, ...]) -> bool:
    for flag in flags:
        if arg == flag or (flag.startswith("--") and arg.startswith(flag + "=")):
            return True
        if len(flag) == 2 and flag[0] == "-" and arg.startswith(flag) and not arg.startswith("--"):
            return True  # -ofile
    return False


def _git_read_only(args: list[str]) -> bool:
    sub, rest = _git_subcommand(args)
    if sub is None:
        return False
    if any(_matches_flag(arg, _GIT_BAD_FLAGS) for arg in rest):
        return False
    if sub in _GIT_READ_ONLY:
        return True
    if sub == "branch":
        return all(arg in ("-a", "-r", "-v", "-vv", "--all", "--list", "-l", "--show-current")
                   for arg in rest)
    if sub in ("stash", "worktree", "remote"):
        return rest[:1] in ([], ["list"], ["-v"])
    if sub == "tag":
        return not rest or rest[0] in ("-l", "--list")
    if sub == "config":
        return bool(rest) and rest[0] in ("--get", "--get-all", "--list", "-l", "--get-regexp")
    return False


def _git_subcommand(args: list[str]) -> tuple[str | None, list[str]]:
    """Skip git's global options; ``-c`` (sets config, e.g. a pager command) makes it unknown."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "-c" or arg.startswith("--config-env") or arg.startswith("--exec-path"):
            return None, []
        if arg in _GIT_GLOBAL_WITH_VALUE:
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        return arg, args[i + 1 :]
    return None, []


# ---------------------------------------------------------------- destructive


def _is_destructive(words: list[str], depth: int = 0) -> bool:
    if not words or depth > 4:
        return False
    name = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    if name in WRAPPERS:
        return any(_is_destructive(args[i:], depth + 1) for i in range(len(args)))
    if name in SHELLS and "-c" in args[:-1]:
        script = args[args.index("-c") + 1]
        return classify_command(script) == "destructive" if depth < 4 else True
    if name == "eval":
        return classify_command(" ".join(args)) == "destructive"
    if name == "find":
        if "-delete" in args:
            return True
        return any(_is_destructive(args[i + 1 :], depth + 1)
                   for i, arg in enumerate(args) if arg in ("-exec", "-execdir", "-ok", "-okdir"))
    if name == "rm":
        return _short_or_long(args, "r", "--recursive") or _short_or_long(args, "R", "--recursive") \
            or _short_or_long(args, "f", "--force")
    if name in ("shred", "wipefs") or name.startswith("mkfs"):
        return True
    if name == "dd":
        return any(arg.startswith("of=") for arg in args)
    if name == "git":
        return _git_destructive(args)
    return False


def _short_or_long(args: list[str], letter: str, long: str) -> bool:
    for arg in args:
        if arg == "--":
            return False
        if arg == long or (arg.startswith("-") and not arg.startswith("--") and letter in arg[1:]):
            return True
    return False


def _git_destructive(args: list[str]) -> bool:
    sub, rest = _git_subcommand(args)
    if sub is None:  # `git -c … reset --hard` etc.: look at the words anyway
        sub, rest = next(((a, args[i + 1 :]) for i, a in enumerate(args) if not a.startswith("-")),
                         (None, []))
    if sub == "reset":
        return any(arg in ("--hard", "--merge", "--keep") for arg in rest)
    if sub == "clean":
        return _short_or_long(rest, "f", "--force")
    if sub == "checkout":
        return "--" in rest or "." in rest or _short_or_long(rest, "f", "--force")
    if sub == "restore":
        staged_only = ("--staged" in rest or "-S" in rest) and not ({"--worktree", "-W"} & set(rest))
        return not staged_only
    if sub == "push":
        return (_short_or_long(rest, "f", "--force") or "--mirror" in rest or "--delete" in rest
                or any(a.startswith("--force-with-lease") or a.startswith("+") for a in rest))
    if sub == "branch":
        return any(a in ("-D", "--delete") for a in rest) or _short_or_long(rest, "f", "--force")
    if sub == "stash":
        return rest[:1] in (["drop"], ["clear"])
    if sub in ("filter-branch", "filter-repo"):
        return True
    if sub == "reflog":
        return rest[:1] in (["expire"], ["delete"])
    return sub == "update-ref" and "-d" in rest


def _token_scan_destructive(command: str) -> bool:
    """Fallback when bashlex gives up: split on shell operators and check each segment."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes
        tokens = command.split()
    segment: list[str] = []
    for token in [*tokens, ";"]:
        if re.fullmatch(r"[;&|()<>\n]+", token) or token in ("do", "then", "else", "`", "$("):
            if _is_destructive(segment):
                return True
            segment = []
        else:
            segment.append(token.lstrip("`").lstrip("$("))
    return False
