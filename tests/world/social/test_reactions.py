"""Reactions: one message per tick with the counts per emoji, a sample, and the rate per minute."""

from __future__ import annotations

import random

from world.social.reactions import SAMPLE, WINDOW_MS, Reactions

T = 1_000_000


def test_a_tick_of_reactions_is_summed_per_emoji_into_one_message() -> None:
    r = Reactions()
    for avatar, emoji in ((1, "♥"), (2, "♥"), (3, "👏"), (1, "♥")):
        r.add(avatar, emoji)
    assert r.pending_counts() == {"♥": 3, "👏": 1}
    msg = r.drain(T, random.Random(0))
    assert msg == {"t": T, "counts": {"♥": 3, "👏": 1}, "near": [[1, "♥"], [2, "♥"], [3, "👏"], [1, "♥"]]}
    assert r.drain(T + 50, random.Random(0)) is None  # nothing new: no message
    assert r.pending_counts() == {}


def test_an_emoji_is_counted_as_itself_the_room_list_is_checked_at_the_edge() -> None:
    # the gateway refuses an emoji not in RoomInfo.reactions (bad_request, tests/server/test_social.py);
    # what reaches the room is counted under its own key, never merged into another
    r = Reactions()
    r.add(1, "🍕")
    r.add(2, "❤️")
    r.add(3, "❤")  # without the variation selector: a different key
    msg = r.drain(T, random.Random(0))
    assert msg is not None and msg["counts"] == {"🍕": 1, "❤️": 1, "❤": 1}


def test_a_crowd_gets_a_seeded_sample_of_who_reacted() -> None:
    def crowd() -> Reactions:
        r = Reactions()
        for avatar in range(5000):
            r.add(avatar, "♥" if avatar % 2 else "🔥")
        return r

    msg = crowd().drain(T, random.Random(7))
    assert msg is not None and msg["counts"] == {"🔥": 2500, "♥": 2500}
    assert len(msg["near"]) == SAMPLE and all(e == ("♥" if a % 2 else "🔥") for a, e in msg["near"])
    again = crowd().drain(T, random.Random(7))
    assert again is not None and again["near"] == msg["near"]  # the room's seeded rng: replayable


def test_other_nodes_counts_are_added_but_never_sampled_and_bad_counts_are_ignored() -> None:
    r = Reactions()
    r.add(1, "♥")
    r.add_counts({"♥": 10, "🎉": 2, "bad": -1, "huge": 10**9, "zero": 0, 5: 3, "text": "3"})  # type: ignore[dict-item]
    msg = r.drain(T, random.Random(0))
    assert msg is not None and msg["counts"] == {"♥": 11, "🎉": 2} and msg["near"] == [[1, "♥"]]
    r.add_counts({"🎉": 4})  # only remote reactions this tick still make a message
    assert r.drain(T + 50, random.Random(0)) == {"t": T + 50, "counts": {"🎉": 4}, "near": []}


def test_per_minute_counts_the_reactions_of_the_last_minute() -> None:
    r = Reactions()
    for t, n in ((T, 3), (T + 30_000, 2)):
        for i in range(n):
            r.add(i, "♥")
        r.drain(t, random.Random(0))
    assert r.per_minute(T + 30_000) == 5
    assert r.per_minute(T + WINDOW_MS) == 2  # the first tick is a minute old
    assert r.per_minute(T + 30_000 + WINDOW_MS) == 0
