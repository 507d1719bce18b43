"""File names that usually hold secrets: one list for every place that must keep them away from a model.

The shell sandbox masks these files, the file tools refuse to open them, grep leaves them out and
the repository packer never packs them. They used to keep two lists that had drifted apart (the
packer knew ``*.tfvars`` and ``.envrc``, the sandbox did not), so a file the packer skipped could
still be read by ``cat``. Matching is on the file name alone, case-insensitively.
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

