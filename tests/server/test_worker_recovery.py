"""A room worker killed mid-event: the room comes back where it stood, its visitors stay
connected (a `reset` view), and nothing a visitor was acknowledged is lost or given twice."""

from __future__ import annotations

import hashlib
import os
import signal
from typing import Any

import pytest

from server.app import ROOMS
from server.config import Settings
from server.engines import ProcessEngine
from tests.conftest import TEST_SECRET, AppServer, StaffClient, Visitor, eventually
from world.shows.wheel import SEGMENTS, STARTING_BALANCE, spin_index


@pytest.fixture
def settings() -> Settings:
    # real worker processes (the serve default): the thing that crashes here
    return Settings(port=0, tick_hz=20.0, resume_grace_s=30.0, room_processes=True, secret=TEST_SECRET)


async def people(server: AppServer, visitors: list[Visitor], staff: list[StaffClient], room: str,
                 *names: str) -> tuple[StaffClient, list[Visitor]]:
    await eventually(lambda: all(r.ready for r in server.app[ROOMS].values()), timeout=30)
    host = StaffClient("host", [room])
    staff.append(host)
    await host.connect(server.url)
    assert (await host.call("host.watch", {"room": room}))["ok"]
    made = [Visitor(n) for n in names]
    visitors += made
    for v in made:
        await v.connect(server.url)
        await v.join(room)
    return host, made


async def kill_worker(server: AppServer, room: str, watchers: list[Visitor]) -> None:
    """SIGKILL the room's worker; returns once every watcher got a `reset` view after it."""
    engine = server.app[ROOMS][room].engine
    assert isinstance(engine, ProcessEngine)
    old, seen = engine.process.pid, [len(v.ticks) for v in watchers]
    assert old is not None
    os.kill(old, signal.SIGKILL)
    await eventually(lambda: all(any(t.get("reset") for t in v.ticks[n:]) for v, n in zip(watchers, seen)), timeout=15)
    assert engine.process.pid != old and all(v.sio.connected for v in watchers)


async def test_a_killed_concert_worker_keeps_the_show_drop_orders_carts_qa_and_mutes(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    host, (ada, bob) = await people(server, visitors, staff, "concert", "Ada", "Bob")
    t0 = (await host.call("show.start", {"room": "concert", "kind": "concert"}))["t0"]
    started = await host.call("offer.start", {"room": "concert", "product": "tour-tee", "price": 30, "stock": 5, "seconds": 120})
    drop = started["offer"]
    await eventually(lambda: ada.events.get("offer") and bob.events.get("offer"))
    assert (await ada.call("cart.add", {"product": "tour-tee", "variant": "black-m", "qty": 2}))["ok"]
    order_a = (await ada.call("offer.claim", {"offer": drop}))["order"]
    order_b = (await bob.call("offer.claim", {"offer": drop}))["order"]
    asked = await ada.call("qa.ask", {"text": "Will they play the encore?"})
    assert (await host.call("mod.mute", {"room": "concert", "avatar": bob.welcome["id"], "minutes": 10}))["ok"]  # type: ignore[index]
    carts = [(await v.call("cart.get"))["cart"] for v in (ada, bob)]
    assert [len(c["orders"]) for c in carts] == [1, 1] and carts[0]["items"][0]["qty"] == 2
    offers_seen, modlog_seen = len(ada.events["offer"]), len(host.got("modlog"))

    await kill_worker(server, "concert", [ada, bob])

    back = await ada.call("join", {"room": "concert"})  # the client's usual re-join: idempotent
    assert back["show"]["t0"] == t0 and back["show"]["phase"] != "idle"
    assert [(o["id"], o["stock"]) for o in back["offers"]] == [(drop, 3)]
    assert asked["id"] in {q["id"] for q in back["qa"]["top"]}
    assert [(await v.call("cart.get"))["cart"] for v in (ada, bob)] == carts
    assert (await ada.call("offer.claim", {"offer": drop})) == {"ok": True, "order": order_a}  # never a second one
    assert (await bob.call("offer.claim", {"offer": drop})) == {"ok": True, "order": order_b}
    assert (await ada.call("cart.get"))["cart"] == carts[0]
    assert (await bob.call("chat", {"text": "am I back?"}))["error"]["code"] == "muted"
    assert server.app[ROOMS]["concert"].occupancy == 2

    # a new claim continues from the stock the drop had; the restore itself announced nothing
    cy = Visitor("Cy")
    visitors.append(cy)
    await cy.connect(server.url)
    await cy.join("concert")
    order_c = (await cy.call("offer.claim", {"offer": drop}))["order"]
    assert order_c not in (order_a, order_b)
    await eventually(lambda: any(o["stock"] == 2 for o in ada.events["offer"][offers_seen:]))
    assert [o["stock"] for o in ada.events["offer"][offers_seen:]] == [2]
    assert (await host.call("chat.pin", {"room": "concert", "text": "Merch at the back"}))["ok"]
    await eventually(lambda: len(host.got("modlog")) > modlog_seen)
    assert [e["action"] for e in host.got("modlog")[modlog_seen:]] == ["chat.pin"]


async def test_a_killed_wheel_worker_keeps_balances_and_open_bets_and_draws_the_same_result(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    host, (ada, bob) = await people(server, visitors, staff, "studio", "Ada", "Bob")
    opened = await host.call("wheel.open", {"room": "studio", "seconds": 60})
    rid, commit = opened["round"], opened["commit"]
    bet = {"round": rid, "segment": "2", "amount": 100, "id": "ada-1"}
    assert (await ada.call("bet", bet))["balance"] == STARTING_BALANCE - 100
    assert (await bob.call("bet", {"round": rid, "segment": "1", "amount": 50, "id": "bob-1"}))["balance"] == STARTING_BALANCE - 50

    await kill_worker(server, "studio", [ada, bob])

    back: dict[str, Any] = await ada.call("join", {"room": "studio"})
    show = back["show"]
    assert (show["round"], show["phase"], show["commit"], show["ends_at"]) == (rid, "betting", commit, opened["ends_at"])
    assert show["totals"] == {"2": 100, "1": 50} and back["balance"] == STARTING_BALANCE - 100
    assert (await ada.call("bet", bet))["balance"] == STARTING_BALANCE - 100  # the same bet: charged once

    assert (await host.call("wheel.spin", {"room": "studio"}))["ok"]
    final = (await eventually(lambda: [s for s in ada.events.get("show", []) if s["phase"] == "result"], timeout=60))[-1]
    seed = bytes.fromhex(final["seed"])
    assert hashlib.sha256(seed).hexdigest() == commit  # the seed committed before the crash
    assert [spin_index(seed, rid, i) for i in range(len(final["spins"]))] == final["spins"]
    number = SEGMENTS[final["spins"][-1]]
    won = {"2": 100, "1": 50}
    for v, segment in ((ada, "2"), (bob, "1")):
        stake = won[segment]
        expected = stake * int(number) * final["multiplier"] + stake if number == segment else 0
        payout = (await eventually(lambda v=v: v.events.get("payout")))[-1]
        assert payout == {"round": rid, "won": expected, "balance": STARTING_BALANCE - stake + expected}
