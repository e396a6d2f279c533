"""The compacted replay: a long event keeps its show, drops and moderation, and a room that
replays it stands where the event stood."""

from __future__ import annotations

import random
from typing import Any, Literal

from world.commerce.catalog import Catalog, Product, Variant
from world.commerce.shop import CartAdd, CartGet, CommerceAct, DropSettled
from world.replication.shared import Replicated
from world.replication.replay import CHAT, Replay
from world.core.room import Input, Join, Room
from world.feature import Who
from world.core.scene import RoomConfig, Scene
from world.shows.concert import Cue, Setlist
from world.social.layer import Staff, StaffAct

HOST = Staff("Sara", "host")
MIN = 60_000


def kinds(replay: Replay, now: int = 0) -> list[tuple[str, str]]:
    return [(k, str(p.get("action") or p.get("id") or p.get("offer") or p.get("op"))) for k, p in replay.items(now)]


def test_a_long_chat_never_pushes_the_show_or_a_drop_out() -> None:
    r = Replay()
    r.add("stage", {"action": "show.start", "t": 1000}, 1000)
    r.add("offer", {"id": "d1", "stock": 5, "initial": 5}, 1100)
    for i in range(3000):
        r.add("chat", {"id": f"m{i}", "text": "hi"}, 2000 + i)
        r.add("reactions", {"counts": {"🔥": 1}}, 2000 + i)  # counts of a moment: not kept
    items = r.items(9000)
    assert items[:2] == [("stage", {"action": "show.start", "t": 1000}), ("offer", {"id": "d1", "stock": 5, "initial": 5})]
    chat = [p["id"] for k, p in items if k == "chat"]
    assert chat == [f"m{i}" for i in range(3000 - CHAT, 3000)]
    assert len(r) == 2 + CHAT


def test_latest_state_per_key_in_the_order_of_the_latest_updates() -> None:
    r = Replay()
    r.add("offer", {"id": "d1", "stock": 5}, 0)
    r.add("offer", {"id": "d1", "stock": 5}, 0)  # the same drop again (history overlapping live)
    r.add("stock", {"offer": "d1", "stock": 3}, 0)
    r.add("stock", {"offer": "d1", "stock": 4}, 0)  # late: stock only goes down
    r.add("stage", {"action": "spotlight", "t": 1, "params": {"product": "a"}}, 1)
    r.add("stage", {"action": "spotlight", "t": 2, "params": {"product": "b"}}, 2)
    r.add("stage", {"action": "wheel.open", "t": 3, "round": "w1", "params": {"seconds": 30, "seed": b"x"}}, 3)
    r.add("stage", {"action": "wheel.spin", "t": 4, "round": "w1"}, 4)
    r.add("stage", {"action": "wheel.open", "t": 5, "round": "w2", "params": {"seconds": 30, "seed": b"y"}}, 5)
    r.add("qa", {"op": "ask", "id": "q1", "text": "?", "from": {"id": 1, "name": "A"}, "t": 1}, 6)
    r.add("qa", {"op": "vote", "id": "q1", "avatar": 2}, 6)
    r.add("qa", {"op": "vote", "id": "q1", "avatar": 2}, 6)  # one vote per avatar
    r.add("qa", {"op": "vote", "id": "gone", "avatar": 2}, 6)  # on a question not kept
    r.add("board", {"from": "s1", "top": []}, 7)
    r.add("board", {"from": "s1", "top": [{"id": 1, "name": "A", "balance": 5}]}, 8)
    r.add("handover", {"carts": []}, 9)  # per visitor: not kept here
    r.add("stock", {"offer": None}, 9)  # malformed: not kept
    items = r.items(10)
    assert [(k, p.get("stock")) for k, p in items if k in ("offer", "stock")] == [("offer", 5), ("stock", 3)]
    stage = [p for k, p in items if k == "stage"]
    assert [(p["action"], p["t"]) for p in stage] == [("spotlight", 2), ("wheel.open", 5)]  # w1's spin is over
    assert stage[1]["params"]["seed"] == b"y"  # the seed: a replayed round draws the same result
    assert [p["op"] for k, p in items if k == "qa"] == ["ask", "vote"]
    assert [p["top"] for k, p in items if k == "board"] == [[{"id": 1, "name": "A", "balance": 5}]]


def test_a_stock_learned_before_its_drop_replays_after_it() -> None:
    """A late node hears a live `stock` item before it reads the drop from Redis: replayed in
    that order, the room would drop the stock (no such drop yet) and show the full initial stock."""
    r = Replay()
    r.add("stock", {"offer": "d1", "stock": 5}, 0)  # live, while the node still reads Redis
    r.add("offer", {"id": "d1", "initial": 20, "stock": 20}, 1)  # then the drop, from Redis
    r.add("stock", {"offer": "d1", "stock": 12}, 1)  # and an older stock item (stock only goes down)
    assert [(k, p["stock"]) for k, p in r.items(2)] == [("offer", 20), ("stock", 5)]


def test_a_concert_keeps_its_start_and_the_cues_after_it() -> None:
    r = Replay()
    r.add("stage", {"action": "show.start", "t": 1000}, 1000)
    r.add("stage", {"action": "concert.cue", "t": 2000, "params": {"cue": "a", "at": 2500}}, 2000)
    r.add("stage", {"action": "show.start", "t": 5000}, 5000)  # started again: the old cues are over
    r.add("stage", {"action": "concert.cue", "t": 6000, "params": {"cue": "b", "at": 6500}}, 6000)
    r.add("stage", {"action": "concert.cue", "t": 7000, "params": {"cue": "a", "at": 7500}}, 7000)
    assert [(p["action"], p["t"]) for _, p in r.items(8000)] == [("show.start", 5000), ("concert.cue", 6000),
                                                                 ("concert.cue", 7000)]


def test_moderation_latest_per_target_and_mutes_for_the_minutes_left() -> None:
    r = Replay()

    def staff(action: str, now: int, **params: object) -> None:
        r.add("staff", {"action": action, "params": params, "by": "Sara", "role": "host"}, now)

    staff("mod.mute", 0, avatar=1, minutes=10)
    staff("mod.shadow", 0, avatar=2)  # 60 minutes unless said
    staff("mod.ban", 0, avatar=3)
    staff("mod.unban", MIN, avatar=3)  # the latest for avatar 3: nothing to hold against it
    staff("mod.kick", MIN, avatar=4)  # over once done
    staff("mod.slow", MIN, seconds=5)
    staff("mod.slow", MIN, seconds=0)
    r.add("chat", {"id": "m1", "text": "spam"}, MIN)
    staff("chat.delete", MIN, id="m1")  # a deleted message is not replayed
    items = r.items(4 * MIN)
    got = [(p["action"], p["params"]) for k, p in items]
    assert got == [
        ("mod.mute", {"avatar": 1, "minutes": 6.0}),
        ("mod.shadow", {"avatar": 2, "minutes": 56.0}),
        ("mod.unban", {"avatar": 3}),
        ("mod.slow", {"seconds": 0}),
        ("chat.delete", {"id": "m1"}),
    ]
    assert [p["action"] for _, p in r.items(11 * MIN)][0] == "mod.shadow"  # the mute ran out meanwhile


def room(kind: Literal["showroom", "concert"] = "showroom") -> Room:
    scene = Scene(bounds=((-50, 0, -50), (50, 5, 50)), spawn=[(0, 0, 0)])
    catalog = Catalog(products=[Product(id="aria", name="Aria Sneaker", price=149, description="Sneaker",
                                        variants=[Variant(id="white-42", stock=5)])])
    setlist = Setlist(id="set", title="Set", cues=[Cue(id="a", name="A", duration_s=60), Cue(id="b", name="B", duration_s=60)])
    cfg = RoomConfig(id="r", kind=kind, name="R", scene=scene, catalog=catalog,
                     setlist=setlist if kind == "concert" else None)
    return Room(cfg, rng=random.Random(3))


def test_a_room_restored_from_the_replay_and_carries_stands_where_the_old_one_stood() -> None:
    old, kept = room("concert"), Replay()
    carried: dict[int, dict[str, Any]] = {}

    def step(now: int, inbox: list[Input]) -> dict[int, dict[str, Any]]:
        out = old.step(now, inbox)
        for kind, payload in out.shared:
            if kind == "carry":
                carried[payload["avatar"]] = payload
            else:
                kept.add(kind, payload, now)
        return out.replies

    from world.shows.concert_show import ConcertAct

    step(1000, [Join(1, 1, "Ada", {}, Who("s1")), ConcertAct(2, HOST, "show.start", {})])
    offer: str = step(1100, [CommerceAct(3, HOST, "offer.start", {"product": "aria", "price": 99, "stock": 3, "seconds": 60})])[3]["offer"]
    step(1200, [CartAdd(4, 1, "aria", "white-42", 2), DropSettled(5, 1, offer, f"{offer}-o1", 2)])
    kept.add("stock", {"offer": offer, "stock": 2}, 1200)  # what the ledger spread
    cart = step(1300, [CartGet(6, 1)])[6]
    show = old.concert.concert.state(1300) if old.concert else None

    new = room("concert")
    restore: list[Input] = [Replicated(k, p, history=True) for k, p in kept.items(5000)]
    restore += [Replicated("handover", c, history=True) for c in carried.values()]
    restore.append(DropSettled(0, 1, offer, f"{offer}-o1", 2))  # the ledger's orders, settled again
    new.step(5000, restore)
    replies = new.step(5100, [Join(7, 1, "Ada", {}, Who("s1")), CartGet(8, 1), DropSettled(9, 1, offer, f"{offer}-o1", 2)]).replies
    assert cart["cart"]["items"][0]["qty"] == 2 and len(cart["cart"]["orders"]) == 1
    assert replies[8] == cart  # settled twice: still one order
    assert replies[9] == {"ok": True, "order": f"{offer}-o1"}
    assert show is not None and show["phase"] != "idle" and replies[7]["show"]["t0"] == show["t0"]
    assert [o["stock"] for o in replies[7]["offers"]] == [2]
