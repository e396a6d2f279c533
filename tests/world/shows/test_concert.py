"""Concert timelines: every cue at a server time, jumps re-plan the rest, late joiners land right."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from tests.conftest import ROOT
from world.shows.concert import MAX_AT_MS, Concert, Setlist

SET = Setlist.model_validate(json.loads((ROOT / "assets/shows/concert.json").read_text()))
T = 1_000_000


def test_the_set_plays_cue_after_cue_from_a_lead_in() -> None:
    show = Concert(SET)
    assert show.state(T)["phase"] == "idle"
    show.start(T)
    s = show.state(T)
    assert s["phase"] == "starting" and s["t0"] == T + 3000 and s["cue"] is None
    starts = [c["at"] for c in s["cues"]]
    assert starts[0] == T + 3000
    assert all(b - a == c["duration"] for a, b, c in zip(starts, starts[1:], s["cues"]))
    assert show.current(starts[2] + 10).id == SET.cues[2].id  # type: ignore[union-attr]
    assert show.state(s["ends_at"])["phase"] == "ended" and show.current(s["ends_at"]) is None


def test_a_late_joiner_computes_the_same_cue_from_the_state() -> None:
    show = Concert(SET)
    show.start(T)
    late = T + 3000 + 70_000  # 70 s in: doors (20 s) and intro (45 s) are over
    s = show.state(late)
    assert s["cue"] == "song-1"
    current = [c for c in s["cues"] if c["at"] <= late < c["at"] + c["duration"]]
    assert [c["id"] for c in current] == ["song-1"]


def test_jumping_to_a_cue_replans_the_rest() -> None:
    show = Concert(SET)
    show.start(T)
    show.cue("drop", T + 10_000)
    assert show.state(T + 9_000)["cue"] == "doors"  # until the jump, the playing cue goes on
    s = show.state(T + 10_000)
    assert [c["id"] for c in s["cues"]] == ["drop", "encore", "outro"] and s["cues"][0]["at"] == T + 10_000
    assert s["cue"] == "drop" and s["ends_at"] == T + 10_000 + (30 + 60 + 20) * 1000
    with pytest.raises(KeyError):
        show.cue("nope", T)


def small_set(lead_s: float = 2.0) -> Setlist:
    return Setlist.model_validate({"id": "gig", "title": "Gig", "lead_s": lead_s, "cues": [
        {"id": "a", "name": "A", "duration_s": 10}, {"id": "b", "name": "B", "duration_s": 20},
        {"id": "c", "name": "C", "duration_s": 5, "effects": {"fog": True}}]})


def test_before_the_start_nothing_plays_and_the_console_gets_the_set() -> None:
    show = Concert(small_set())
    assert not show.running and show.ends_at is None and show.current(T) is None
    s = show.state(T)
    assert s == {"kind": "concert", "show": "gig", "title": "Gig", "phase": "idle", "t0": T, "setlist": [
        {"id": "a", "name": "A", "duration": 10_000}, {"id": "b", "name": "B", "duration": 20_000},
        {"id": "c", "name": "C", "duration": 5_000}]}


def test_which_cue_plays_at_each_time_and_when_the_show_ends() -> None:
    show = Concert(small_set(lead_s=2))
    show.start(T)
    t0 = T + 2000
    assert show.running and show.ends_at == t0 + 35_000
    assert show.current(t0 - 1) is None and show.state(t0 - 1)["phase"] == "starting"
    at = {t: (c.id if (c := show.current(t)) else None) for t in (t0, t0 + 9_999, t0 + 10_000, t0 + 30_000, t0 + 34_999, t0 + 35_000)}
    assert at == {t0: "a", t0 + 9_999: "a", t0 + 10_000: "b", t0 + 30_000: "c", t0 + 34_999: "c", t0 + 35_000: None}
    s = show.state(t0 + 31_000)
    assert s["phase"] == "playing" and s["cue"] == "c" and s["cues"][2] == {
        "id": "c", "name": "C", "at": t0 + 30_000, "duration": 5000, "effects": {"fog": True}}


def test_a_cue_before_the_start_starts_the_show_there_and_jumping_back_replays() -> None:
    show = Concert(small_set())
    show.cue("b", T)
    assert show.running and show.t0 == T and show.current(T).id == "b"  # type: ignore[union-attr]
    assert show.ends_at == T + 25_000
    show.cue("a", T + 5000)  # back to the first cue: the whole set again from there
    s = show.state(T + 5000)
    assert [c["id"] for c in s["cues"]] == ["a", "b", "c"] and s["ends_at"] == T + 5000 + 35_000
    assert show.current(T + 4999).id == "b"  # type: ignore[union-attr]
    show.start(T + 100_000)  # starting again forgets the jumps
    assert show.state(T + 100_000)["cues"][0]["at"] == T + 100_000 + 2000


def test_times_a_client_could_not_hold_are_refused() -> None:
    show = Concert(small_set())
    for bad in (-1, MAX_AT_MS + 1):
        with pytest.raises(ValueError):
            show.start(bad)
        with pytest.raises(ValueError):
            show.cue("a", bad)
    assert not show.running


@pytest.mark.parametrize(("change", "field"), [
    ({"cues": []}, "cues"), ({"lead_s": 61}, "lead_s"), ({"id": "Gig!"}, "id"),
    ({"cues": [{"id": "a", "name": "A", "duration_s": 0}]}, "cues"),
    ({"cues": [{"id": "a", "name": "A", "duration_s": 3601}]}, "cues"),
    ({"cues": [{"id": "a", "name": "A", "duration_s": 5, "bpm": 120}]}, "cues"),
])
def test_a_bad_setlist_is_refused_naming_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        Setlist.model_validate({**small_set().model_dump(), **change})
    assert err.value.errors()[0]["loc"][0] == field
