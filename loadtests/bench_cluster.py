"""Two nodes behind Redis: what one event across two processes costs, measured in one run.

Starts a throwaway ``redis-server`` (own port, no persistence) and two ``vetrina serve``
nodes, and puts half of an asyncio swarm (:mod:`loadtests.swarm`) on each, all in the concert
room, walking at 10 Hz and pressing reactions; the visitors on node 1 also chat. It measures
the same load twice, back to back on fresh processes:

- ``alone``: the two nodes without Redis (two separate events): the baseline;
- ``redis``: the two nodes joined by Redis (one event: chat, reactions and the rest cross).

Per mode: visitors per node, CPU of each node (socket process + room workers) and of Redis,
move->seen p50/p99 on each node, chat sent->seen p50/p99 on the sender's node and, with Redis,
on the other node (cross-node), and reactions seen per second. The difference between the
modes, per visitor, is the CPU cost of the Redis traffic.

    python loadtests/bench_cluster.py                       # 1,000 visitors, 500 per node
    python loadtests/bench_cluster.py --visitors 200 --window 8 --settle 4   # a quick smoke
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from loadtests.bench_crowd import free_port, server_cpu, start_server  # noqa: E402
from loadtests.swarm import Swarm, percentile  # noqa: E402
from server.engines import tune_gc  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def start_redis(port: int) -> subprocess.Popen[bytes]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is missing (make system-deps installs it)")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def cpu_s(p: psutil.Process) -> float:
    t = p.cpu_times()
    return float(t.user + t.system)


async def measure(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    redis = start_redis(free_port()) if mode == "redis" else None
    extra = ["--tick-hz", str(args.hz)]
    if redis is not None:
        extra += ["--redis", f"redis://127.0.0.1:{redis.args[2]}/0"]
    ports = [free_port(), free_port()]
    nodes = [start_server(port, [*extra, "--node-id", f"node{i + 1}"] if redis else extra) for i, port in enumerate(ports)]
    swarms = [Swarm(f"http://127.0.0.1:{port}", "concert", hz=args.hz) for port in ports]
    # one ledger of sent chat messages: a receipt on node 2 of a message sent on node 1 is a
    # cross-node sent->seen sample (node 2's visitors do not chat, so all of its samples are)
    swarms[1].chats = swarms[0].chats
    try:
        half = args.visitors // 2
        for s in swarms:
            await s.grow(half)
        swarms[0].chat_rate = args.chat_rate
        for s in swarms:
            s.react_rate = args.react_rate
        await asyncio.sleep(args.settle)
        procs = [psutil.Process(n.pid) for n in nodes]
        redis_p = psutil.Process(redis.pid) if redis is not None else None
        me = psutil.Process()
        for s in swarms:
            s.stats.reset()
        cpu0 = [server_cpu(p) for p in procs]
        r0 = cpu_s(redis_p) if redis_p else 0.0
        me0, t0 = cpu_s(me), time.perf_counter()
        await asyncio.sleep(args.window)
        elapsed = time.perf_counter() - t0
        cpu1 = [server_cpu(p) for p in procs]
        r1 = cpu_s(redis_p) if redis_p else 0.0
        me1 = cpu_s(me)
        per_node = []
        for i, s in enumerate(swarms):
            st = s.stats
            observers = sum(1 for v in s.visitors if v.observer) or 1
            per_node.append({
                "node": i + 1,
                "visitors": s.size,
                "cpu_pct": 100 * ((cpu1[i][0] - cpu0[i][0]) + (cpu1[i][1] - cpu0[i][1])) / elapsed,
                "socket_cpu_pct": 100 * (cpu1[i][0] - cpu0[i][0]) / elapsed,
                "room_workers_cpu_pct": 100 * (cpu1[i][1] - cpu0[i][1]) / elapsed,
                "latency_p50_ms": percentile(st.latencies_ms, 50),
                "latency_p99_ms": percentile(st.latencies_ms, 99),
                "chat_latency_samples": len(st.chat_latencies_ms),
                "chat_latency_p50_ms": percentile(st.chat_latencies_ms, 50),
                "chat_latency_p99_ms": percentile(st.chat_latencies_ms, 99),
                "chat_received_per_visitor_per_s": st.chat_received / elapsed / max(1, s.size),
                "reactions_seen_per_s": st.reactions_counted / observers / elapsed,
                "reactions_sent_per_s": st.reactions_sent / elapsed,
                "disconnects": st.disconnects,
            })
        return {
            "mode": mode,
            "window_s": round(elapsed, 2),
            "nodes": per_node,
            "nodes_cpu_pct": sum(n["cpu_pct"] for n in per_node),
            "redis_cpu_pct": 100 * (r1 - r0) / elapsed,
            "swarm_cpu_pct": 100 * (me1 - me0) / elapsed,
            "chat_sent_per_s": swarms[0].stats.chat_sent / elapsed,
        }
    finally:
        for s in swarms:
            await s.close()
        for n in nodes:
            stop(n)
        if redis is not None:
            stop(redis)


def print_mode(m: dict[str, Any]) -> None:
    print(f"{m['mode']:>5}: nodes CPU {m['nodes_cpu_pct']:5.1f}%  redis CPU {m['redis_cpu_pct']:4.1f}%  "
          f"swarm {m['swarm_cpu_pct']:4.0f}%  chat {m['chat_sent_per_s']:.1f}/s", flush=True)
    for n in m["nodes"]:
        print(f"       node {n['node']}: {n['visitors']} visitors  CPU {n['cpu_pct']:5.1f}% "
              f"({n['socket_cpu_pct']:.0f}% + workers {n['room_workers_cpu_pct']:.0f}%)  "
              f"move→seen p50 {n['latency_p50_ms']:5.1f} p99 {n['latency_p99_ms']:5.1f} ms  "
              f"chat sent→seen p50 {n['chat_latency_p50_ms']:5.1f} p99 {n['chat_latency_p99_ms']:5.1f} ms "
              f"({n['chat_latency_samples']} samples)  reactions seen {n['reactions_seen_per_s']:5.0f}/s "
              f"(this node sent {n['reactions_sent_per_s']:.0f}/s)  disconnects {n['disconnects']}", flush=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tune_gc()
    modes = [await measure(mode, args) for mode in ("alone", "redis")]
    for m in modes:
        print_mode(m)
    alone, joined = modes
    extra = (joined["nodes_cpu_pct"] + joined["redis_cpu_pct"]) - alone["nodes_cpu_pct"]
    cost = {
        "extra_cpu_pct": extra,
        "of_which_redis_pct": joined["redis_cpu_pct"],
        "per_1000_visitors_pct": extra / args.visitors * 1000,
        "cross_node_chat_p50_ms": joined["nodes"][1]["chat_latency_p50_ms"],
        "cross_node_chat_p99_ms": joined["nodes"][1]["chat_latency_p99_ms"],
        "same_node_chat_p50_ms": joined["nodes"][0]["chat_latency_p50_ms"],
    }
    print(f"Redis traffic costs {extra:+.1f}% CPU in all ({joined['redis_cpu_pct']:.1f}% of it Redis), "
          f"{cost['per_1000_visitors_pct']:+.1f}% per 1,000 visitors; chat sent→seen across nodes p50 "
          f"{cost['cross_node_chat_p50_ms']:.0f} / p99 {cost['cross_node_chat_p99_ms']:.0f} ms "
          f"(same node p50 {cost['same_node_chat_p50_ms']:.0f} ms)", flush=True)
    return {
        "benchmark": "two nodes, half the visitors on each, without and with Redis; server, Redis and swarm on one machine",
        "visitors": args.visitors, "hz": args.hz, "chat_rate": args.chat_rate, "react_rate": args.react_rate,
        "modes": modes, "cost": cost,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--visitors", type=int, default=1000, help="in all, split evenly over the two nodes")
    ap.add_argument("--hz", type=float, default=10.0)
    ap.add_argument("--chat-rate", type=float, default=10.0, help="room chat messages per second, from node 1's visitors")
    ap.add_argument("--react-rate", type=float, default=0.2, help="reactions per visitor per second, on both nodes")
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--window", type=float, default=12.0)
    ap.add_argument("--out", type=Path, default=RESULTS / "bench_cluster.json")
    args = ap.parse_args()
    try:
        import uvloop

        result = uvloop.run(run(args))
    except ImportError:
        result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
