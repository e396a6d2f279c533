"""The money-wheel show over real sockets: a round from open to payouts, in sync for everyone."""

from __future__ import annotations

import hashlib

from tests.conftest import AppServer, StaffClient, Visitor, eventually
from world.shows.wheel import SEGMENTS, STARTING_BALANCE, spin_index


async def test_a_round_bets_once_per_id_pays_out_and_reveals_a_verifiable_seed(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    ada, bob = Visitor("Ada"), Visitor("Bob")
    visitors += [ada, bob]
    for v in (ada, bob):
        await v.connect(server.url)
    ack = await ada.join("studio")
    assert ack["show"]["kind"] == "wheel" and ack["show"]["phase"] == "idle" and ack["balance"] == STARTING_BALANCE
    await bob.join("studio")
    host = StaffClient("host", ["studio"])
    staff.append(host)
    await host.connect(server.url)
    opened = await host.call("wheel.open", {"room": "studio", "seconds": 5})
    assert opened["ok"]
    rid, commit = opened["round"], opened["commit"]
    betting = await eventually(lambda: [s for s in ada.events.get("show", []) if s["phase"] == "betting"])
    assert betting[0]["commit"] == commit and betting[0]["ends_at"] == opened["ends_at"]

    bet = {"round": rid, "segment": "2", "amount": 100, "id": "ada-1"}
    assert (await ada.call("bet", bet)) == {"ok": True, "balance": STARTING_BALANCE - 100}
    assert (await ada.call("bet", bet)) == {"ok": True, "balance": STARTING_BALANCE - 100}  # charged once
    assert (await ada.call("bet", {**bet, "id": "ada-2", "amount": 10**6}))["error"]["code"] == "bad_request"
    assert (await ada.call("bet", {**bet, "id": "ada-3", "amount": 950}))["error"]["code"] == "insufficient_funds"
    assert (await ada.call("bet", {**bet, "id": "ada-4", "segment": "3"}))["error"]["code"] == "bad_request"
    assert (await bob.call("bet", {"round": rid, "segment": "1", "amount": 50}))["ok"]
    totals = await eventually(lambda: [s for s in bob.events.get("show", []) if s.get("totals") == {"2": 100, "1": 50}])
    assert totals

    assert (await host.call("wheel.spin", {"room": "studio"}))["ok"]
    assert (await bob.call("bet", {"round": rid, "segment": "1", "amount": 5}))["error"]["code"] == "closed"
    spin_a = await eventually(lambda: [s for s in ada.events.get("show", []) if s["phase"] == "spinning"])
    spin_b = await eventually(lambda: [s for s in bob.events.get("show", []) if s["phase"] == "spinning"])
    assert spin_a[0]["t0"] == spin_b[0]["t0"] and spin_a[0]["ends_at"] == spin_b[0]["ends_at"]  # same server times
    result = await eventually(lambda: [s for s in ada.events.get("show", []) if s["phase"] == "result"], timeout=40)
    final = result[-1]
    seed = bytes.fromhex(final["seed"])
    assert hashlib.sha256(seed).hexdigest() == commit
    assert [spin_index(seed, rid, i) for i in range(len(final["spins"]))] == final["spins"]
    number = SEGMENTS[final["spins"][-1]]
    assert final["result"] == number
    payouts = await eventually(lambda: ada.events.get("payout"))
    expected = 100 * int(number) * final["multiplier"] + 100 if number == "2" else 0
    assert payouts[0] == {"round": rid, "won": expected, "balance": STARTING_BALANCE - 100 + expected}
    board = await eventually(lambda: ada.events.get("leaderboard"))
    assert {p["name"] for p in board[-1]["top"]} == {"Ada", "Bob"}


async def test_wheel_actions_need_a_host_and_a_wheel(server: AppServer, visitors: list[Visitor], staff: list[StaffClient]) -> None:
    ada = Visitor("Ada")
    visitors.append(ada)
    await ada.connect(server.url)
    await ada.join("showroom")
    assert (await ada.call("wheel.open", {"room": "studio"}))["error"]["code"] == "forbidden"
    assert (await ada.call("bet", {"round": "w1", "segment": "1", "amount": 1}))["error"]["code"] == "not_found"
    mod = StaffClient("moderator", "*")
    staff.append(mod)
    await mod.connect(server.url)
    assert (await mod.call("wheel.open", {"room": "studio"}))["error"]["code"] == "forbidden"
    host = StaffClient("host", "*")
    staff.append(host)
    await host.connect(server.url)
    assert (await host.call("wheel.open", {"room": "showroom"}))["error"]["code"] == "not_found"
    assert (await host.call("wheel.spin", {"room": "studio"}))["error"]["code"] == "conflict"
    assert (await host.call("wheel.open", {"room": "studio", "seconds": 1}))["error"]["code"] == "bad_request"
