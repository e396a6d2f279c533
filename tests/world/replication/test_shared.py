"""Two shards of one room (as two nodes run them): what one shares, the other applies."""

from __future__ import annotations

import random
from typing import Any

from world.commerce.catalog import Catalog, Product
from world.commerce.shop import CommerceAct, DropSettled
from world.replication.shared import Replicated
from world.core.room import Join, Room
from world.feature import Who
from world.core.scene import RoomConfig, Scene
from world.social.layer import React, Say, Staff, StaffAct

HOST = Staff("Sara", "host")


def shard(tag: str) -> Room:
    scene = Scene(bounds=((-50, 0, -50), (50, 5, 50)), spawn=[(0, 0, 0)])
    catalog = Catalog(products=[Product(id="aria", name="Aria Sneaker", price=149, description="Sneaker")])
    cfg = RoomConfig(id="r", kind="showroom", name="R", scene=scene, catalog=catalog, tag=tag)
    return Room(cfg, rng=random.Random(3))


def mirrored(out: Any, kind: str) -> list[Replicated]:
    return [Replicated(k, p) for k, p in out.shared if k == kind]


def events(out: Any, name: str) -> list[Any]:
    return [e for e in out.events if e.name == name]


def test_room_chat_crosses_shards_and_joins_history_near_and_shadow_chat_do_not() -> None:
    a, b = shard("n1"), shard("n2")
    a.step(1000, [Join(1, 1, "Ada", {}, Who("s1")), Join(2, 2, "Bo", {}, Who("s2"))])
    b.step(1000, [Join(1, 1_000_001, "Cy", {}, Who("s3"))])
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
    joined = b.step(1400, [Join(4, 1_000_002, "Di", {}, Who("s4"))]).replies[4]
    assert [m["text"] for m in joined["chat"]] == ["ciao a tutti"]

    # a shard that starts later gets the history quietly: kept for joiners, not announced
    c = shard("n3")
    out_c = c.step(1500, [Replicated("chat", shared[0].payload, history=True), Join(5, 2_000_001, "Ed", {}, Who("s5"))])
    assert not events(out_c, "chat")
    assert [m["text"] for m in out_c.replies[5]["chat"]] == ["ciao a tutti"]


def test_reaction_counts_from_other_shards_join_each_tick_message() -> None:
    a, b = shard("n1"), shard("n2")
    a.step(1000, [Join(1, 1, "Ada", {}, Who("s1"))])
    b.step(1000, [Join(1, 7, "Cy", {}, Who("s3"))])
    out = a.step(1100, [React(1, "🔥"), React(1, "🔥"), React(1, "❤️")])
    shared = mirrored(out, "reactions")
    assert shared[0].payload == {"counts": {"🔥": 2, "❤️": 1}}
    burst = events(b.step(1200, [*shared, React(7, "🔥")]), "reactions")[0].payload
    assert burst["counts"] == {"🔥": 3, "❤️": 1}
    assert burst["near"] == [[7, "🔥"]]  # only local avatars are sampled (the others are not in view here)
    assert not mirrored(b.step(1300, []), "reactions")  # the remote counts are not echoed back
    # a forged count is ignored
    assert not events(b.step(1400, [Replicated("reactions", {"counts": {"🔥": -5, "x": "many"}})]), "reactions")


def test_a_drop_started_on_one_shard_is_claimed_on_another_with_the_clusters_decision() -> None:
    a, b = shard("n1"), shard("n2")
    a.step(1000, [Join(1, 1, "Ada", {}, Who("s1"))])
    b.step(1000, [Join(1, 7, "Cy", {}, Who("s3"))])
    params = {"room": "r", "product": "aria", "price": 99, "stock": 2, "seconds": 60}
    out = a.step(1100, [CommerceAct(1, HOST, "offer.start", params)])
    offer_id = out.replies[1]["offer"]
    (m,) = mirrored(out, "offer")
    assert m.payload["id"] == offer_id and m.payload["initial"] == 2 and offer_id.startswith("dn1")

    out_b = b.step(1200, [m])
    assert events(out_b, "offer")[0].payload["stock"] == 2
    settled = b.step(1300, [DropSettled(5, 7, offer_id, f"{offer_id}-o1", 1)])
    assert settled.replies[5] == {"ok": True, "order": f"{offer_id}-o1"}
    assert events(settled, "offer")[0].payload["stock"] == 1
    again = b.step(1350, [DropSettled(6, 7, offer_id, "other", 0)])
    assert again.replies[6]["order"] == f"{offer_id}-o1"  # one order per visitor

    # the other shard hears the stock; a late, higher number changes nothing
    out_a = a.step(1400, [Replicated("stock", {"offer": offer_id, "stock": 0})])
    assert events(out_a, "offer")[0].payload["stock"] == 0
    assert not events(a.step(1500, [Replicated("stock", {"offer": offer_id, "stock": 1})]), "offer")
    # an offer for a product this room does not sell is ignored
    assert not events(b.step(1600, [Replicated("offer", {**m.payload, "id": "x", "product": "nope"})]), "offer")


def demo_shards(room_id: str) -> tuple[Room, Room]:
    from tests.conftest import ROOT
    from server.assets import load_rooms

    cfg = next(c for c in load_rooms(ROOT / "assets" / "rooms") if c.id == room_id)
    return (Room(cfg.model_copy(update={"tag": "n1"}), rng=random.Random(1)),
            Room(cfg.model_copy(update={"tag": "n2"}), rng=random.Random(2)))


def test_a_wheel_round_opened_on_one_shard_draws_the_same_result_on_every_shard() -> None:
    from world.shows.wheel_show import PlaceBet, WheelAct

    a, b = demo_shards("studio")
    a.step(1000, [Join(1, 1, "Ada", {}, Who("s1"))])
    b.step(1000, [Join(1, 7, "Cy", {}, Who("s3"))])
    out = a.step(2000, [WheelAct(1, HOST, "wheel.open", {"seconds": 5, "seed": b"\x07" * 32})])
    opened = out.replies[1]
    (stage,) = mirrored(out, "stage")
    out_b = b.step(2050, [stage])
    shown = events(out_b, "show")[-1].payload
    assert shown["round"] == opened["round"] and shown["commit"] == opened["commit"]
    assert shown["ends_at"] == opened["ends_at"]  # the same window, in server time
    bet = b.step(2100, [PlaceBet(2, 7, opened["round"], "1", 10, "bet-1")]).replies[2]
    assert bet["ok"]  # bets on the other shard go into the same round

    # both spin when the window closes, land on the same segment, each pays its own visitors
    def landed(room: Room) -> dict[str, Any]:
        now = opened["ends_at"]
        for _ in range(400):
            now += 100
            out = room.step(now, [])
            for e in events(out, "show"):
                if e.payload.get("phase") == "result":
                    return {"result": e.payload["result"], "seed": e.payload["seed"], "payouts": events(out, "payout")}
        raise AssertionError("no result")

    ra, rb = landed(a), landed(b)
    assert ra["result"] == rb["result"] and ra["seed"] == rb["seed"]
    assert [p.to for p in rb["payouts"]] in ([(7,)], [])  # Cy's bet is settled where Cy is
    assert ra["payouts"] == []


def test_the_concert_timeline_and_the_spotlight_are_the_same_on_every_shard() -> None:
    from world.shows.concert_show import ConcertAct

    a, b = demo_shards("concert")
    out = a.step(5000, [ConcertAct(1, HOST, "show.start", {})])
    out_b = b.step(5040, mirrored(out, "stage"))
    sa, sb = a.concert.concert.state(6000), b.concert.concert.state(6000)  # type: ignore[union-attr]
    assert sa["t0"] == sb["t0"] and sa["cues"] == sb["cues"]
    assert events(out_b, "show")
    cue = sa["setlist"][2]["id"]
    out = a.step(7000, [ConcertAct(2, HOST, "concert.cue", {"cue": cue, "at": 9000})])
    b.step(7030, mirrored(out, "stage"))
    assert a.concert.concert.state(9500)["cue"] == b.concert.concert.state(9500)["cue"] == cue  # type: ignore[union-attr]

    s1, s2 = demo_shards("showroom")
    product = s1.config.catalog.products[0].id
    out = s1.step(1000, [CommerceAct(3, HOST, "spotlight", {"room": "showroom", "product": product})])
    got = events(s2.step(1100, mirrored(out, "stage")), "spotlight")
    assert got[0].payload["product"]["id"] == product and got[0].payload["t"] == 1000


def test_malformed_items_from_other_nodes_change_nothing_and_never_break_the_tick() -> None:
    a, _ = shard("n1"), None
    a.step(1000, [Join(1, 1, "Ada", {}, Who("s1"))])
    junk = [
        Replicated("chat", {"text": "no id"}),
        Replicated("chat", {"id": "m1", "from": "not a map", "text": 5}),
        Replicated("offer", {"id": "x", "product": "aria", "price": "free"}),
        Replicated("stock", {"offer": None, "stock": "lots"}),
        Replicated("stage", {"action": "wheel.open"}),
        Replicated("stage", {"action": "spotlight", "params": "aria"}),
        Replicated("reactions", {"counts": ["🔥"]}),
    ]
    out = a.step(1100, [*junk, Say(1, 1, "still fine", "room")])
    assert out.replies[1]["ok"]
    assert [e.payload["text"] for e in events(out, "chat")] == ["still fine"]
    assert not events(out, "offer") and not events(out, "spotlight")


def test_a_ban_on_one_node_holds_on_every_node_and_the_qa_board_is_one() -> None:
    from world.social.layer import Ask, Vote

    a, b = shard("n1"), shard("n2")
    a.step(1000, [Join(1, 1, "Ada", {}, Who("s1"))])
    b.step(1000, [Join(1, 7, "Troll", {}, Who("s7")), Join(2, 8, "Bo", {}, Who("s8"))])
    # Ada's node knows the troll only from the chat that crossed over
    said = b.step(1100, [Say(3, 7, "spam spam", "room")])
    a.step(1200, mirrored(said, "chat"))
    out = a.step(1300, [StaffAct(4, HOST, "mod.ban", {"avatar": 7})])
    assert out.replies[4]["ok"]
    (ban,) = mirrored(out, "staff")
    assert ban.payload["params"] == {"avatar": 7, "name": "Troll"}
    out_b = b.step(1400, [ban])
    assert 7 not in b.avatars and 7 in out_b.left  # removed where it actually was
    assert [e.to for e in events(out_b, "moderation")] == [(7,)]
    assert b.step(1500, [Join(5, 7, "Troll", {}, Who("s7"))]).replies[5]["error"]["code"] == "banned"
    log = [e for e in b.members.modlog() if e.get("action") == "mod.ban"]  # the log holds it too
    assert log and log[0]["remote"] is True and log[0]["by"] == "Sara"
    assert not mirrored(out_b, "staff")  # applied, not echoed back

    # Q&A: a question asked on one node, voted on both, answered from the other
    asked = b.step(1600, [Ask(6, 8, "Is the jacket waterproof?")])
    qid = asked.replies[6]["id"]
    a.step(1700, mirrored(asked, "qa"))
    voted_a = a.step(1800, [Vote(7, 1, qid)])
    assert voted_a.replies[7] == {"ok": True, "votes": 1}
    voted_b = b.step(1800, [*mirrored(voted_a, "qa"), Vote(8, 8, qid)])
    assert voted_b.replies[8]["votes"] == 2
    a.step(1900, mirrored(voted_b, "qa"))
    assert a.social.qa.top()[0]["votes"] == b.social.qa.top()[0]["votes"] == 2
    answered = a.step(2000, [StaffAct(9, HOST, "qa.answer", {"id": qid, "text": "Yes, fully."})])
    b.step(2100, mirrored(answered, "staff"))
    assert b.social.qa.top()[0]["answer"] == "Yes, fully."


def test_the_leaderboard_is_the_top_of_every_shard_and_a_visitors_state_is_carried() -> None:
    from world.shows.wheel_show import PlaceBet, WheelAct

    a, b = demo_shards("studio")
    a.step(1000, [Join(1, 1, "Ada", {}, Who("s1"))])
    b.step(1000, [Join(1, 7, "Cy", {}, Who("s3"))])
    out = a.step(2000, [WheelAct(1, HOST, "wheel.open", {"seconds": 5, "seed": b"\x07" * 32})])
    opened = out.replies[1]
    b.step(2050, mirrored(out, "stage"))
    every = ["1", "2", "5", "10", "20", "40"]
    out_a = a.step(2100, [PlaceBet(2 + i, 1, opened["round"], s, 10, f"a{i}") for i, s in enumerate(every)])
    carried = [p for k, p in out_a.shared if k == "carry"]
    assert carried == [{"avatar": 1, "carts": [[1, [], []]], "wheel": {"balances": [[1, 940, "Ada"]], "round": opened["round"],
                        "bets": [[1, f"a{i}", s, 10] for i, s in enumerate(every)]}}]
    assert b.step(2150, [PlaceBet(2, 7, opened["round"], "1", 100, "c")]).replies[2]["ok"]

    def settle(room: Room) -> Any:
        now = opened["ends_at"]
        for _ in range(400):
            now += 100
            out = room.step(now, [])
            if events(out, "payout"):
                return out
        raise AssertionError("no payout")

    out_a, out_b = settle(a), settle(b)
    (board_a,) = mirrored(out_a, "board")
    assert [e["id"] for e in board_a.payload["top"]] == [1] and board_a.payload["from"] == "n1"
    assert [k for k, _ in out_a.shared].count("carry") == 1  # Ada's payout is carried too
    out_b = b.step(out_b.t + 100, [board_a] + mirrored(out_b, "board"))
    top = events(out_b, "leaderboard")[-1].payload["top"]
    assert {e["id"] for e in top} == {1, 7}  # Ada from the other shard, Cy from this one
    assert top == sorted(top, key=lambda e: -e["balance"])

    # Ada resumes on the other shard: her carried state comes with her
    carry = [p for k, p in out_a.shared if k == "carry"][0]
    joined = b.step(out_b.t + 200, [Replicated("handover", carry), Join(9, 1, "Ada", {}, Who("s1"))]).replies[9]
    assert joined["balance"] == carry["wheel"]["balances"][0][1] > 940
