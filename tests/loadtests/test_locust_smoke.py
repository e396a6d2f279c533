"""Smoke test of the Locust load test: 30 users for 30 s against a real `vetrina serve --demo`.

Locust runs as a subprocess only: importing it (gevent monkey-patching) inside pytest would
fight pytest-asyncio and ``filterwarnings = error``.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, LiveServer

pytestmark = pytest.mark.slow

RUN_S = 30


def read_stats(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return {(row["Type"], row["Name"]): row for row in csv.DictReader(f)}


def test_locust_smoke(live_server: LiveServer, tmp_path: Path) -> None:
    prefix = tmp_path / "smoke"
    env = {
        **os.environ,
        "PYTHONUTF8": "1",  # the stats name "move→seen" in CSV and stdout under any locale
        "VETRINA_ROOM": "concert",
        "VETRINA_LURKER_RECONNECT_S": "8",  # every Lurker resumes two or three times in 30 s
    }
    cmd = [
        sys.executable, "-m", "locust",
        "-f", "loadtests/locustfile.py",
        "--headless", "-u", "30", "-r", "15", "-t", f"{RUN_S}s",
        "--host", live_server.url,
        "--csv", str(prefix),
        "--only-summary",
        "--exit-code-on-error", "1",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_S + 30)
    log = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, log

    stats = read_stats(prefix.with_name("smoke_stats.csv"))
    total = stats[("", "Aggregated")]
    assert int(total["Failure Count"]) == 0, log
    with prefix.with_name("smoke_failures.csv").open(encoding="utf-8", newline="") as f:
        assert list(csv.DictReader(f)) == [], log

    def count(kind: str, name: str) -> int:
        row = stats.get((kind, name))
        assert row is not None, f"no {kind} {name} row in {sorted(stats)}"
        return int(row["Request Count"])

    assert count("WS", "connect") >= 30
    assert count("WSC", "join") >= 30
    assert count("WSC", "time") >= 30
    assert count("WSE", "move") > 1000
    assert count("TICK", "age") > 1000
    assert count("WS", "resume") >= 3, "Lurkers should have dropped and resumed"

    seen = stats[("TICK", "move→seen")]
    # 24 Wanderers walk ~25 s at 10 Hz with pauses: thousands of moves, most seen by someone.
    assert int(seen["Request Count"]) >= 0.5 * count("WSE", "move"), seen
    assert float(seen["Median Response Time"]) < 300, seen
