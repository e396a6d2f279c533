"""Reconnecting with the session token within the grace period resumes the same avatar."""

from __future__ import annotations

import asyncio

import pytest

from server.config import Settings
from tests.conftest import AppServer, Visitor, eventually
from world.core.interest import decode_records


@pytest.fixture
def settings() -> Settings:
    return Settings(port=0, tick_hz=20.0, resume_grace_s=1.0, room_processes=False)


async def test_resume_within_grace_keeps_id_room_and_position(server: AppServer, visitors: list[Visitor]) -> None:
    ada, bob, cy = Visitor("Ada"), Visitor("Bob"), Visitor("Cy")
    visitors += [ada, bob, cy]
    first = await ada.connect(server.url)
    await bob.connect(server.url)
    cy_id = (await cy.connect(server.url))["id"]
    x, y, z = (await ada.join())["you"]["p"]
    await bob.join()
    await cy.join()
    await ada.sio.emit("move", {"p": [x + 0.5, y, z], "yaw": 0.0, "seq": 1})
    await eventually(lambda: any(len(decode_records(t["pos"])) and x + 0.5 - 0.011 < decode_records(t["pos"])["x"][0] / 100 for t in bob.ticks))
    await ada.sio.disconnect()
    await asyncio.sleep(0.3)

    again = Visitor("Ada again")
    visitors.append(again)
    welcome = await again.connect(server.url, resume=first["session"])
    assert welcome["id"] == first["id"] and welcome["session"] == first["session"]
    assert welcome["room"] == "showroom"
    # the resumed client is sent its full view again without asking
    await eventually(lambda: any(e[0] == bob.welcome["id"] for t in again.ticks for e in t["enter"]))  # type: ignore[index]
    ack = await again.join("showroom")  # re-joining the same room is idempotent
    assert ack["you"]["id"] == first["id"]
    assert abs(ack["you"]["p"][0] - (x + 0.5)) < 1e-3
    # Past the grace period nothing leaves, Ada is connected. The proof: Cy, gone for good after
    # Ada came back, leaves when its own (later) grace runs out; Ada's would have ended first.
    await cy.sio.disconnect()
    await eventually(lambda: any(cy_id in t["leave"] for t in bob.ticks), timeout=4)
    assert not any(first["id"] in t["leave"] for t in bob.ticks)


async def test_after_grace_the_avatar_leaves_and_the_token_is_dead(server: AppServer, visitors: list[Visitor]) -> None:
    ada, bob = Visitor("Ada"), Visitor("Bob")
    visitors += [ada, bob]
    first = await ada.connect(server.url)
    await bob.connect(server.url)
    await ada.join()
    await bob.join()
    await eventually(lambda: any(e[0] == first["id"] for t in bob.ticks for e in t["enter"]))
    gone_at = (await ada.call("time", {"c": 0}))["t"]  # server ms, just before the disconnect
    await ada.sio.disconnect()
    left = await eventually(lambda: [t for t in bob.ticks if first["id"] in t["leave"]], timeout=4)
    assert left[0]["t"] >= gone_at + 1000  # still there during grace (1 s): it left at its end
    late = Visitor("Ada late")
    visitors.append(late)
    welcome = await late.connect(server.url, resume=first["session"])
    assert welcome["id"] != first["id"] and "room" not in welcome


async def test_a_second_connection_with_the_same_token_takes_over(server: AppServer, visitors: list[Visitor]) -> None:
    ada = Visitor("Ada")
    visitors.append(ada)
    first = await ada.connect(server.url)
    await ada.join()
    twin = Visitor("Ada twin")
    visitors.append(twin)
    welcome = await twin.connect(server.url, resume=first["session"])
    assert welcome["id"] == first["id"]
    await eventually(lambda: not ada.sio.connected)
    assert (await twin.call("time", {"c": 1}))["ok"]
