"""The wheel show in a room: bets and host actions as room inputs, ``show`` / ``payout`` /
``leaderboard`` as events; one feature of a room (world/feature.py). Rules and the draw are in
:mod:`world.shows.wheel`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from world.core.scene import RoomConfig
from world.feature import Context, FeatureBase, Reply, Staff
from world.protocol import ErrorCode, error, ok
from world.replication.items import BadReplica, BoardItem, HandoverItem, OpenParams, WheelOpen, WheelSpin
from world.shows.wheel import Bet, Wheel, WheelError


@dataclass(slots=True)
class PlaceBet:
    FEATURE: ClassVar[str] = "wheel"  # what a room without one answers it has not

    ref: int
    avatar: int
    round: str
    segment: str
    amount: int
    bet_id: str


@dataclass(slots=True)
class WheelAct:
    """``wheel.open`` (params: seconds, seed) or ``wheel.spin``, by staff."""

    FEATURE: ClassVar[str] = "wheel"

    ref: int
    staff: Staff
    action: str
    params: dict[str, Any]


class WheelShow(FeatureBase):
    name = "wheel"

    def __init__(self, config: RoomConfig, ctx: Context) -> None:
        super().__init__()
        self.room = config.id
        self.ctx = ctx
        self.wheel = Wheel()
        self._tag = config.tag  # this shard's tag: its leaderboard's name among the shards
        self._boards: dict[str, list[dict[str, Any]]] = {}  # the other shards' leaderboards
        self._changed = False
        self.inputs = {PlaceBet: self._bet, WheelAct: self._host}
        self.replicas = {WheelOpen: self._on_open, WheelSpin: self._on_spin, BoardItem: self._on_board}

    def join(self, avatar: int, now: int) -> dict[str, Any]:
        return {"show": self.wheel.state(now), "balance": self.wheel.balance(avatar)}

    def watch(self, now: int) -> dict[str, Any]:
        return {"show": self.wheel.state(now)}

    def each_second(self, now: int) -> dict[str, Any]:
        return {"show": show_summary(self.wheel.state(now))}

    def _bet(self, item: PlaceBet, now: int) -> Reply:
        name = self.ctx.name_of(item.avatar)
        if name is None:
            return error(ErrorCode.NOT_JOINED, f"you are not in room {self.room!r}")
        try:
            balance = self.wheel.bet(item.avatar, name, item.round, item.segment, item.amount, item.bet_id, now)
        except WheelError as exc:
            return error(ErrorCode(exc.code), exc.message)
        self._changed = True
        self.feed.carried.add(item.avatar)
        return ok(balance=balance)

    def _host(self, act: WheelAct, now: int) -> Reply:
        try:
            if act.action == "wheel.open":
                seconds, seed = float(act.params["seconds"]), act.params["seed"]
                r = self.wheel.open(now, seconds, seed)
                reply = ok(round=r.id, commit=self.wheel.state(now)["commit"], ends_at=r.closes_at)
                self.feed.share(WheelOpen(action="wheel.open", t=now, round=r.id,
                                          params=OpenParams(seconds=seconds, seed=seed)))
            else:
                r = self.wheel.spin(now)
                reply = ok(round=r.id)
                self.feed.share(WheelSpin(action="wheel.spin", t=now, round=r.id))
        except WheelError as exc:
            return error(ErrorCode(exc.code), exc.message)
        self._changed = True
        self.feed.log(self.ctx, {"t": now, "by": act.staff.name, "role": act.staff.role,
                                 "action": act.action, "room": self.room, "id": r.id})
        return reply

    # ---- what visitors carry between nodes ---------------------------------------------

    def export(self, avatars: set[int] | None) -> dict[str, Any]:
        """Balances and the open round's bets (of every avatar, or of ``avatars``), for a node
        that hands its visitors over (drain)."""
        w = self.wheel
        r = w.round
        bets = [[b.avatar, b.id, b.segment, b.amount] for b in r.bets.values()
                if avatars is None or b.avatar in avatars] if r is not None and not r.settled else []
        return {"wheel": {"balances": [[a, n, w.names.get(a, "")] for a, n in w.balances.items()
                                       if avatars is None or a in avatars],
                          "round": r.id if r is not None else None, "bets": bets}}

    def export_each(self, avatars: set[int]) -> dict[int, dict[str, Any]]:
        """The same for each of ``avatars`` (``carry``): one export, split per visitor (a payout
        carries every bettor at once)."""
        state = self.export(avatars)["wheel"]
        balances: dict[int, list[Any]] = {}
        bets: dict[int, list[Any]] = {}
        for row in state["balances"]:
            balances.setdefault(row[0], []).append(row)
        for row in state["bets"]:
            bets.setdefault(row[0], []).append(row)
        return {a: {"wheel": {"balances": balances.get(a, []), "round": state["round"], "bets": bets.get(a, [])}}
                for a in avatars}

    def adopt(self, item: HandoverItem) -> set[int]:
        """Balances and open bets of visitors handed over by a draining node: their bets are
        settled here, with the same draw, and paid to them here."""
        state = item.wheel
        if state is None:
            return set()
        w = self.wheel
        for avatar, balance, name in state.balances:
            w.balances[avatar] = balance
            if name:
                w.names[avatar] = name
        r = w.round
        if r is not None and not r.settled and r.id == state.round:
            for avatar, bet_id, segment, amount in state.bets:
                r.bets.setdefault((avatar, bet_id), Bet(bet_id, avatar, segment, amount))
            self._changed = True
        return {row[0] for row in state.balances}

    # ---- items from this room's shards on other nodes ------------------------------------

    def _on_board(self, item: BoardItem, history: bool, now: int) -> None:
        """Another shard's leaderboard: ours is the top of all of them."""
        self._boards[item.source] = [{"id": e.id, "name": e.name, "balance": e.balance} for e in item.top[:10]]
        if not history:
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
        self.feed.send(None, "leaderboard", board)
        self.feed.tell_staff("leaderboard", {"room": self.room, **board})

    def _on_open(self, item: WheelOpen, history: bool, now: int) -> None:
        """A round opened on another node: the same round (id, seed, times) here, so every
        node draws the same result; each node settles its own visitors' bets."""
        try:
            self.wheel.open(item.t, float(item.params.seconds), item.params.seed, item.round)
        except WheelError as exc:  # out of step (e.g. a round still open here): counted, the next round brings it back
            raise BadReplica("stage", f"wheel.open {item.round}: {exc.message}") from None
        self._changed = True

    def _on_spin(self, item: WheelSpin, history: bool, now: int) -> None:
        r = self.wheel.round
        if r is None or r.id != item.round:
            self._changed = True  # a round this node never saw (it started mid-round): nothing to spin
            return
        try:
            self.wheel.spin(item.t)
        except WheelError as exc:
            raise BadReplica("stage", f"wheel.spin {item.round}: {exc.message}") from None
        self._changed = True

    def finish(self, now: int) -> None:
        changed, payouts = self.wheel.advance(now)
        if changed or self._changed:
            state = self.wheel.state(now)
            self.feed.send(None, "show", state)
            self.feed.tell_staff("show", {"room": self.room, **state})
        self._changed = False
        r = self.wheel.round
        for avatar, won, balance in payouts:
            self.feed.send((avatar,), "payout", {"round": r.id if r else "", "won": won, "balance": balance})
            self.feed.carried.add(avatar)
        if payouts:
            self.feed.share(BoardItem.model_validate({"from": self._tag, "top": self.wheel.leaderboard()}))
            self._announce_board()


SUMMARY = ("kind", "phase", "round", "cue", "t0", "ends_at")  # what staff's live numbers show of a show


def show_summary(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k in SUMMARY}
