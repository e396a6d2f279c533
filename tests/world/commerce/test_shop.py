"""Commerce in one room, driven synchronously: settling a drop's order is idempotent."""

from __future__ import annotations

import random

from world.commerce.catalog import Catalog, Product
from world.commerce.shop import CartGet, OfferClaim, OfferSettled
from world.replication.mirror import Mirror
from world.core.room import Join, Room
from world.core.scene import RoomConfig, Scene

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
    r.step(1000, [Mirror("handover", {"avatar": 7, "carts": [[7, [], [ORDER]]]}), Mirror("offer", OFFER)])
    out = r.step(1100, [Join(1, 7, "Ada", {}), OfferSettled(2, 7, "dn1-1", "dn1-1-o1", 2),
                        OfferSettled(3, 7, "dn1-1", "dn1-1-o1", 2), CartGet(4, 7)])
    assert out.replies[2] == out.replies[3] == {"ok": True, "order": "dn1-1-o1"}
    assert out.replies[4]["cart"]["orders"] == [ORDER]  # the first record of it, once
    assert r.commerce.conversions()[0]["orders"] == 1


def test_adopted_orders_answer_a_claim_in_the_tick_with_the_same_order() -> None:
    r = room()
    r.step(1000, [Mirror("offer", OFFER), Mirror("handover", {"avatar": 7, "carts": [[7, [], [ORDER]]]})])
    out = r.step(1100, [Join(1, 7, "Ada", {}), OfferClaim(2, 7, "dn1-1"), CartGet(3, 7)])
    assert out.replies[2] == {"ok": True, "order": "dn1-1-o1"}
    assert len(out.replies[3]["cart"]["orders"]) == 1
    # a resumed visitor's state is carried on from here (kept where a restore finds it)
    resumed = Mirror("handover", {"avatar": 8, "carts": [[8, [], []]]})
    assert [p["avatar"] for k, p in r.step(1200, [resumed]).shared if k == "carry"] == [8]
