"""A room's replication component, driven directly (no shards started: what it keeps and
hands back is what these check)."""

from __future__ import annotations

from server.metrics import Metrics
from server.replication.ledger import LocalLedger
from server.replication.room import Replication
from server.runner import now_ms
from world.commerce.ledger import MAX_DROPS
from world.commerce.shop import DropSettled
from world.replication.shared import Replicated



def offer(offer_id: str = "d1", seconds: int = 60) -> dict[str, object]:
    return {"id": offer_id, "product": "luna-bag", "name": "Luna", "price": 10.0, "currency": "EUR", "stock": 5,
            "ends_at": now_ms() + seconds * 1000, "initial": 5}


def carry(avatar: int) -> dict[str, object]:
    return {"avatar": avatar, "carts": [[avatar, [["luna-bag", "cognac", 1]], []]]}


def handed(inputs: list[object]) -> list[int]:
    return sorted(int(i.payload["avatar"]) for i in inputs if isinstance(i, Replicated) and i.kind == "handover")


async def test_a_restarted_shard_gets_back_only_its_own_visitors_carries_and_orders() -> None:
    rep = Replication("concert", [], LocalLedger())
    rep.share("concert", [("offer", offer()), ("carry", carry(1))])
    rep.share("concert~2", [("carry", carry(2)), ("carry", carry(3))])
    assert (await rep.claim("d1", 1, now_ms(), shard="concert")).outcome == "ok"
    assert (await rep.claim("d1", 2, now_ms(), shard="concert~2")).outcome == "ok"

    second = rep.restore("concert~2")
    assert handed(second) == [2, 3]
    assert [(s.avatar, s.order) for s in second if isinstance(s, DropSettled)] == [(2, "d1-o2")]
    first = rep.restore("concert")
    assert handed(first) == [1]
    assert [(s.avatar, s.order) for s in first if isinstance(s, DropSettled)] == [(1, "d1-o1")]
    # both replay the event itself: the drop, then its stock after the last claim
    for inputs in (first, second):
        assert [(i.kind, i.payload.get("stock")) for i in inputs if isinstance(i, Replicated) and i.kind != "handover"] == [
            ("offer", 5), ("stock", 3)]


async def test_the_carried_store_is_bounded_and_counted() -> None:
    metrics = Metrics()
    rep = Replication("r", [], LocalLedger(), metrics=metrics, carried_limit=2)
    rep.share("r", [("carry", carry(a)) for a in (1, 2, 3)])
    rep.share("r", [("carry", carry(2))])  # changed again: the newest
    rep.share("r", [("carry", carry(4))])
    assert handed(rep.restore("r")) == [2, 4]
    text = metrics.render().decode()
    assert 'vetrina_replication_dropped_total{reason="carry_evicted"} 2.0' in text
    assert 'vetrina_replication_items{store="carried"} 2.0' in text
    rep.forget(4)  # left for good
    assert handed(rep.restore("r")) == [2]


def test_items_from_redis_are_replayed_through_the_same_compaction() -> None:
    rep = Replication("r", [], LocalLedger())
    chat = [("chat", {"id": f"m{i}", "from": {"id": 1, "name": "A"}, "text": "hi", "scope": "room", "t": i})
            for i in range(80)]
    stock = [("stock", {"offer": "d1", "stock": s}) for s in (4, 2, 3)]
    rep.seed([*chat, ("offer", offer()), *stock])
    kinds = [(m.kind, m.history) for m in rep.history()]
    assert kinds.count(("chat", True)) == 50  # compacted as for a late shard: the last 50
    assert [m.payload["stock"] for m in rep.history() if m.kind == "stock"] == [2]  # stock never goes back up


async def test_the_drop_ledger_is_bounded_and_counted() -> None:
    metrics = Metrics()
    ledger = LocalLedger(metrics)
    for n in range(MAX_DROPS + 1):  # the first ends first: it goes
        assert ledger.open("r", {**offer(f"d{n}"), "ends_at": now_ms() + 60_000 + n})
    assert (await ledger.claim("d0", 1, now_ms())).outcome == "not_found"
    assert (await ledger.claim(f"d{MAX_DROPS}", 1, now_ms())).outcome == "ok"
    text = metrics.render().decode()
    assert 'vetrina_replication_dropped_total{reason="drop_evicted"} 1.0' in text
    assert f'vetrina_replication_items{{store="drops"}} {float(MAX_DROPS)}' in text
