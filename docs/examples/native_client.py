"""A Vetrina visitor over a raw websocket: no Socket.IO library, just what a native client does.

It speaks Engine.IO v4 and Socket.IO v5 by hand (docs/native-clients.md): connect, join a
room, sync the clock, walk in a circle, and print the avatars in view once a second. Only
``aiohttp`` (its websocket client) and ``msgpack`` are needed.

    python docs/examples/native_client.py --url http://127.0.0.1:8080 --room showroom --seconds 10

At the end it prints one JSON line: its id, whether it joined, the avatars it saw, ticks.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import struct
import time
from typing import Any

import aiohttp
import msgpack

# Socket.IO v5 packet types (the "type" of the msgpack map)
CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR = 0, 1, 2, 3, 4
RECORD = struct.Struct("<Ihhhh")  # the tick's 12-byte position record
POSE_HEADER, POSE_PART = struct.Struct("<IB"), struct.Struct("<hhhI")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def decode_quat(packed: int) -> tuple[float, float, float, float]:
    """The pose's "smallest three" uint32 -> (x, y, z, w)."""
    big = packed >> 30
    rest = [((packed >> shift) & 1023) / 1023 * math.sqrt(2) - 1 / math.sqrt(2) for shift in (20, 10, 0)]
    omitted = math.sqrt(max(0.0, 1.0 - sum(c * c for c in rest)))
    q = rest[:big] + [omitted] + rest[big:]
    return q[0], q[1], q[2], q[3]


def decode_poses(data: bytes) -> dict[int, dict[str, Any]]:
    """The tick's ``pose`` field -> {avatar id: {"flags", "head"?, "left"?, "right"?}}."""
    out: dict[int, dict[str, Any]] = {}
    at = 0
    while at < len(data):
        avatar, flags = POSE_HEADER.unpack_from(data, at)
        at += POSE_HEADER.size
        rec: dict[str, Any] = {"flags": flags}
        for bit, name in ((1, "head"), (2, "left"), (4, "right")):
            if flags & bit:
                x, y, z, q = POSE_PART.unpack_from(data, at)
                at += POSE_PART.size
                rec[name] = (x / 100, y / 100, z / 100, *decode_quat(q))
        out[avatar] = rec
    return out


class NativeVisitor:
    """One visitor: the Engine.IO socket, Socket.IO packets, and what is in view."""

    def __init__(self, url: str, name: str) -> None:
        base = url.rstrip("/").replace("http://", "ws://").replace("https://", "wss://")
        self.ws_url = f"{base}/socket.io/?EIO=4&transport=websocket"
        self.name = name
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.welcome: dict[str, Any] = {}
        self.connected = asyncio.Event()
        self.welcomed = asyncio.Event()
        self.acks: dict[int, asyncio.Future[Any]] = {}
        self.ids = itertools.count(1)
        self.view: dict[int, dict[str, Any]] = {}  # avatar id -> {"name", "p", "yaw"}
        self.poses: dict[int, dict[str, Any]] = {}
        self.seen: dict[int, str] = {}  # everyone ever in view
        self.ticks = 0
        self.corrections = 0
        self.clock_offset_ms = 0.0  # server ms - local ms

    # ---- Engine.IO / Socket.IO framing -----------------------------------------------

    async def send(self, packet: dict[str, Any]) -> None:
        """A Socket.IO packet is a msgpack map in one binary websocket frame (an Engine.IO
        "message" whose type is implied by the frame being binary)."""
        assert self.ws is not None
        await self.ws.send_bytes(msgpack.packb(packet))

    async def emit(self, event: str, data: Any) -> None:
        await self.send({"type": EVENT, "nsp": "/", "data": [event, data]})

    async def call(self, event: str, data: Any, timeout: float = 5.0) -> Any:
        """An event with an ack id; the server answers with an ACK packet of the same id."""
        ack_id = next(self.ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks[ack_id] = fut
        await self.send({"type": EVENT, "nsp": "/", "data": [event, data], "id": ack_id})
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.acks.pop(ack_id, None)

    async def run_socket(self, session: aiohttp.ClientSession, auth: dict[str, Any]) -> None:
        async with session.ws_connect(self.ws_url, autoping=False, max_msg_size=0) as ws:
            self.ws = ws
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    text = msg.data
                    if text.startswith("0"):  # Engine.IO open: {"sid", "pingInterval", ...}
                        await self.send({"type": CONNECT, "nsp": "/", "data": auth})  # Socket.IO CONNECT
                    elif text == "2":  # ping: answer pong, or the server closes the socket
                        await ws.send_str("3")
                    elif text.startswith("1"):  # Engine.IO close
                        break
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    await self.on_packet(msgpack.unpackb(msg.data, strict_map_key=False))
                else:
                    break

    async def on_packet(self, pkt: dict[str, Any]) -> None:
        kind = pkt.get("type")
        if kind == CONNECT:
            self.connected.set()
        elif kind == CONNECT_ERROR:
            raise ConnectionError(f"refused: {pkt.get('data')}")
        elif kind == ACK:
            fut = self.acks.get(pkt.get("id", -1))
            if fut is not None and not fut.done():
                fut.set_result(pkt["data"][0] if pkt.get("data") else None)
        elif kind == EVENT:
            event, *args = pkt["data"]
            self.on_event(event, args[0] if args else None)
        elif kind == DISCONNECT:
            assert self.ws is not None
            await self.ws.close()

    # ---- Vetrina events --------------------------------------------------------------

    def on_event(self, event: str, data: Any) -> None:
        if event == "welcome":
            self.welcome = data
            self.welcomed.set()
        elif event == "tick":
            self.on_tick(data)
        elif event == "correct":
            self.corrections += 1

    def on_tick(self, tick: dict[str, Any]) -> None:
        self.ticks += 1
        if tick.get("reset"):  # the whole view is resent
            self.view.clear()
            self.poses.clear()
        for avatar, name, _look in tick["enter"]:
            self.view.setdefault(avatar, {})["name"] = name
            self.seen[avatar] = name
        for avatar in tick["leave"]:
            self.view.pop(avatar, None)
            self.poses.pop(avatar, None)
        pos = tick["pos"]
        for at in range(0, len(pos), RECORD.size):
            avatar, x, y, z, yaw = RECORD.unpack_from(pos, at)
            entry = self.view.setdefault(avatar, {"name": "?"})
            entry["p"] = (x / 100, y / 100, z / 100)
            entry["yaw"] = yaw / 32767 * math.pi
        for avatar, rec in decode_poses(tick.get("pose", b"")).items():
            if rec["flags"]:
                self.poses[avatar] = rec
            else:
                self.poses.pop(avatar, None)

    async def sync_clock(self) -> None:
        """NTP-style: the server's clock is ``t`` at about halfway through the round trip."""
        sent = now_ms()
        ack = await self.call("time", {"c": sent})
        got = now_ms()
        self.clock_offset_ms = ack["t"] + (got - sent) / 2 - got


async def run(url: str, room: str, seconds: float, name: str = "Native", quiet: bool = False) -> dict[str, Any]:
    v = NativeVisitor(url, name)
    summary: dict[str, Any] = {"joined": False}
    async with aiohttp.ClientSession() as session:
        socket_task = asyncio.create_task(v.run_socket(session, {"name": name}))
        try:
            await asyncio.wait_for(v.welcomed.wait(), 10)
            await v.sync_clock()
            ack = await v.call("join", {"room": room})
            if not ack.get("ok"):
                raise RuntimeError(f"join refused: {ack}")
            summary["joined"] = True
            info, you = ack["room"], ack["you"]
            cx, y, cz = you["p"]
            radius, speed = 1.0, 1.5  # metres, metres per second: well under max_speed
            started = time.monotonic()
            seq, last_print = 0, 0.0
            while (elapsed := time.monotonic() - started) < seconds:
                angle = elapsed * speed / radius
                x, z = cx + radius * math.sin(angle), cz + radius * (math.cos(angle) - 1)
                dx, dz = math.cos(angle), -math.sin(angle)  # walking direction
                seq += 1
                await v.emit("move", {"p": [x, y, z], "yaw": math.atan2(-dx, -dz), "seq": seq})
                if not quiet and elapsed - last_print >= 1.0:
                    last_print = elapsed
                    names = ", ".join(f"{e.get('name', '?')}#{i}" for i, e in sorted(v.view.items()))
                    print(f"[{elapsed:4.1f}s] {info['id']}: {len(v.view)} in view: {names}")
                await asyncio.sleep(1 / 10)
        finally:
            if v.ws is not None:
                await v.ws.close()
            socket_task.cancel()
            await asyncio.gather(socket_task, return_exceptions=True)
    summary.update(
        id=v.welcome.get("id"), session=v.welcome.get("session"), ticks=v.ticks, corrections=v.corrections,
        seen={str(k): n for k, n in v.seen.items()}, clock_offset_ms=round(v.clock_offset_ms, 1),
    )
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--room", default="showroom")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--name", default="Native")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.room, args.seconds, args.name))))


if __name__ == "__main__":
    main()
