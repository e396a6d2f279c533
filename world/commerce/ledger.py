"""The rules of a limited drop, written once: who gets one of its units, and under which order id.

- at most one order per visitor per drop: a repeated claim answers the same order;
- never oversold: a unit is granted only while stock is left;
- closed once the drop ends (``now >= ends_at``), but a sold-out drop answers ``sold_out``
  whether or not it has ended since;
- one order id format everywhere: ``<drop>-o<n>`` (n counts the units granted, from 1), with
  ``-<epoch>`` added only to a drop the Redis ledger had to re-create after Redis lost its data
  (so that no id issued before the loss is ever issued again).

:class:`MemoryLedger` applies them for one process (a single node, or a node's audience shards,
through server/replication/ledger.py); the Redis ledger (server/cluster/ledger.py) applies the
same rules in one Lua script for several nodes, and the same test cases run against both
(tests/server/test_drop_ledger.py). Pure: time is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

MAX_DROPS = 256  # drops kept; past it the one that ended first goes (its claims then answer not_found)


def order_id(offer: str, n: int, epoch: str | None = None) -> str:
    """The id of the ``n``-th unit granted of drop ``offer`` (``epoch``: see the module doc)."""
    return f"{offer}-o{n}" if epoch is None else f"{offer}-o{n}-{epoch}"


class Claim(NamedTuple):
    """A ledger's answer: ``outcome`` is ``ok`` (``order`` is the visitor's order), ``sold_out``,
    ``closed`` or ``not_found`` (an unknown drop); ``stock``: what is left after it."""

    outcome: str
    order: str
    stock: int


NOT_FOUND = Claim("not_found", "", 0)


def decide(mine: str | None, stock: int, ends_at: int, now: int) -> str:
    """The outcome of one claim, before any unit is taken: ``ok`` for a visitor who has an order
    (``mine``) or may get one, else ``sold_out`` / ``closed``. The Redis script mirrors it."""
    if mine is not None:
        return "ok"
    if stock <= 0:
        return "sold_out"
    if now >= ends_at:
        return "closed"
    return "ok"


@dataclass(slots=True)
class _Drop:
    initial: int
    stock: int
    ends_at: int
    orders: dict[int, str] = field(default_factory=dict)  # avatar -> order id


class MemoryLedger:
    """The drops of one process and the orders granted: claims are decided one at a time."""

    def __init__(self, max_drops: int = MAX_DROPS, on_evict: Callable[[str], None] | None = None) -> None:
        self._drops: dict[str, _Drop] = {}
        self._max = max_drops
        self._on_evict = on_evict  # told of each drop forgotten (the server counts it in /metrics)
        self.evicted = 0  # drops forgotten past ``max_drops``

    def __len__(self) -> int:
        return len(self._drops)

    def __contains__(self, offer: object) -> bool:
        return offer in self._drops

    def open(self, offer: str, stock: int, ends_at: int) -> None:
        """Know drop ``offer`` with ``stock`` units until ``ends_at``; a drop known already is
        left as it is (idempotent: every shard and node announces the same drop)."""
        if offer in self._drops:
            return
        self._drops[offer] = _Drop(int(stock), int(stock), int(ends_at))
        while len(self._drops) > self._max:  # overload policy: forget the drop that ended first
            gone = min(self._drops, key=lambda o: self._drops[o].ends_at)
            del self._drops[gone]
            self.evicted += 1
            if self._on_evict is not None:
                self._on_evict(gone)

    def claim(self, offer: str, avatar: int, now: int) -> Claim:
        drop = self._drops.get(offer)
        if drop is None:
            return NOT_FOUND
        mine = drop.orders.get(avatar)
        outcome = decide(mine, drop.stock, drop.ends_at, now)
        if outcome != "ok":
            return Claim(outcome, "", max(drop.stock, 0))
        if mine is None:
            drop.stock -= 1
            mine = drop.orders[avatar] = order_id(offer, drop.initial - drop.stock)
        return Claim("ok", mine, drop.stock)

    def record(self, offer: str, avatar: int, order: str, stock: int) -> None:
        """An order granted elsewhere (a restored room, another node's hand-over): the visitor
        keeps it, and the stock never goes above what was left after it."""
        drop = self._drops.get(offer)
        if drop is None:
            return
        drop.orders.setdefault(avatar, order)
        self.lower(offer, stock)

    def lower(self, offer: str, stock: int) -> None:
        """The drop's stock as another ledger reported it: it never goes back up."""
        drop = self._drops.get(offer)
        if drop is not None:
            drop.stock = min(drop.stock, int(stock))

    def stock(self, offer: str) -> int | None:
        drop = self._drops.get(offer)
        return None if drop is None else drop.stock

    def terms(self, offer: str) -> tuple[int, int, int] | None:
        """(initial stock, lowest stock known, ends_at) of a known drop."""
        drop = self._drops.get(offer)
        return None if drop is None else (drop.initial, drop.stock, drop.ends_at)

    def granted(self) -> Iterator[tuple[str, int, str, int]]:
        """Every order granted so far: (drop, avatar, order, the drop's stock now)."""
        for offer, drop in self._drops.items():
            for avatar, order in drop.orders.items():
                yield offer, avatar, order, drop.stock
