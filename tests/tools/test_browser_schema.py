"""The browser tool's schema works without playwright or chromium installed."""

from __future__ import annotations

import json

from tools.browser import browser


def test_schema_has_no_refs_for_local_servers() -> None:
    schema = json.dumps(browser.schema())
    assert "$ref" not in schema and "$defs" not in schema
    assert '"enum": ["navigate", "click", "type", "read", "screenshot"]' in schema
