"""Crowd benchmark: how many visitors one room holds at 10 Hz, and what each one costs.

Starts its own ``vetrina serve`` on a free loopback port, then grows an asyncio swarm
(:mod:`loadtests.swarm`) in steps. Visitors wander the concert arena at 10 Hz, a share of them
packed around the pit. After each step settles, a measurement window records: moves in and
ticks out per second, move->seen latency p50/p99/max (a probe's move until another visitor
receives it), tick duration p50/p99 from the server's own histogram, bytes per visitor per
second, server CPU and memory, swarm CPU. A step *holds* when p99 latency <= 150 ms, the
server skipped no tick, visitors received >= 90 % of the ticks due and nobody was dropped.
The search stops at the first step that does not hold; the largest that held is the answer.

The social layer's cost: ``--chat-rate R`` has the swarm send R room chat messages per second
(in turn, so each visitor stays inside the server's chat allowance) and ``--react-rate r``
makes every visitor press r reactions per second. Rows then also report chat sent->seen
latency (every observer's receipt of a message, from the sender's emit), chat ack time,
``reactions`` messages received per visitor per second, and bytes per visitor per second
split into ticks, chat and reactions. ``--compare-social`` measures every step twice on the
same server and swarm, without and then with chat and reactions (``--rounds`` alternates
more pairs), and reports the ratios: the cost measured in one run.

    python loadtests/bench_crowd.py                          # the search, JSON + PNG in results/
    python loadtests/bench_crowd.py --steps 100 200 --window 8 --settle 4   # a quick smoke
    python loadtests/bench_crowd.py --steps 500 --chat-rate 20 --react-rate 0.5 --compare-social
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
from statistics import median
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
        [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--demo", "--no-autopilot", *extra],
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited at start with code {proc.returncode}")
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
    out: dict[str, Any] = {"buckets": {}, "send_buckets": {}}
    histograms = {"vetrina_tick_seconds_bucket": "buckets", "vetrina_tick_send_seconds_bucket": "send_buckets"}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^(\w+)(?:\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        if name in histograms:
            if f'room="{room}"' not in labels:
                continue  # only the room under test: idle rooms tick in microseconds
            le = re.search(r'le="([^"]+)"', labels)
            if le:
                key = float(le.group(1))
                into = out[histograms[name]]
                into[key] = into.get(key, 0.0) + value
        elif name == "vetrina_room_load_level":
            if f'room="{room}"' in labels:
                out[name] = value
        else:
            if name in ("vetrina_messages_in_total", "vetrina_messages_out_total", "vetrina_rejected_total"):
                out[f"{name}{{{labels}}}"] = value  # per event (and code) as well as the sum
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


async def measure_window(swarm: Swarm, url: str, server: psutil.Process, n: int, window: float, hz: float) -> dict[str, Any]:
    """One measurement window on the swarm as it is (size, chat and reaction rates)."""
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

    def per_s(name: str) -> float:
        return delta(name) / elapsed

    ticks_due = n * hz * elapsed
    observers = sum(1 for v in swarm.visitors if v.observer) or 1
    refused = dict(st.chat_refused)
    row = {
        "visitors": n,
        "window_s": round(elapsed, 2),
        "social": swarm.chat_rate > 0 or swarm.react_rate > 0,
        "chat_rate": swarm.chat_rate,
        "react_rate": swarm.react_rate,
        "moves_sent_per_s": st.moves_sent / elapsed,
        "moves_in_per_s": per_s('vetrina_messages_in_total{event="move"}'),
        "ticks_out_per_s": per_s('vetrina_messages_out_total{event="tick"}'),
        "ticks_received_per_s": st.ticks_received / elapsed,
        "tick_delivery_ratio": st.ticks_received / ticks_due if ticks_due else 0.0,
        "latency_samples": len(lat),
        "latency_p50_ms": percentile(lat, 50),
        "latency_p99_ms": percentile(lat, 99),
        "latency_max_ms": max(lat) if lat else float("nan"),
        "tick_age_p50_ms": percentile(st.tick_age_ms, 50),
        "tick_age_p99_ms": percentile(st.tick_age_ms, 99),
        "tick_p50_ms": histogram_quantile(before["buckets"], after["buckets"], 0.50) * 1e3,
        "tick_p99_ms": histogram_quantile(before["buckets"], after["buckets"], 0.99) * 1e3,
        "send_p50_ms": histogram_quantile(before["send_buckets"], after["send_buckets"], 0.50) * 1e3,
        "send_p99_ms": histogram_quantile(before["send_buckets"], after["send_buckets"], 0.99) * 1e3,
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
        # ---- the social layer (zeros when the swarm neither chats nor reacts)
        "server_total_cpu_pct": 100 * ((cpu1[0] - cpu0[0]) + (cpu1[1] - cpu0[1])) / elapsed,
        "tick_bytes_per_visitor_per_s": st.tick_bytes / elapsed / n,
        "chat_bytes_per_visitor_per_s": st.chat_bytes / elapsed / n,
        "reactions_bytes_per_visitor_per_s": st.reactions_bytes / elapsed / n,
        "chat_sent_per_s": st.chat_sent / elapsed,
        "chat_acked": st.chat_acked,
        "chat_refused": refused,
        "chat_in_per_s": per_s('vetrina_messages_in_total{event="chat"}'),
        "chat_out_per_s": per_s('vetrina_messages_out_total{event="chat"}'),
        "chat_received_per_visitor_per_s": st.chat_received / elapsed / n,
        "chat_latency_samples": len(st.chat_latencies_ms),
        "chat_latency_p50_ms": percentile(st.chat_latencies_ms, 50),
        "chat_latency_p99_ms": percentile(st.chat_latencies_ms, 99),
        "chat_latency_max_ms": max(st.chat_latencies_ms) if st.chat_latencies_ms else float("nan"),
        "chat_ack_p50_ms": percentile(st.chat_ack_ms, 50),
        "chat_ack_p99_ms": percentile(st.chat_ack_ms, 99),
        "reactions_sent_per_s": st.reactions_sent / elapsed,
        "reactions_in_per_s": per_s('vetrina_messages_in_total{event="react"}'),
        "reactions_out_per_s": per_s('vetrina_messages_out_total{event="reactions"}'),
        "reactions_received_per_visitor_per_s": st.reactions_received / elapsed / n,
        "reactions_seen_per_s": st.reactions_counted / observers / elapsed,
        "rate_limited": sum(v for k, v in after.items() if k.startswith('vetrina_rejected_total{code="rate_limited"'))
        - sum(v for k, v in before.items() if k.startswith('vetrina_rejected_total{code="rate_limited"')),
    }
    row["held"] = bool(
        row["latency_samples"] > 0
        and row["latency_p99_ms"] <= LATENCY_BUDGET_MS
        and row["skipped_ticks"] == 0
        and row["tick_delivery_ratio"] >= 0.9
        and st.disconnects == 0
        and st.connect_failures == 0
        and not refused
    )
    return row


async def measure_step(
    swarm: Swarm, url: str, server: psutil.Process, n: int, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Grow to ``n``, then one window at the chosen chat and reaction rates -- or, with
    ``--compare-social``, ``rounds`` pairs of windows without and with them."""
    t_grow = time.perf_counter()
    await swarm.grow(n)
    grow_s = round(time.perf_counter() - t_grow, 1)
    social = (args.chat_rate, args.react_rate)
    plan = [(0.0, 0.0), social] * args.rounds if args.compare_social else [social]
    rows = []
    for chat_rate, react_rate in plan:
        swarm.chat_rate, swarm.react_rate = chat_rate, react_rate
        await asyncio.sleep(args.settle)
        row = await measure_window(swarm, url, server, n, args.window, args.hz)
        row["grow_s"] = grow_s
        rows.append(row)
        print_row(row)
    swarm.chat_rate = swarm.react_rate = 0.0
    return rows


COST_METRICS = (
    "server_cpu_pct", "room_workers_cpu_pct", "server_total_cpu_pct", "server_rss_mb", "swarm_cpu_pct",
    "bytes_per_visitor_per_s", "latency_p50_ms", "latency_p99_ms", "tick_age_p50_ms", "tick_age_p99_ms",
    "tick_p50_ms", "tick_p99_ms", "send_p50_ms", "send_p99_ms", "tick_delivery_ratio",
)


def social_cost(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the windows without and with chat and reactions at one N, and their ratios."""
    off = [r for r in rows if not r["social"]]
    on = [r for r in rows if r["social"]]

    def med(rs: list[dict[str, Any]], key: str) -> float:
        vals = [float(r[key]) for r in rs if r[key] == r[key]]  # NaN != NaN
        return median(vals) if vals else float("nan")

    cost: dict[str, Any] = {"visitors": rows[0]["visitors"], "windows_each": len(off), "off": {}, "on": {}, "ratio": {}}
    for key in COST_METRICS:
        a, b = med(off, key), med(on, key)
        cost["off"][key], cost["on"][key] = a, b
        cost["ratio"][key] = b / a if a else float("nan")
    for key in ("chat_latency_p50_ms", "chat_latency_p99_ms", "chat_ack_p50_ms", "chat_ack_p99_ms",
                "chat_received_per_visitor_per_s", "reactions_received_per_visitor_per_s",
                "tick_bytes_per_visitor_per_s", "chat_bytes_per_visitor_per_s", "reactions_bytes_per_visitor_per_s"):
        cost["on"][key] = med(on, key)
    return cost


def print_row(r: dict[str, Any]) -> None:
    social = ""
    if r["social"]:
        social = (
            f"\n        + chat {r['chat_sent_per_s']:4.1f}/s sent→seen p50 {r['chat_latency_p50_ms']:6.1f} "
            f"p99 {r['chat_latency_p99_ms']:6.1f} ms ({r['chat_latency_samples']} samples, ack p50 "
            f"{r['chat_ack_p50_ms']:5.1f} ms{', refused ' + str(r['chat_refused']) if r['chat_refused'] else ''})  "
            f"reactions {r['reactions_sent_per_s']:6.0f}/s in, {r['reactions_received_per_visitor_per_s']:4.1f} msgs/s/visitor  "
            f"KiB/s/visitor: ticks {r['tick_bytes_per_visitor_per_s'] / 1024:4.1f} chat "
            f"{r['chat_bytes_per_visitor_per_s'] / 1024:4.1f} reactions {r['reactions_bytes_per_visitor_per_s'] / 1024:4.1f}"
        )
    print(
        f"N={r['visitors']:>5}{' social' if r['social'] else ''}  moves {r['moves_in_per_s']:8.0f}/s  ticks {r['ticks_received_per_s']:8.0f}/s "
        f"({r['tick_delivery_ratio']:.0%})  latency p50 {r['latency_p50_ms']:6.1f} p99 {r['latency_p99_ms']:6.1f} "
        f"max {r['latency_max_ms']:6.1f} ms  age p50 {r['tick_age_p50_ms']:5.1f} p99 {r['tick_age_p99_ms']:5.1f}  tick p50 {r['tick_p50_ms']:5.1f} p99 {r['tick_p99_ms']:5.1f} ms  "
        f"send p50 {r['send_p50_ms']:5.1f} ms  "
        f"{r['bytes_per_visitor_per_s'] / 1024:5.1f} KiB/s/visitor  server {r['server_cpu_pct']:4.0f}%+{r['room_workers_cpu_pct']:3.0f}% "
        f"level {r['load_level']:.0f} "
        f"{r['server_rss_mb']:5.0f} MB  swarm {r['swarm_cpu_pct']:4.0f}%  "
        f"{'held' if r['held'] else 'DID NOT HOLD'}{social}",
        flush=True,
    )


def print_cost(c: dict[str, Any]) -> None:
    off, on, ratio = c["off"], c["on"], c["ratio"]
    print(
        f"N={c['visitors']}: chat+reactions cost (medians of {c['windows_each']} window(s) each) -- "
        f"server CPU {off['server_total_cpu_pct']:.0f}% -> {on['server_total_cpu_pct']:.0f}% (x{ratio['server_total_cpu_pct']:.2f}; "
        f"socket process x{ratio['server_cpu_pct']:.2f}, room worker x{ratio['room_workers_cpu_pct']:.2f})  "
        f"bytes/visitor/s x{ratio['bytes_per_visitor_per_s']:.2f}  "
        f"move→seen p50 {off['latency_p50_ms']:.0f} -> {on['latency_p50_ms']:.0f} ms, "
        f"p99 {off['latency_p99_ms']:.0f} -> {on['latency_p99_ms']:.0f} ms  "
        f"chat sent→seen p50 {on['chat_latency_p50_ms']:.0f} p99 {on['chat_latency_p99_ms']:.0f} ms  "
        f"swarm CPU x{ratio['swarm_cpu_pct']:.2f}",
        flush=True,
    )


def largest_held(rows: list[dict[str, Any]]) -> int:
    """The largest N whose every window held (0 if none)."""
    by_n: dict[int, bool] = {}
    for r in rows:
        by_n[r["visitors"]] = by_n.get(r["visitors"], True) and r["held"]
    held = [n for n, ok in by_n.items() if ok]
    return max(held) if held else 0


async def run(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    # one simulation, however big the step: the concert would otherwise split into audience shards
    proc = start_server(port, ["--tick-hz", str(args.hz), "--shard-size", "0", *args.server_args])
    tune_gc()  # the swarm's own GC pauses would otherwise show up as server latency
    url = f"http://127.0.0.1:{port}"
    rows: list[dict[str, Any]] = []
    costs: list[dict[str, Any]] = []
    swarm = Swarm(url, args.room, hz=args.hz, compress=args.compress)
    try:
        server = psutil.Process(proc.pid)
        for n in args.steps:
            if args.chat_rate > 0.8 * n:
                print(f"warning: --chat-rate {args.chat_rate:g} at N={n} is over 0.8 message/s per visitor: "
                      "expect rate_limited refusals (the server allows 1/s after a burst of 5)", flush=True)
            step = await measure_step(swarm, url, server, n, args)
            rows.extend(step)
            if args.compare_social:
                costs.append(social_cost(step))
                print_cost(costs[-1])
            baseline = [r for r in step if not r["social"]] or step
            if not all(r["held"] for r in baseline) and not args.keep_going:
                break
    finally:
        await swarm.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    baseline_rows = [r for r in rows if not r["social"]] or rows
    social_rows = [r for r in rows if r["social"]]
    return {
        "benchmark": "one room, N visitors at 10 Hz, server and swarm on the same machine",
        "room": args.room,
        "hz": args.hz,
        "latency_budget_ms": LATENCY_BUDGET_MS,
        "largest_n_held": largest_held(baseline_rows),
        "largest_n_held_social": largest_held(social_rows) if social_rows else None,
        "chat_rate": args.chat_rate,
        "react_rate": args.react_rate,
        "compare_social": args.compare_social,
        "server_args": args.server_args,
        "permessage_deflate": args.compress,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "rows": rows,
        "social_cost": costs,
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    all_rows = result["rows"]
    rows = [r for r in all_rows if not r["social"]] or all_rows
    social = [r for r in all_rows if r["social"]] if len(rows) < len(all_rows) else []
    n = [r["visitors"] for r in rows]
    fig, ax1 = plt.subplots(figsize=(8, 4.5), dpi=110)
    ax1.plot(n, [r["latency_p50_ms"] for r in rows], "o-", label="move→seen p50")
    ax1.plot(n, [r["latency_p99_ms"] for r in rows], "o-", label="move→seen p99")
    ax1.plot(n, [r["tick_p99_ms"] for r in rows], "s--", label="tick duration p99")
    if social:
        sn = [r["visitors"] for r in social]
        ax1.plot(sn, [r["latency_p99_ms"] for r in social], "x:", label="move→seen p99, chat+reactions on")
        ax1.plot(sn, [r["chat_latency_p99_ms"] for r in social], "d:", label="chat sent→seen p99")
    ax1.axhline(LATENCY_BUDGET_MS, color="red", lw=0.8, ls=":", label="150 ms budget")
    ax1.set_xlabel("visitors in one room (10 Hz)")
    ax1.set_ylabel("milliseconds")
    ax2 = ax1.twinx()
    ax2.plot(n, [r["server_cpu_pct"] + r["room_workers_cpu_pct"] for r in rows], "^-", color="grey", label="server CPU % (incl. room worker)")
    if social:
        ax2.plot([r["visitors"] for r in social], [r["server_total_cpu_pct"] for r in social], "v:", color="black",
                 label="server CPU %, chat+reactions on")
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
    ap.add_argument("--settle", type=float, default=5.0, help="seconds after growing (or changing rates) before measuring")
    ap.add_argument("--window", type=float, default=12.0, help="seconds measured per window")
    ap.add_argument("--compress", action="store_true", help="negotiate permessage-deflate like a browser")
    ap.add_argument("--keep-going", action="store_true", help="measure every step even after one fails")
    ap.add_argument("--chat-rate", type=float, default=0.0,
                    help="room chat messages per second from the whole swarm (each visitor in turn; 0 = none)")
    ap.add_argument("--react-rate", type=float, default=0.0, help="reactions per visitor per second (0 = none)")
    ap.add_argument("--compare-social", action="store_true",
                    help="measure each step without, then with --chat-rate/--react-rate, and report the ratios")
    ap.add_argument("--rounds", type=int, default=1, help="with --compare-social: off/on pairs per step (medians)")
    ap.add_argument("--out", type=Path, default=RESULTS / "bench_crowd.json")
    ap.add_argument("--plot", type=Path, default=None, help="PNG path (default: next to --out)")
    ap.add_argument("server_args", nargs="*", help="extra `vetrina serve` flags after --")
    args = ap.parse_args()
    if args.compare_social and not (args.chat_rate > 0 or args.react_rate > 0):
        ap.error("--compare-social needs --chat-rate and/or --react-rate")
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
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
