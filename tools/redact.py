"""One redaction pass for text leaving qagent's hands (session log, remote requests, tool output).

Sources: detect-secrets' regex plugins (maintained lists: AWS, GitHub, Slack, Stripe, JWT, npm,
PyPI, OpenAI …) plus :data:`tools.secrets.SECRET_TOKEN_PATTERNS`, which they lack or match too narrowly: DeepSeek/OpenAI-style ``sk-`` keys,
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

from tools.secrets import SECRET_TOKEN_PATTERNS

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
    compiled = [(label, re.compile(p)) for label, p in SECRET_TOKEN_PATTERNS]
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
