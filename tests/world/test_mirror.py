"""Two shards of one room (as two nodes run them): what one shares, the other applies."""

from __future__ import annotations

import random
from typing import Any

from world.catalog import Catalog, Product
from world.commerce import CommerceAct, OfferSettled
from world.mirror import Mirror
from world.room import Join, Room
from world.scene import RoomConfig, Scene
from world.social import React, Say, Staff, StaffAct

HOST = Staff("Sara", "host")


def shard(tag: str) -> Room:
    scene = Scene(bounds=((-50, 0, -50), (50, 5, 50)), spawn=[(0, 0, 0)])
    catalog = Catalog(products=[Product(id="aria", name="Aria Sneaker", price=149, description="Sneaker")])
    cfg = RoomConfig(id="r", kind="showroom", name="R", scene=scene, catalog=catalog, shard=tag)
    return Room(cfg, rng=random.Random(3))


def mirrored(out: Any, kind: str) -> list[Mirror]:
    return [Mirror(k, p) for k, p in out.shared if k == kind]


def events(out: Any, name: str) -> list[Any]:
    return [e for e in out.events if e.name == name]


def test_room_chat_crosses_shards_and_joins_history_near_and_shadow_chat_do_not() -> None:
    a, b = shard("n1"), shard("n2")
    a.step(1000, [Join(1, 1, "Ada", {}, "s1"), Join(2, 2, "Bo", {}, "s2")])
    b.step(1000, [Join(1, 1_000_001, "Cy", {}, "s3")])
    b.step(1050, [StaffAct(9, HOST, "mod.shadow", {"avatar": 1_000_001})])
    out = a.step(1100, [Say(1, 1, "ciao a tutti", "room"), Say(2, 2, "psst", "near")])
    shared = mirrored(out, "chat")
    assert [m.payload["text"] for m in shared] == ["ciao a tutti"]  # near chat stays in its shard
    assert shared[0].payload["id"].startswith("mn1")  # ids carry the node's tag

    out_b = b.step(1200, shared + [Say(3, 1_000_001, "shadowed", "room")])
    got = events(out_b, "chat")
    assert got[0].to is None and got[0].payload["text"] == "ciao a tutti"
    assert got[0].payload["from"] == {"id": 1, "name": "Ada"}
    assert not mirrored(out_b, "chat")  # a shadow-muted message never leaves its sender's shard
    # the same message again (history overlapping the live feed) changes nothing
    assert not events(b.step(1300, shared), "chat")
    joined = b.step(1400, [Join(4, 1_000_002, "Di", {}, "s4")]).replies[4]
    assert [m["text"] for m in joined["chat"]] == ["ciao a tutti"]

    # a shard that starts later gets the history quietly: kept for joiners, not announced
    c = shard("n3")
    out_c = c.step(1500, [Mirror("chat", shared[0].payload, history=True), Join(5, 2_000_001, "Ed", {}, "s5")])
    assert not events(out_c, "chat")
    assert [m["text"] for m in out_c.replies[5]["chat"]] == ["ciao a tutti"]


def test_reaction_counts_from_other_shards_join_each_tick_message() -> None:
    a, b = shard("n1"), shard("n2")
    a.step(1000, [Join(1, 1, "Ada", {}, "s1")])
    b.step(1000, [Join(1, 7, "Cy", {}, "s3")])
    out = a.step(1100, [React(1, "🔥"), React(1, "🔥"), React(1, "❤️")])
    shared = mirrored(out, "reactions")
    assert shared[0].payload == {"counts": {"🔥": 2, "❤️": 1}}
    burst = events(b.step(1200, [*shared, React(7, "🔥")]), "reactions")[0].payload
    assert burst["counts"] == {"🔥": 3, "❤️": 1}
    assert burst["near"] == [[7, "🔥"]]  # only local avatars are sampled (the others are not in view here)
    assert not mirrored(b.step(1300, []), "reactions")  # the remote counts are not echoed back
    # a forged count is ignored
    assert not events(b.step(1400, [Mirror("reactions", {"counts": {"🔥": -5, "x": "many"}})]), "reactions")


def test_a_drop_started_on_one_shard_is_claimed_on_another_with_the_clusters_decision() -> None:
    a, b = shard("n1"), shard("n2")
    a.step(1000, [Join(1, 1, "Ada", {}, "s1")])
    b.step(1000, [Join(1, 7, "Cy", {}, "s3")])
    params = {"room": "r", "product": "aria", "price": 99, "stock": 2, "seconds": 60}
    out = a.step(1100, [CommerceAct(1, HOST, "offer.start", params)])
    offer_id = out.replies[1]["offer"]
    (m,) = mirrored(out, "offer")
    assert m.payload["id"] == offer_id and m.payload["initial"] == 2 and offer_id.startswith("dn1")

    out_b = b.step(1200, [m])
    assert events(out_b, "offer")[0].payload["stock"] == 2
    settled = b.step(1300, [OfferSettled(5, 7, offer_id, f"{offer_id}-o1", 1)])
    assert settled.replies[5] == {"ok": True, "order": f"{offer_id}-o1"}
    assert events(settled, "offer")[0].payload["stock"] == 1
    again = b.step(1350, [OfferSettled(6, 7, offer_id, "other", 0)])
    assert again.replies[6]["order"] == f"{offer_id}-o1"  # one order per visitor

    # the other shard hears the stock; a late, higher number changes nothing
    out_a = a.step(1400, [Mirror("stock", {"offer": offer_id, "stock": 0})])
    assert events(out_a, "offer")[0].payload["stock"] == 0
    assert not events(a.step(1500, [Mirror("stock", {"offer": offer_id, "stock": 1})]), "offer")
    # an offer for a product this room does not sell is ignored
    assert not events(b.step(1600, [Mirror("offer", {**m.payload, "id": "x", "product": "nope"})]), "offer")
