"""Run the adversarial suite and print one line: cases tried, passed, files lost, secrets leaked, orphans.

    .venv/bin/python bench/adversarial_summary.py [extra pytest args]

Every adversarial test carries a ledger (tests/adversarial/conftest.py) that, at teardown, compares the
files it protected byte for byte, scans every request the scripted remote servers recorded for the
planted canary secrets (or demands silence in local-only mode) and looks for live processes carrying
the test's run marker. The ledgers append their counts to a JSON-lines file; pass/fail comes from
pytest's junit XML. After the run, one more scan catches processes of any test that outlived pytest.
Exit status: 0 only when every case passed and files lost, secrets leaked and orphans are all 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.adversarial.conftest import RECORD_ENV, pids_with  # noqa: E402


def outcomes(junit: Path) -> dict[str, int]:
    counts = {"tried": 0, "passed": 0, "failed": 0, "skipped": 0}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        if "skipped" in kinds:
            counts["skipped"] += 1
            continue
        counts["tried"] += 1
        if kinds & {"failure", "error"}:
            counts["failed"] += 1
        else:
            counts["passed"] += 1
    return counts


def totals(record: Path) -> dict[str, float]:
    sums: dict[str, float] = {"files_checked": 0, "files_lost": 0, "requests_scanned": 0, "secrets_leaked": 0,
                              "orphans": 0}
    extra: dict[str, float] = {}
    if record.exists():
        for line in record.read_text().splitlines():
            row = json.loads(line)
            for key in sums:
                sums[key] += row.get(key, 0)
            for key in ("gigabyte_rss_growth_mb", "gigabyte_seconds"):
                if key in row:
                    extra[key] = row[key]
    return {**sums, **extra}


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="qagent-adversarial-") as scratch:
        junit, record = Path(scratch) / "junit.xml", Path(scratch) / "ledger.jsonl"
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               f"--junitxml={junit}", "tests/adversarial", *argv], cwd=ROOT,
                              env={**os.environ, RECORD_ENV: str(record)}, capture_output=True, text=True)
        seconds = time.monotonic() - started
        if not junit.exists():
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
            return 2
        counts, sums = outcomes(junit), totals(record)
    leftover = pids_with("qadv")  # markers are qadv<hex>; anything alive now outlived the whole suite
    orphans = int(sums["orphans"]) + len(leftover)
    if counts["failed"]:
        print("\n".join(line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))))
    memory = (f", 1 GiB output: RSS +{sums['gigabyte_rss_growth_mb']} MB in {sums['gigabyte_seconds']} s"
              if "gigabyte_rss_growth_mb" in sums else "")
    skipped = f", {counts['skipped']} skipped" if counts["skipped"] else ""
    lost, leaked = int(sums["files_lost"]), int(sums["secrets_leaked"])
    print(f"adversarial: {counts['tried']} cases tried, {counts['passed']} passed{skipped}, "
          f"files lost {lost} (of {int(sums['files_checked'])} checked byte-for-byte), "
          f"secrets leaked {leaked} (in {int(sums['requests_scanned'])} recorded requests), "
          f"orphan processes {orphans}{memory}; {seconds:.0f} s")
    clean = counts["failed"] == 0 and counts["tried"] > 0 and not (lost or leaked or orphans)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
