""":class:`Cluster`: this node's parts of the cluster (link, relay, ledger, sessions, leases,
seed seal) put together, with the health check and the heal after Redis was away."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from server.cluster.leases import Leases
from server.cluster.ledger import RedisLedger
from server.cluster.link import DOWN, Link
from server.cluster.relay import Relay, Sink
from server.cluster.seal import SeedSeal
from server.cluster.sessions import Held, Sessions
from server.metrics import Metrics
from server.visitors import Visitor
from world.replication.shared import Shared

log = logging.getLogger(__name__)

ID_BLOCK = 1_000_000  # avatar ids per node start; ids are uint32 on the wire
ID_BLOCKS = 4000
HEALTH_EVERY_S = 1.0
RAISE = "if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end return 1"

Healer = Callable[[], Awaitable[None]]  # what the app re-writes after Redis came back


class Cluster:
    """One node of the cluster: the :class:`~server.replication.room.Remote` of each room's
    replication component (``share``, ``attach``, ``ledger``), plus sessions, tallies, leases."""

    def __init__(self, url: str, node: str, metrics: Metrics, *, secret: str, session_ttl_s: float = 90.0) -> None:
        self.link = Link(url, node, metrics)
        self.sessions = Sessions(self.link, int(session_ttl_s * 1000))
        self.relay = Relay(self.link, SeedSeal(secret), self.sessions)
        self.ledger = RedisLedger(self.link)
        self.leases = Leases(self.link)
        self._on_heal: Healer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._raise = self.link.redis.register_script(RAISE)
        self._id_count = 0  # this node's `vetrina:id_block` number (restored after a data loss)
        self._run_id: str | None = None  # the Redis server's run_id: another one restarted empty
        self.healed = 0  # times this node restored Redis after an outage or a restart

    @property
    def node(self) -> str:
        return self.link.node

    @property
    def up(self) -> bool:
        return self.link.up

    @property
    def owned(self) -> set[str]:
        return self.leases.owned

    def owns(self, room: str) -> bool:
        return room in self.leases.owned

    # ---- the remote side of the rooms' replication -------------------------------------------

    def attach(self, room: str, sink: Sink) -> None:
        self.relay.sinks[room] = sink

    def share(self, room: str, items: list[Shared]) -> None:
        self.relay.share(room, items)

    # ---- life --------------------------------------------------------------------------------

    async def start(self, rooms: list[str] | None = None, *, held: Held | None = None,
                    on_heal: Healer | None = None) -> int:
        """Connect, take a block of avatar ids and replay each attached room's event so far;
        returns the first avatar id this node may hand out. Starts even when Redis is down
        (degraded). ``rooms``: the rooms whose lease this node may hold (default: attached);
        ``held``: the visitors whose session and carried state are kept alive; ``on_heal``:
        what the app writes again after Redis came back (carried state and orders)."""
        self.leases.rooms = list(rooms if rooms is not None else self.relay.sinks)
        self.sessions.held = held or self.sessions.held
        self._on_heal = on_heal
        # Listen first, then read what was said before: nothing published in between is
        # missed (an item seen both ways is applied once: shared items are idempotent).
        listener = asyncio.create_task(self.relay.listener(), name="cluster:listen")
        await self._subscription()
        try:
            self._id_count = int(await self.link.redis.incr("vetrina:id_block"))
            await self.ledger.mark_alive()
            self._run_id = await self.link.run_id()
            await self.relay.replay()
            self.link.set_up(True)
        except DOWN as exc:
            self._id_count = random.randrange(ID_BLOCKS // 2, ID_BLOCKS)  # a clash is very unlikely
            log.warning("cluster: Redis at %s is unreachable (%s); starting degraded", self.link.url, exc)
            self.link.lost()
        self._tasks = [
            asyncio.create_task(self.relay.publisher(), name="cluster:publish"),
            listener,
            asyncio.create_task(self._health(), name="cluster:health"),
            asyncio.create_task(self.leases.hold(), name="cluster:leases"),
            asyncio.create_task(self.sessions.keepalive(), name="cluster:keepalive"),
        ]
        return (self._id_count % ID_BLOCKS + 1) * ID_BLOCK + 1

    async def _subscription(self) -> None:
        """Wait until the listener is subscribed: 2 s when Redis is down (the listener keeps
        trying), up to 10 s when Redis answers but the machine is slow — reading the past
        before listening would miss what is published in between (e.g. a drop's stock)."""
        try:
            await asyncio.wait_for(self.relay.subscribed.wait(), 2.0)
            return
        except asyncio.TimeoutError:
            pass
        try:
            await asyncio.wait_for(self.link.redis.ping(), 1.0)
            await asyncio.wait_for(self.relay.subscribed.wait(), 8.0)
        except DOWN:
            pass  # down after all: the heal after it comes back replays what is needed

    async def close(self, flush_s: float = 2.0) -> None:
        """Publish what is still queued (a drained node loses no acknowledged chat), then stop;
        never longer than a few seconds, whatever state Redis is in."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + flush_s
        while self.up and not self.relay.idle() and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for t in self._tasks:
            t.cancel()
        # redis-py may swallow a cancellation in the middle of a command: do not wait forever
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)
        await self.leases.release()
        try:
            await asyncio.wait_for(self.link.redis.aclose(close_connection_pool=True), 2.0)
        except DOWN:
            pass

    # ---- health, and healing after Redis was away --------------------------------------------

    async def _health(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_EVERY_S)
            try:
                run_id = await self.link.run_id()
            except DOWN:
                self.link.lost()
                continue
            if run_id != self._run_id:  # a restarted Redis: it may have come back empty
                self.link.lost()
            if self.link.heal_wanted:
                try:
                    await self._heal(run_id)
                except Exception:  # never let the health loop die: the next round tries again
                    log.exception("cluster: healing failed")

    async def _heal(self, run_id: str) -> None:
        """Put back what this node knows and a Redis that restarted empty lost, then go on
        (``up`` again). Every step is idempotent: a Redis that kept its data loses nothing."""
        try:
            await self._raise(keys=["vetrina:id_block"], args=[self._id_count])
            await self.ledger.reseed()
            await self.relay.refill(self.ledger.running())
            await self._heal_app()
            await self.sessions.refresh()
            await self.relay.flush_waiting()
            await self.ledger.mark_alive()
        except DOWN as exc:
            log.warning("cluster: healing after the Redis outage failed (%s); trying again", exc)
            self.link.lost()
            return
        log.warning("cluster: Redis state restored by %s (%d running drops)", self.node, len(self.ledger.running()))
        self._run_id, self.link.heal_wanted = run_id, False
        self.healed += 1
        self.link.set_up(True)

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

    # ---- what follows a visitor, and what adds up across nodes (server/cluster/sessions.py) --

    async def save_session(self, v: Visitor) -> None:
        await self.sessions.save_session(v)

    async def load_session(self, token: str) -> dict[str, Any] | None:
        return await self.sessions.load_session(token)

    async def load_carry(self, avatar: int) -> dict[str, Any] | None:
        return await self.sessions.load_carry(avatar)

    async def restore_carry(self, snapshot: dict[str, Any], avatars: set[int]) -> None:
        await self.sessions.restore_carry(snapshot, avatars)

    async def save_tally(self, room: str, tally: dict[str, Any]) -> None:
        await self.sessions.save_tally(room, tally)

    async def tallies(self, room: str) -> list[dict[str, Any]]:
        return await self.sessions.tallies(room)
