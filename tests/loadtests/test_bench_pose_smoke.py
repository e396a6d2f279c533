"""Smoke of the pose benchmark: one tiny in-process case measures ticks and pose bytes."""

from __future__ import annotations

from loadtests.bench_pose import measure, validation_us


def test_pose_benchmark_measures_ticks_and_pose_bytes() -> None:
    without = measure(0.0, 60, ticks=3, warmup=1, seed=1)
    with_vr = measure(1.0, 60, ticks=3, warmup=1, seed=1)
    assert without["pose_bytes_per_viewer_tick"] == 0 and without["tick_ms_median"] > 0
    assert with_vr["pose_bytes_per_viewer_tick"] > 0
    assert with_vr["bytes_per_viewer_tick"] > without["bytes_per_viewer_tick"]
    assert validation_us(50) > 0
