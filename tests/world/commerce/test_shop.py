"""Commerce in one room, driven synchronously: products, try-ons, carts, and drops claimed through
the ledger then settled in the tick (settling an order again is idempotent)."""

from __future__ import annotations

import random

from world.commerce.catalog import Catalog, Product, Variant
from world.commerce.ledger import MemoryLedger, order_id
from world.commerce.shop import CartAdd, CartGet, CommerceAct, DropSettled, ProductTry, ProductView
from world.replication.shared import Replicated
from world.core.room import Join, Room
from world.core.scene import RoomConfig, Scene
from world.social.layer import Staff

OFFER = {"id": "dn1-1", "product": "aria", "name": "Aria", "price": 99.0, "currency": "EUR", "stock": 3,
         "ends_at": 60_000, "initial": 3}
ORDER = {"order": "dn1-1-o1", "offer": "dn1-1", "product": "aria", "name": "Aria", "price": 99.0, "currency": "EUR",
         "t": 900}


def room() -> Room:
    scene = Scene(bounds=((-50, 0, -50), (50, 5, 50)), spawn=[(0, 0, 0)])
    catalog = Catalog(products=[Product(id="aria", name="Aria", price=99)])
    return Room(RoomConfig(id="r", kind="showroom", name="R", scene=scene, catalog=catalog), rng=random.Random(1))


def test_an_order_settled_again_is_one_order_whatever_the_room_learned_first() -> None:
    r = room()
    # the visitor's carried orders arrive before the drop itself (a resume on a fresh shard)
    r.step(1000, [Replicated("handover", {"avatar": 7, "carts": [[7, [], [ORDER]]]}), Replicated("offer", OFFER)])
    out = r.step(1100, [Join(1, 7, "Ada", {}), DropSettled(2, 7, "dn1-1", "dn1-1-o1", 2),
                        DropSettled(3, 7, "dn1-1", "dn1-1-o1", 2), CartGet(4, 7)])
    assert out.replies[2] == out.replies[3] == {"ok": True, "order": "dn1-1-o1"}
    assert out.replies[4]["cart"]["orders"] == [ORDER]  # the first record of it, once
    assert r.commerce.conversions()[0]["orders"] == 1


def test_adopted_orders_answer_a_claim_with_the_same_order() -> None:
    r = room()
    r.step(1000, [Replicated("offer", OFFER), Replicated("handover", {"avatar": 7, "carts": [[7, [], [ORDER]]]})])
    ledger = MemoryLedger()  # the node's ledger knows the drop and the carried order
    ledger.open("dn1-1", 3, 60_000)
    ledger.record("dn1-1", 7, "dn1-1-o1", 2)
    claim = ledger.claim("dn1-1", 7, 1100)
    out = r.step(1100, [Join(1, 7, "Ada", {}), DropSettled(2, 7, "dn1-1", claim.order, claim.stock), CartGet(3, 7)])
    assert out.replies[2] == {"ok": True, "order": "dn1-1-o1"}
    assert len(out.replies[3]["cart"]["orders"]) == 1
    # a resumed visitor's state is carried on from here (kept where a restore finds it)
    resumed = Replicated("handover", {"avatar": 8, "carts": [[8, [], []]]})
    assert [p["avatar"] for k, p in r.step(1200, [resumed]).shared if k == "carry"] == [8]


HOST = Staff("Sara", "host")


def shop() -> Room:
    scene = Scene(bounds=((-50, 0, -50), (50, 5, 50)), spawn=[(0, 0, 0)])
    catalog = Catalog(products=[Product(id="aria", name="Aria", price=99, tags=["shoes"],
                                        variants=[Variant(id="red", color="Red", hex="#ff0000", stock=3),
                                                  Variant(id="gone", stock=0)])])
    return Room(RoomConfig(id="r", kind="showroom", name="R", scene=scene, catalog=catalog, tag="n1"),
                rng=random.Random(2))


def test_viewing_trying_on_and_carting_a_product() -> None:
    r = shop()
    r.step(1000, [Join(1, 1, "Ada", {}), Join(2, 2, "Bo", {})])
    r.step(1100, [])
    out = r.step(1200, [ProductView(3, 1, "aria"), ProductTry(4, 1, "aria", "red"), CartAdd(5, 1, "aria", "red", 2),
                        CartAdd(6, 1, "aria", "red", 2), CartAdd(7, 1, "aria", "gone", 1), ProductView(8, 9, "aria")])
    assert out.replies[3]["product"]["id"] == "aria"
    wear = {"product": "aria", "variant": "red", "name": "Aria", "color": "Red", "hex": "#ff0000", "kind": "shoes"}
    assert out.replies[4] == {"ok": True, "wear": wear}
    (bo,) = [t for t in out.ticks if t.viewer == 2]
    assert [e[2]["wear"] for e in bo.enter if e[0] == 1] == [wear]  # everyone near sees it on Ada
    assert out.replies[5]["cart"]["items"][0]["qty"] == 2 and out.replies[5]["cart"]["total"] == 198.0
    assert out.replies[6]["error"]["message"] == "at most 3 of this variant per cart"
    assert out.replies[7]["error"]["code"] == "sold_out" and out.replies[8]["error"]["code"] == "not_joined"
    assert [p["carts"] for k, p in out.shared if k == "carry"] == [[[1, [["aria", "red", 2]], []]]]


def test_a_drop_is_claimed_through_the_ledger_and_settled_in_the_tick_until_sold_out() -> None:
    r = shop()
    r.step(1000, [Join(1, 1, "Ada", {}), Join(2, 2, "Bo", {}), Join(3, 3, "Cy", {})])
    out = r.step(1100, [CommerceAct(4, HOST, "offer.start", {"product": "aria", "price": 49.5, "stock": 2, "seconds": 30})])
    offer = out.replies[4]["offer"]
    assert [e.payload["stock"] for e in out.events if e.name == "offer"] == [2]
    assert [p["initial"] for k, p in out.shared if k == "offer"] == [2]
    ledger = MemoryLedger()
    ledger.open(offer, 2, 31_100)
    claims = {avatar: ledger.claim(offer, avatar, 1200) for avatar in (1, 2, 3)}
    assert [c.outcome for c in claims.values()] == ["ok", "ok", "sold_out"]
    settle = [DropSettled(10 + a, a, offer, c.order, c.stock) for a, c in claims.items() if c.outcome == "ok"]
    out = r.step(1200, [*settle, CartGet(20, 1)])
    assert out.replies[11] == {"ok": True, "order": order_id(offer, 1)}
    assert out.replies[12] == {"ok": True, "order": order_id(offer, 2)}
    (order,) = out.replies[20]["cart"]["orders"]
    assert order["order"] == order_id(offer, 1) and order["price"] == 49.5
    (shown,) = [e.payload for e in out.events if e.name == "offer"]  # one update per tick: sold out, ended
    assert shown["stock"] == 0 and shown["ended"] is True
    assert r.commerce.conversions()[-1]["orders"] == 2
