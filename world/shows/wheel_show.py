"""The wheel show in a room: bets and host actions as room inputs, ``show`` / ``payout`` /
``leaderboard`` as events. Rules and the draw are in :mod:`world.shows.wheel`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from world.replication.mirror import Mirror, Shared
from world.protocol import ErrorCode, error, ok
from world.shows.wheel import Bet, Wheel, WheelError
from world.social.layer import Event, Staff


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
    def __init__(self, room: str, players: Players, *, tag: str = "") -> None:
        self.room = room
        self.players = players
        self.wheel = Wheel()
        self.events: list[Event] = []
        self.staff: list[tuple[str, dict[str, Any]]] = []
        self.shared: list[Shared] = []  # the stage, for this room's shards on other nodes
        self.carried: set[int] = set()  # avatars whose balance or bets changed this tick
        self._tag = tag  # this shard's tag: its leaderboard's name among the shards
        self._boards: dict[str, list[dict[str, Any]]] = {}  # the other shards' leaderboards
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
            self.carried.add(item.avatar)
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

    def export(self, avatars: set[int] | None = None) -> dict[str, Any]:
        """Balances and the open round's bets (of every avatar, or of ``avatars``), for a node
        that hands its visitors over (drain) or keeps them for another node (``carry``)."""
        w = self.wheel
        r = w.round
        bets = [[b.avatar, b.id, b.segment, b.amount] for b in r.bets.values()
                if avatars is None or b.avatar in avatars] if r is not None and not r.settled else []
        return {"balances": [[a, n, w.names.get(a, "")] for a, n in w.balances.items() if avatars is None or a in avatars],
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

    def mirror_board(self, m: Mirror) -> None:
        """Another shard's leaderboard: ours is the top of all of them."""
        top = m.payload["top"]
        self._boards[str(m.payload["from"])] = [
            {"id": int(e["id"]), "name": str(e["name"]), "balance": int(e["balance"])} for e in top[:10]
        ]
        if not m.history:
            self._announce_board()

    def leaderboard(self, top: int = 10) -> list[dict[str, Any]]:
        """The event's leaderboard: this shard's players and the other shards' tops (a player
        who moved between shards counts once, as this shard knows it if it does)."""
        best = {e["id"]: e for e in self.wheel.leaderboard(top)}
        for board in self._boards.values():
            for e in board:
                if e["id"] not in best and e["id"] not in self.wheel.names:
                    best[e["id"]] = e
        return sorted(best.values(), key=lambda e: (-e["balance"], e["id"]))[:top]

    def _announce_board(self) -> None:
        board = {"top": self.leaderboard()}
        self.events.append(Event(None, "leaderboard", board))
        self.staff.append(("leaderboard", {"room": self.room, **board}))

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
            self.carried.add(avatar)
        if payouts:
            self.shared.append(("board", {"from": self._tag, "top": self.wheel.leaderboard()}))
            self._announce_board()
