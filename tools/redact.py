"""One redaction pass for text leaving qagent's hands (session log, remote requests, tool output).

Sources: detect-secrets' regex plugins (maintained lists: AWS, GitHub, Slack, Stripe, JWT, npm,
PyPI, OpenAI …) plus patterns they lack or match too narrowly: DeepSeek/OpenAI-style ``sk-`` keys,
every GitHub token prefix, AWS secret keys next to their name, and whole PEM private-key blocks
(detect-secrets only flags the BEGIN line; we remove the key material too). Entropy and keyword
detectors are left out on purpose: they flag git hashes and ordinary code.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from functools import lru_cache

_OWN_PATTERNS: tuple[tuple[str, str], ...] = (
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
    ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
    ("bearer-token", r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/-]{20,}=*)"),
    ("url-password", r"://[^/\s:@{}]+:(?P<secret>[^/\s@{}]+)@"),
)
"""(label, regex); a ``secret`` group, when present, is the only part replaced (context stays)."""
_MARK = "[REDACTED:"
_SKIPPED_PLUGINS = {
    "IPPublicDetector",  # addresses are not secrets, and logs need them
    "PrivateKeyDetector",  # flags only the BEGIN line; the own pattern removes the whole block
    # keyword-context detectors (``cl_key = …``): slow lookbehinds, false positives on plain code
    "CloudantDetector",
    "IbmCloudIamDetector",
    "IbmCosHmacDetector",
    "SoftlayerDetector",
}


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    compiled = [(label, re.compile(p)) for label, p in _OWN_PATTERNS]
    compiled.extend(_detect_secrets_patterns())
    return tuple(compiled)


def _detect_secrets_patterns() -> list[tuple[str, re.Pattern[str]]]:
    from detect_secrets import plugins
    from detect_secrets.plugins.base import RegexBasedDetector

    found: list[tuple[str, re.Pattern[str]]] = []
    for info in pkgutil.iter_modules(plugins.__path__):
        module = importlib.import_module(f"detect_secrets.plugins.{info.name}")
        for name, cls in vars(module).items():
            if (
                inspect.isclass(cls)
                and issubclass(cls, RegexBasedDetector)
                and cls is not RegexBasedDetector
                and cls.__module__ == module.__name__
                and name not in _SKIPPED_PLUGINS
            ):
                found.extend((getattr(cls, "secret_type", name), regex) for regex in cls.denylist)
    return found


def redact(text: str) -> str:
    """``text`` with every secret replaced by ``[REDACTED:<kind>]`` (idempotent).

    Cached: a conversation is re-sent (and re-redacted) on every request, mostly unchanged."""
    if not text:
        return text
    return _redact(text)


@lru_cache(maxsize=4096)
def _redact(text: str) -> str:
    for label, pattern in _patterns():
        tag = "[REDACTED:" + re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") + "]"
        text = pattern.sub(lambda m, tag=tag: _replace(m, tag), text)
    return text


def _replace(match: re.Match[str], tag: str) -> str:
    """Replace the ``secret`` group when the pattern names one, else the whole match (detect-secrets'
    own groups are not always the secret: GitLab's captures only the prefix)."""
    whole = match.group(0)
    if _MARK in whole:
        return whole  # already redacted by an earlier pattern
    if "secret" in match.re.groupindex and match.group("secret"):
        lo, hi = match.span("secret")
        return whole[: lo - match.start()] + tag + whole[hi - match.start() :]
    return tag
