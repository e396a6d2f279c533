"""Typed replication items: what rooms share parses back to the same payload (the same msgpack
bytes, so nodes of the previous version interoperate), and a malformed item of any kind is
counted in the outbox without costing the room its tick."""

from __future__ import annotations

import random
import time
from typing import Any

import msgpack
import pytest

from world.commerce.catalog import Catalog, Product
from world.commerce.shop import CartAdd, CommerceAct, DropSettled
from world.core.room import Handover, Join, Replicated, Room
from world.feature import Who
from world.core.scene import RoomConfig, Scene
from world.replication.items import BadReplica, ChatItem, ReactionsItem, parse
from world.shows.concert import Cue, Setlist
from world.shows.concert_show import ConcertAct
from world.shows.wheel_show import PlaceBet, WheelAct
from world.social.layer import Ask, React, Say, Staff, StaffAct, Vote
from world.commerce.catalog import Variant

HOST = Staff("Sara", "host")
SCENE = Scene(bounds=((-50, 0, -50), (50, 5, 50)), spawn=[(0, 0, 0)])
CATALOG = Catalog(products=[Product(id="aria", name="Aria", price=149, variants=[Variant(id="m", stock=5)])])
SET = Setlist(id="set", title="Set", lead_s=1, cues=[Cue(id="intro", name="Intro", duration_s=10),
                                                   Cue(id="drop", name="Drop", duration_s=10)])


def room(kind: str = "showroom", **over: Any) -> Room:
    cfg = RoomConfig(id="r", kind=kind, name="R", scene=SCENE, catalog=CATALOG, tag="n1", **over)  # type: ignore[arg-type]
    return Room(cfg, rng=random.Random(4))


def everything_shared() -> list[tuple[str, dict[str, Any]]]:
    """What rooms share in a busy minute: every kind, from the real producers."""
    shop, wheel, concert = room(), room("wheel"), room("concert", setlist=SET)
    shared: list[tuple[str, dict[str, Any]]] = []
    out = shop.step(1000, [Join(1, 1, "Ada", {}, Who("s1")), Join(2, 2, "Bo", {}, Who("s2"))])
    out = shop.step(1100, [Say(3, 1, "hi", "room"), React(1, "🔥"), Ask(4, 1, "size?"),
                           StaffAct(5, HOST, "mod.mute", {"avatar": 2, "minutes": 5}),
                           CommerceAct(6, HOST, "spotlight", {"product": "aria"}),
                           CommerceAct(7, HOST, "offer.start", {"product": "aria", "price": 99.5, "stock": 3, "seconds": 60}),
                           CartAdd(8, 1, "aria", "m", 2)])
    shared += out.shared
    question = out.replies[4]["id"]
    offer = out.replies[7]["offer"]
    out = shop.step(1200, [Vote(9, 2, question), StaffAct(10, HOST, "mod.shadow", {"avatar": 2}),
                           StaffAct(11, HOST, "chat", {"text": "welcome"}), DropSettled(12, 1, offer, f"{offer}-o1", 2)])
    shared += out.shared
    shared += shop.step(1300, [Say(13, 2, "shadowed", "room"), Ask(14, 2, "shadowed?")]).shared
    shared.append(("handover", shop.step(1400, [Handover(15)]).replies[15]["snapshot"]))
    wheel.step(1000, [Join(1, 1, "Ada", {}, Who("s1"))])
    out = wheel.step(2000, [WheelAct(2, HOST, "wheel.open", {"seconds": 5.0, "seed": b"\x07" * 32})])
    shared += out.shared
    shared += wheel.step(2100, [PlaceBet(3, 1, out.replies[2]["round"], "1", 10, "b1")]).shared
    now = out.replies[2]["ends_at"] + 100
    shared += wheel.step(now, [WheelAct(4, HOST, "wheel.spin", {})]).shared
    while not any(k == "board" for k, _ in shared) and now < 200_000:
        now += 500
        shared += wheel.step(now, []).shared
    shared += concert.step(1000, [ConcertAct(1, HOST, "show.start", {})]).shared
    shared += concert.step(1100, [ConcertAct(2, HOST, "concert.cue", {"cue": "drop", "at": 5000})]).shared
    return shared


def test_every_kind_wires_back_to_the_same_payload_and_bytes() -> None:
    shared = everything_shared()
    kinds = {k for k, _ in shared}
    assert kinds == {"chat", "reactions", "qa", "staff", "stage", "offer", "board", "carry", "handover"}
    assert {p["action"] for k, p in shared if k == "stage"} == {"spotlight", "wheel.open", "wheel.spin", "show.start",
                                                              "concert.cue"}
    assert {p["action"] for k, p in shared if k == "staff"} >= {"mod.mute", "mod.shadow", "shadow.post"}
    for kind, payload in shared + [("stock", {"offer": "dn1-1", "stock": 2})]:
        wired = parse(kind, payload).wire()
        assert wired == payload, kind
        assert msgpack.packb(wired) == msgpack.packb(payload), kind


def test_unknown_keys_from_newer_nodes_are_kept() -> None:
    payload = {"id": "m1", "from": {"id": 1, "name": "Ada", "badge": "vip"}, "text": "hi", "scope": "room", "t": 5,
               "lang": "it"}
    assert parse("chat", payload).wire() == payload


BAD = {
    "chat": {"id": "m1", "from": "not a map", "text": 5, "t": 1},
    "reactions": {"counts": {"🔥": "lots"}},
    "offer": {"id": "x", "product": "aria", "price": "free"},
    "stock": {"offer": None, "stock": 1},
    "stage": {"action": "wheel.open", "t": 1, "round": "w1", "params": {"seconds": 5, "seed": "not bytes"}},
    "qa": {"op": "ask", "id": "q1"},
    "staff": {"action": "mod.ban", "params": {"name": "no avatar"}, "by": "Sara", "role": "host"},
    "handover": {"carts": [[1, "no lines", []]]},
    "board": {"from": "n2", "top": [{"id": "one"}]},
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_malformed_item_of_each_kind_is_counted_and_the_tick_runs(kind: str) -> None:
    with pytest.raises(BadReplica) as refused:
        parse(kind, BAD[kind])
    assert refused.value.kind == kind and refused.value.reason
    r = room("wheel")
    r.step(1000, [Join(1, 1, "Ada", {}, Who("s1"))])
    out = r.step(2100, [Replicated(kind, BAD[kind]), Replicated(kind, BAD[kind]), Say(2, 1, "still here", "room")])
    assert out.rejected == {kind: (2, refused.value.reason)}  # both counted, the first reason kept
    assert out.replies[2]["ok"] and [e.payload["text"] for e in out.events if e.name == "chat"] == ["still here"]
    assert out.stats["attendees"] == 1  # the rest of the tick ran (its once-a-second numbers too)


def test_unknown_kinds_and_non_maps_are_counted_too() -> None:
    r = room()
    out = r.step(1000, [Replicated("gossip", {"x": 1}), Replicated("chat", ["not", "a", "map"])])  # type: ignore[arg-type]
    assert out.rejected == {"gossip": (1, "unknown kind"), "chat": (1, "payload is not a map")}


def test_a_stage_item_a_feature_refuses_is_counted() -> None:
    r = room("concert", setlist=SET)
    out = r.step(1000, [Replicated("stage", {"action": "concert.cue", "t": 900, "params": {"cue": "encore", "at": 2000}})])
    assert out.rejected == {"stage": (1, "no cue 'encore' in the set list")}
    assert not [e for e in out.events if e.name == "show"]


def test_parse_cost_per_item_is_a_few_microseconds() -> None:
    chat = {"id": "m1", "from": {"id": 1, "name": "Ada"}, "text": "hello there", "scope": "room", "t": 5}
    reactions = {"counts": {"🔥": 3, "👏": 1}}
    for kind, payload, model in (("chat", chat, ChatItem), ("reactions", reactions, ReactionsItem)):
        n = 5000
        started = time.perf_counter()
        for _ in range(n):
            parse(kind, payload)
        per_item_us = (time.perf_counter() - started) / n * 1e6
        print(f"parse {kind}: {per_item_us:.2f} us per item")
        assert isinstance(parse(kind, payload), model)
        assert per_item_us < 100  # loose: a 2-core CI box under load (measured ~2 us)
