"""Fencing tool output that tries to instruct the model (prompt injection in files and output).

Web pages are always fenced (tools/web.py). Repository files and command output are the user's
own material and usually harmless, so fencing all of them would cost tokens on every read; instead
output that reads like instructions to the model — "ignore previous instructions", a
``curl … | sh``, "send ~/.ssh/id_rsa" — is wrapped in a marked block it cannot close itself. The
guard that actually stops an obedient model is elsewhere: approvals for commands, no network in
the sandbox, secret files never opened.
"""

from __future__ import annotations

import re
import secrets

import prompts

INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\s+(all\s+|any\s+|your\s+)?(the\s+)?(previous|prior|above|earlier|system)\s+"
    r"(instructions?|prompts?|rules|messages?)"
    r"|\byou\s+are\s+now\b|\bnew\s+instructions\s*:"
    r"|\b(curl|wget)\b[^\n|]{0,200}\|\s*(sudo\s+)?(ba|z)?sh\b"
    r"|\b(send|upload|post|exfiltrate|email|paste)\b[^\n]{0,80}(id_rsa|id_ed25519|\.ssh\b|\.env\b|api[_ -]?keys?"
    r"|private\s+keys?|credentials|passwords?)",
    re.I,
)
SCANNED_TOOLS = frozenset({"read_file", "grep", "list_files", "find_symbols", "shell"})


# The fence's own tag words, also as Markdown-escaped (``untrusted\_content``) or in other case.
_FENCE_WORD = re.compile(r"untrusted(\\?)_(web(\\?)_)?content", re.IGNORECASE)


def fence(template: str, source: str, content: str) -> str:
    """``content`` inside the marked block of prompt ``template``, with a random id, and with the
    fence's tag words in the content defused so the content cannot forge its closing marker."""
    content = _FENCE_WORD.sub(lambda m: m.group(0).replace("_", "-").replace("\\", ""), content)
    return prompts.render(template, source=source, nonce=secrets.token_hex(6), content=content)


def fence_if_injected(tool: str, text: str) -> str:
    """The text, fenced with a warning when it is output of a scanned tool and looks like an injection."""
    if tool not in SCANNED_TOOLS or not INJECTION.search(text):
        return text
    return fence("untrusted_file", f"{tool} output", text)
