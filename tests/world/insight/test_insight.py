"""Insight in a room, driven synchronously: zone and product triggers send their notice to the one
visitor they fired for (with the product's running drop), staff get the room's numbers once a
second and the report counts the chat and reactions visitors saw."""

from __future__ import annotations

import random
from typing import Any

from world.commerce.catalog import Catalog, Product
from world.commerce.shop import CommerceAct, ProductView
from world.core.room import AnalyticsAsk, Join, Room
from world.core.scene import RoomConfig, Scene, Zone
from world.insight.triggers import Notice, Rule
from world.social.layer import React, Say, Staff

HOST = Staff("Sara", "host")
RULES = [
    Rule(id="hello", on="enter_zone", zone="hall", cooldown_s=600, notice=Notice(text="Welcome!")),
    Rule(id="aria-seen", on="view_product", product="aria", cooldown_s=600,
         notice=Notice(text="The Aria is on a drop", product="aria", offer=True)),
]


def room() -> Room:
    scene = Scene(bounds=((-50, 0, -50), (50, 5, 50)), spawn=[(0, 0, 0)],
                  zones=[Zone(id="hall", name="Hall", min=(-10, 0, -10), max=(10, 3, 10))])
    catalog = Catalog(products=[Product(id="aria", name="Aria", price=149), Product(id="luna", name="Luna", price=89)])
    cfg = RoomConfig(id="r", kind="showroom", name="R", scene=scene, catalog=catalog, triggers=RULES)
    return Room(cfg, rng=random.Random(5))


def notices(out: Any) -> list[tuple[Any, dict[str, Any]]]:
    return [(e.to, e.payload) for e in out.events if e.name == "notice"]


def test_entering_a_zone_sends_its_notice_to_that_visitor_once() -> None:
    r = room()
    out = r.step(1000, [Join(1, 1, "Ada", {})])  # the first tick samples: Ada is in the hall
    assert notices(out) == [((1,), {"text": "Welcome!", "rule": "hello"})]
    out = r.step(2000, [Join(2, 2, "Bo", {})])
    assert notices(out) == [((2,), {"text": "Welcome!", "rule": "hello"})]  # not again for Ada (cooldown)
    assert notices(r.step(3000, [])) == []


def test_viewing_a_product_fires_its_notice_with_the_running_drop() -> None:
    r = room()
    r.step(1000, [Join(1, 1, "Ada", {}), Join(2, 2, "Bo", {})])
    out = r.step(1100, [ProductView(1, 1, "luna"), ProductView(2, 2, "aria")])
    assert out.replies[1]["ok"] and notices(out) == [((2,), {"text": "The Aria is on a drop", "rule": "aria-seen",
                                                            "product": "aria"})]  # no drop yet
    started = r.step(1200, [CommerceAct(3, HOST, "offer.start", {"product": "aria", "price": 99.0, "stock": 5,
                                                                   "seconds": 60})])
    out = r.step(1300, [ProductView(4, 1, "aria")])
    ((to, body),) = notices(out)
    assert to == (1,) and body["offer"]["id"] == started.replies[3]["offer"] and body["offer"]["stock"] == 5


def test_staff_numbers_and_the_report_count_what_visitors_did() -> None:
    r = room()
    r.step(1000, [Join(1, 1, "Ada", {}), Join(2, 2, "Bo", {})])
    r.step(1100, [Say(1, 1, "hello", "room"), Say(2, 2, "hi", "room"), React(1, "🔥"), React(2, "🔥"),
                  ProductView(3, 1, "aria")])
    stats = r.step(2000, []).stats
    out = r.step(2100, [AnalyticsAsk(4)])  # (after the 2000 sample: inputs come before the tick's sample)
    assert stats["room"] == "r" and stats["attendees"] == 2 and stats["visitors"] == 2
    assert stats["chat_per_min"] == 2 and stats["funnel"]["viewed"] == 1
    assert stats["top_products"][0] == {"product": "aria", "near": 0, "viewed": 1, "tried": 0, "cart": 0, "claimed": 0}
    report = out.replies[4]["report"]
    assert report["per_minute"] == [{"minute": 0, "chat": 2, "reactions": 2}]
    assert report["zones"] == [{"zone": "hall", "seconds": 2.0}]  # two visitors, one second each
    tally = r.step(2200, [AnalyticsAsk(5, tally=True)]).replies[5]["tally"]
    assert tally["visitors"] == [1, 2]
