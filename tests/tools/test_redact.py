"""Every key pattern qagent promises to scrub is scrubbed, and ordinary code survives."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.redact import redact

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MaIPyXcLsrvXsYt9\n"
    "uh5tK8Uup7WGJMl3Pq7DoI9wNB+Yx0RA+eVh2pMZdvg6zbd3ZfQGFTj8TsrNw4Sq\n"
    "-----END RSA PRIVATE KEY-----"
)
SECRETS = {
    "deepseek": "sk-" + "0123456789abcdef" * 2,
    "openai-project": "sk-proj-" + "Ab3dEf9hIjKlMnOpQrStUvWxYz0123456789",
    "github-classic": "ghp_" + "x1Y2z3W4" * 4 + "abcd",
    "github-oauth": "gho_" + "Q" * 30 + "123456",
    "github-fine-grained": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ",
    "aws-access-key": "AKIAIOSFODNN7EXAMPLE",
    "aws-session-key": "ASIAY34FZKBOKMUTVV7A",
    "slack": "xoxb-123456789012-1234567890123-abcdefABCDEF1234567890ab",
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "pem": PEM,
    "npm": "npm_" + "a1B2c3D4e5" * 3 + "abcdef",
    "pypi": "pypi-AgEIcHlwaS5vcmc" + "A1b2" * 20,
    "gitlab": "glpat-" + "x1y2z3" * 3 + "ab",
    "google": "AIza" + "Sy0123456789abcdefghijklmnopqrstuvw",
    "bearer": "Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9abcdefgh",
    "openssh": PEM.replace("RSA PRIVATE", "OPENSSH PRIVATE"),
}


@pytest.mark.parametrize("name", sorted(SECRETS))
@pytest.mark.parametrize("wrap", ["{}", "KEY={}\n", 'export TOKEN="{}"', "prefix {} suffix"])
def test_each_key_pattern_is_removed(name: str, wrap: str) -> None:
    secret = SECRETS[name]
    out = redact(wrap.format(secret))
    assert secret not in out
    assert "[REDACTED:" in out
    assert redact(out) == out  # idempotent


def test_aws_secret_key_next_to_its_name() -> None:
    line = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    out = redact(line)
    assert "wJalrXUtnFEMI" not in out and out.startswith("aws_secret_access_key = [REDACTED")


def test_pem_block_inside_json_and_truncated_blocks() -> None:
    as_json = json.dumps({"content": PEM})  # newlines become \\n in the log line
    assert "MIIEowIBAAKCAQEA" not in redact(as_json)
    truncated = PEM.split("-----END")[0]
    assert "MIIEowIBAAKCAQEA" not in redact("cat key.pem\n" + truncated)


def test_password_in_url_keeps_the_rest() -> None:
    assert redact("git clone https://bob:s3cretpass@example.com/r.git") == (
        "git clone https://bob:[REDACTED:url-password]@example.com/r.git"
    )


@pytest.mark.parametrize(
    "text",
    [
        "commit 3f2a9c1e4b5d6a7f8e9d0c1b2a3f4e5d6c7b8a9f",
        "from sklearn import svm  # sk-learn",
        "def get_token(self):\n    return self.token\n",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "ghp_short",
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert redact(text) == text


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_redaction_is_idempotent_on_arbitrary_text(text: str) -> None:
    once = redact(text + " " + SECRETS["deepseek"])
    assert redact(once) == once
    assert SECRETS["deepseek"] not in once
