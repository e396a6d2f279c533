"""A lean crowd of visitors for benchmarks: raw websockets speaking Engine.IO 4 + Socket.IO msgpack.

A python-socketio client costs several tasks and layers per message; to put thousands of
visitors on the same 2-core machine as the server, each swarm visitor is one picows websocket
(frames handled in a callback, no reader task), sends pre-encoded packets, and decodes only
what it measures. It speaks the real
protocol (PROTOCOL.md): handshake, CONNECT with auth, ``welcome``, ``join`` with an ack,
``move`` at ``hz``, engine.io pings, and the binary ``tick``; optionally room ``chat`` (with
an ack) and ``react``, and it reads the ``chat`` and ``reactions`` events every visitor gets.

Latency is measured end to end: a *probe* visitor remembers when it sent each position; an
*observer* that receives a tick record with that avatar id and exact position reports
``receive time - send time`` (move -> seen by another visitor). Chat the same way: the swarm
remembers when each message was sent; every observer that receives the ``chat`` event with
that message's id (from the sender's ack) reports ``receive time - send time`` (chat sent ->
seen by the room).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
import zlib
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from world.core.interest import RECORD
from world.core.scene import Scene
from world.wander import Wanderer

EVENT, ACK, CONNECT = 2, 3, 0
# How the server's event packets start (a socket.io EVENT map whose data begins with the
# event name): non-observers only count ticks, chat and reactions instead of decoding them.
_HEAD = b"\x83\xa4type\x02\xa4data\x92"
TICK_PREFIX = _HEAD + msgpack.packb("tick")
CHAT_PREFIX = _HEAD + msgpack.packb("chat")
REACTIONS_PREFIX = _HEAD + msgpack.packb("reactions")
PREFIX_LEN = len(TICK_PREFIX)
logging.getLogger("picows").setLevel(logging.WARNING)  # it logs every connection at INFO
CHAT_TEXTS = ("What a show!", "Encore!", "Best night ever", "Ciao da Milano", "Che spettacolo!", "Bravi!")


@dataclass
class SwarmStats:
    moves_sent: int = 0
    ticks_received: int = 0
    bytes_received: int = 0
    corrections: int = 0
    disconnects: int = 0
    connect_failures: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    # Server tick time ``t`` -> an observer reads the tick (same machine, same wall clock):
    # the part of move->seen after the tick started (step, transfer, fan-out, swarm read).
    tick_age_ms: list[float] = field(default_factory=list)
    # the social layer (all zero unless the swarm chats or reacts)
    tick_bytes: int = 0
    chat_bytes: int = 0
    reactions_bytes: int = 0
    chat_sent: int = 0
    chat_acked: int = 0
    chat_refused: Counter[str] = field(default_factory=Counter)  # error code -> count
    chat_ack_ms: list[float] = field(default_factory=list)  # chat emit -> its ack
    chat_latencies_ms: list[float] = field(default_factory=list)  # chat emit -> an observer has it
    chat_received: int = 0  # chat events, by every visitor
    reactions_sent: int = 0
    reactions_received: int = 0  # reactions events, by every visitor
    reactions_counted: int = 0  # the reactions those events carried, as observers saw them

    def reset(self) -> None:
        self.moves_sent = self.ticks_received = self.bytes_received = self.corrections = 0
        self.latencies_ms.clear()
        self.tick_age_ms.clear()
        self.tick_bytes = self.chat_bytes = self.reactions_bytes = 0
        self.chat_sent = self.chat_acked = self.chat_received = 0
        self.chat_refused.clear()
        self.chat_ack_ms.clear()
        self.chat_latencies_ms.clear()
        self.reactions_sent = self.reactions_received = self.reactions_counted = 0


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


class ChatProbes:
    """Chat messages the swarm sent, by message id, matched against what observers receive.

    The room's ``chat`` event can reach an observer before the sender's ack (the server sends
    both after the same tick), so receipts of ids not acked yet wait in ``early``."""

    KEEP_S = 15.0  # a message is matched for this long after it was sent

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}  # id -> emit time
        self.early: dict[str, list[float]] = {}  # id -> receipts before the ack
        self.order: deque[tuple[float, str]] = deque()

    def acked(self, mid: str, t0: float, stats: SwarmStats) -> None:
        self.sent[mid] = t0
        self.order.append((t0, mid))
        for seen in self.early.pop(mid, ()):
            stats.chat_latencies_ms.append((seen - t0) * 1000.0)
        cutoff = time.perf_counter() - self.KEEP_S
        while self.order and self.order[0][0] < cutoff:
            self.sent.pop(self.order.popleft()[1], None)
        if len(self.early) > 10_000:  # receipts of messages whose ack never came
            self.early.clear()

    def seen(self, mid: str, now: float, stats: SwarmStats) -> None:
        t0 = self.sent.get(mid)
        if t0 is not None:
            stats.chat_latencies_ms.append((now - t0) * 1000.0)
        else:
            self.early.setdefault(mid, []).append(now)


class _Link(WSListener):
    """picows calls back on every frame straight from the socket's data_received: no reader
    task, no future and no message object per frame, which is what made an aiohttp client
    cost ~50 µs per visitor per tick on the machine it shares with the server."""

    def __init__(self, visitor: "SwarmVisitor") -> None:
        super().__init__()
        self.visitor = visitor

    def on_ws_connected(self, transport: WSTransport) -> None:
        # before the first frame: did the server accept compression?
        if "permessage-deflate" in (transport.response.headers.get("sec-websocket-extensions") or ""):
            self.visitor._inflate = zlib.decompressobj(-zlib.MAX_WBITS)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        self.visitor.on_frame(transport, frame)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.visitor.on_closed()


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
        self.tr: WSTransport | None = None
        self._inflate: Any = None  # a zlib stream when the server accepted permessage-deflate
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next_ack = 1
        self.joined = asyncio.Event()
        self.connected = asyncio.Event()
        self.closed = asyncio.Event()
        self.seq = 0
        self.react_due = self.rng.random()  # de-phased: reactions do not all go out together
        self.reacts: list[bytes] = []  # a pre-encoded `react` per emoji of the room

    async def run(self) -> None:
        s = self.swarm
        url = s.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        # Like a browser, ask for compression when told to; the server decides (it declines by default).
        headers = {"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"} if s.compress else None
        try:
            tr, _ = await ws_connect(
                lambda: _Link(self), url, extra_headers=headers, websocket_handshake_timeout=30, max_frame_size=1 << 24
            )
        except Exception:
            s.stats.connect_failures += 1
            return
        self.tr = tr
        try:
            auth = {"name": f"Swarm {self.index}", "look": {"color": "#%06x" % self.rng.randrange(1 << 24)}}
            self.send(msgpack.packb({"type": CONNECT, "nsp": "/", "data": auth}))
            await asyncio.wait_for(self.connected.wait(), 30)  # events before CONNECT is done are dropped
            ack = await self.call("join", {"room": s.room})
            if not ack.get("ok"):
                s.stats.connect_failures += 1
                return
            self.id = ack["you"]["id"]
            self.p = tuple(ack["you"]["p"])
            scene = s.scene_for(ack["room"])
            self.legs = Wanderer(scene, ack["room"]["max_speed"], self.rng, hotspot=self.hotspot, pause_s=(0.2, 1.5))
            self.reacts = [
                msgpack.packb({"type": EVENT, "nsp": "/", "data": ["react", {"emoji": e}]})
                for e in ack["room"].get("reactions") or []
            ]
            if self.probe:
                s.probes.add_probe(self.id)
            self.joined.set()
            await self.closed.wait()  # walking is done by Swarm._mover; frames arrive in on_frame
        finally:
            tr.disconnect(graceful=False)

    def send(self, data: bytes) -> None:
        tr = self.tr
        if tr is not None and not self.closed.is_set():
            tr.send(WSMsgType.BINARY, data)

    async def call(self, event: str, data: Any, timeout: float = 30.0) -> Any:
        ack_id = self._next_ack
        self._next_ack += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = fut
        self.send(msgpack.packb({"type": EVENT, "nsp": "/", "data": [event, data], "id": ack_id}))
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._acks.pop(ack_id, None)

    def step(self, dt: float) -> None:
        """One walking step (and the reactions due): called by the swarm's mover at this visitor's phase."""
        if self.legs is None or self.closed.is_set():
            return
        s = self.swarm
        if s.react_rate > 0 and self.reacts:
            self.react_due += s.react_rate * dt
            while self.react_due >= 1.0:
                self.react_due -= 1.0
                self.send(self.rng.choice(self.reacts))
                s.stats.reactions_sent += 1
        p, yaw = self.legs.step(self.p, dt)
        if p == self.p:
            return
        self.p = p
        self.seq += 1
        if self.probe:
            s.probes.remember(self.id, p, time.perf_counter())
        self.send(msgpack.packb({"type": EVENT, "nsp": "/", "data": ["move", {"p": list(p), "yaw": yaw, "seq": self.seq}]}))
        s.stats.moves_sent += 1

    async def say(self, k: int) -> None:
        """One room chat message; its latency is matched by the id in the ack."""
        s = self.swarm
        stats = s.stats
        t0 = time.perf_counter()
        stats.chat_sent += 1
        try:
            ack = await self.call("chat", {"text": f"{CHAT_TEXTS[k % len(CHAT_TEXTS)]} #{k}"}, timeout=10.0)
        except (asyncio.TimeoutError, ConnectionError):
            stats.chat_refused["timeout"] += 1
            return
        if not isinstance(ack, dict) or not ack.get("ok"):
            err = ack.get("error") if isinstance(ack, dict) else None
            stats.chat_refused[str((err or {}).get("code", "bad_ack"))] += 1
            return
        stats.chat_acked += 1
        stats.chat_ack_ms.append((time.perf_counter() - t0) * 1000.0)
        s.chats.acked(str(ack["id"]), t0, stats)

    def on_frame(self, tr: WSTransport, frame: WSFrame) -> None:
        kind_ = frame.msg_type
        if kind_ == WSMsgType.BINARY:
            self.on_binary(frame)
        elif kind_ == WSMsgType.TEXT:
            text = self._inflated(frame).decode("ascii", "replace")
            if text == "2":
                tr.send(WSMsgType.TEXT, b"3")  # engine.io ping -> pong
            elif text.startswith("1"):
                tr.disconnect()
        elif kind_ == WSMsgType.CLOSE:
            tr.disconnect()

    def _inflated(self, frame: WSFrame) -> bytes:
        """The frame's payload; permessage-deflate keeps one stream per connection, so every
        compressed frame goes through it, in order."""
        if self._inflate is not None and frame.rsv1:
            return bytes(self._inflate.decompress(frame.get_payload_as_bytes() + b"\x00\x00\xff\xff"))
        return bytes(frame.get_payload_as_bytes())

    def on_binary(self, frame: WSFrame) -> None:
        s = self.swarm
        stats = s.stats
        size = frame.payload_size
        if not self.observer and not frame.rsv1:  # count without copying out of picows' buffer
            if frame.get_payload_as_memoryview()[:PREFIX_LEN] == TICK_PREFIX:
                stats.bytes_received += size
                stats.tick_bytes += size
                stats.ticks_received += 1
                return
        data = self._inflated(frame)
        stats.bytes_received += size
        if data.startswith(TICK_PREFIX):
            stats.tick_bytes += size
            if not self.observer:
                stats.ticks_received += 1
                return
        elif data.startswith(REACTIONS_PREFIX):
            stats.reactions_bytes += size
            stats.reactions_received += 1
            if not self.observer:
                return
        elif data.startswith(CHAT_PREFIX):
            stats.chat_bytes += size
            stats.chat_received += 1
            if not self.observer:
                return
        pkt = msgpack.unpackb(data)
        kind = pkt.get("type")
        if kind == EVENT:
            event = pkt["data"][0]
            if event == "tick":
                stats.ticks_received += 1
                if self.observer:
                    tick = pkt["data"][1]
                    stats.tick_age_ms.append(time.time() * 1000.0 - tick["t"])
                    s.probes.match(tick["pos"], time.perf_counter(), stats)
            elif event == "chat":
                msg_ = pkt["data"][1]
                if msg_["from"]["id"] != self.id:  # seen by someone else than the sender
                    s.chats.seen(str(msg_["id"]), time.perf_counter(), stats)
            elif event == "reactions":
                stats.reactions_counted += sum(pkt["data"][1]["counts"].values())
            elif event == "correct":
                stats.corrections += 1
                self.p = tuple(pkt["data"][1]["p"])
                if self.legs:
                    self.legs.corrected()
        elif kind == CONNECT:
            self.connected.set()
        elif kind == ACK:
            fut = self._acks.get(pkt.get("id"))
            if fut and not fut.done():
                fut.set_result(pkt["data"][0] if pkt.get("data") else None)

    def on_closed(self) -> None:
        if not self.swarm.closing:
            self.swarm.stats.disconnects += 1  # the server closed on us
        self.closed.set()
        for fut in self._acks.values():
            if not fut.done():
                fut.set_exception(ConnectionError("disconnected"))


class Swarm:
    """N visitors in one room; grow it with :meth:`grow`, stop it with :meth:`close`.

    ``chat_rate`` (room chat messages per second from the whole swarm, taken in turn by its
    visitors) and ``react_rate`` (reactions per visitor per second) may be changed at any time;
    0 turns them off."""

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
        chat_rate: float = 0.0,
        react_rate: float = 0.0,
    ) -> None:
        self.url, self.room, self.hz = url, room, hz
        self.compress = compress  # ask for permessage-deflate, as browsers do
        self.probe_every, self.observer_every = probe_every, observer_every
        self.pit_share, self.pit = pit_share, pit
        self.chat_rate, self.react_rate = chat_rate, react_rate
        self.stats = SwarmStats()
        self.probes = Probes()
        self.chats = ChatProbes()
        self.visitors: list[SwarmVisitor] = []
        self.tasks: list[asyncio.Task[None]] = []
        self._scene: Scene | None = None
        self.closing = False
        self._mover: asyncio.Task[None] | None = None
        self._chatter: asyncio.Task[None] | None = None
        self._says: set[asyncio.Task[None]] = set()
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
                    v.step(dt)
            k += 1

    async def _chatter_loop(self) -> None:
        """``chat_rate`` messages per second as a Poisson process (random gaps, so messages
        are not phase-locked to the server's ticks), each from the next visitor in turn: one
        visitor speaks every ``N / chat_rate`` seconds on average, inside the server's 1/s
        allowance (burst 5) while ``chat_rate`` is well below the swarm's size."""
        loop = asyncio.get_running_loop()
        rng = random.Random(4242)
        next_at = loop.time()
        k = 0
        turn = 0
        while True:
            rate = self.chat_rate
            if rate <= 0:
                await asyncio.sleep(0.1)
                next_at = loop.time()
                continue
            next_at += rng.expovariate(rate)
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            if loop.time() - next_at > 1.0:  # far behind: skip rather than burst
                next_at = loop.time()
            joined = [v for v in self.visitors if v.joined.is_set()]
            if not joined:
                continue
            v = joined[turn % len(joined)]
            turn += 1
            k += 1
            task = asyncio.create_task(v.say(k))
            self._says.add(task)
            task.add_done_callback(self._says.discard)

    def scene_for(self, info: dict[str, Any]) -> Scene:
        if self._scene is None:
            self._scene = Scene.model_validate(info["scene"])
        return self._scene

    @property
    def size(self) -> int:
        return len(self.visitors)

    async def grow(self, n: int, *, rate: float = 200.0) -> None:
        """Add visitors until there are ``n``, ``rate`` connections per second; wait for joins."""
        if self._mover is None:
            self._mover = asyncio.create_task(self._mover_loop())
        if self._chatter is None:
            self._chatter = asyncio.create_task(self._chatter_loop())
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
            self.tasks.append(asyncio.create_task(v.run()))
            await asyncio.sleep(1.0 / rate)
        await asyncio.wait_for(asyncio.gather(*(v.joined.wait() for v in new)), timeout=60 + n / 20)

    async def close(self) -> None:
        self.closing = True
        for t in (self._mover, self._chatter, *self._says):
            if t is not None:
                t.cancel()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, *self._says, return_exceptions=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    return float(np.percentile(np.asarray(values), q))
