"""CI smoke of the crowd benchmark: a short run at small N must hold and write its results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_crowd_benchmark_holds_a_small_crowd_and_writes_json_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "crowd.json"
    proc = subprocess.run(
        [sys.executable, "loadtests/bench_crowd.py", "--steps", "40", "80", "--settle", "3", "--window", "5", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert out.with_suffix(".png").stat().st_size > 10_000
    rows = result["rows"]
    assert [r["visitors"] for r in rows] == [40, 80]
    for r in rows:
        assert r["held"], r
        assert r["latency_samples"] > 20 and r["latency_p99_ms"] <= 150
        assert r["tick_delivery_ratio"] >= 0.9 and r["moves_in_per_s"] > 0.8 * r["visitors"] * 10 * 0.5
        assert r["disconnects"] == 0 and r["corrections"] == 0
    assert result["largest_n_held"] == 80
    assert "largest N held: 80" in proc.stdout
