"""The wheel show in a room: bets and host actions as room inputs, ``show`` / ``payout`` /
``leaderboard`` as events. Rules and the draw are in :mod:`world.shows.wheel`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from world.mirror import Mirror, Shared
from world.protocol import ErrorCode, error, ok
from world.shows.wheel import Bet, Wheel, WheelError
from world.social import Event, Staff


@dataclass(slots=True)
class PlaceBet:
    ref: int
    avatar: int
    round: str
    segment: str
    amount: int
    bet_id: str


@dataclass(slots=True)
class WheelAct:
    """``wheel.open`` (params: seconds, seed) or ``wheel.spin``, by staff."""

    ref: int
    staff: Staff
    action: str
    params: dict[str, Any]


class Players(Protocol):
    def name_of(self, avatar: int) -> str | None: ...


class WheelShow:
    def __init__(self, room: str, players: Players) -> None:
        self.room = room
        self.players = players
        self.wheel = Wheel()
        self.events: list[Event] = []
        self.staff: list[tuple[str, dict[str, Any]]] = []
        self.shared: list[Shared] = []  # the stage, for this room's shards on other nodes
        self._changed = False

    def join_extras(self, avatar: int, now: int) -> dict[str, Any]:
        return {"show": self.wheel.state(now), "balance": self.wheel.balance(avatar)}

    def apply(self, item: PlaceBet | WheelAct, now: int) -> tuple[int, dict[str, Any]]:
        try:
            if isinstance(item, WheelAct):
                return item.ref, self._host(item, now)
            name = self.players.name_of(item.avatar)
            if name is None:
                return item.ref, error(ErrorCode.NOT_JOINED, f"you are not in room {self.room!r}")
            balance = self.wheel.bet(item.avatar, name, item.round, item.segment, item.amount, item.bet_id, now)
            self._changed = True
            return item.ref, ok(balance=balance)
        except WheelError as exc:
            return item.ref, error(ErrorCode(exc.code), exc.message)

    def _host(self, act: WheelAct, now: int) -> dict[str, Any]:
        if act.action == "wheel.open":
            seconds, seed = float(act.params["seconds"]), act.params["seed"]
            r = self.wheel.open(now, seconds, seed)
            reply = ok(round=r.id, commit=self.wheel.state(now)["commit"], ends_at=r.closes_at)
            self.shared.append(("stage", {"action": act.action, "t": now, "round": r.id,
                                          "params": {"seconds": seconds, "seed": seed}}))
        else:
            r = self.wheel.spin(now)
            reply = ok(round=r.id)
            self.shared.append(("stage", {"action": act.action, "t": now, "round": r.id}))
        self._changed = True
        self.staff.append(("modlog", {"t": now, "by": act.staff.name, "role": act.staff.role,
                                      "action": act.action, "room": self.room, "id": r.id}))
        return reply

    def export(self) -> dict[str, Any]:
        """Balances and the open round's bets, for a node that hands its visitors over (drain)."""
        w = self.wheel
        r = w.round
        bets = [[b.avatar, b.id, b.segment, b.amount] for b in r.bets.values()] if r is not None and not r.settled else []
        return {"balances": [[a, n, w.names.get(a, "")] for a, n in w.balances.items()],
                "round": r.id if r is not None else None, "bets": bets}

    def adopt(self, state: dict[str, Any]) -> None:
        """Balances and open bets of visitors handed over by a draining node: their bets are
        settled here, with the same draw, and paid to them here."""
        w = self.wheel
        for avatar, balance, name in state["balances"]:
            w.balances[int(avatar)] = int(balance)
            if name:
                w.names[int(avatar)] = str(name)
        r = w.round
        if r is not None and not r.settled and r.id == state.get("round"):
            for avatar, bet_id, segment, amount in state["bets"]:
                r.bets.setdefault((int(avatar), str(bet_id)), Bet(str(bet_id), int(avatar), str(segment), int(amount)))
            self._changed = True

    def mirror(self, m: Mirror) -> None:
        """A round opened or spun on another node: the same round (id, seed, times) here, so
        every node draws the same result; each node settles its own visitors' bets."""
        p = m.payload
        try:
            if p["action"] == "wheel.open":
                self.wheel.open(int(p["t"]), float(p["params"]["seconds"]), bytes(p["params"]["seed"]), str(p["round"]))
            elif self.wheel.round is not None and self.wheel.round.id == p.get("round"):
                self.wheel.spin(int(p["t"]))
            self._changed = True
        except (WheelError, KeyError, TypeError, ValueError):
            pass  # out of step (e.g. this node started mid-round): the next round brings it back

    def finish(self, now: int) -> None:
        changed, payouts = self.wheel.advance(now)
        if changed or self._changed:
            state = self.wheel.state(now)
            self.events.append(Event(None, "show", state))
            self.staff.append(("show", {"room": self.room, **state}))
        self._changed = False
        r = self.wheel.round
        for avatar, won, balance in payouts:
            self.events.append(Event((avatar,), "payout", {"round": r.id if r else "", "won": won, "balance": balance}))
        if payouts:
            board = {"top": self.wheel.leaderboard()}
            self.events.append(Event(None, "leaderboard", board))
            self.staff.append(("leaderboard", {"room": self.room, **board}))
