"""One set of drop-ledger cases, run against every backend: the in-process ledger (a single
node, or one node's audience shards) and the Redis one (several nodes; a real redis-server on
its own port). Both must give the same answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from server.cluster import Cluster
from server.metrics import Metrics
from server.replication.ledger import DropLedger, LocalLedger
from server.runner import now_ms
from tests.conftest import TEST_SECRET
from tests.server.test_cluster import RedisServer
from world.commerce.ledger import Claim, order_id

ROOM = "showroom"


@pytest.fixture(params=["memory", "redis"])
async def ledger(request: pytest.FixtureRequest) -> AsyncIterator[DropLedger]:
    if request.param == "memory":
        yield LocalLedger()
        return
    redis = RedisServer()
    redis.start()
    cluster = Cluster(redis.url, "node1", Metrics(), secret=TEST_SECRET)
    try:
        await cluster.start([])
        assert cluster.up
        yield cluster.ledger
    finally:
        await cluster.close()
        redis.stop()


def drop(offer: str, stock: int, seconds: float = 60) -> dict[str, object]:
    """An ``offer`` item as a room shares it."""
    return {"id": offer, "product": "luna-bag", "name": "Luna", "price": 10.0, "currency": "EUR", "stock": stock,
            "ends_at": now_ms() + int(seconds * 1000), "initial": stock}


async def test_a_repeated_claim_answers_the_same_order(ledger: DropLedger) -> None:
    assert ledger.open(ROOM, drop("d1", 5))
    first = await ledger.claim("d1", 7, now_ms())
    assert first == Claim("ok", order_id("d1", 1), 4)
    assert await ledger.claim("d1", 7, now_ms()) == first
    assert (await ledger.claim("d1", 8, now_ms())).order == "d1-o2"


async def test_sold_out_and_closed(ledger: DropLedger) -> None:
    ledger.open(ROOM, drop("one", 1))
    assert (await ledger.claim("one", 1, now_ms())).outcome == "ok"
    assert await ledger.claim("one", 2, now_ms()) == Claim("sold_out", "", 0)
    ledger.open(ROOM, drop("short", 3, seconds=0.05))
    later = now_ms() + 100
    assert await ledger.claim("short", 1, later) == Claim("closed", "", 3)
    assert await ledger.claim("short", 1, now_ms()) == Claim("ok", "short-o1", 2)  # (its clock said open)


async def test_unknown_drops_are_not_found_and_malformed_ones_never_open(ledger: DropLedger) -> None:
    assert await ledger.claim("nope", 1, now_ms()) == Claim("not_found", "", 0)
    assert not ledger.open(ROOM, {"id": "bad", "initial": "many"})
    assert (await ledger.claim("bad", 1, now_ms())).outcome == "not_found"


async def test_never_oversold_under_200_concurrent_claims_for_50_units(ledger: DropLedger) -> None:
    ledger.open(ROOM, drop("rush", 50))
    claims = await asyncio.gather(*(ledger.claim("rush", a, now_ms()) for a in range(1, 201)))
    granted = [c for c in claims if c.outcome == "ok"]
    assert len(granted) == 50
    assert sorted(c.order for c in granted) == sorted(order_id("rush", n) for n in range(1, 51))
    assert {c for c in claims if c.outcome != "ok"} == {Claim("sold_out", "", 0)}
    assert min(c.stock for c in granted) == 0


async def test_granted_lists_the_orders_given_here(ledger: DropLedger) -> None:
    ledger.open(ROOM, drop("a", 3))
    ledger.open(ROOM, drop("b", 2))
    for offer, avatar in (("a", 1), ("a", 2), ("b", 1)):
        assert (await ledger.claim(offer, avatar, now_ms())).outcome == "ok"
    assert sorted(ledger.granted()) == [("a", 1, "a-o1", 1), ("a", 2, "a-o2", 1), ("b", 1, "b-o1", 1)]


async def test_opening_again_changes_nothing_and_stock_seen_never_raises_it(ledger: DropLedger) -> None:
    ledger.open(ROOM, drop("d", 4))
    assert (await ledger.claim("d", 1, now_ms())).stock == 3
    ledger.open(ROOM, drop("d", 4))  # announced again (another shard, a replay)
    ledger.seen("d", 10)  # a stale report
    assert await ledger.claim("d", 2, now_ms()) == Claim("ok", "d-o2", 2)
