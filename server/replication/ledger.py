"""One interface for deciding drop claims, whatever the topology: :class:`DropLedger`.

The rules are world/commerce/ledger.py's, written once. :class:`LocalLedger` applies them in
this process (a single node, or every audience shard of a room on one node: claims are decided
one at a time in the event loop); the Redis ledger (server/cluster/ledger.py) applies them in
one Lua script for several nodes. A room's replication component (server/replication/room.py)
holds one of the two and is what the gateway claims through; the same test cases run against
both (tests/server/test_drop_ledger.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, Protocol

from server.metrics import Metrics
from world.commerce.ledger import Claim, MemoryLedger

Grant = tuple[str, int, str, int]  # (drop, avatar, order, the drop's stock now)


class LedgerUnavailable(Exception):
    """The ledger cannot decide now (Redis is down or being restored): answer ``unavailable``."""


class Terms(NamedTuple):
    """What a ledger needs of a drop, read from its shared ``offer`` item."""

    offer: str
    initial: int
    ends_at: int


def terms(payload: dict[str, Any]) -> Terms | None:
    """The drop's terms from an ``offer`` payload; None when malformed (the caller counts it)."""
    try:
        return Terms(str(payload["id"]), int(payload["initial"]), int(payload["ends_at"]))
    except (KeyError, TypeError, ValueError):
        return None


class DropLedger(Protocol):
    """Where a room's drop claims are decided."""

    def open(self, room: str, payload: dict[str, Any]) -> bool:
        """Know a drop from its ``offer`` item (idempotent); False: the payload is malformed."""

    def seen(self, offer: str, stock: int) -> None:
        """Another shard or node reported the drop's stock (it never goes back up)."""

    async def claim(self, offer: str, avatar: int, now: int) -> Claim:
        """The visitor's order, or why not; raises :class:`LedgerUnavailable`."""

    def granted(self) -> Iterator[Grant]:
        """The orders this process granted (to settle again in a room that lost them)."""


class Book:
    """A :class:`~world.commerce.ledger.MemoryLedger` whose size and evictions are in /metrics
    (its bound, ``MAX_DROPS``, and its overload policy are written next to it)."""

    def __init__(self, metrics: Metrics | None, on_evict: Callable[[str], None] | None = None) -> None:
        metrics = metrics or Metrics()
        self._size = metrics.replication_size.labels("drops")
        self._evicted = metrics.replication_dropped.labels("drop_evicted")
        self._then = on_evict
        self.ledger = MemoryLedger(on_evict=self._forgot)

    def open(self, t: Terms) -> None:
        if t.offer not in self.ledger:
            self._size.inc()
        self.ledger.open(t.offer, t.initial, t.ends_at)

    def _forgot(self, offer: str) -> None:
        self._size.dec()
        self._evicted.inc()
        if self._then is not None:
            self._then(offer)


class LocalLedger:
    """A :class:`DropLedger` in this process: authoritative for every shard of its room here."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._counted = Book(metrics)
        self.book = self._counted.ledger

    def open(self, room: str, payload: dict[str, Any]) -> bool:
        t = terms(payload)
        if t is not None:
            self._counted.open(t)
        return t is not None

    def seen(self, offer: str, stock: int) -> None:
        """Nothing to learn: every stock item of this room's shards came from this ledger."""

    async def claim(self, offer: str, avatar: int, now: int) -> Claim:
        return self.book.claim(offer, avatar, now)

    def granted(self) -> Iterator[Grant]:
        return self.book.granted()
