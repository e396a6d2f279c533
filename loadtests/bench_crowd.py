"""Crowd benchmark: how many visitors one room holds at 10 Hz, and what each one costs.

Starts its own ``vetrina serve`` on a free loopback port, then grows an asyncio swarm
(:mod:`loadtests.swarm`) in steps. Visitors wander the concert arena at 10 Hz, a share of them
packed around the pit. After each step settles, a measurement window records: moves in and
ticks out per second, move->seen latency p50/p99/max (a probe's move until another visitor
receives it), tick duration p50/p99 from the server's own histogram, bytes per visitor per
second, server CPU and memory, swarm CPU. A step *holds* when p99 latency <= 150 ms, the
server skipped no tick, visitors received >= 90 % of the ticks due and nobody was dropped.
The search stops at the first step that does not hold; the largest that held is the answer.

    python loadtests/bench_crowd.py                          # the search, JSON + PNG in results/
    python loadtests/bench_crowd.py --steps 100 200 --window 8 --settle 4   # a quick smoke
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from loadtests.swarm import Swarm, percentile  # noqa: E402
from server.engines import tune_gc  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
LATENCY_BUDGET_MS = 150.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, extra: list[str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", *extra],
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def scrape(url: str, room: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    out: dict[str, Any] = {"buckets": {}}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^(\w+)(?:\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        if name == "vetrina_tick_seconds_bucket":
            if f'room="{room}"' not in labels:
                continue  # only the room under test: idle rooms tick in microseconds
            le = re.search(r'le="([^"]+)"', labels)
            if le:
                key = float(le.group(1))
                out["buckets"][key] = out["buckets"].get(key, 0.0) + value
        elif name == "vetrina_room_load_level":
            if f'room="{room}"' in labels:
                out[name] = value
        else:
            out[name] = out.get(name, 0.0) + value  # summed over labels
    return out


def server_cpu(server: psutil.Process) -> tuple[float, float]:
    """CPU seconds of the server process and of its room worker processes."""
    t = server.cpu_times()
    workers = 0.0
    for child in server.children():
        try:
            c = child.cpu_times()
            workers += c.user + c.system
        except psutil.NoSuchProcess:
            pass
    return t.user + t.system, workers


def histogram_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """Prometheus-style quantile (linear within a bucket) of the observations in a window."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return float("nan")
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for b, c in zip(bounds, counts):
        if c >= rank:
            if b == float("inf"):
                return prev_bound
            return prev_bound + (b - prev_bound) * (rank - prev_count) / max(c - prev_count, 1e-9)
        prev_bound, prev_count = b, c
    return bounds[-2] if len(bounds) > 1 else float("nan")


async def measure_step(swarm: Swarm, url: str, server: psutil.Process, n: int, settle: float, window: float, hz: float) -> dict[str, Any]:
    t_grow = time.perf_counter()
    await swarm.grow(n)
    grow_s = time.perf_counter() - t_grow
    await asyncio.sleep(settle)
    me = psutil.Process()
    before = scrape(url, swarm.room)
    swarm.stats.reset()
    cpu0, me0, t0 = server_cpu(server), me.cpu_times(), time.perf_counter()
    await asyncio.sleep(window)
    elapsed = time.perf_counter() - t0
    cpu1, me1 = server_cpu(server), me.cpu_times()
    after = scrape(url, swarm.room)
    st = swarm.stats
    lat = list(st.latencies_ms)

    def delta(name: str) -> float:
        return float(after.get(name, 0.0) - before.get(name, 0.0))

    ticks_due = n * hz * elapsed
    row = {
        "visitors": n,
        "grow_s": round(grow_s, 1),
        "window_s": round(elapsed, 2),
        "moves_sent_per_s": st.moves_sent / elapsed,
        "moves_in_per_s": delta("vetrina_messages_in_total") / elapsed,
        "ticks_out_per_s": delta("vetrina_messages_out_total") / elapsed,
        "ticks_received_per_s": st.ticks_received / elapsed,
        "tick_delivery_ratio": st.ticks_received / ticks_due if ticks_due else 0.0,
        "latency_samples": len(lat),
        "latency_p50_ms": percentile(lat, 50),
        "latency_p99_ms": percentile(lat, 99),
        "latency_max_ms": max(lat) if lat else float("nan"),
        "tick_p50_ms": histogram_quantile(before["buckets"], after["buckets"], 0.50) * 1e3,
        "tick_p99_ms": histogram_quantile(before["buckets"], after["buckets"], 0.99) * 1e3,
        "skipped_ticks": delta("vetrina_skipped_ticks_total"),
        "slow_ticks": delta("vetrina_slow_ticks_total"),
        "bytes_per_visitor_per_s": st.bytes_received / elapsed / n,
        "server_cpu_pct": 100 * (cpu1[0] - cpu0[0]) / elapsed,
        "room_workers_cpu_pct": 100 * (cpu1[1] - cpu0[1]) / elapsed,
        "server_rss_mb": sum(p.memory_info().rss for p in [server, *server.children()]) / 2**20,
        "load_level": after.get("vetrina_room_load_level", 0.0),
        "swarm_cpu_pct": 100 * ((me1.user + me1.system) - (me0.user + me0.system)) / elapsed,
        "corrections": st.corrections,
        "disconnects": st.disconnects,
        "connect_failures": st.connect_failures,
    }
    row["held"] = bool(
        row["latency_samples"] > 0
        and row["latency_p99_ms"] <= LATENCY_BUDGET_MS
        and row["skipped_ticks"] == 0
        and row["tick_delivery_ratio"] >= 0.9
        and st.disconnects == 0
        and st.connect_failures == 0
    )
    return row


def print_row(r: dict[str, Any]) -> None:
    print(
        f"N={r['visitors']:>5}  moves {r['moves_in_per_s']:8.0f}/s  ticks {r['ticks_received_per_s']:8.0f}/s "
        f"({r['tick_delivery_ratio']:.0%})  latency p50 {r['latency_p50_ms']:6.1f} p99 {r['latency_p99_ms']:6.1f} "
        f"max {r['latency_max_ms']:6.1f} ms  tick p50 {r['tick_p50_ms']:5.1f} p99 {r['tick_p99_ms']:5.1f} ms  "
        f"{r['bytes_per_visitor_per_s'] / 1024:5.1f} KiB/s/visitor  server {r['server_cpu_pct']:4.0f}%+{r['room_workers_cpu_pct']:3.0f}% "
        f"level {r['load_level']:.0f} "
        f"{r['server_rss_mb']:5.0f} MB  swarm {r['swarm_cpu_pct']:4.0f}%  "
        f"{'held' if r['held'] else 'DID NOT HOLD'}",
        flush=True,
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    proc = start_server(port, ["--tick-hz", str(args.hz), *args.server_args])
    tune_gc()  # the swarm's own GC pauses would otherwise show up as server latency
    url = f"http://127.0.0.1:{port}"
    rows: list[dict[str, Any]] = []
    swarm = Swarm(url, args.room, hz=args.hz, compress=args.compress)
    try:
        server = psutil.Process(proc.pid)
        for n in args.steps:
            row = await measure_step(swarm, url, server, n, args.settle, args.window, args.hz)
            rows.append(row)
            print_row(row)
            if not row["held"] and not args.keep_going:
                break
    finally:
        await swarm.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    held = [r["visitors"] for r in rows if r["held"]]
    return {
        "benchmark": "one room, N visitors at 10 Hz, server and swarm on the same machine",
        "room": args.room,
        "hz": args.hz,
        "latency_budget_ms": LATENCY_BUDGET_MS,
        "largest_n_held": max(held) if held else 0,
        "server_args": args.server_args,
        "permessage_deflate": args.compress,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "rows": rows,
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    n = [r["visitors"] for r in rows]
    fig, ax1 = plt.subplots(figsize=(8, 4.5), dpi=110)
    ax1.plot(n, [r["latency_p50_ms"] for r in rows], "o-", label="move→seen p50")
    ax1.plot(n, [r["latency_p99_ms"] for r in rows], "o-", label="move→seen p99")
    ax1.plot(n, [r["tick_p99_ms"] for r in rows], "s--", label="tick duration p99")
    ax1.axhline(LATENCY_BUDGET_MS, color="red", lw=0.8, ls=":", label="150 ms budget")
    ax1.set_xlabel("visitors in one room (10 Hz)")
    ax1.set_ylabel("milliseconds")
    ax2 = ax1.twinx()
    ax2.plot(n, [r["server_cpu_pct"] + r["room_workers_cpu_pct"] for r in rows], "^-", color="grey", label="server CPU % (incl. room worker)")
    ax2.set_ylabel("server CPU % (100 = one core)")
    lines = ax1.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax1.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax1.legend(lines, labels, loc="upper left", fontsize=8)
    ax1.set_title(f"Vetrina crowd benchmark — largest N held: {result['largest_n_held']}")
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, nargs="+", default=[250, 500, 750, 1000, 1250, 1500, 1750, 2000, 2500, 3000])
    ap.add_argument("--room", default="concert")
    ap.add_argument("--hz", type=float, default=10.0)
    ap.add_argument("--settle", type=float, default=5.0, help="seconds after growing before measuring")
    ap.add_argument("--window", type=float, default=12.0, help="seconds measured per step")
    ap.add_argument("--compress", action="store_true", help="negotiate permessage-deflate like a browser")
    ap.add_argument("--keep-going", action="store_true", help="measure every step even after one fails")
    ap.add_argument("--out", type=Path, default=RESULTS / "bench_crowd.json")
    ap.add_argument("--plot", type=Path, default=None, help="PNG path (default: next to --out)")
    ap.add_argument("server_args", nargs="*", help="extra `vetrina serve` flags after --")
    args = ap.parse_args()
    try:
        import uvloop

        result = uvloop.run(run(args))
    except ImportError:
        result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    png = args.plot or args.out.with_suffix(".png")
    plot(result, png)
    print(f"largest N held: {result['largest_n_held']}  — wrote {args.out} and {png}")


if __name__ == "__main__":
    main()
