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
  ``vetrina:carry:<avatar>`` whenever it changes, and resume sessions in
  ``vetrina:session:<token>``; both are kept alive (rewritten / re-armed every third of their
  TTL) for as long as this node holds the visitor — connected, or within its resume grace — so
  a visitor whose node dies resumes on another node with the same avatar id, room, cart,
  orders, balance and open bets, however long it had been quiet. Each node takes a block of
  avatar ids from ``vetrina:id_block`` at start, so ids never clash;
- each node writes its rooms' analytics tallies to ``vetrina:analytics:<room>`` every few
  seconds; the export (``/api/rooms/<room>/analytics``) on any node adds them all up;
- drop claims are decided by one Lua script over ``vetrina:offer:<id>`` (stock, end) and
  ``vetrina:orders:<id>`` (avatar -> order): never oversold across nodes, one order per visitor;
- each room has one *owner* node, a lease in ``vetrina:owner:<room>`` renewed every second:
  the owner runs what must happen once per event (the demo's autopilot shows); when it dies
  the lease runs out and another node takes the room over within ``LEASE_MS``; a drained node
  hands its rooms over at once. The stage itself (spotlight, concert, wheel) is shared, so
  whichever node staff act on, every shard shows the same;
- the wheel's seed crosses in ``stage`` items so that every node draws the same result, but
  never in the clear: it is sealed here (AES-GCM, key derived from the cluster's shared
  ``VETRINA_SECRET``) before it is published or stored, and unsealed on receipt and replay.
  Someone who can read Redis cannot learn the draw before the seed is revealed to clients.

Redis outage policy: the node keeps serving its own visitors; chat and reactions are dropped
(counted in ``vetrina_cluster_dropped_total``); replayed kinds (stage, offer, stock, Q&A, staff,
board) are held (at most ``HELD_LIMIT``, counted as
``vetrina_cluster_messages_total{direction="held"}``) and published when Redis is back; claims
answer ``unavailable``, starting a drop is refused (server/host.py: a drop must never exist on
one node only), ``/healthz`` says ``degraded``. When Redis is reachable again — or turns out to
have restarted (its ``run_id`` changed, or a claim finds the ``vetrina:alive`` mark gone) — the
node *heals* before it says ``up`` again (about a second after Redis is back, measured):
it raises ``vetrina:id_block`` to at least its own block, re-creates the stock of its running
drops from the lowest stock it has seen (never up, however it learned the drop: its own
claims, the others' ``stock`` items, or a replay), rebuilds an empty replay list from what it
saw and adds its running drops to it, rewrites its held visitors' sessions, carried state and
orders (one order per visitor holds across the restart), publishes what it held, and sets the
mark again. Every step is idempotent, so a Redis that kept its data loses nothing by it.

What a Redis restart without persistence can still lose: chat history for late joiners,
analytics tallies written in the last 5 s, the orders of a visitor whose node died while Redis
was away, and a claim acknowledged by a node that died in the same instant, before its
``stock`` item reached another node: the stock the survivors re-create is then one unit too
high. Order ids stay unique even so: a drop re-created after a data loss numbers its orders
``<offer>-o<n>-<epoch>``. What a node killed without warning loses (Redis up): its assistant
tickets and a bet of one of its visitors settled before the visitor resumed elsewhere; carried
state is in Redis within a millisecond of the acknowledgement the visitor got (measured), and
kept alive while the node lives, so its visitors resume with everything else.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import msgpack
import redis.asyncio as aioredis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.exceptions import ConnectionError, RedisError

from server.metrics import Metrics
from server.runner import now_ms
from world.replication.mirror import KINDS, Mirror
from server.visitors import Visitor

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
HELD_LIMIT = 5_000  # replayed items kept while Redis is down, published when it is back
OFFER_TTL_MS = 24 * 3600 * 1000
HEALTH_EVERY_S = 1.0
LEASE_MS = 3000  # a dead owner's rooms are taken over within this (plus one renewal)
RENEW_EVERY_S = 1.0
POOL_SIZE = 32
KEEPALIVE_BATCH = 500  # sessions per pipeline when they are refreshed

# Redis errors and the socket errors redis-py lets through when the server goes away
DOWN = (RedisError, OSError, asyncio.TimeoutError)

# KEYS: offer hash, orders hash, the cluster's mark (ALIVE). ARGV: avatar, now ms, lowest stock
# this node has seen, ends_at ms, ttl ms, offer id, the drop's initial stock (order numbers
# count from it). Without the mark Redis restarted empty and no node has restored it yet.
# The first claim on any node creates the stock from the drop's own numbers (every node knows
# them from the shared `offer`), so no node has to win a race to set it up. A node's lowest
# stock seen caps the stock on every claim: after Redis lost its data it never goes back up.
# A missing hash for a drop that had sold (or ended) is not re-created here: that is data
# loss, and the node heals first (RESEED), which marks the re-created hash with an epoch.
CLAIM = """
if redis.call('EXISTS', KEYS[3]) == 0 then return {'lost', '', 0} end
local seen = tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 0 then
  if tonumber(ARGV[2]) >= tonumber(ARGV[4]) then return {'closed', '', seen} end
  if seen < tonumber(ARGV[7]) then return {'lost', '', seen} end
  redis.call('HSET', KEYS[1], 'stock', seen, 'ends_at', ARGV[4])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
local stock = tonumber(redis.call('HGET', KEYS[1], 'stock'))
if seen < stock then
  stock = seen
  redis.call('HSET', KEYS[1], 'stock', stock)
end
local mine = redis.call('HGET', KEYS[2], ARGV[1])
if mine then return {'ok', mine, stock} end
if stock <= 0 then return {'sold_out', '', 0} end
if tonumber(ARGV[2]) >= tonumber(redis.call('HGET', KEYS[1], 'ends_at')) then return {'closed', '', stock} end
stock = redis.call('HINCRBY', KEYS[1], 'stock', -1)
local order = ARGV[6] .. '-o' .. (tonumber(ARGV[7]) - stock)
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch then order = order .. '-' .. epoch end
redis.call('HSET', KEYS[2], ARGV[1], order)
return {'ok', order, stock}
"""

# After Redis was unreachable: the drop's stock, never above what this node has seen.
# KEYS: offer hash. ARGV: lowest stock seen, ends_at ms, ttl ms, epoch (marks order ids of a
# re-created hash, so that they never repeat one issued before the data loss).
RESEED = """
if redis.call('HSETNX', KEYS[1], 'stock', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'ends_at', ARGV[2], 'epoch', ARGV[4])
elseif tonumber(ARGV[1]) < tonumber(redis.call('HGET', KEYS[1], 'stock')) then
  redis.call('HSET', KEYS[1], 'stock', ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# An empty replay list rebuilt from what a node saw. KEYS: list. ARGV: ttl ms, entries newest first.
REFILL = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""

ALIVE = "vetrina:alive"  # set by every node that started on or restored Redis
RAISE = "if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end return 1"
RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

# room id -> the runner's submit (a Mirror is queued for the room's next tick)
Submit = Callable[[str, Mirror], bool]
Held = Callable[[], Iterable[Visitor]]  # the visitors this node holds (connected or in grace)
Healer = Callable[[], Awaitable[None]]  # what the app re-writes after Redis came back


class ClusterUnavailable(Exception):
    """Redis cannot be reached: the feature that needs it answers ``unavailable``."""


class SeedSeal:
    """Seals the wheel's seed in ``stage`` items with AES-GCM under a key derived from the
    cluster's shared secret: the nodes can read it, someone who only reads Redis cannot."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"vetrina cluster: wheel seeds").derive(secret.encode())
        self._aead = AESGCM(key)

    @staticmethod
    def _aad(payload: dict[str, Any]) -> bytes:
        return f"vetrina seed {payload.get('round')}".encode()  # a sealed seed fits its round only

    def seal(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        params = payload.get("params")
        if kind != "stage" or not isinstance(params, dict) or "seed" not in params:
            return payload
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, bytes(params["seed"]), self._aad(payload))
        rest = {k: v for k, v in params.items() if k != "seed"}
        return {**payload, "params": {**rest, "sealed": sealed}}

    def unseal(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The payload with its seed back; None when the seal does not open (another secret)."""
        params = payload.get("params")
        if kind != "stage" or not isinstance(params, dict) or "sealed" not in params:
            return payload
        try:
            box = bytes(params["sealed"])
            seed = self._aead.decrypt(box[:12], box[12:], self._aad(payload))
        except (InvalidTag, TypeError, ValueError):
            return None
        rest = {k: v for k, v in params.items() if k != "sealed"}
        return {**payload, "params": {**rest, "seed": seed}}


def split_carry(snapshot: dict[str, Any], avatars: set[int]) -> list[dict[str, Any]]:
    """A room's hand-over snapshot as one ``carry`` payload per avatar of ``avatars`` that has
    anything to carry (what world/room.py ``_carried`` writes when it changes)."""
    carts = {int(row[0]): row for row in snapshot.get("carts", [])}
    wheel = snapshot.get("wheel")
    balances: dict[int, list[Any]] = {}
    bets: dict[int, list[Any]] = {}
    if wheel is not None:
        for row in wheel["balances"]:
            balances.setdefault(int(row[0]), []).append(row)
        for row in wheel["bets"]:
            bets.setdefault(int(row[0]), []).append(row)
    out: list[dict[str, Any]] = []
    for a in sorted((set(carts) | set(balances) | set(bets)) & avatars):
        carry: dict[str, Any] = {"avatar": a, "carts": [carts.get(a, [a, [], []])]}
        if wheel is not None:
            carry["wheel"] = {"balances": balances.get(a, []), "round": wheel["round"], "bets": bets.get(a, [])}
        out.append(carry)
    return out


class Cluster:
    def __init__(self, url: str, node: str, metrics: Metrics, *, secret: str, session_ttl_s: float = 90.0) -> None:
        self.url = url
        self.node = node
        self.metrics = metrics
        # A bounded pool: a rush of claims waits for a connection instead of opening hundreds.
        # A pooled connection that a restarted Redis closed is retried once on a new one
        # (every command here is idempotent: a claim returns the visitor's order again).
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=POOL_SIZE, timeout=5.0, socket_timeout=5.0, socket_connect_timeout=1.0,
            retry_on_error=[ConnectionError],
        )
        self.redis = aioredis.Redis(connection_pool=pool)
        self.up = False
        self._session_ttl_ms = int(session_ttl_s * 1000)
        self._seal = SeedSeal(secret)
        self._submit: Submit | None = None
        self._held: Held = lambda: ()
        self._on_heal: Healer | None = None
        self._queue: asyncio.Queue[tuple[str, str, dict[str, Any]]] = asyncio.Queue(QUEUE_LIMIT)
        self._waiting: deque[tuple[str, str, dict[str, Any]]] = deque()  # held while Redis is down
        self._history: dict[str, deque[bytes]] = {}  # room -> replay entries seen, oldest first
        self._tasks: list[asyncio.Task[None]] = []
        self._publishing = False  # an item is on its way to Redis
        self._subscribed = asyncio.Event()
        self._claim = self.redis.register_script(CLAIM)
        self._reseed = self.redis.register_script(RESEED)
        self._refill = self.redis.register_script(REFILL)
        self._raise = self.redis.register_script(RAISE)
        self._renew = self.redis.register_script(RENEW)
        self._release = self.redis.register_script(RELEASE)
        self._rooms: list[str] = []
        self.owned: set[str] = set()  # rooms whose lease this node holds
        # drops known on this node (its own and the others'): id -> (initial stock, ends_at ms)
        self.offers: dict[str, tuple[int, int]] = {}
        self._offer_items: dict[str, tuple[str, dict[str, Any]]] = {}  # id -> (room, offer payload)
        self._stock_seen: dict[str, int] = {}  # the lowest stock heard of, per drop
        self._id_count = 0  # this node's `vetrina:id_block` number (restored after a data loss)
        self._run_id: str | None = None  # the Redis server's run_id: another one restarted empty
        self._heal_wanted = False
        self.healed = 0  # times this node restored Redis after an outage or a restart
        self._out = {k: metrics.cluster_messages.labels("out", k) for k in KINDS | {"carry"}}
        self._in = {k: metrics.cluster_messages.labels("in", k) for k in KINDS}
        self._kept = {k: metrics.cluster_messages.labels("held", k) for k in REPLAYED}

    # ---- life --------------------------------------------------------------------------

    async def start(self, submit: Submit, rooms: list[str], *, held: Held | None = None,
                    on_heal: Healer | None = None) -> int:
        """Connect, take a block of avatar ids and seed each room's chat history; returns the
        first avatar id this node may hand out. Starts even when Redis is down (degraded).
        ``held``: the visitors whose session and carried state are kept alive; ``on_heal``:
        what the app writes again after Redis came back (carried state and orders)."""
        self._submit = submit
        self._rooms = list(rooms)
        self._held = held or self._held
        self._on_heal = on_heal
        # Listen first, then read what was said before: nothing published in between is
        # missed (an item seen both ways is applied once: shared items are idempotent).
        listener = asyncio.create_task(self._listener(), name="cluster:listen")
        try:
            await asyncio.wait_for(self._subscribed.wait(), 2.0)
        except asyncio.TimeoutError:
            pass  # Redis is down: the listener keeps trying
        try:
            self._id_count = int(await self.redis.incr("vetrina:id_block"))
            await self.redis.set(ALIVE, self.node, nx=True)
            self._run_id = await self._server_run_id()
            await self._replay(rooms)
            self._set_up(True)
        except DOWN as exc:
            self._id_count = random.randrange(ID_BLOCKS // 2, ID_BLOCKS)  # a clash is very unlikely
            log.warning("cluster: Redis at %s is unreachable (%s); starting degraded", self.url, exc)
            self._lost()
        self._tasks = [
            asyncio.create_task(self._publisher(), name="cluster:publish"),
            listener,
            asyncio.create_task(self._health(), name="cluster:health"),
            asyncio.create_task(self._leases(), name="cluster:leases"),
            asyncio.create_task(self._keepalive(), name="cluster:keepalive"),
        ]
        return (self._id_count % ID_BLOCKS + 1) * ID_BLOCK + 1

    async def _replay(self, rooms: list[str]) -> None:
        assert self._submit is not None
        for room in rooms:
            for raw in reversed(await self.redis.lrange(f"vetrina:chat:{room}", 0, HISTORY - 1)):
                self._submit(room, Mirror("chat", msgpack.unpackb(raw), history=True))
            for raw in reversed(await self.redis.lrange(f"vetrina:replay:{room}", 0, REPLAY - 1)):
                self._replayed(room, raw)

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

    def _lost(self) -> None:
        """Redis went away (or lost data): pause, and heal before going on."""
        self._set_up(False)
        self._heal_wanted = True

    async def _server_run_id(self) -> str:
        info = await self.redis.info("server")
        return str(info.get("run_id", ""))

    async def _health(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_EVERY_S)
            try:
                run_id = await self._server_run_id()
            except DOWN:
                self._lost()
                continue
            if run_id != self._run_id:  # a restarted Redis: it may have come back empty
                self._lost()
            if self._heal_wanted:
                try:
                    await self._heal(run_id)
                except Exception:  # never let the health loop die: the next round tries again
                    log.exception("cluster: healing failed")

    # ---- healing after Redis was away ----------------------------------------------------

    async def _heal(self, run_id: str) -> None:
        """Put back what this node knows and a Redis that restarted empty lost, then go on
        (``up`` again). Every step is idempotent: a Redis that kept its data loses nothing."""
        try:
            await self._raise(keys=["vetrina:id_block"], args=[self._id_count])
            for offer in self._running_offers():
                await self._reseed_one(offer)
            await self._refill_replay()
            await self._heal_app()
            await self._refresh()
            await self._flush_waiting()
            await self.redis.set(ALIVE, self.node, nx=True)  # claims may create drops again
        except DOWN as exc:
            log.warning("cluster: healing after the Redis outage failed (%s); trying again", exc)
            self._lost()
            return
        log.warning("cluster: Redis state restored by %s (%d running drops)", self.node, len(self._running_offers()))
        self._run_id, self._heal_wanted = run_id, False
        self.healed += 1
        self._set_up(True)

    async def _heal_app(self) -> None:
        """The app's part (carried state and orders): a room that does not answer is logged
        and skipped rather than keeping the whole cluster paused."""
        if self._on_heal is None:
            return
        try:
            await self._on_heal()
        except DOWN:
            raise
        except Exception:
            log.exception("cluster: restoring carried state failed")

    def _running_offers(self) -> dict[str, tuple[str, dict[str, Any]]]:
        now = now_ms()
        return {o: item for o, item in self._offer_items.items() if self.offers.get(o, (0, 0))[1] > now}

    async def _reseed_one(self, offer: str) -> None:
        initial, ends_at = self.offers[offer]
        seen = min(initial, self._stock_seen.get(offer, initial))
        await self._reseed(keys=[f"vetrina:offer:{offer}"], args=[seen, ends_at, OFFER_TTL_MS, secrets.token_hex(3)])

    async def _refill_replay(self) -> None:
        """An empty replay list is rebuilt from what this node saw (the first node to heal
        does it), and every node adds its running drops with the lowest stock it saw, so a
        node that starts after the restart knows them and cannot sell what was sold."""
        running = self._running_offers()
        for room in self._rooms:
            entries = list(self._history.get(room, ()))
            await self._refill(keys=[f"vetrina:replay:{room}"], args=[REPLAY_TTL_MS, *reversed(entries)])
            drops = [(o, p) for o, (r, p) in running.items() if r == room]
            if not drops:
                continue
            async with self.redis.pipeline(transaction=False) as pipe:
                for offer, payload in drops:
                    initial = self.offers[offer][0]
                    stock = {"offer": offer, "stock": min(initial, self._stock_seen.get(offer, initial))}
                    pipe.lpush(f"vetrina:replay:{room}", msgpack.packb(["offer", payload]), msgpack.packb(["stock", stock]))
                pipe.ltrim(f"vetrina:replay:{room}", 0, REPLAY - 1)
                pipe.pexpire(f"vetrina:replay:{room}", REPLAY_TTL_MS)
                await pipe.execute()

    async def _flush_waiting(self) -> None:
        """What was held while Redis was away, in order (kept until it is sent)."""
        while self._waiting:
            room, kind, payload = self._waiting[0]
            await self._send(room, kind, payload)
            self._waiting.popleft()

    # ---- sessions and carried state kept alive -------------------------------------------

    async def _keepalive(self) -> None:
        """Every third of the TTL: rewrite the sessions this node holds (a rewrite also heals
        a lost key) and re-arm their carried state, so neither expires while held."""
        while True:
            await asyncio.sleep(self._session_ttl_ms / 3000)
            if not self.up:
                continue
            try:
                await self._refresh()
            except DOWN:
                self._lost()

    async def _refresh(self) -> None:
        held = list(self._held())
        for i in range(0, len(held), KEEPALIVE_BATCH):
            async with self.redis.pipeline(transaction=False) as pipe:
                for v in held[i:i + KEEPALIVE_BATCH]:
                    pipe.set(f"vetrina:session:{v.session}", _session_body(v), px=self._session_ttl_ms)
                    pipe.pexpire(f"vetrina:carry:{v.id}", self._session_ttl_ms)
                await pipe.execute()

    async def restore_carry(self, snapshot: dict[str, Any], avatars: set[int]) -> None:
        """A room's hand-over snapshot, after Redis came back: each held visitor's carried
        state again, and its orders back in the drops' order books (one order per visitor
        holds across a Redis restart). Raises the Redis errors (the heal tries again)."""
        carries = split_carry(snapshot, avatars)
        async with self.redis.pipeline(transaction=False) as pipe:
            for carry in carries:
                pipe.set(f"vetrina:carry:{carry['avatar']}", msgpack.packb(carry), px=self._session_ttl_ms)
                for order in carry["carts"][0][2]:
                    key = f"vetrina:orders:{order.get('offer')}"
                    pipe.hsetnx(key, str(carry["avatar"]), str(order.get("order")))
                    pipe.pexpire(key, OFFER_TTL_MS)
            await pipe.execute()

    # ---- shared items ------------------------------------------------------------------

    def _replayed(self, room: str, raw: Any) -> None:
        """One item of a room's replay list, for a node that starts mid-event."""
        assert self._submit is not None
        try:
            kind, payload = msgpack.unpackb(raw)
        except (ValueError, TypeError, msgpack.UnpackException):
            self.metrics.cluster_dropped.labels("malformed").inc()
            return
        if kind not in REPLAYED or not isinstance(payload, dict):
            return
        self._remember(room, bytes(raw))
        payload = self._opened(str(kind), payload)
        if payload is None or not self._learn(room, str(kind), payload):
            return
        self._submit(room, Mirror(str(kind), payload, history=True))

    def _opened(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        opened = self._seal.unseal(kind, payload)
        if opened is None:  # sealed with another secret: not one of this cluster's nodes
            self.metrics.cluster_dropped.labels("bad_seal").inc()
        return opened

    def _learn(self, room: str, kind: str, payload: dict[str, Any]) -> bool:
        """What the cluster itself keeps of a drop item (however it arrived); False: malformed."""
        if kind == "offer":
            try:
                self.offers[str(payload["id"])] = (int(payload["initial"]), int(payload["ends_at"]))
            except (KeyError, TypeError, ValueError):
                self.metrics.cluster_dropped.labels("malformed").inc()
                return False
            self._offer_items[str(payload["id"])] = (room, payload)
        elif kind == "stock" and isinstance(payload.get("stock"), int):
            self.stock_seen(str(payload.get("offer")), payload["stock"])
        return True

    def _remember(self, room: str, entry: bytes) -> None:
        """A replay entry this node saw: rebuilds the list if Redis comes back empty."""
        history = self._history.get(room)
        if history is None:
            history = self._history[room] = deque(maxlen=REPLAY)
        history.append(entry)

    def share(self, room: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        """A room's shared items, from its tick: queued for Redis without waiting for it
        (``carry`` items are stored for their visitor, not published)."""
        for kind, payload in items:
            if kind == "offer" and not self._learn(room, kind, payload):
                continue
            if not self.up:
                self._hold(room, kind, payload)
                continue
            try:
                self._queue.put_nowait((room, kind, payload))
            except asyncio.QueueFull:
                self.metrics.cluster_dropped.labels("queue_full").inc()

    def _hold(self, room: str, kind: str, payload: dict[str, Any]) -> None:
        """Redis is away: what every node must agree on waits for it; the rest is dropped."""
        if kind in REPLAYED and len(self._waiting) < HELD_LIMIT:
            self._waiting.append((room, kind, payload))
            self._kept[kind].inc()
        else:
            self.metrics.cluster_dropped.labels("redis_down").inc()

    async def _publisher(self) -> None:
        while True:
            room, kind, payload = await self._queue.get()
            if not self.up:  # went away (or is healing) since it was queued
                self._hold(room, kind, payload)
                continue
            self._publishing = True
            try:
                await self._send(room, kind, payload)
            except DOWN:
                self._lost()
                self._hold(room, kind, payload)
            finally:
                self._publishing = False

    async def _send(self, room: str, kind: str, payload: dict[str, Any]) -> None:
        """One item to Redis: published (and kept for late nodes), or stored (``carry``)."""
        wire = self._seal.seal(kind, payload)
        entry = msgpack.packb([kind, wire])
        async with self.redis.pipeline(transaction=False) as pipe:
            if kind == "carry":
                pipe.set(f"vetrina:carry:{payload['avatar']}", msgpack.packb(payload), px=self._session_ttl_ms)
            else:
                pipe.publish(f"vetrina:room:{room}", msgpack.packb({"node": self.node, "kind": kind, "payload": wire}))
            if kind == "chat":
                key = f"vetrina:chat:{room}"
                pipe.lpush(key, msgpack.packb(payload))
                pipe.ltrim(key, 0, HISTORY - 1)
            elif kind in REPLAYED:
                key = f"vetrina:replay:{room}"
                pipe.lpush(key, entry)
                pipe.ltrim(key, 0, REPLAY - 1)
                pipe.pexpire(key, REPLAY_TTL_MS)
            await pipe.execute()
        if kind in REPLAYED:
            self._remember(room, entry)
        self._out[kind].inc()

    async def _listener(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(CHANNELS)
                self._subscribed.set()
                async for msg in pubsub.listen():
                    self._take(msg)
            except DOWN:
                self._lost()
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
        if kind in REPLAYED:
            self._remember(room, msgpack.packb([kind, payload]))
        payload = self._opened(kind, payload)
        if payload is None or not self._learn(room, kind, payload):
            return
        if self._submit(room, Mirror(kind, payload)):
            self._in[kind].inc()

    # ---- drops -------------------------------------------------------------------------

    async def claim(self, offer: str, avatar: int, now: int) -> tuple[str, str, int] | None:
        """(outcome, order, stock left) with outcome ``ok``/``sold_out``/``closed``; None for a
        drop this node never heard of. Raises ClusterUnavailable when Redis is down or the
        node is healing after it was."""
        known = self.offers.get(offer)
        if known is None:
            return None
        if not self.up:
            raise ClusterUnavailable("Redis is down or being restored")
        initial, ends_at = known
        # The stock never goes above the lowest number this node has seen: a Redis that
        # restarted empty never hands out what was already claimed.
        seen = min(initial, self._stock_seen.get(offer, initial))
        try:
            outcome, order, stock = await self._claim(
                keys=[f"vetrina:offer:{offer}", f"vetrina:orders:{offer}", ALIVE],
                args=[avatar, now, seen, ends_at, OFFER_TTL_MS, offer, initial],
            )
        except DOWN as exc:
            self._lost()
            raise ClusterUnavailable(str(exc)) from None
        if outcome == b"lost":  # Redis lost the drop (restarted empty): heal, then go on
            self._lost()
            raise ClusterUnavailable("Redis lost its data: restoring")
        self.stock_seen(offer, int(stock))
        return outcome.decode(), order.decode(), int(stock)

    def stock_seen(self, offer: str, stock: int) -> None:
        self._stock_seen[offer] = min(stock, self._stock_seen.get(offer, stock))

    # ---- resume sessions ---------------------------------------------------------------

    async def save_session(self, v: Visitor) -> None:
        """Best effort: without Redis the visitor can still resume on this node (and the
        keep-alive writes it again once Redis is back)."""
        if not self.up:
            return
        try:
            await self.redis.set(f"vetrina:session:{v.session}", _session_body(v), px=self._session_ttl_ms)
        except DOWN:
            self._lost()

    async def load_session(self, token: str) -> dict[str, Any] | None:
        return await self._load_map(f"vetrina:session:{token}")

    async def _load_map(self, key: str) -> dict[str, Any] | None:
        """A msgpack map kept for a visitor, best effort: None when absent or Redis is down."""
        if not self.up:
            return None
        try:
            raw = await self.redis.get(key)
        except DOWN:
            self._lost()
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
            self._lost()

    async def tallies(self, room: str) -> list[dict[str, Any]]:
        """The other nodes' last analytics tallies of ``room`` (nodes that went away included:
        their visitors were part of the event). Raises ClusterUnavailable without Redis."""
        try:
            raw = await self.redis.hgetall(f"vetrina:analytics:{room}")
        except DOWN as exc:
            self._lost()
            raise ClusterUnavailable(str(exc)) from None
        return [t for node, body in raw.items() if node != self.node.encode()
                for t in [msgpack.unpackb(body)] if isinstance(t, dict)]


def _session_body(v: Visitor) -> bytes:
    return msgpack.packb({"id": v.id, "name": v.name, "look": v.look, "room": v.room})


