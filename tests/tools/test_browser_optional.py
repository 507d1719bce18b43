"""The browser tool without its optional extra: the module imports, the tool says what to install."""

from __future__ import annotations

import json
import subprocess
import sys

from tools.browser import browser


def test_schema_has_no_refs_for_local_servers() -> None:
    schema = json.dumps(browser.schema())
    assert "$ref" not in schema and "$defs" not in schema
    assert '"enum": ["navigate", "click", "type", "read", "screenshot"]' in schema


def test_missing_playwright_gives_install_advice(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = (
        "import sys; sys.modules['playwright'] = None  # as if the extra were not installed\n"
        "from tools import run_tool\n"
        f"r = run_tool('browser', {{'url': 'http://127.0.0.1:1/'}}, root={str(tmp_path)!r})\n"
        "print(r.ok, r.text)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("False the browser tool needs Playwright: pip install 'qagent[browser]'")
