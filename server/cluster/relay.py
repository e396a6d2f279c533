"""Shared items between nodes, through Redis: the remote side of each room's replication
component (server/replication/room.py).

A room's items are published on ``vetrina:room:<room>`` (carries are stored in
``vetrina:carry:<avatar>`` instead) and applied by the other nodes' rooms. What a late node
replays is kept too: room chat in ``vetrina:chat:<room>`` (the last :data:`HISTORY`), the other
replayed kinds in ``vetrina:replay:<room>`` (the last :data:`REPLAY`); a node that starts
reads both back through the same compaction as a late shard (``Replication.seed``). Every item
taken from Redis is checked (world/replication/items.py ``parse``) before a room sees it: a bad
one is counted (``vetrina_cluster_dropped_total{reason="malformed"}``) and logged once per kind.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Protocol

import msgpack

from server.cluster.link import DOWN, Link, listen
from server.cluster.seal import SeedSeal
from server.cluster.sessions import Sessions
from server.replication.room import REPLAYED
from world.replication.items import BadReplica, parse
from world.replication.shared import KINDS, Replicated, Shared

log = logging.getLogger(__name__)

CHANNELS = "vetrina:room:*"
HISTORY = 50  # room chat kept for late nodes
REPLAY = 500  # the other replayed items kept for late nodes
LISTED = REPLAYED - {"chat"}  # the kinds kept in the replay list (chat has a list of its own)
REPLAY_TTL_MS = 12 * 3600 * 1000  # an event that went quiet that long is not replayed
# Items waiting for Redis. Overload policy: beyond it an item is not shared with the other nodes
# (counted, `vetrina_cluster_dropped_total{reason="queue_full"}`); the node's own shards have it.
QUEUE_LIMIT = 10_000
# Replayed items kept while Redis is down, published when it is back. Overload policy: beyond
# it (and chat and reactions always) they are dropped for the other nodes (`reason="redis_down"`).
HELD_LIMIT = 5_000

# An empty replay list rebuilt from what a node saw. KEYS: list. ARGV: ttl ms, entries newest first.
REFILL = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""

Queued = tuple[str, str, dict[str, Any]]  # (room, kind, payload)


class Sink(Protocol):
    """A room's replication component on this node."""

    def take(self, item: Replicated) -> bool: ...

    def seed(self, items: list[Shared]) -> None: ...


class Relay:
    def __init__(self, link: Link, seal: SeedSeal, sessions: Sessions) -> None:
        self._link = link
        self._seal = seal
        self._sessions = sessions
        self.sinks: dict[str, Sink] = {}  # room -> its replication component here
        self._queue: asyncio.Queue[Queued] = asyncio.Queue(QUEUE_LIMIT)
        self._waiting: deque[Queued] = deque()  # held while Redis is down
        self._history: dict[str, deque[bytes]] = {}  # room -> replay entries seen, oldest first
        self._publishing = False  # an item is on its way to Redis
        self.subscribed = asyncio.Event()
        self._refill = link.redis.register_script(REFILL)
        self._warned: set[str] = set()
        m = link.metrics
        self._out = {k: m.cluster_messages.labels("out", k) for k in KINDS | {"carry"}}
        self._in = {k: m.cluster_messages.labels("in", k) for k in KINDS}
        self._kept = {k: m.cluster_messages.labels("held", k) for k in LISTED}
        self._queued = m.replication_size.labels("publish_queue")
        self._held = m.replication_size.labels("held")

    def idle(self) -> bool:
        return self._queue.empty() and not self._publishing

    # ---- out ---------------------------------------------------------------------------------

    def share(self, room: str, items: list[Shared]) -> None:
        """A room's shared items: queued for Redis without waiting for it."""
        for kind, payload in items:
            if not self._link.up:
                self._hold(room, kind, payload)
                continue
            try:
                self._queue.put_nowait((room, kind, payload))
                self._queued.set(self._queue.qsize())
            except asyncio.QueueFull:
                self._link.metrics.cluster_dropped.labels("queue_full").inc()

    def _hold(self, room: str, kind: str, payload: dict[str, Any]) -> None:
        """Redis is away: what every node must agree on waits for it; the rest is dropped."""
        if kind in LISTED and len(self._waiting) < HELD_LIMIT:
            self._waiting.append((room, kind, payload))
            self._kept[kind].inc()
            self._held.set(len(self._waiting))
        else:
            self._link.metrics.cluster_dropped.labels("redis_down").inc()

    async def publisher(self) -> None:
        while True:
            room, kind, payload = await self._queue.get()
            self._queued.set(self._queue.qsize())
            if not self._link.up:  # went away (or is healing) since it was queued
                self._hold(room, kind, payload)
                continue
            self._publishing = True
            try:
                await self._send(room, kind, payload)
            except DOWN:
                self._link.lost()
                self._hold(room, kind, payload)
            finally:
                self._publishing = False

    async def _send(self, room: str, kind: str, payload: dict[str, Any]) -> None:
        """One item to Redis: published (and kept for late nodes), or stored (``carry``)."""
        wire = self._seal.seal(kind, payload)
        entry = msgpack.packb([kind, wire])
        async with self._link.redis.pipeline(transaction=False) as pipe:
            if kind == "carry":
                self._sessions.store_carry(pipe, payload)
            else:
                pipe.publish(f"vetrina:room:{room}", msgpack.packb({"node": self._link.node, "kind": kind, "payload": wire}))
            if kind == "chat":
                _keep(pipe, f"vetrina:chat:{room}", msgpack.packb(payload), HISTORY)
            elif kind in LISTED:
                _keep(pipe, f"vetrina:replay:{room}", entry, REPLAY)
                pipe.pexpire(f"vetrina:replay:{room}", REPLAY_TTL_MS)
            await pipe.execute()
        if kind in LISTED:
            self._remember(room, entry)
        self._out[kind].inc()

    async def flush_waiting(self) -> None:
        """What was held while Redis was away, in order (kept until it is sent)."""
        while self._waiting:
            room, kind, payload = self._waiting[0]
            await self._send(room, kind, payload)
            self._waiting.popleft()
            self._held.set(len(self._waiting))

    # ---- in ----------------------------------------------------------------------------------

    async def listener(self) -> None:
        async def subscribe(pubsub: Any) -> None:
            await pubsub.psubscribe(CHANNELS)

        async def heard(msg: dict[str, Any]) -> None:
            self._take(msg)

        await listen(self._link.redis, subscribe, heard, subscribed=self.subscribed, on_down=self._link.lost)

    def _take(self, msg: dict[str, Any]) -> None:
        if msg.get("type") != "pmessage":
            return
        try:
            room = msg["channel"].decode().removeprefix("vetrina:room:")
            item = msgpack.unpackb(msg["data"])
            node, kind, payload = item["node"], item["kind"], item["payload"]
        except Exception:
            self._link.metrics.cluster_dropped.labels("malformed").inc()
            return
        sink = self.sinks.get(room)
        if node == self._link.node or kind not in KINDS or not isinstance(payload, dict) or sink is None:
            return
        if kind in LISTED:
            self._remember(room, msgpack.packb([kind, payload]))
        opened = self._opened(kind, payload)
        if opened is not None and sink.take(Replicated(kind, opened)):
            self._in[kind].inc()

    def _opened(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The payload unsealed and checked; None (counted) when it does not open or parse."""
        opened = self._seal.unseal(kind, payload)
        if opened is None:  # sealed with another secret: not one of this cluster's nodes
            self._link.metrics.cluster_dropped.labels("bad_seal").inc()
            return None
        try:
            parse(kind, opened)
        except BadReplica as bad:
            self._link.metrics.cluster_dropped.labels("malformed").inc()
            if bad.kind not in self._warned:  # once per kind: a flood must not flood the log
                self._warned.add(bad.kind)
                log.warning("cluster: a malformed %s item from Redis was dropped (%s)", bad.kind, bad.reason)
            return None
        return opened

    def _remember(self, room: str, entry: bytes) -> None:
        """A replay entry this node saw: rebuilds the list if Redis comes back empty."""
        history = self._history.get(room)
        if history is None:
            history = self._history[room] = deque(maxlen=REPLAY)
        history.append(entry)

    # ---- replay ------------------------------------------------------------------------------

    async def replay(self) -> None:
        """What the event shared so far, to each room here (for a node that starts mid-event)."""
        for room, sink in self.sinks.items():
            chat = await self._link.redis.lrange(f"vetrina:chat:{room}", 0, HISTORY - 1)
            listed = await self._link.redis.lrange(f"vetrina:replay:{room}", 0, REPLAY - 1)
            items = [item for raw in reversed(chat) for item in [self._entry(room, raw, chat=True)] if item]
            items += [item for raw in reversed(listed) for item in [self._entry(room, raw)] if item]
            sink.seed(items)

    def _entry(self, room: str, raw: Any, *, chat: bool = False) -> Shared | None:
        try:
            kind, payload = ("chat", msgpack.unpackb(raw)) if chat else msgpack.unpackb(raw)
        except (ValueError, TypeError, msgpack.UnpackException):
            self._link.metrics.cluster_dropped.labels("malformed").inc()
            return None
        if kind not in REPLAYED or not isinstance(payload, dict):
            return None
        if not chat:
            self._remember(room, bytes(raw))
        opened = self._opened(str(kind), payload)
        return None if opened is None else (str(kind), opened)

    async def refill(self, running: dict[str, tuple[str, dict[str, Any], int]]) -> None:
        """An empty replay list is rebuilt from what this node saw (the first node to heal
        does it), and every node adds its running drops with the lowest stock it saw, so a
        node that starts after the restart knows them and cannot sell what was sold."""
        for room in self.sinks:
            entries = list(self._history.get(room, ()))
            await self._refill(keys=[f"vetrina:replay:{room}"], args=[REPLAY_TTL_MS, *reversed(entries)])
            drops = [(offer, payload, seen) for offer, (r, payload, seen) in running.items() if r == room]
            if not drops:
                continue
            async with self._link.redis.pipeline(transaction=False) as pipe:
                for offer, payload, seen in drops:
                    stock = {"offer": offer, "stock": seen}
                    pipe.lpush(f"vetrina:replay:{room}", msgpack.packb(["offer", payload]), msgpack.packb(["stock", stock]))
                pipe.ltrim(f"vetrina:replay:{room}", 0, REPLAY - 1)
                pipe.pexpire(f"vetrina:replay:{room}", REPLAY_TTL_MS)
                await pipe.execute()


def _keep(pipe: Any, key: str, entry: bytes, limit: int) -> None:
    pipe.lpush(key, entry)
    pipe.ltrim(key, 0, limit - 1)
