"""The money-wheel game show (in the style of Dream Catcher), with a verifiable draw.

The wheel has 54 segments: numbers 1 (×23), 2 (×15), 5 (×7), 10 (×4), 20 (×2), 40 (×1) and two
multipliers, 2× and 7×. A round: the host opens betting for a while; visitors bet play credits
on numbers; the wheel spins; a number pays ``stake × number`` plus the stake to everyone who
bet on it; a multiplier spins again with every payout multiplied, and multipliers stack
(2× then 7× pays 14×).

Commit–reveal: when betting opens the server publishes ``commit = sha256(seed)``; the spins
are ``int(sha256(seed ‖ round ‖ spin number)) mod 54`` (the segment index into
:data:`SEGMENTS`); after the round the seed is published, so anyone can recompute the draw
and check it was fixed before the first bet. The seed comes from the caller (the server draws
it from ``secrets``); this module never makes randomness of its own. Time is server ms.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

NUMBERS = {"1": 23, "2": 15, "5": 7, "10": 4, "20": 2, "40": 1}
MULTIPLIERS = {"2x": 2, "7x": 7}
# The wheel as it is painted: numbers spread around, the two multipliers opposite each other.
SEGMENTS: tuple[str, ...] = (
    "1", "2", "1", "5", "1", "2", "1", "10", "1", "2", "1", "5", "1", "2", "20", "1", "2", "1", "5", "1",
    "2", "1", "10", "1", "2", "1", "2x", "2", "5", "1", "2", "10", "1", "2", "1", "5", "1", "2", "40",
    "1", "2", "1", "5", "1", "2", "10", "1", "2", "20", "1", "5", "2", "1", "7x",
)
assert len(SEGMENTS) == 54 and Counter(SEGMENTS) == {**NUMBERS, "2x": 1, "7x": 1}

STARTING_BALANCE = 1000  # play credits, never real money
MAX_BET = 100_000
SPIN_MS = 6000  # from the start of a spin until the wheel stops
RESPIN_PAUSE_MS = 2500  # a multiplier shows before the next spin starts
MAX_SPINS = 8  # multipliers in a row before a number is forced (the odds make this ~never)


def spin_index(seed: bytes, round_id: str, spin: int) -> int:
    """The segment index of a round's ``spin``-th spin (0-based): what anyone can recompute."""
    digest = hashlib.sha256(seed + round_id.encode() + spin.to_bytes(4, "big")).digest()
    return int.from_bytes(digest, "big") % len(SEGMENTS)


def commitment(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


@dataclass(slots=True)
class Bet:
    id: str
    avatar: int
    segment: str
    amount: int


@dataclass(slots=True)
class Round:
    id: str
    seed: bytes
    opened_at: int
    closes_at: int
    bets: dict[tuple[int, str], Bet] = field(default_factory=dict)  # (avatar, bet id)
    spins: list[int] = field(default_factory=list)  # segment indexes so far
    phase: str = "betting"  # betting -> spinning -> result
    spin_started: int = 0
    settled: bool = False

    @property
    def multiplier(self) -> int:
        m = 1
        for i in self.spins[:-1] if self.phase == "spinning" else self.spins:
            m *= MULTIPLIERS.get(SEGMENTS[i], 1)
        return m

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for b in self.bets.values():
            out[b.segment] = out.get(b.segment, 0) + b.amount
        return out


class Wheel:
    def __init__(self, *, history: int = 12) -> None:
        self.balances: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.round: Round | None = None
        self.history: list[dict[str, Any]] = []
        self._history_size = history
        self._count = 0

    def balance(self, avatar: int) -> int:
        return self.balances.setdefault(avatar, STARTING_BALANCE)

    # ---- host ----------------------------------------------------------------------------

    def open(self, now: int, seconds: float, seed: bytes, round_id: str | None = None) -> Round:
        """Open betting; ``round_id`` given when the round was opened on another node."""
        if self.round is not None and not self.round.settled:
            raise WheelError("conflict", "a round is still running")
        self._count += 1
        self.round = Round(round_id or f"w{now:x}-{self._count}", seed, now, now + int(seconds * 1000))
        return self.round

    def spin(self, now: int) -> Round:
        r = self.round
        if r is None or r.phase != "betting":
            raise WheelError("conflict", "no round is taking bets")
        self._start_spin(r, now)
        return r

    # ---- visitors ------------------------------------------------------------------------

    def bet(self, avatar: int, name: str, round_id: str, segment: str, amount: int, bet_id: str, now: int) -> int:
        """Place a bet; returns the balance. The same bet id again changes nothing."""
        r = self.round
        if r is None or r.id != round_id:
            raise WheelError("not_found", f"no round {round_id[:64]!r} is running")
        if (avatar, bet_id) in r.bets:
            return self.balance(avatar)  # a retry: charged once
        if r.phase != "betting" or now >= r.closes_at:
            raise WheelError("closed", "betting is closed for this round")
        if segment not in NUMBERS:
            raise WheelError("bad_request", f"bet on one of {', '.join(NUMBERS)}")
        if not 1 <= amount <= MAX_BET:
            raise WheelError("bad_request", f"amount must be 1..{MAX_BET}")
        if amount > self.balance(avatar):
            raise WheelError("insufficient_funds", f"your balance is {self.balance(avatar)}")
        self.balances[avatar] -= amount
        self.names[avatar] = name
        r.bets[(avatar, bet_id)] = Bet(bet_id, avatar, segment, amount)
        return self.balances[avatar]

    # ---- the clock -----------------------------------------------------------------------

    def advance(self, now: int) -> tuple[bool, list[tuple[int, int, int]]]:
        """Move the round on at ``now``. Returns (the show state changed, payouts as
        (avatar, won, balance) when the round was just settled)."""
        r = self.round
        if r is None or r.settled:
            return False, []
        if r.phase == "betting" and now >= r.closes_at:
            self._start_spin(r, now)  # nobody spun it: the wheel spins when betting closes
            return True, []
        if r.phase == "spinning" and now >= r.spin_started + SPIN_MS:
            landed = SEGMENTS[r.spins[-1]]
            if landed in MULTIPLIERS and len(r.spins) < MAX_SPINS:
                r.phase = "multiplier"
                r.spin_started = now
                return True, []
            return True, self._settle(r, now)
        if r.phase == "multiplier" and now >= r.spin_started + RESPIN_PAUSE_MS:
            self._start_spin(r, now)
            return True, []
        return False, []

    def _start_spin(self, r: Round, now: int) -> None:
        index = spin_index(r.seed, r.id, len(r.spins))
        if len(r.spins) == MAX_SPINS - 1:  # keep rounds finite: the last spin lands on a number
            while SEGMENTS[index] in MULTIPLIERS:
                index = (index + 1) % len(SEGMENTS)
        r.spins.append(index)
        r.phase = "spinning"
        r.spin_started = now

    def _settle(self, r: Round, now: int) -> list[tuple[int, int, int]]:
        r.phase, r.settled = "result", True
        number = SEGMENTS[r.spins[-1]]
        factor = int(number) * r.multiplier if number in NUMBERS else 0
        won: dict[int, int] = {}
        for b in r.bets.values():
            won.setdefault(b.avatar, 0)
            if b.segment == number:
                won[b.avatar] += b.amount * factor + b.amount  # the winnings and the stake back
        for avatar, amount in won.items():
            self.balances[avatar] = self.balance(avatar) + amount
        self.history.insert(0, {"round": r.id, "result": number, "multiplier": r.multiplier, "t": now})
        del self.history[self._history_size:]
        return [(a, amount, self.balances[a]) for a, amount in won.items()]

    # ---- views ---------------------------------------------------------------------------

    def state(self, now: int) -> dict[str, Any]:
        """ShowState for ``show`` (PROTOCOL.md) of kind ``wheel``."""
        r = self.round
        base: dict[str, Any] = {"kind": "wheel", "segments": list(SEGMENTS), "history": list(self.history)}
        if r is None:
            return {**base, "phase": "idle", "t0": now}
        out = {**base, "round": r.id, "phase": r.phase, "commit": commitment(r.seed), "totals": r.totals(),
               "multiplier": r.multiplier, "spins": list(r.spins)}
        if r.phase == "betting":
            out.update(t0=r.opened_at, ends_at=r.closes_at)
        elif r.phase == "spinning":
            out.update(t0=r.spin_started, ends_at=r.spin_started + SPIN_MS, index=r.spins[-1],
                       segment=SEGMENTS[r.spins[-1]])
        elif r.phase == "multiplier":
            out.update(t0=r.spin_started, ends_at=r.spin_started + RESPIN_PAUSE_MS, segment=SEGMENTS[r.spins[-1]])
        else:
            out.update(t0=r.spin_started + SPIN_MS, result=SEGMENTS[r.spins[-1]], seed=r.seed.hex())
        return out

    def leaderboard(self, top: int = 10) -> list[dict[str, Any]]:
        players = sorted(self.names, key=lambda a: (-self.balance(a), a))[:top]
        return [{"id": a, "name": self.names[a], "balance": self.balance(a)} for a in players]


class WheelError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
