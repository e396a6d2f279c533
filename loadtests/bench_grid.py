"""Benchmark: every viewer's visible set per tick, SpatialGrid vs scipy's cKDTree, same run.

For each crowd size and layout it times the full per-tick work: (re)index all avatars, then
find each avatar's ``k`` nearest others within ``radius``. Both sides are single-threaded
(cKDTree ``workers=1``; ``workers=-1`` is reported too, for reference). Medians of several
interleaved repetitions; the ratio is kdtree / grid (above 1: the grid is faster).

    python loadtests/bench_grid.py                    # 1k, 10k, 100k; writes JSON
    python loadtests/bench_grid.py --sizes 1000 10000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from world.core.grid import SpatialGrid  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def crowd(layout: str, n: int, arena: float, rng: np.random.Generator) -> np.ndarray:
    """Avatar positions (metres, y up). 'concert': 80 % packed in a 60 m x 40 m pit."""
    half = arena / 2
    if layout == "uniform":
        xz = rng.uniform(-half, half, (n, 2))
    else:
        pit = int(n * 0.8)
        xz = np.concatenate([
            rng.uniform([-30, -20], [30, 20], (pit, 2)),
            rng.uniform(-half, half, (n - pit, 2)),
        ])
    y = rng.uniform(0.0, 0.2, (n, 1))  # a flat floor with a little height noise
    return np.concatenate([xz[:, :1], y, xz[:, 1:]], axis=1).astype(np.float32)


def time_grid(grid: SpatialGrid, viewers: np.ndarray, k: int, radius: float) -> tuple[float, np.ndarray]:
    t = time.perf_counter()
    vis = grid.visible(viewers, k, radius)
    return time.perf_counter() - t, vis


def time_kdtree(pos: np.ndarray, k: int, radius: float, workers: int) -> tuple[float, np.ndarray]:
    t = time.perf_counter()
    tree = cKDTree(pos)
    _, idx = tree.query(pos, k=k + 1, distance_upper_bound=radius, workers=workers)
    return time.perf_counter() - t, idx


def same_sets(vis: np.ndarray, idx: np.ndarray, n: int, k: int, sample: int = 300) -> bool:
    """Spot-check that both found the same neighbours (slot i holds avatar i here)."""
    for v in np.linspace(0, n - 1, min(sample, n)).astype(int):
        mine = {int(s) for s in vis[v] if s >= 0}
        theirs = {int(j) for j in [j for j in idx[v] if j < n and j != v][:k]}  # sorted by distance
        if mine != theirs:
            return False
    return True


def run(sizes: list[int], layouts: list[str], k: int, radius: float, arena: float, repeat: int) -> dict[str, Any]:
    rng = np.random.default_rng(2026)
    rows = []
    for n in sizes:
        reps = repeat if n < 50_000 else max(2, repeat // 2)
        for layout in layouts:
            pos = crowd(layout, n, arena, rng)
            grid = SpatialGrid((-arena / 2, -1, -arena / 2), (arena / 2, 10, arena / 2), capacity=n)
            for i, p in enumerate(pos):
                grid.add(i, (float(p[0]), float(p[1]), float(p[2])))
            viewers = grid.active_slots()
            time_grid(grid, viewers, k, radius)  # warm-up both
            time_kdtree(pos, k, radius, 1)
            g_times, k_times, kp_times = [], [], []
            vis = idx = None
            for _ in range(reps):  # interleaved, so drift on a noisy machine hits both
                t, vis = time_grid(grid, viewers, k, radius)
                g_times.append(t)
                t, idx = time_kdtree(pos, k, radius, 1)
                k_times.append(t)
                t, _ = time_kdtree(pos, k, radius, -1)
                kp_times.append(t)
            assert vis is not None and idx is not None
            row = {
                "n": n,
                "layout": layout,
                "grid_ms": statistics.median(g_times) * 1e3,
                "kdtree_ms": statistics.median(k_times) * 1e3,
                "kdtree_all_cores_ms": statistics.median(kp_times) * 1e3,
                "repeat": reps,
                "neighbours_agree": same_sets(vis, idx, n, k),
            }
            row["ratio_kdtree_over_grid"] = row["kdtree_ms"] / row["grid_ms"]
            rows.append(row)
            print(
                f"{n:>7} {layout:<8} grid {row['grid_ms']:9.1f} ms   cKDTree {row['kdtree_ms']:9.1f} ms"
                f"   (all cores {row['kdtree_all_cores_ms']:8.1f} ms)   ratio {row['ratio_kdtree_over_grid']:5.2f}"
                f"   agree={row['neighbours_agree']}",
                flush=True,
            )
    return {
        "benchmark": "visible sets per tick (k nearest within radius, every avatar a viewer)",
        "k": k,
        "radius_m": radius,
        "arena_m": arena,
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "cpus": _cpus()},
        "rows": rows,
    }


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--layouts", nargs="+", default=["uniform", "concert"], choices=["uniform", "concert"])
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--radius", type=float, default=30.0)
    ap.add_argument("--arena", type=float, default=300.0, help="side of the square arena in metres")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", type=Path, default=RESULTS / "bench_grid.json")
    args = ap.parse_args()
    print(f"visible sets: k={args.k}, radius={args.radius} m, arena {args.arena:.0f} m square; medians", flush=True)
    result = run(args.sizes, args.layouts, args.k, args.radius, args.arena, args.repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
