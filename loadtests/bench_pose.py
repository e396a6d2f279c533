"""Benchmark: a room's tick with VR poses (world/pose.py) at 0 %, 10 % and 100 % VR visitors.

One room, 1,000 avatars wandering a 120 m x 80 m hall (every one a viewer, k = 64 within
30 m). Each tick every avatar sends a move; VR visitors also send two poses (20/s at 10 Hz,
head and hands jittering, so every pose changes). Timed per tick: ``Room.apply`` plus every
viewer's view and its encoded packet (what a room worker does per tick; ``prepare``, the
next tick's visible sets, runs between ticks and is reported apart). Medians over the
measured ticks, after a warm-up; bytes are the encoded tick packets per viewer per tick.

``--against-head`` also runs the 0 % case on the committed tree (``git archive HEAD``): the
code path before the pose extension, to check a room without VR costs what it did.

    python loadtests/bench_pose.py                    # writes loadtests/results/bench_pose.json
    python loadtests/bench_pose.py --ticks 50 --against-head
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
CASES = (0.0, 0.1, 1.0)


def measure(vr_share: float, n: int, ticks: int, warmup: int, seed: int) -> dict[str, Any]:
    """One case, in this process, with whatever ``world`` / ``server`` are on sys.path."""
    import random

    import numpy as np

    from server.packets import TickEncoder
    from world.core.room import Join, Moves, Room
    from world.core.scene import RoomConfig, Scene

    rng = np.random.default_rng(seed)
    scene = Scene(bounds=((-60, 0, -40), (60, 6, 40)), spawn=[(0, 0, 0)])
    room = Room(RoomConfig(id="bench", kind="showroom", name="Bench", scene=scene), rng=random.Random(seed))
    now = 1_000_000
    room.apply(now, [Join(i, i, f"v{i}", {}) for i in range(1, n + 1)])
    slots = np.array([room.avatars[i].slot for i in range(1, n + 1)], np.int32)
    pos = np.stack([rng.uniform(-58, 58, n), np.zeros(n), rng.uniform(-38, 38, n)], axis=1)
    room.grid.place(slots, pos.astype(np.float32), rng.uniform(-np.pi, np.pi, n).astype(np.float32))
    list(room.tick_parts(1))
    room.prepare()
    ids = np.arange(1, n + 1, dtype=np.float64)
    vr = ids[: int(round(n * vr_share))]
    base = np.array([[0.0, 1.6, 0.0, 0, 0, 0, 1], [-0.25, 1.1, -0.3, 0, 0, 0, 1], [0.25, 1.1, -0.3, 0, 0, 0, 1]])
    heading = rng.uniform(-np.pi, np.pi, n)
    with_pose = "pose" in TickEncoder.encode.__code__.co_varnames  # False on the tree before poses
    tick_s: list[float] = []
    prepare_s: list[float] = []
    bytes_per_viewer: list[float] = []
    pose_bytes_per_viewer: list[float] = []
    ticks_sent: list[int] = []
    seq = 0
    for tick in range(warmup + ticks):
        now += 100
        seq += 1
        heading += rng.normal(0, 0.3, n)
        step = np.stack([np.sin(heading), np.zeros(n), np.cos(heading)], axis=1) * 0.5
        pos = np.clip(pos + step, [-58, 0, -38], [58, 0, 38])
        moves = np.column_stack([ids, pos, heading, np.full(n, seq), np.full(n, now - 5)])
        inbox: list[Any] = [Moves(moves)]
        if len(vr):
            from world.core.room import Poses

            rows = []
            for _ in range(2):  # 20 poses/s at 10 Hz
                parts = base[None] + np.concatenate(
                    [rng.normal(0, 0.02, (len(vr), 3, 3)), rng.normal(0, 0.05, (len(vr), 3, 4))], axis=2)
                parts[:, :, 3:] /= np.linalg.norm(parts[:, :, 3:], axis=2, keepdims=True)
                rows.append(np.column_stack([vr, np.full(len(vr), 7.0), parts.reshape(len(vr), 21)]))
            inbox.append(Poses(np.concatenate(rows)))
        started = time.perf_counter()
        out = room.apply(now, inbox)
        encode = TickEncoder(out.t, out.n).encode
        packets = [
            (v, encode(v.enter, v.leave, v.pos, v.reset, v.pose) if with_pose else encode(v.enter, v.leave, v.pos, v.reset))
            for part in room.tick_parts(1) for v in part
        ]
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        room.prepare()
        prepared = time.perf_counter() - started
        if tick >= warmup:
            tick_s.append(elapsed)
            prepare_s.append(prepared)
            bytes_per_viewer.append(sum(len(p) for _, p in packets) / n)
            pose_bytes_per_viewer.append(sum(len(getattr(v, "pose", b"")) for v, _ in packets) / n)
            ticks_sent.append(len(packets))
    return {
        "vr_share": vr_share,
        "avatars": n,
        "ticks": ticks,
        "tick_ms_median": round(statistics.median(tick_s) * 1000, 2),
        "tick_ms_p90": round(sorted(tick_s)[int(0.9 * (len(tick_s) - 1))] * 1000, 2),
        "prepare_ms_median": round(statistics.median(prepare_s) * 1000, 2),
        "bytes_per_viewer_tick": round(statistics.median(bytes_per_viewer), 1),
        "pose_bytes_per_viewer_tick": round(statistics.median(pose_bytes_per_viewer), 1),
        "viewers_sent_per_tick": int(statistics.median(ticks_sent)),
    }


def validation_us(count: int = 2000) -> float:
    """What the gateway spends validating one pose (pydantic + limits), microseconds."""
    from world.protocol import PoseRequest

    payload = {"head": [0.0, 1.6, 0.0, 0, 0, 0, 1], "left": [-0.2, 1.1, -0.3, 0, 0, 0, 1],
               "right": [0.2, 1.1, -0.3, 0, 0.7071, 0, 0.7071]}
    started = time.perf_counter()
    for _ in range(count):
        PoseRequest.model_validate(payload).parts()
    return round((time.perf_counter() - started) / count * 1e6, 1)


def run_case(root: Path, vr_share: float, args: argparse.Namespace) -> dict[str, Any]:
    """A case in a fresh interpreter with ``root`` first on sys.path (this tree or HEAD's)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(vr_share), "--root", str(root),
           "--avatars", str(args.avatars), "--ticks", str(args.ticks), "--warmup", str(args.warmup)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=root)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--avatars", type=int, default=1000)
    ap.add_argument("--ticks", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--against-head", action="store_true", help="also time 0 %% VR on the committed tree")
    ap.add_argument("--out", type=Path, default=RESULTS / "bench_pose.json")
    ap.add_argument("--worker", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        sys.path.insert(0, str(args.root))
        print(json.dumps(measure(args.worker, args.avatars, args.ticks, args.warmup, seed=1)))
        return
    cases = []
    for share in CASES:
        r = run_case(ROOT, share, args)
        cases.append(r)
        print(f"{share:>4.0%} VR: tick {r['tick_ms_median']:6.2f} ms (p90 {r['tick_ms_p90']:.2f}), "
              f"prepare {r['prepare_ms_median']:.2f} ms, {r['bytes_per_viewer_tick']:.0f} B/viewer/tick "
              f"({r['pose_bytes_per_viewer_tick']:.0f} B poses), {r['viewers_sent_per_tick']} ticks sent")
    result: dict[str, Any] = {
        "bench": "pose",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cases": cases,
        "pose_validation_us": validation_us(),
    }
    print(f"validating one pose at the gateway: {result['pose_validation_us']} us")
    if args.against_head:
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(["git", "archive", "HEAD", "world", "server"], cwd=ROOT, check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            before = [run_case(Path(tmp), 0.0, args) for _ in range(2)]
            after = [run_case(ROOT, 0.0, args) for _ in range(2)]  # interleaved repeats: the noise
        result["head_0_vr"] = before
        result["this_tree_0_vr_repeat"] = after
        print("0 % VR, committed tree: " + ", ".join(f"{r['tick_ms_median']:.2f}" for r in before)
              + " ms; this tree: " + ", ".join(f"{r['tick_ms_median']:.2f}" for r in [cases[0], *after]) + " ms")
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
