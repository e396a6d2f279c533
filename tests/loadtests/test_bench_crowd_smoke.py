"""CI smoke of the crowd benchmark: a short run at small N must hold and write its results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
@pytest.mark.serial
def test_crowd_benchmark_holds_a_small_crowd_and_measures_what_chat_and_reactions_cost(tmp_path: Path) -> None:
    """A small crowd (60 visitors) measured without, then with chat (10 msgs/s
    room-wide) and reactions (1 per visitor per second): the windows without must hold the
    latency budget; the windows with report chat sent→seen latency, the reactions every
    visitor receives, bytes by kind, and the run reports the cost as ratios. JSON + plot."""
    out = tmp_path / "crowd.json"
    proc = subprocess.run(
        [sys.executable, "loadtests/bench_crowd.py", "--steps", "60", "--settle", "3", "--window", "5",
         "--chat-rate", "10", "--react-rate", "1", "--compare-social", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=150,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert out.with_suffix(".png").stat().st_size > 10_000
    rows = result["rows"]
    assert [(r["visitors"], r["social"]) for r in rows] == [(60, False), (60, True)]
    for r in rows:
        n = r["visitors"]
        assert r["disconnects"] == 0 and r["connect_failures"] == 0 and r["corrections"] == 0, r
        assert r["rate_limited"] == 0 and r["moves_in_per_s"] > 0.8 * n * 10 * 0.5, r
        assert r["latency_samples"] > 15, r
    for off in rows[0::2]:  # without chat and reactions: the crowd holds, every byte is a tick
        assert off["held"], off
        assert off["latency_p99_ms"] <= 150 and off["tick_delivery_ratio"] >= 0.9
        assert off["chat_sent_per_s"] == 0 and off["chat_latency_samples"] == 0 and off["reactions_sent_per_s"] == 0
        assert off["reactions_received_per_visitor_per_s"] == 0 and off["chat_bytes_per_visitor_per_s"] == 0
        assert off["tick_bytes_per_visitor_per_s"] == pytest.approx(off["bytes_per_visitor_per_s"], rel=0.05)
    assert result["largest_n_held"] == 60
    assert "largest N held: 60" in proc.stdout

    for on in rows[1::2]:
        n = on["visitors"]
        # not `held`: the 150 ms p99 budget is for the windows above; on a shared 2-core
        # machine the load of other jobs decides it more than a few dozen visitors do
        assert on["tick_delivery_ratio"] >= 0.4, on  # >= half rate
        # ~10 chat messages/s, each acked and seen by every observer (every 11th visitor)
        assert 4 <= on["chat_sent_per_s"] <= 17 and on["chat_refused"] == {}
        assert on["chat_acked"] >= 0.9 * on["chat_sent_per_s"] * on["window_s"] - 2
        assert on["chat_latency_samples"] >= 2 * on["chat_acked"]
        assert 0 < on["chat_latency_p50_ms"] <= on["chat_latency_p99_ms"] < 2000
        assert on["chat_in_per_s"] > 0 and on["chat_out_per_s"] == pytest.approx(n * on["chat_in_per_s"], rel=0.25)
        assert on["chat_received_per_visitor_per_s"] == pytest.approx(on["chat_in_per_s"], rel=0.3)
        # ~n reactions/s in, summed by the server into at most one `reactions` message per tick
        assert 0.6 * n <= on["reactions_sent_per_s"] <= 1.4 * n
        assert on["reactions_in_per_s"] == pytest.approx(on["reactions_sent_per_s"], rel=0.2)
        assert on["reactions_seen_per_s"] == pytest.approx(on["reactions_sent_per_s"], rel=0.25)
        assert 4 <= on["reactions_received_per_visitor_per_s"] <= 11  # ~one per tick (fewer if the room slowed down)
        assert on["chat_bytes_per_visitor_per_s"] > 0 and on["reactions_bytes_per_visitor_per_s"] > 0

    costs = result["social_cost"]
    assert [c["visitors"] for c in costs] == [60] and all(c["windows_each"] == 1 for c in costs)
    for cost, on in zip(costs, rows[1::2]):
        assert cost["ratio"]["bytes_per_visitor_per_s"] > 1.05
        for key in ("server_total_cpu_pct", "server_cpu_pct", "room_workers_cpu_pct", "latency_p99_ms"):
            assert cost["ratio"][key] > 0, key
        assert cost["on"]["chat_latency_p99_ms"] == on["chat_latency_p99_ms"]
    assert result["largest_n_held_social"] == max([0] + [r["visitors"] for r in rows[1::2] if r["held"]])
    assert result["chat_rate"] == 10 and result["react_rate"] == 1 and result["compare_social"] is True
    assert "chat+reactions cost" in proc.stdout
