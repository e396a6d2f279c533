"""Audience shards on one node: a large room split into simulations that are one event."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from server.app import GATEWAY
from server.config import Settings
from tests.conftest import TEST_SECRET, AppServer, StaffClient, Visitor, chat_marker, eventually


@pytest.fixture
def settings() -> Settings:
    # the concert is declared large (assets/rooms/concert.json); shards of 3 avatars here
    return Settings(port=0, tick_hz=20.0, room_processes=False, secret=TEST_SECRET, shard_size=3)


async def crowd(server: AppServer, visitors: list[Visitor], n: int) -> list[Visitor]:
    made = []
    for i in range(n):  # one after another: placement follows occupancy
        v = Visitor(f"Fan{i}")
        visitors.append(v)
        await v.connect(server.url)
        await v.join("concert")
        made.append(v)
    return made


def shard_of(server: AppServer, v: Visitor) -> str:
    assert v.welcome is not None
    session = server.app[GATEWAY].sessions.by_avatar(v.welcome["id"])
    assert session is not None and session.runner is not None
    return session.runner.id


async def test_a_large_room_fills_shards_in_turn_and_each_sees_only_its_own_crowd(
    server: AppServer, visitors: list[Visitor]
) -> None:
    fans = await crowd(server, visitors, 7)
    assert [shard_of(server, v) for v in fans] == ["concert"] * 3 + ["concert~2"] * 3 + ["concert~3"]
    shards = server.app[GATEWAY].directory.audience("concert")
    assert shards is not None
    await eventually(lambda: [r.occupancy for r in shards.runners] == [3, 3, 1])
    ids = [v.welcome["id"] for v in fans if v.welcome]

    def seen(v: Visitor) -> set[int]:
        return {e[0] for t in v.ticks for e in t["enter"]}

    await eventually(lambda: seen(fans[0]) == set(ids[1:3]) and seen(fans[3]) == {ids[4], ids[5]})
    assert not seen(fans[6])  # alone in its shard (so far)
    # leaving frees a place: the next visitor fills the fullest shard that has room
    assert (await fans[1].call("leave"))["ok"]
    await eventually(lambda: shards.runners[0].occupancy == 2)
    (late,) = await crowd(server, visitors, 1)
    assert shard_of(server, late) == "concert"
    async with aiohttp.ClientSession() as http, http.get(server.url + "/api/rooms") as r:
        concert = [x for x in (await r.json())["rooms"] if x["id"] == "concert"][0]
    assert concert["occupancy"] == 7 and concert["shards"] == 3
    # joining again keeps a visitor where it is
    assert (await fans[4].call("join", {"room": "concert"}))["ok"] and shard_of(server, fans[4]) == "concert~2"
    # friends together: joining with a friend's avatar id lands in the friend's shard (it has
    # room), not in the fullest one
    friend = Visitor("Friend")
    visitors.append(friend)
    await friend.connect(server.url)
    assert (await friend.call("join", {"room": "concert", "with": ids[6]}))["ok"]
    assert shard_of(server, friend) == "concert~3"
    await eventually(lambda: ids[6] in {e[0] for t in friend.ticks for e in t["enter"]})
    bad = await friend.call("join", {"room": "concert", "with": "Ada"})
    assert bad["error"]["code"] == "bad_request"


async def test_shards_are_one_event_chat_reactions_stage_drops_and_moderation(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    host = StaffClient("host", ["concert"])
    staff.append(host)
    await host.connect(server.url)
    started = await host.call("show.start", {"room": "concert", "kind": "concert"})
    assert started["ok"], started
    fans = await crowd(server, visitors, 7)  # shards 1 and 2 start after the show did
    t0 = started["t0"]
    shows = await asyncio.gather(*(v.call("join", {"room": "concert"}) for v in fans))
    assert {s["show"]["t0"] for s in shows} == {t0}  # late shards replayed the stage

    assert (await fans[6].call("chat", {"text": "hello from shard three"}))["ok"]
    await eventually(lambda: all(any(m["text"] == "hello from shard three" for m in v.events.get("chat", [])) for v in fans))
    for v in fans[:4]:
        await v.sio.emit("react", {"emoji": "🔥"})

    def fire(v: Visitor) -> int:
        return sum(m["counts"].get("🔥", 0) for m in v.events.get("reactions", []))

    await eventually(lambda: all(fire(v) == 4 for v in fans))

    # a drop of 2, claimed by all seven at once across the three shards: exactly 2 orders
    offer = await host.call("offer.start", {"room": "concert", "product": "tour-tee", "price": 30, "stock": 2, "seconds": 60})
    assert offer["ok"], offer  # tour merch (assets/catalogs/concert.json)
    await eventually(lambda: all(v.events.get("offer") for v in fans))
    acks = await asyncio.gather(*(v.call("offer.claim", {"offer": offer["offer"]}) for v in fans))
    assert sum(1 for x in acks if x["ok"]) == 2
    assert {x["error"]["code"] for x in acks if not x["ok"]} == {"sold_out"}

    # the console's numbers count every shard; its chat feed has every shard's messages once
    assert (await host.call("stats.watch", {"room": "concert"}))["ok"]
    stats = await eventually(lambda: [x for x in host.got("stats") if x.get("shards") == 3], timeout=5)
    assert stats[-1]["attendees"] == 7
    assert (await host.call("host.watch", {"room": "concert"}))["ok"]
    assert (await fans[2].call("chat", {"text": "from the first shard"}))["ok"]
    assert (await fans[5].call("chat", {"text": "from the second shard"}))["ok"]
    await eventually(lambda: {"from the first shard", "from the second shard"} <= {m["text"] for m in host.got("chat")})
    # every shard has both (a visitor of each got them); a later message from each shard then
    # follows, in the console's feed, whatever that shard sent about them
    for v in (fans[0], fans[3], fans[6]):
        await eventually(lambda v=v: {"from the first shard", "from the second shard"} <= {m["text"] for m in v.events.get("chat", [])})
    for i in (0, 3, 6):
        await chat_marker(fans[i], host, text=f"marker {i}")
    texts = [m["text"] for m in host.got("chat")]
    assert texts.count("from the first shard") == 1 and texts.count("from the second shard") == 1

    # a visitor of the second shard asks for a person; the operator's reply finds its ticket
    asked = await fans[4].call("assist", {"text": "can I talk to a person please"})
    assert asked["ok"] and asked["handoff"], asked
    tickets = await eventually(lambda: [t for t in host.got("ticket") if t.get("ticket") == asked["ticket"]], timeout=5)
    assert tickets
    replied = await host.call("assist.reply", {"ticket": asked["ticket"], "text": "Hi, Sara here."})
    assert replied["ok"], replied
    await eventually(lambda: any(m.get("text") == "Hi, Sara here." for m in fans[4].events.get("assist", [])))

    # the moderator bans the chatter of shard three from the primary's feed
    assert fans[6].welcome is not None
    assert (await host.call("mod.ban", {"room": "concert", "avatar": fans[6].welcome["id"]}))["ok"]
    await eventually(lambda: any(m.get("action") == "banned" for m in fans[6].events.get("moderation", [])))
    assert (await fans[6].call("join", {"room": "concert"}))["error"]["code"] == "banned"
