"""The money wheel: the table, stacked multipliers, commit–reveal, bets charged once."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from world.shows.wheel import (
    MAX_BET,
    MULTIPLIERS,
    NUMBERS,
    SEGMENTS,
    SPIN_MS,
    RESPIN_PAUSE_MS,
    STARTING_BALANCE,
    Wheel,
    WheelError,
    commitment,
    spin_index,
)

T0 = 1_000_000


def seed_for(round_id: str, *wanted: str) -> bytes:
    """A seed whose first spins land on ``wanted`` (found by search, like anyone could)."""
    for n in range(2_000_000):
        seed = n.to_bytes(8, "big")
        if all(SEGMENTS[spin_index(seed, round_id, i)] == w for i, w in enumerate(wanted)):
            return seed
    raise AssertionError("no seed found")


def play(wheel: Wheel, seed: bytes, bets: list[tuple[int, str, int]]) -> tuple[list[tuple[int, int, int]], int]:
    """Open, bet, let the clock run until the round settles; returns payouts and the end time."""
    r = wheel.open(T0, 10, seed)
    for i, (avatar, segment, amount) in enumerate(bets):
        wheel.bet(avatar, f"P{avatar}", r.id, segment, amount, f"b{i}", T0 + 100)
    now = T0 + 10_000
    for _ in range(100):
        changed, payouts = wheel.advance(now)
        if payouts or (wheel.round and wheel.round.settled):
            return payouts, now
        now += 500
    raise AssertionError("the round never settled")


def test_the_wheel_has_the_54_segments_of_the_table() -> None:
    assert len(SEGMENTS) == 54
    assert Counter(SEGMENTS) == {"1": 23, "2": 15, "5": 7, "10": 4, "20": 2, "40": 1, "2x": 1, "7x": 1}


@pytest.mark.parametrize("number", list(NUMBERS))
def test_a_number_pays_its_value_to_one_plus_the_stake(number: str) -> None:
    wheel = Wheel()
    rid = f"w{T0:x}-1"
    other = "1" if number != "1" else "2"
    payouts, _ = play(wheel, seed_for(rid, number), [(1, number, 10), (2, other, 10)])
    won = {a: w for a, w, _ in payouts}
    assert won == {1: 10 * int(number) + 10, 2: 0}
    assert wheel.balance(1) == STARTING_BALANCE - 10 + 10 * int(number) + 10
    assert wheel.balance(2) == STARTING_BALANCE - 10


def test_multipliers_stack_into_the_next_spin() -> None:
    wheel = Wheel()
    rid = f"w{T0:x}-1"
    seed = seed_for(rid, "2x", "7x", "10")
    payouts, _ = play(wheel, seed, [(1, "10", 5), (2, "5", 5)])
    assert dict((a, w) for a, w, _ in payouts) == {1: 5 * 10 * 14 + 5, 2: 0}
    assert wheel.history[0] == {"round": rid, "result": "10", "multiplier": 14, "t": wheel.history[0]["t"]}


def test_the_draw_is_committed_before_bets_and_verifiable_after() -> None:
    wheel = Wheel()
    seed = bytes(range(32))
    r = wheel.open(T0, 10, seed)
    commit = wheel.state(T0)["commit"]
    assert commit == hashlib.sha256(seed).hexdigest() and "seed" not in wheel.state(T0)
    play_round = wheel.round
    assert play_round is r
    now = T0 + 10_000
    while not r.settled:
        wheel.advance(now)
        now += 500
    final = wheel.state(now)
    revealed = bytes.fromhex(final["seed"])
    assert commitment(revealed) == commit
    recomputed = [spin_index(revealed, r.id, i) for i in range(len(final["spins"]))]
    assert recomputed == final["spins"] and SEGMENTS[recomputed[-1]] == final["result"]


def test_bets_are_charged_once_and_refused_when_they_should_be() -> None:
    wheel = Wheel()
    r = wheel.open(T0, 10, b"s" * 32)
    assert wheel.bet(1, "Ada", r.id, "5", 100, "bet-1", T0 + 1) == STARTING_BALANCE - 100
    assert wheel.bet(1, "Ada", r.id, "5", 100, "bet-1", T0 + 2) == STARTING_BALANCE - 100  # the same id
    assert r.totals() == {"5": 100}
    for args, code in (
        ((1, "Ada", r.id, "7x", 10, "b2", T0), "bad_request"),
        ((1, "Ada", r.id, "5", 0, "b3", T0), "bad_request"),
        ((1, "Ada", r.id, "5", STARTING_BALANCE, "b4", T0), "insufficient_funds"),
        ((1, "Ada", "w-old", "5", 10, "b5", T0), "not_found"),
        ((1, "Ada", r.id, "5", 10, "b6", T0 + 10_000), "closed"),
    ):
        with pytest.raises(WheelError) as err:
            wheel.bet(*args)  # type: ignore[arg-type]
        assert err.value.code == code, args
    assert wheel.balance(1) == STARTING_BALANCE - 100
    with pytest.raises(WheelError):
        wheel.open(T0 + 5, 10, b"t" * 32)  # one round at a time


def test_phases_and_times_for_synced_clients() -> None:
    wheel = Wheel()
    assert wheel.state(T0)["phase"] == "idle"
    rid = f"w{T0:x}-1"
    wheel.open(T0, 10, seed_for(rid, "2x", "5"))
    assert wheel.state(T0)["ends_at"] == T0 + 10_000
    wheel.advance(T0 + 10_000)  # betting closes, the wheel spins by itself
    s = wheel.state(T0 + 10_000)
    assert s["phase"] == "spinning" and s["t0"] == T0 + 10_000 and s["ends_at"] == T0 + 10_000 + SPIN_MS
    assert s["segment"] == "2x"
    wheel.advance(T0 + 10_000 + SPIN_MS)
    assert wheel.state(T0 + 10_000 + SPIN_MS)["phase"] == "multiplier"
    wheel.advance(T0 + 10_000 + SPIN_MS + RESPIN_PAUSE_MS)
    s = wheel.state(T0 + 10_000 + SPIN_MS + RESPIN_PAUSE_MS)
    assert s["phase"] == "spinning" and s["multiplier"] == 2 and s["segment"] == "5"
    assert set(MULTIPLIERS) == {"2x", "7x"}


def test_the_draw_depends_only_on_the_seed_the_round_and_the_spin_number() -> None:
    seed = b"k" * 32
    first = [spin_index(seed, "w1-1", i) for i in range(8)]
    assert first == [spin_index(seed, "w1-1", i) for i in range(8)]  # anyone recomputes the same
    assert all(0 <= i < len(SEGMENTS) for i in first)
    assert first != [spin_index(seed, "w1-2", i) for i in range(8)]  # another round, another draw
    assert first != [spin_index(b"j" * 32, "w1-1", i) for i in range(8)]
    digest = hashlib.sha256(seed + b"w1-1" + (0).to_bytes(4, "big")).digest()
    assert first[0] == int.from_bytes(digest, "big") % 54  # the formula the docs publish


def test_several_bets_of_one_visitor_are_paid_per_winning_segment() -> None:
    wheel = Wheel()
    rid = f"w{T0:x}-1"
    payouts, _ = play(wheel, seed_for(rid, "5"), [(1, "5", 10), (1, "5", 20), (1, "2", 50), (2, "40", 100)])
    assert {a: w for a, w, _ in payouts} == {1: (10 + 20) * 5 + 30, 2: 0}
    assert wheel.balance(1) == STARTING_BALANCE - 80 + 180 and wheel.balance(2) == STARTING_BALANCE - 100
    assert [(a, b) for a, _, b in payouts] == [(1, wheel.balance(1)), (2, wheel.balance(2))]


def test_a_bet_may_be_at_most_max_bet_and_never_more_than_the_balance() -> None:
    wheel = Wheel()
    wheel.balances[1] = MAX_BET + 500  # a rich visitor still meets the table limit
    r = wheel.open(T0, 10, b"s" * 32)
    with pytest.raises(WheelError) as err:
        wheel.bet(1, "Ada", r.id, "1", MAX_BET + 1, "big", T0)
    assert err.value.code == "bad_request" and wheel.balance(1) == MAX_BET + 500
    assert wheel.bet(1, "Ada", r.id, "1", MAX_BET, "max", T0) == 500
    spent = 0
    for i in range(40):  # a visitor betting until it cannot: the balance never goes below zero
        try:
            wheel.bet(2, "Bob", r.id, "2", 97, f"b{i}", T0)
            spent += 97
        except WheelError as e:
            assert e.code == "insufficient_funds"
        assert wheel.balance(2) >= 0
    assert spent == 97 * (STARTING_BALANCE // 97) and wheel.balance(2) == STARTING_BALANCE % 97


def test_the_host_spins_early_once_and_bets_close_with_the_spin() -> None:
    wheel = Wheel()
    with pytest.raises(WheelError) as err:
        wheel.spin(T0)
    assert err.value.code == "conflict"
    r = wheel.open(T0, 30, b"s" * 32)
    wheel.bet(1, "Ada", r.id, "1", 10, "b1", T0 + 1)
    wheel.spin(T0 + 2000)
    assert wheel.state(T0 + 2000)["phase"] == "spinning" and wheel.state(T0 + 2000)["t0"] == T0 + 2000
    with pytest.raises(WheelError) as err:
        wheel.spin(T0 + 2001)
    assert err.value.code == "conflict"
    with pytest.raises(WheelError) as err:
        wheel.bet(1, "Ada", r.id, "1", 10, "b2", T0 + 2001)
    assert err.value.code == "closed"
    assert wheel.bet(1, "Ada", r.id, "1", 10, "b1", T0 + 2001) == STARTING_BALANCE - 10  # a retry still answers


def test_rounds_follow_each_other_and_history_and_leaderboard_are_bounded() -> None:
    wheel = Wheel(history=2)
    now, rounds = T0, []
    for n in range(3):
        r = wheel.open(now, 1, bytes([n]) * 32)
        rounds.append(r.id)
        wheel.bet(n + 1, f"P{n + 1}", r.id, "1", 10 * (n + 1), "b", now)
        while not r.settled:
            wheel.advance(now)
            now += 500
        assert wheel.advance(now) == (False, [])  # a settled round changes nothing more
    assert [h["round"] for h in wheel.history] == rounds[:0:-1]  # newest first, the oldest dropped
    board = wheel.leaderboard(top=2)
    assert len(board) == 2 and board[0]["balance"] >= board[1]["balance"]
    assert {p["id"] for p in wheel.leaderboard()} == {1, 2, 3}
