"""The Redis :class:`~server.replication.ledger.DropLedger`: drop claims of several nodes
decided by one Lua script over ``vetrina:offer:<id>`` (stock, end, epoch) and
``vetrina:orders:<id>`` (avatar -> order), with the rules of world/commerce/ledger.py (one
order per visitor, never oversold, closed at the end, the same order ids). It also keeps, in
this process, what heals a Redis that restarted empty: each drop's terms and the lowest stock
this node has seen (a :class:`~world.commerce.ledger.MemoryLedger` book, bounded like it),
and the orders this node granted.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

from server.cluster.link import DOWN, ClusterUnavailable, Link
from server.replication.ledger import Book, Grant, terms
from server.runner import now_ms
from world.commerce.ledger import NOT_FOUND, Claim

OFFER_TTL_MS = 24 * 3600 * 1000
ALIVE = "vetrina:alive"  # set by every node that started on or restored Redis

# KEYS: offer hash, orders hash, the cluster's mark (ALIVE). ARGV: avatar, now ms, lowest stock
# this node has seen, ends_at ms, ttl ms, offer id, the drop's initial stock (order numbers
# count from it). Without the mark Redis restarted empty and no node has restored it yet.
# The first claim on any node creates the stock from the drop's own numbers (every node knows
# them from the shared `offer`), so no node has to win a race to set it up. A node's lowest
# stock seen caps the stock on every claim: after Redis lost its data it never goes back up.
# A missing hash for a drop that had sold (or ended) is not re-created here: that is data
# loss, and the node heals first (RESEED), which marks the re-created hash with an epoch.
# The rules and the order id are world/commerce/ledger.py's (decide, order_id).
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


class RedisLedger:
    """Claims decided in Redis for every node; ``book``: what this node knows of each drop."""

    def __init__(self, link: Link) -> None:
        self._link = link
        # terms, lowest stock seen, orders granted here (bounded: a forgotten drop's item goes too)
        self._counted = Book(link.metrics, on_evict=self._forget)
        self.book = self._counted.ledger
        self._items: dict[str, tuple[str, dict[str, Any]]] = {}  # drop -> (room, its offer item)
        self._claim = link.redis.register_script(CLAIM)
        self._reseed = link.redis.register_script(RESEED)

    def open(self, room: str, payload: dict[str, Any]) -> bool:
        t = terms(payload)
        if t is None:
            self._link.metrics.cluster_dropped.labels("malformed").inc()
            return False
        self._counted.open(t)
        if t.offer in self.book:
            self._items[t.offer] = (room, payload)
        return True

    def _forget(self, offer: str) -> None:
        self._items.pop(offer, None)

    def seen(self, offer: str, stock: int) -> None:
        self.book.lower(offer, stock)

    async def claim(self, offer: str, avatar: int, now: int) -> Claim:
        """Raises ClusterUnavailable when Redis is down or the node is healing after it was."""
        known = self.book.terms(offer)
        if known is None:
            return NOT_FOUND
        if not self._link.up:
            raise ClusterUnavailable("Redis is down or being restored")
        # The stock never goes above the lowest number this node has seen: a Redis that
        # restarted empty never hands out what was already claimed.
        initial, seen, ends_at = known
        try:
            outcome, order, stock = await self._claim(
                keys=[f"vetrina:offer:{offer}", f"vetrina:orders:{offer}", ALIVE],
                args=[avatar, now, seen, ends_at, OFFER_TTL_MS, offer, initial],
            )
        except DOWN as exc:
            self._link.lost()
            raise ClusterUnavailable(str(exc)) from None
        if outcome == b"lost":  # Redis lost the drop (restarted empty): heal, then go on
            self._link.lost()
            raise ClusterUnavailable("Redis lost its data: restoring")
        claim = Claim(outcome.decode(), order.decode(), int(stock))
        if claim.outcome == "ok":
            self.book.record(offer, avatar, claim.order, claim.stock)
        self.book.lower(offer, claim.stock)
        return claim

    def granted(self) -> Iterator[Grant]:
        return self.book.granted()

    # ---- healing after Redis was away --------------------------------------------------------

    def running(self) -> dict[str, tuple[str, dict[str, Any], int]]:
        """Drops not ended yet: id -> (room, offer item, lowest stock seen)."""
        now = now_ms()
        out: dict[str, tuple[str, dict[str, Any], int]] = {}
        for offer, (room, payload) in self._items.items():
            known = self.book.terms(offer)
            if known is not None and known[2] > now:
                out[offer] = (room, payload, known[1])
        return out

    async def reseed(self) -> None:
        """Each running drop's stock again, never above what this node has seen (a drop
        re-created after a data loss numbers its orders with a new epoch)."""
        for offer, (_, _, seen) in self.running().items():
            known = self.book.terms(offer)
            assert known is not None
            await self._reseed(keys=[f"vetrina:offer:{offer}"], args=[seen, known[2], OFFER_TTL_MS, secrets.token_hex(3)])

    async def mark_alive(self) -> None:
        await self._link.redis.set(ALIVE, self._link.node, nx=True)  # claims may create drops again
