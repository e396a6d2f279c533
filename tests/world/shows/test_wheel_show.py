"""The wheel show in a room, driven synchronously: a round opened by staff takes bets, spins when
betting closes and pays each bettor what the committed seed says; a room without a wheel says so."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from world.core.room import Handover, Join, Replicated, Room
from world.core.scene import RoomConfig, Scene
from world.shows.wheel import SEGMENTS, STARTING_BALANCE, spin_index
from world.shows.wheel_show import PlaceBet, WheelAct
from world.social.layer import Staff

HOST = Staff("Sara", "host")
SEED = b"\x05" * 32


def room(kind: str = "wheel", shard: str = "n1") -> Room:
    scene = Scene(bounds=((-50, 0, -50), (50, 5, 50)), spawn=[(0, 0, 0)])
    return Room(RoomConfig(id="w", kind=kind, name="W", scene=scene, tag=shard), rng=random.Random(6))  # type: ignore[arg-type]


def events(out: Any, name: str) -> list[Any]:
    return [e for e in out.events if e.name == name]


def run_until_result(r: Room, now: int) -> tuple[int, dict[str, Any], list[Any]]:
    """Ticks until the round's result: (now, the result's show state, the payouts sent)."""
    payouts: list[Any] = []
    for _ in range(300):
        now += 200
        out = r.step(now, [])
        payouts += events(out, "payout")
        for e in events(out, "show"):
            if e.payload["phase"] == "result":
                return now, e.payload, payouts
    raise AssertionError("the round never ended")


def test_a_round_takes_bets_spins_and_pays_what_the_committed_seed_says() -> None:
    r = room()
    ack = r.step(1000, [Join(1, 1, "Ada", {}), Join(2, 2, "Bo", {})]).replies[1]
    assert ack["show"]["phase"] == "idle" and ack["balance"] == STARTING_BALANCE
    out = r.step(2000, [WheelAct(3, HOST, "wheel.open", {"seconds": 5.0, "seed": SEED})])
    opened = out.replies[3]
    assert opened["commit"] == hashlib.sha256(SEED).hexdigest()
    assert events(out, "show")[0].payload["phase"] == "betting"
    assert [e["action"] for n, e in out.staff if n == "modlog"] == ["wheel.open"]
    out = r.step(2100, [PlaceBet(4, 1, opened["round"], "1", 100, "b1"), PlaceBet(5, 2, opened["round"], "40", 10, "b2"),
                        PlaceBet(6, 1, opened["round"], "1", 100, "b1")])  # the same bet id again: charged once
    assert out.replies[4] == out.replies[6] == {"ok": True, "balance": STARTING_BALANCE - 100}
    assert sorted(p["avatar"] for k, p in out.shared if k == "carry") == [1, 2]  # balances kept for a resume
    late = r.step(opened["ends_at"] + 10, [PlaceBet(7, 2, opened["round"], "2", 5, "b3")]).replies[7]
    assert late["ok"] is False and late["error"]["code"] == "closed"
    _, result, payouts = run_until_result(r, opened["ends_at"] + 10)
    assert bytes.fromhex(result["seed"]) == SEED
    assert result["result"] == SEGMENTS[spin_index(SEED, opened["round"], 0)] == "1"  # the seed's draw
    paid = {e.to: e.payload for e in payouts}  # every bettor hears of its round, only its own
    assert paid == {(1,): {"round": opened["round"], "won": 200, "balance": STARTING_BALANCE + 100},
                    (2,): {"round": opened["round"], "won": 0, "balance": STARTING_BALANCE - 10}}


def test_a_bet_outside_a_round_or_in_a_room_without_a_wheel_is_refused() -> None:
    r = room()
    r.step(1000, [Join(1, 1, "Ada", {})])
    out = r.step(1100, [PlaceBet(2, 1, "w0", "1", 10, "b1"), PlaceBet(3, 9, "w0", "1", 10, "b2")])
    assert out.replies[2]["error"]["code"] == "not_found" and out.replies[3]["error"]["code"] == "not_joined"
    spin = r.step(1200, [WheelAct(4, HOST, "wheel.spin", {})]).replies[4]
    assert spin["error"]["code"] == "conflict"
    plain = room("showroom")
    plain.step(1000, [Join(1, 1, "Ada", {})])
    out = plain.step(1100, [PlaceBet(2, 1, "w0", "1", 10, "b1")])
    assert out.replies[2] == {"ok": False, "error": {"code": "not_found", "message": "room 'w' has no wheel"}}


def test_another_shards_round_is_drawn_the_same_here_and_an_out_of_step_one_is_counted() -> None:
    a, b = room(shard="n1"), room(shard="n2")
    a.step(1000, [Join(1, 1, "Ada", {})])
    b.step(1000, [Join(1, 7, "Cy", {})])
    out = a.step(2000, [WheelAct(2, HOST, "wheel.open", {"seconds": 5.0, "seed": SEED})])
    stage = [Replicated(k, p) for k, p in out.shared if k == "stage"]
    assert b.step(2050, stage).rejected == {}
    again = b.step(2060, stage)  # the same round again: this shard's round is still running
    assert again.rejected["stage"][0] == 1 and "a round is still running" in again.rejected["stage"][1]
    bet = b.step(2100, [PlaceBet(3, 7, out.replies[2]["round"], "2", 10, "b1")]).replies[3]
    assert bet["ok"]
    _, ra, _ = run_until_result(a, 7000)
    _, rb, _ = run_until_result(b, 7000)
    assert ra["result"] == rb["result"]


def test_a_drained_nodes_balances_and_open_bets_are_settled_where_the_visitor_resumes() -> None:
    a, b = room(shard="n1"), room(shard="n2")
    a.step(1000, [Join(1, 1, "Ada", {})])
    out = a.step(2000, [WheelAct(2, HOST, "wheel.open", {"seconds": 5.0, "seed": SEED})])
    round_id = out.replies[2]["round"]
    b.step(2010, [Replicated(k, p) for k, p in out.shared if k == "stage"])
    a.step(2100, [PlaceBet(3, 1, round_id, "1", 200, "b1")])
    snapshot = a.step(2200, [Handover(4)]).replies[4]["snapshot"]
    assert snapshot["wheel"]["bets"] == [[1, "b1", "1", 200]]
    resumed = b.step(2300, [Replicated("handover", snapshot), Join(5, 1, "Ada", {})])
    assert resumed.rejected == {} and resumed.replies[5]["balance"] == STARTING_BALANCE - 200
    _, result, payouts = run_until_result(b, 7000)
    assert [e.to for e in payouts] == [(1,)]  # paid where Ada is now
    assert payouts[0].payload["balance"] == (STARTING_BALANCE + 200 if result["result"] == "1" else STARTING_BALANCE - 200)
