"""The concert in a room, driven synchronously: staff start the show and cue it, everyone gets the
same server-time timeline (on joining too), and cues out of the set list or the window are refused."""

from __future__ import annotations

import random
from typing import Any

from world.core.room import Join, Replicated, Room
from world.core.scene import RoomConfig, Scene
from world.shows.concert import Cue, Setlist
from world.shows.concert_show import ConcertAct
from world.social.layer import Staff

HOST = Staff("Sara", "host")
SET = Setlist(id="night", title="Night", lead_s=2, cues=[Cue(id="intro", name="Intro", duration_s=10),
                                                        Cue(id="drop", name="Drop", duration_s=20)])


def room(shard: str = "n1", setlist: Setlist | None = SET) -> Room:
    scene = Scene(bounds=((-50, 0, -50), (50, 5, 50)), spawn=[(0, 0, 0)])
    cfg = RoomConfig(id="c", kind="concert", name="C", scene=scene, setlist=setlist, tag=shard)
    return Room(cfg, rng=random.Random(7))


def shows(out: Any) -> list[dict[str, Any]]:
    return [e.payload for e in out.events if e.name == "show"]


def test_the_show_starts_after_its_lead_in_and_moves_from_cue_to_cue() -> None:
    r = room()
    ack = r.step(1000, [Join(1, 1, "Ada", {})]).replies[1]
    assert ack["show"]["kind"] == "concert" and ack["show"]["phase"] == "idle"  # not started yet
    out = r.step(5000, [ConcertAct(2, HOST, "show.start", {})])
    assert out.replies[2] == {"ok": True, "t0": 7000, "ends_at": 37_000}
    (started,) = shows(out)
    assert started["t0"] == 7000 and [c["id"] for c in started["setlist"]] == ["intro", "drop"]
    assert [e["action"] for n, e in out.staff if n == "modlog"] == ["show.start"]
    assert shows(r.step(5100, [])) == []  # nothing new until a cue boundary
    cue_changes = [s["cue"] for t in range(7000, 18_000, 500) for s in shows(r.step(t, []))]
    assert cue_changes == ["intro", "drop"]
    late = r.step(18_000, [Join(3, 2, "Bo", {})]).replies[3]  # a joiner gets where the show stands
    assert late["show"]["cue"] == "drop" and late["show"]["t0"] == 7000


def test_a_cue_jumps_the_timeline_and_bad_cues_are_refused() -> None:
    r = room()
    r.step(1000, [Join(1, 1, "Ada", {}), ConcertAct(2, HOST, "show.start", {})])
    out = r.step(4000, [ConcertAct(3, HOST, "concert.cue", {"cue": "drop", "at": 4000})])
    assert out.replies[3]["ok"] and shows(out)[-1]["cue"] == "drop"
    bad = r.step(4100, [ConcertAct(4, HOST, "concert.cue", {"cue": "encore"}),
                        ConcertAct(5, HOST, "concert.cue", {"cue": "drop", "at": 1}),
                        ConcertAct(6, HOST, "concert.cue", {"cue": "drop", "at": 4100 + 48 * 3_600_000})])
    assert bad.replies[4] == {"ok": False, "error": {"code": "not_found", "message": "no cue 'encore' in the set list"}}
    assert bad.replies[5]["error"]["code"] == bad.replies[6]["error"]["code"] == "bad_request"
    assert shows(bad) == [] and not bad.shared


def test_another_shard_plays_the_same_timeline_and_a_room_without_a_concert_says_so() -> None:
    a, b = room("n1"), room("n2")
    b.step(1000, [Join(1, 7, "Cy", {})])
    out = a.step(5000, [ConcertAct(1, HOST, "show.start", {}),
                        ConcertAct(2, HOST, "concert.cue", {"cue": "drop", "at": 9000})])
    seen = b.step(5040, [Replicated(k, p) for k, p in out.shared if k == "stage"])
    assert seen.rejected == {} and shows(seen)[-1]["t0"] == 7000
    assert a.concert.concert.state(9500)["cue"] == b.concert.concert.state(9500)["cue"] == "drop"
    plain = room(setlist=None)
    out = plain.step(1000, [ConcertAct(3, HOST, "show.start", {})])
    assert out.replies[3] == {"ok": False, "error": {"code": "not_found", "message": "room 'c' has no concert"}}
