"""A lean crowd of visitors for benchmarks: raw websockets speaking Engine.IO 4 + Socket.IO msgpack.

A python-socketio client costs several tasks and layers per message; to put thousands of
visitors on the same 2-core machine as the server, each swarm visitor is one websocket and one
reader task, sends pre-encoded packets, and decodes only what it measures. It speaks the real
protocol (PROTOCOL.md): handshake, CONNECT with auth, ``welcome``, ``join`` with an ack,
``move`` at ``hz``, engine.io pings, and the binary ``tick``.

Latency is measured end to end: a *probe* visitor remembers when it sent each position; an
*observer* that receives a tick record with that avatar id and exact position reports
``receive time - send time`` (move -> seen by another visitor).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgpack
import numpy as np

from world.interest import RECORD
from world.scene import Scene
from world.wander import Wanderer

EVENT, ACK, CONNECT = 2, 3, 0
# How the server's tick packets start (a socket.io EVENT map whose data begins with "tick"):
# non-observers only count them instead of decoding every one.
TICK_PREFIX = b"\x83\xa4type\x02\xa4data\x92\xa4tick"


@dataclass
class SwarmStats:
    moves_sent: int = 0
    ticks_received: int = 0
    bytes_received: int = 0
    corrections: int = 0
    disconnects: int = 0
    connect_failures: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def reset(self) -> None:
        self.moves_sent = self.ticks_received = self.bytes_received = self.corrections = 0
        self.latencies_ms.clear()


class Probes:
    """Positions probe visitors sent, keyed by (avatar id, x cm, z cm), for latency matching."""

    def __init__(self) -> None:
        self.sent: dict[tuple[int, int, int], float] = {}
        self.order: deque[tuple[int, int, int]] = deque()
        self.ids: set[int] = set()
        self.id_array = np.zeros(0, np.uint32)

    def add_probe(self, avatar: int) -> None:
        self.ids.add(avatar)
        self.id_array = np.fromiter(self.ids, np.uint32)

    def remember(self, avatar: int, p: tuple[float, float, float], t: float) -> None:
        key = (avatar, int(round(p[0] * 100)), int(round(p[2] * 100)))
        self.sent.setdefault(key, t)
        self.order.append(key)
        while len(self.order) > 50_000:  # bounded: old positions can no longer be matched
            self.sent.pop(self.order.popleft(), None)

    def match(self, pos: bytes, now: float, stats: SwarmStats) -> None:
        if not self.ids or not pos:
            return
        recs = np.frombuffer(pos, RECORD)
        hit = np.isin(recs["id"], self.id_array)
        if not hit.any():
            return
        for r in recs[hit].tolist():
            sent = self.sent.pop((r[0], r[1], r[3]), None)
            if sent is not None:  # first observer to see it: that is the move->seen latency
                stats.latencies_ms.append((now - sent) * 1000.0)


class SwarmVisitor:
    def __init__(
        self,
        swarm: "Swarm",
        index: int,
        *,
        probe: bool,
        observer: bool,
        hotspot: tuple[float, float, float] | None,
    ) -> None:
        self.swarm = swarm
        self.index = index
        self.probe = probe
        self.observer = observer
        self.hotspot = hotspot
        self.rng = random.Random(index * 7919 + 1)
        self.id = -1
        self.p: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.legs: Wanderer | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next_ack = 1
        self.joined = asyncio.Event()
        self.connected = asyncio.Event()
        self.seq = 0

    async def run(self, session: aiohttp.ClientSession) -> None:
        s = self.swarm
        url = s.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        try:
            self.ws = await session.ws_connect(
                url, autoping=False, max_msg_size=0, heartbeat=None, compress=15 if s.compress else 0
            )
        except Exception:
            s.stats.connect_failures += 1
            return
        ws = self.ws
        reader = asyncio.create_task(self._read(ws))
        try:
            auth = {"name": f"Swarm {self.index}", "look": {"color": "#%06x" % self.rng.randrange(1 << 24)}}
            await ws.send_bytes(msgpack.packb({"type": CONNECT, "nsp": "/", "data": auth}))
            await asyncio.wait_for(self.connected.wait(), 30)  # events before CONNECT is done are dropped
            ack = await self.call("join", {"room": s.room})
            if not ack.get("ok"):
                s.stats.connect_failures += 1
                return
            self.id = ack["you"]["id"]
            self.p = tuple(ack["you"]["p"])  # type: ignore[assignment]
            scene = s.scene_for(ack["room"])
            self.legs = Wanderer(scene, ack["room"]["max_speed"], self.rng, hotspot=self.hotspot, pause_s=(0.2, 1.5))
            if self.probe:
                s.probes.add_probe(self.id)
            self.joined.set()
            await reader  # walking is done by Swarm._mover; this task lives as long as the socket
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await ws.close()

    async def call(self, event: str, data: Any, timeout: float = 30.0) -> Any:
        assert self.ws is not None
        ack_id = self._next_ack
        self._next_ack += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = fut
        await self.ws.send_bytes(msgpack.packb({"type": EVENT, "nsp": "/", "data": [event, data], "id": ack_id}))
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._acks.pop(ack_id, None)

    async def step(self, dt: float) -> None:
        """One walking step: called by the swarm's mover at this visitor's phase."""
        ws = self.ws
        if self.legs is None or ws is None or ws.closed:
            return
        p, yaw = self.legs.step(self.p, dt)
        if p == self.p:
            return
        self.p = p
        self.seq += 1
        s = self.swarm
        if self.probe:
            s.probes.remember(self.id, p, time.perf_counter())
        await ws.send_bytes(
            msgpack.packb({"type": EVENT, "nsp": "/", "data": ["move", {"p": list(p), "yaw": yaw, "seq": self.seq}]})
        )
        s.stats.moves_sent += 1

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        s = self.swarm
        stats = s.stats
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.BINARY:
                    data = msg.data
                    stats.bytes_received += len(data)
                    if not self.observer and data.startswith(TICK_PREFIX):
                        stats.ticks_received += 1
                        continue
                    pkt = msgpack.unpackb(data)
                    kind = pkt.get("type")
                    if kind == EVENT:
                        event = pkt["data"][0]
                        if event == "tick":
                            stats.ticks_received += 1
                            if self.observer:
                                s.probes.match(pkt["data"][1]["pos"], time.perf_counter(), stats)
                        elif event == "correct":
                            stats.corrections += 1
                            self.p = tuple(pkt["data"][1]["p"])  # type: ignore[assignment]
                            if self.legs:
                                self.legs.corrected()
                    elif kind == CONNECT:
                        self.connected.set()
                    elif kind == ACK:
                        fut = self._acks.get(pkt.get("id"))
                        if fut and not fut.done():
                            fut.set_result(pkt["data"][0] if pkt.get("data") else None)
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    if msg.data == "2":
                        await ws.send_str("3")  # engine.io ping -> pong
                    elif msg.data.startswith("1"):
                        break
                else:
                    break
        except (aiohttp.ClientError, ConnectionError):
            pass
        stats.disconnects += 1  # reached only when the server closed on us (not on cancel)


class Swarm:
    """N visitors in one room; grow it with :meth:`grow`, stop it with :meth:`close`."""

    def __init__(
        self,
        url: str,
        room: str,
        *,
        hz: float = 10.0,
        probe_every: int = 21,  # coprime with the 10 walking slots: probes move in every phase
        observer_every: int = 11,
        pit_share: float = 0.3,
        pit: tuple[float, float, float] = (0.0, -12.0, 9.0),
        compress: bool = False,
    ) -> None:
        self.url, self.room, self.hz = url, room, hz
        self.compress = compress  # ask for permessage-deflate, as browsers do
        self.probe_every, self.observer_every = probe_every, observer_every
        self.pit_share, self.pit = pit_share, pit
        self.stats = SwarmStats()
        self.probes = Probes()
        self.visitors: list[SwarmVisitor] = []
        self.tasks: list[asyncio.Task[None]] = []
        self._scene: Scene | None = None
        self._session: aiohttp.ClientSession | None = None
        self._mover: asyncio.Task[None] | None = None
        self.slots = 10  # phases per move period: visitor i moves in slot i % slots

    async def _mover_loop(self) -> None:
        """One loop moves everyone: each 1/(hz*slots) s the next slot's visitors take a step,
        so moves are spread evenly over the period without a timer per visitor."""
        loop = asyncio.get_running_loop()
        dt = 1.0 / self.hz
        slot_s = dt / self.slots
        next_at = loop.time()
        k = 0
        while True:
            next_at += slot_s
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            if loop.time() - next_at > dt:  # far behind: skip rather than burst
                next_at = loop.time()
            for v in self.visitors[k % self.slots :: self.slots]:
                if v.joined.is_set():
                    await v.step(dt)
            k += 1

    def scene_for(self, info: dict[str, Any]) -> Scene:
        if self._scene is None:
            self._scene = Scene.model_validate(info["scene"])
        return self._scene

    @property
    def size(self) -> int:
        return len(self.visitors)

    async def grow(self, n: int, *, rate: float = 200.0) -> None:
        """Add visitors until there are ``n``, ``rate`` connections per second; wait for joins."""
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        if self._mover is None:
            self._mover = asyncio.create_task(self._mover_loop())
        new = []
        while len(self.visitors) < n:
            i = len(self.visitors)
            v = SwarmVisitor(
                self,
                i,
                probe=i % self.probe_every == 0,
                observer=i % self.observer_every == 5,
                hotspot=self.pit if (i * 0.618) % 1.0 < self.pit_share else None,
            )
            self.visitors.append(v)
            new.append(v)
            self.tasks.append(asyncio.create_task(v.run(self._session)))
            await asyncio.sleep(1.0 / rate)
        await asyncio.wait_for(asyncio.gather(*(v.joined.wait() for v in new)), timeout=60 + n / 20)

    async def close(self) -> None:
        if self._mover is not None:
            self._mover.cancel()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    return float(np.percentile(np.asarray(values), q))
