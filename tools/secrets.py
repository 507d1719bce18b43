"""Every secret qagent knows by shape: file names that hold secrets, and tokens inside text.

One home for both, so the places that keep secrets from a model cannot drift apart again (they had:
the packer knew ``*.tfvars`` and ``.envrc`` while the sandbox did not, and the packer's AWS and
``sk-`` key patterns differed from redaction's).

- **Names**: the shell sandbox masks these files, the file tools refuse to open them, grep leaves
  them out and the packer never packs them. Matching is on the file name, case-insensitively.
- **Tokens**: :mod:`tools.redact` replaces every one of them in text that leaves qagent (with
  detect-secrets' patterns on top); the packer leaves out a whole file that holds a *precise* one
  (:func:`contains_secret`), since a key in a file is never context a model needs.
"""

from __future__ import annotations

import fnmatch
import re

SECRET_NAME_PATTERNS: tuple[str, ...] = (
    ".env", ".env.*", "*.env", ".envrc",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*",
    "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.kdbx", "*.gpg", "*.asc",
    "credentials", "credentials.*", "*credentials*.json", "client_secret*.json", "service-account*.json",
    "secrets.*", "*.secret", "*.secrets",
    ".netrc", ".pgpass", ".htpasswd", ".npmrc", ".pypirc", ".git-credentials",
    "*.tfstate", "*.tfstate.*", "*.tfvars",
)
"""fnmatch patterns for a file's name."""

SECRET_TEMPLATES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})
"""Checked-in templates that document variables without values: these are safe to read."""

_SECRET_NAME = re.compile("|".join(fnmatch.translate(p) for p in SECRET_NAME_PATTERNS))


def is_secret_name(name: str) -> bool:
    """True for a file name (or a path; its last part counts) that usually holds secrets."""
    name = name.rsplit("/", 1)[-1].lower()
    return name not in SECRET_TEMPLATES and _SECRET_NAME.match(name) is not None


SECRET_TOKEN_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "private-key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    ),
    ("private-key", r"PuTTY-User-Key-File-\d[\s\S]*?(?:Private-MAC: *[0-9a-fA-F]+|\Z)"),
    ("api-key", r"\bsk-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}"),
    ("github-token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    ("aws-key", r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b"),
    (
        "aws-secret",
        r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?"
        r"(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
    ),
    ("slack-token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
    ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
    ("bearer-token", r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/-]{20,}=*)"),
    ("url-password", r"://[^/\s:@{}]+:(?P<secret>[^/\s@{}]+)@"),
)
"""(label, regex) of tokens that are secrets; a ``secret`` group, when present, is the only part that
redaction replaces (its context stays readable)."""

PRECISE_TOKEN_HINTS: dict[str, tuple[str, ...]] = {
    "private-key": ("PRIVATE KEY", "PuTTY-User-Key-File"),
    "api-key": ("sk-",),
    "github-token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "aws-key": ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"),
    "slack-token": ("xox",),
    "npm-token": ("npm_",),
    "google-api-key": ("AIza",),
}
"""Token kinds precise enough to judge a whole file by, each with substrings every match contains.
Left out: bearer tokens and URL passwords (documentation is full of examples) and AWS secrets by
their variable name."""

_PRECISE = re.compile(b"|".join(f"(?:{regex})".encode() for label, regex in SECRET_TOKEN_PATTERNS
                                if label in PRECISE_TOKEN_HINTS))
_HINTS = tuple(hint.encode() for hints in PRECISE_TOKEN_HINTS.values() for hint in hints)


def contains_secret(data: bytes) -> bool:
    """Whether ``data`` holds a precise secret token (a key block, a well-known token format)."""
    if not any(hint in data for hint in _HINTS):
        return False  # substring scans run at memory speed; the regex only sees candidates
    return _PRECISE.search(data) is not None
