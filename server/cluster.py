"""Several ``vetrina serve`` processes as one event, joined by Redis (``--redis``).

Every node runs its own instance of each room — an audience shard — for the visitors
connected to it; avatar positions and ticks never leave the node. What makes the shards one
event goes through Redis:

- shared items (world/mirror.py: room chat, reaction counts, drops and their stock) are
  published on ``vetrina:room:<room>`` and applied by the other nodes' rooms as ``Mirror``
  inputs; room chat is also kept in ``vetrina:chat:<room>`` (the last 50), and the rest of what
  a late shard needs to join the event where it stands (the stage, drops and their stock, the
  Q&A board, moderation, leaderboards) in ``vetrina:replay:<room>`` (the last 500): a node that
  starts mid-event replays both;
- each visitor's carried state (cart, orders, wheel balance and open bets) is kept in
  ``vetrina:carry:<avatar>`` whenever it changes, so a visitor who resumes on another node for
  any reason (its node died, the proxy moved it) gets it back;
- each node writes its rooms' analytics tallies to ``vetrina:analytics:<room>`` every few
  seconds; the export (``/api/rooms/<room>/analytics``) on any node adds them all up;
- drop claims are decided by one Lua script over ``vetrina:offer:<id>`` (stock, end) and
  ``vetrina:orders:<id>`` (avatar -> order): never oversold across nodes, one order per visitor;
- each room has one *owner* node, a lease in ``vetrina:owner:<room>`` renewed every second:
  the owner runs what must happen once per event (the demo's autopilot shows); when it dies
  the lease runs out and another node takes the room over within ``LEASE_MS``; a drained node
  hands its rooms over at once. The stage itself (spotlight, concert, wheel) is shared, so
  whichever node staff act on, every shard shows the same;
- resume sessions live in ``vetrina:session:<token>`` so a visitor whose node went away
  resumes on another one with the same avatar id; each node takes a block of avatar ids from
  ``vetrina:id_block`` at start, so ids never clash.

Redis outage policy: the node keeps serving its own visitors; shared items are dropped
(counted in ``vetrina_cluster_dropped_total``), claims answer ``unavailable``, ``/healthz``
says ``degraded``; a health loop notices when Redis is back and everything resumes by itself.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

import msgpack
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.metrics import Metrics
from world.mirror import KINDS, Mirror
from world.visitors import Visitor

log = logging.getLogger(__name__)

CHANNELS = "vetrina:room:*"
HISTORY = 50
REPLAY = 500  # shared items a node that starts mid-event replays (see server/shards.py)
REPLAYED = frozenset({"stage", "offer", "stock", "qa", "staff", "board"})
REPLAY_TTL_MS = 12 * 3600 * 1000  # an event that went quiet that long is not replayed
ANALYTICS_TTL_S = 7 * 24 * 3600
ID_BLOCK = 1_000_000  # avatar ids per node start; ids are uint32 on the wire
ID_BLOCKS = 4000
QUEUE_LIMIT = 10_000  # shared items waiting for Redis; beyond that they are dropped (counted)
OFFER_TTL_MS = 24 * 3600 * 1000
HEALTH_EVERY_S = 1.0
LEASE_MS = 3000  # a dead owner's rooms are taken over within this (plus one renewal)
RENEW_EVERY_S = 1.0
POOL_SIZE = 32

# Redis errors and the socket errors redis-py lets through when the server goes away
DOWN = (RedisError, OSError, asyncio.TimeoutError)

# KEYS: offer hash, orders hash. ARGV: avatar, now ms, stock to start from, ends_at ms, ttl ms,
# offer id, the drop's initial stock (order numbers count from it).
# The first claim on any node creates the stock from the drop's own numbers (every node knows
# them from the shared `offer`), so no node has to win a race to set it up.
CLAIM = """
redis.call('HSETNX', KEYS[1], 'stock', ARGV[3])
redis.call('HSETNX', KEYS[1], 'ends_at', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
local mine = redis.call('HGET', KEYS[2], ARGV[1])
local stock = tonumber(redis.call('HGET', KEYS[1], 'stock'))
if mine then return {'ok', mine, stock} end
if stock <= 0 then return {'sold_out', '', 0} end
if tonumber(ARGV[2]) >= tonumber(redis.call('HGET', KEYS[1], 'ends_at')) then return {'closed', '', stock} end
stock = redis.call('HINCRBY', KEYS[1], 'stock', -1)
local order = ARGV[6] .. '-o' .. (tonumber(ARGV[7]) - stock)
redis.call('HSET', KEYS[2], ARGV[1], order)
return {'ok', order, stock}
"""

RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

# room id -> the runner's submit (a Mirror is queued for the room's next tick)
Submit = Callable[[str, Mirror], bool]


class ClusterUnavailable(Exception):
    """Redis cannot be reached: the feature that needs it answers ``unavailable``."""


class Cluster:
    def __init__(self, url: str, node: str, metrics: Metrics, *, session_ttl_s: float = 90.0) -> None:
        self.url = url
        self.node = node
        self.metrics = metrics
        # A bounded pool: a rush of claims waits for a connection instead of opening hundreds.
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=POOL_SIZE, timeout=5.0, socket_timeout=5.0, socket_connect_timeout=1.0
        )
        self.redis = aioredis.Redis(connection_pool=pool)
        self.up = False
        self._session_ttl_ms = int(session_ttl_s * 1000)
        self._submit: Submit | None = None
        self._queue: asyncio.Queue[tuple[str, str, dict[str, Any]]] = asyncio.Queue(QUEUE_LIMIT)
        self._tasks: list[asyncio.Task[None]] = []
        self._publishing = False  # an item is on its way to Redis
        self._subscribed = asyncio.Event()
        self._claim = self.redis.register_script(CLAIM)
        self._renew = self.redis.register_script(RENEW)
        self._release = self.redis.register_script(RELEASE)
        self._rooms: list[str] = []
        self.owned: set[str] = set()  # rooms whose lease this node holds
        # drops known on this node (its own and the others'): id -> (initial stock, ends_at ms)
        self.offers: dict[str, tuple[int, int]] = {}
        self._stock_seen: dict[str, int] = {}  # the lowest stock heard of, per drop
        self._out = {k: metrics.cluster_messages.labels("out", k) for k in KINDS | {"carry"}}
        self._in = {k: metrics.cluster_messages.labels("in", k) for k in KINDS}

    # ---- life --------------------------------------------------------------------------

    async def start(self, submit: Submit, rooms: list[str]) -> int:
        """Connect, take a block of avatar ids and seed each room's chat history; returns the
        first avatar id this node may hand out. Starts even when Redis is down (degraded)."""
        self._submit = submit
        self._rooms = list(rooms)
        # Listen first, then read what was said before: nothing published in between is
        # missed (an item seen both ways is applied once: shared items are idempotent).
        listener = asyncio.create_task(self._listener(), name="cluster:listen")
        try:
            await asyncio.wait_for(self._subscribed.wait(), 2.0)
        except asyncio.TimeoutError:
            pass  # Redis is down: the listener keeps trying
        try:
            block = int(await self.redis.incr("vetrina:id_block")) % ID_BLOCKS + 1
            for room in rooms:
                for raw in reversed(await self.redis.lrange(f"vetrina:chat:{room}", 0, HISTORY - 1)):
                    submit(room, Mirror("chat", msgpack.unpackb(raw), history=True))
                for raw in reversed(await self.redis.lrange(f"vetrina:replay:{room}", 0, REPLAY - 1)):
                    self._replayed(room, raw)
            self._set_up(True)
        except DOWN as exc:
            block = random.randrange(ID_BLOCKS // 2, ID_BLOCKS) + 1  # a clash is very unlikely
            log.warning("cluster: Redis at %s is unreachable (%s); starting degraded", self.url, exc)
            self._set_up(False)
        self._tasks = [
            asyncio.create_task(self._publisher(), name="cluster:publish"),
            listener,
            asyncio.create_task(self._health(), name="cluster:health"),
            asyncio.create_task(self._leases(), name="cluster:leases"),
        ]
        return block * ID_BLOCK + 1

    async def close(self, flush_s: float = 2.0) -> None:
        """Publish what is still queued (a drained node loses no acknowledged chat), then stop;
        never longer than a few seconds, whatever state Redis is in."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + flush_s
        while self.up and (not self._queue.empty() or self._publishing) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for t in self._tasks:
            t.cancel()
        # redis-py may swallow a cancellation in the middle of a command: do not wait forever
        await asyncio.wait(self._tasks, timeout=1.0)
        for room in sorted(self.owned):  # hand the rooms over now rather than when the lease ends
            try:
                await asyncio.wait_for(self._release(keys=[f"vetrina:owner:{room}"], args=[self.node]), 1.0)
            except DOWN:
                break
        self.owned.clear()
        try:
            await asyncio.wait_for(self.redis.aclose(close_connection_pool=True), 2.0)
        except DOWN:
            pass

    def owns(self, room: str) -> bool:
        return room in self.owned

    async def _leases(self) -> None:
        """Hold (or take over) room leases. While Redis is down nobody can take a room over,
        so the owner keeps on; when it is back, the leases settle again."""
        while True:
            for room in self._rooms:
                key = f"vetrina:owner:{room}"
                try:
                    if room in self.owned:
                        held = bool(await self._renew(keys=[key], args=[self.node, LEASE_MS]))
                    else:
                        held = bool(await self.redis.set(key, self.node, nx=True, px=LEASE_MS))
                except DOWN:
                    break
                if held and room not in self.owned:
                    log.info("cluster: this node (%s) now runs room %s", self.node, room)
                (self.owned.add if held else self.owned.discard)(room)
            await asyncio.sleep(RENEW_EVERY_S)

    def _set_up(self, up: bool) -> None:
        if up != self.up:
            log.warning("cluster: Redis %s", "reachable again" if up else "DOWN: cross-node features paused")
        self.up = up
        self.metrics.redis_up.set(1 if up else 0)

    async def _health(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_EVERY_S)
            try:
                await self.redis.ping()
                self._set_up(True)
            except DOWN:
                self._set_up(False)

    # ---- shared items ------------------------------------------------------------------

    def _replayed(self, room: str, raw: Any) -> None:
        """One item of a room's replay list, for a node that starts mid-event."""
        assert self._submit is not None
        try:
            kind, payload = msgpack.unpackb(raw)
        except (ValueError, TypeError, msgpack.UnpackException):
            self.metrics.cluster_dropped.labels("malformed").inc()
            return
        if kind in REPLAYED and isinstance(payload, dict):
            if kind == "offer":
                self._know_offer(payload)
            self._submit(room, Mirror(str(kind), payload, history=True))

    def _know_offer(self, payload: dict[str, Any]) -> bool:
        try:
            self.offers[str(payload["id"])] = (int(payload["initial"]), int(payload["ends_at"]))
            return True
        except (KeyError, TypeError, ValueError):
            self.metrics.cluster_dropped.labels("malformed").inc()
            return False

    def share(self, room: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        """A room's shared items, from its tick: queued for Redis without waiting for it
        (``carry`` items are stored for their visitor, not published)."""
        for kind, payload in items:
            if kind == "offer":
                self.offers[str(payload["id"])] = (int(payload["initial"]), int(payload["ends_at"]))
            if not self.up:
                self.metrics.cluster_dropped.labels("redis_down").inc()
                continue
            try:
                self._queue.put_nowait((room, kind, payload))
            except asyncio.QueueFull:
                self.metrics.cluster_dropped.labels("queue_full").inc()

    async def _publisher(self) -> None:
        while True:
            room, kind, payload = await self._queue.get()
            raw = msgpack.packb({"node": self.node, "kind": kind, "payload": payload})
            self._publishing = True
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    if kind == "carry":
                        pipe.set(f"vetrina:carry:{payload['avatar']}", msgpack.packb(payload), px=self._session_ttl_ms)
                    else:
                        pipe.publish(f"vetrina:room:{room}", raw)
                    if kind == "chat":
                        key = f"vetrina:chat:{room}"
                        pipe.lpush(key, msgpack.packb(payload))
                        pipe.ltrim(key, 0, HISTORY - 1)
                    elif kind in REPLAYED:
                        key = f"vetrina:replay:{room}"
                        pipe.lpush(key, msgpack.packb([kind, payload]))
                        pipe.ltrim(key, 0, REPLAY - 1)
                        pipe.pexpire(key, REPLAY_TTL_MS)
                    await pipe.execute()
                self._out[kind].inc()
            except DOWN:
                self.metrics.cluster_dropped.labels("redis_down").inc()
                self._set_up(False)
            finally:
                self._publishing = False

    async def _listener(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(CHANNELS)
                self._subscribed.set()
                async for msg in pubsub.listen():
                    self._take(msg)
            except DOWN:
                self._set_up(False)
                await asyncio.sleep(0.5)
            finally:
                try:
                    await pubsub.aclose()
                except DOWN:
                    pass

    def _take(self, msg: dict[str, Any]) -> None:
        if msg.get("type") != "pmessage" or self._submit is None:
            return
        try:
            room = msg["channel"].decode().removeprefix("vetrina:room:")
            item = msgpack.unpackb(msg["data"])
            node, kind, payload = item["node"], item["kind"], item["payload"]
        except Exception:
            self.metrics.cluster_dropped.labels("malformed").inc()
            return
        if node == self.node or kind not in KINDS or not isinstance(payload, dict):
            return
        if kind == "offer" and not self._know_offer(payload):
            return
        if kind == "stock" and isinstance(payload.get("stock"), int):
            self.stock_seen(str(payload.get("offer")), payload["stock"])
        if self._submit(room, Mirror(kind, payload)):
            self._in[kind].inc()

    # ---- drops -------------------------------------------------------------------------

    async def claim(self, offer: str, avatar: int, now: int) -> tuple[str, str, int] | None:
        """(outcome, order, stock left) with outcome ``ok``/``sold_out``/``closed``; None for a
        drop this node never heard of. Raises ClusterUnavailable when Redis is down."""
        known = self.offers.get(offer)
        if known is None:
            return None
        initial, ends_at = known
        # The stock is created from the lowest number this node has seen, not the initial
        # one: a Redis that restarted empty never hands out what was already claimed.
        seen = min(initial, self._stock_seen.get(offer, initial))
        try:
            outcome, order, stock = await self._claim(
                keys=[f"vetrina:offer:{offer}", f"vetrina:orders:{offer}"],
                args=[avatar, now, seen, ends_at, OFFER_TTL_MS, offer, initial],
            )
        except DOWN as exc:
            self._set_up(False)
            raise ClusterUnavailable(str(exc)) from None
        self.stock_seen(offer, int(stock))
        return outcome.decode(), order.decode(), int(stock)

    def stock_seen(self, offer: str, stock: int) -> None:
        self._stock_seen[offer] = min(stock, self._stock_seen.get(offer, stock))

    # ---- resume sessions ---------------------------------------------------------------

    async def save_session(self, v: Visitor) -> None:
        """Best effort: without Redis the visitor can still resume on this node."""
        if not self.up:
            return
        body = msgpack.packb({"id": v.id, "name": v.name, "look": v.look, "room": v.room})
        try:
            await self.redis.set(f"vetrina:session:{v.session}", body, px=self._session_ttl_ms)
        except DOWN:
            self._set_up(False)

    async def load_session(self, token: str) -> dict[str, Any] | None:
        return await self._load_map(f"vetrina:session:{token}")

    async def _load_map(self, key: str) -> dict[str, Any] | None:
        """A msgpack map kept for a visitor, best effort: None when absent or Redis is down."""
        if not self.up:
            return None
        try:
            raw = await self.redis.get(key)
        except DOWN:
            self._set_up(False)
            return None
        body = msgpack.unpackb(raw) if raw is not None else None
        return body if isinstance(body, dict) else None

    # ---- what follows a visitor, and what adds up across nodes ---------------------------

    async def load_carry(self, avatar: int) -> dict[str, Any] | None:
        """The visitor's last carried state (a ``handover`` payload for one avatar), if any."""
        return await self._load_map(f"vetrina:carry:{avatar}")

    async def save_tally(self, room: str, tally: dict[str, Any]) -> None:
        """This node's analytics tally of ``room`` (every shard here, added up)."""
        if not self.up:
            return
        key = f"vetrina:analytics:{room}"
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(key, self.node, msgpack.packb(tally))
                pipe.expire(key, ANALYTICS_TTL_S)
                await pipe.execute()
        except DOWN:
            self._set_up(False)

    async def tallies(self, room: str) -> list[dict[str, Any]]:
        """The other nodes' last analytics tallies of ``room`` (nodes that went away included:
        their visitors were part of the event). Raises ClusterUnavailable without Redis."""
        try:
            raw = await self.redis.hgetall(f"vetrina:analytics:{room}")
        except DOWN as exc:
            self._set_up(False)
            raise ClusterUnavailable(str(exc)) from None
        return [t for node, body in raw.items() if node != self.node.encode()
                for t in [msgpack.unpackb(body)] if isinstance(t, dict)]
