"""The node's link to Redis: one bounded connection pool, whether Redis is up, and the
pub/sub listen-and-reconnect loop (also used by server/revocations.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError, RedisError

from server.metrics import Metrics
from server.replication.ledger import LedgerUnavailable

log = logging.getLogger(__name__)

POOL_SIZE = 32
RETRY_S = 0.5  # a lost pub/sub connection is opened again after this

# Redis errors and the socket errors redis-py lets through when the server goes away
DOWN = (RedisError, OSError, asyncio.TimeoutError)


class ClusterUnavailable(LedgerUnavailable):
    """Redis cannot be reached: the feature that needs it answers ``unavailable``."""


class Link:
    """A Redis connection shared by the cluster's parts; ``up`` is False while Redis is away or
    the node is healing after it was (every part pauses what needs the other nodes)."""

    def __init__(self, url: str, node: str, metrics: Metrics) -> None:
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
        self.heal_wanted = False

    def set_up(self, up: bool) -> None:
        if up != self.up:
            log.warning("cluster: Redis %s", "reachable again" if up else "DOWN: cross-node features paused")
        self.up = up
        self.metrics.redis_up.set(1 if up else 0)

    def lost(self) -> None:
        """Redis went away (or lost data): pause, and heal before going on."""
        self.set_up(False)
        self.heal_wanted = True

    async def run_id(self) -> str:
        """The Redis server's run id: another one means it restarted (maybe empty)."""
        info = await self.redis.info("server")
        return str(info.get("run_id", ""))


Subscribe = Callable[[PubSub], Awaitable[Any]]
Handle = Callable[[dict[str, Any]], Awaitable[None]]


async def listen(redis: aioredis.Redis, subscribe: Subscribe, handle: Handle, *,
                 subscribed: asyncio.Event | None = None, on_down: Callable[[], None] | None = None) -> None:
    """Subscribe and hand every message to ``handle``, for ever: a lost connection (Redis away
    or restarted) is reported to ``on_down`` and opened again after :data:`RETRY_S`."""
    while True:
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            await subscribe(pubsub)
            if subscribed is not None:
                subscribed.set()
            async for msg in pubsub.listen():
                await handle(msg)
        except DOWN:
            if on_down is not None:
                on_down()
            await asyncio.sleep(RETRY_S)
        finally:
            try:
                await pubsub.aclose()
            except DOWN:
                pass
