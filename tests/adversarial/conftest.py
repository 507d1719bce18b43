"""The adversarial suite's ledger: every test proves no file was lost, no secret leaked, no process left.

The ``ledger`` fixture (autouse) is where tests declare what must survive:

* ``ledger.keep(path)`` snapshots a file's bytes; at teardown it must be byte-identical, or equal to
  one of the ``allowed`` new contents (an edit may land, but never half of one);
* ``ledger.watch(server)`` scans every request a scripted *remote* server recorded for the canary
  secrets planted in the test; ``ledger.silent(server)`` demands that a server got no request at all
  (local-only privacy);
* ``ledger.marker`` is a unique token to put in the command lines of processes a test starts; any
  live process carrying it at teardown is an orphan.

Teardown fails the test on any loss, leak or orphan, and appends one JSON line with the counts to
``$QAGENT_ADVERSARIAL_RECORD`` when set (``bench/adversarial_summary.py`` totals them).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent.testing import ScriptedServer

RECORD_ENV = "QAGENT_ADVERSARIAL_RECORD"

CANARIES: dict[str, str] = {
    "deepseek": "sk-" + "3f9c2a7b1d4e8f60a5b9c3d7e1f2a4b6",
    "github": "ghp_" + "Zq8xW2vN5mK7pL3rT9yB4cD6fG1hJ0sA2eQw",
    "aws": "AKIA" + "QX7Z3M4N5B6V7C8D",
    "pem_body": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7canary",
    "env_password": "correct-horse-battery-canary-7731",
    "ssh_key_body": "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQcanary",
}
"""Secrets planted in files and tool output. Some have a known shape (redaction must catch them),
some have none (only keeping the file out of tool output protects them)."""

PEM = (
    "-----BEGIN PRIVATE KEY-----\n" + CANARIES["pem_body"] + "\nAbCdEf0123456789abcdef\n"
    "-----END PRIVATE KEY-----\n"
)
SSH_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n" + CANARIES["ssh_key_body"] + "\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


def plant_secrets(root: Path) -> None:
    """The secret-looking files users keep in repositories."""
    (root / ".env").write_text(
        f"DEEPSEEK_API_KEY={CANARIES['deepseek']}\nDB_PASSWORD={CANARIES['env_password']}\n"
    )
    (root / "deploy.pem").write_text(PEM)
    (root / "id_rsa").write_text(SSH_KEY)
    (root / "settings.py").write_text(
        f'GITHUB_TOKEN = "{CANARIES["github"]}"\nAWS_KEY = "{CANARIES["aws"]}"\n'
    )


@dataclass
class Ledger:
    marker: str
    kept: dict[Path, tuple[bytes, list[bytes]]] = field(default_factory=dict)
    watched: list[ScriptedServer] = field(default_factory=list)
    silenced: list[ScriptedServer] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    settled: list[str] = field(default_factory=list)
    settled_count: int = 0

    def keep(self, path: Path, *, allowed: list[bytes] | None = None) -> bytes:
        data = path.read_bytes()
        self.kept[path] = (data, allowed or [])
        return data

    def watch(self, server: ScriptedServer) -> ScriptedServer:
        self.watched.append(server)
        return server

    def silent(self, server: ScriptedServer) -> ScriptedServer:
        self.silenced.append(server)
        return server

    def note(self, **metrics: Any) -> None:
        """Extra figures for the record (peak RSS, durations)."""
        self.metrics.update(metrics)

    def settle(self) -> None:
        """Check the kept files now (before a fixture unmounts or deletes where they live)."""
        self.settled += self.lost_files()
        self.settled_count += len(self.kept)
        self.kept.clear()

    # ------------------------------------------------------------------ checks
    def lost_files(self) -> list[str]:
        lost: list[str] = []
        for path, (original, allowed) in self.kept.items():
            try:
                now = path.read_bytes()
            except OSError:
                lost.append(f"{path}: gone")
                continue
            if now != original and now not in allowed:
                lost.append(f"{path}: {len(original)} bytes became {len(now)} different bytes")
        return lost

    def leaks(self) -> tuple[int, list[str]]:
        scanned, leaked = 0, []
        for server in self.watched:
            for request in server.requests:
                scanned += 1
                wire = json.dumps(request)
                leaked += [
                    f"the {name} canary in {request['path']}"
                    for name, value in CANARIES.items()
                    if value in wire
                ]
        for server in self.silenced:
            scanned += 1
            leaked += [
                f"{r['method']} {r['path']} reached a server that must stay silent" for r in server.requests
            ]
        return scanned, leaked

    def orphans(self, grace: float = 3.0) -> list[str]:
        """Processes still carrying the marker after ``grace`` seconds (then killed), as "pid: cmdline"."""
        deadline = time.monotonic() + grace
        while (alive := pids_with(self.marker)) and time.monotonic() < deadline:
            time.sleep(0.05)
        found = []
        for pid in alive:  # do not let one failure poison the rest of the run
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:200]
                found.append(f"{pid}: {cmdline!r}")
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, OSError):
                pass
        return found


def pids_with(token: str) -> list[int]:
    """Live (non-zombie) pids whose command line or environment carries ``token``."""
    found = []
    for entry in os.listdir("/proc"):  # noqa: PTH208
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            blob = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and token.encode() in blob:
            found.append(int(entry))
    return found


@pytest.fixture(autouse=True)
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    book = Ledger(marker=f"qadv{secrets.token_hex(6)}")
    started = time.monotonic()
    yield book
    lost = book.settled + book.lost_files()
    scanned, leaked = book.leaks()
    orphans = book.orphans()
    record = os.environ.get(RECORD_ENV)
    if record:
        with open(record, "a", encoding="utf-8") as handle:
            handle.write(
                json.dumps(
                    {
                        "test": request.node.nodeid,
                        "files_checked": len(book.kept) + book.settled_count,
                        "files_lost": len(lost),
                        "requests_scanned": scanned,
                        "secrets_leaked": len(leaked),
                        "orphans": len(orphans),
                        "seconds": round(time.monotonic() - started, 3),
                        **book.metrics,
                    }
                )
                + "\n"
            )
    problems = [*lost, *leaked, *(f"orphan {p}" for p in orphans)]
    assert not problems, "; ".join(problems)
