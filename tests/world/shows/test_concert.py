"""Concert timelines: every cue at a server time, jumps re-plan the rest, late joiners land right."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT
from world.shows.concert import Concert, Setlist

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
