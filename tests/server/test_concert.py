"""A concert over real sockets: the host starts it, everyone (and late joiners) get one timeline."""

from __future__ import annotations

from tests.conftest import AppServer, StaffClient, Visitor, eventually


async def test_everyone_gets_the_same_timeline_and_late_joiners_land_in_it(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    ada, bob = Visitor("Ada"), Visitor("Bob")
    visitors += [ada, bob]
    for v in (ada, bob):
        await v.connect(server.url)
        assert (await v.join("concert"))["show"]["phase"] == "idle"
    host = StaffClient("host", ["concert"])
    staff.append(host)
    await host.connect(server.url)
    started = await host.call("show.start", {"room": "concert", "kind": "concert"})
    assert started["ok"]
    a = (await eventually(lambda: ada.events.get("show")))[0]
    b = (await eventually(lambda: bob.events.get("show")))[0]
    assert a["t0"] == b["t0"] == started["t0"] and a["cues"] == b["cues"]
    assert a["title"].startswith("Aurora") and a["cues"][0]["at"] == started["t0"]

    jumped = await host.call("concert.cue", {"room": "concert", "cue": "drop"})
    assert jumped["ok"]
    jump = await eventually(lambda: [s for s in bob.events["show"] if s["cues"][0]["id"] == "drop"])
    late = Visitor("Late")
    visitors.append(late)
    await late.connect(server.url)
    show = (await late.join("concert"))["show"]
    assert show["cues"] == jump[-1]["cues"]  # the late joiner is on the same timeline
    assert (await host.call("concert.cue", {"room": "concert", "cue": "nope"}))["error"]["code"] == "not_found"
    assert (await host.call("show.start", {"room": "showroom", "kind": "concert"}))["error"]["code"] == "forbidden"
    anywhere = StaffClient("host", "*")
    staff.append(anywhere)
    await anywhere.connect(server.url)
    assert (await anywhere.call("show.start", {"room": "showroom", "kind": "concert"}))["error"]["code"] == "not_found"
    assert (await host.call("show.start", {"room": "concert", "kind": "opera"}))["error"]["code"] == "bad_request"
    assert (await ada.call("concert.cue", {"room": "concert", "cue": "drop"}))["error"]["code"] == "forbidden"
