"""Room: one shared space. Inputs queue between ticks; ``step(now, inbox)`` applies them all.

The room is a small contract in the spirit of a Nakama match: the transport validates and
enqueues inputs, the room's own tick hands the batch to :meth:`Room.step`, and the returned
:class:`Outbox` says what to send. Same state + same inputs + same ``now`` + same seed give
the same outbox. Time is server wall clock in milliseconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import Any, NamedTuple, Union

import numpy as np

from world.core.grid import GridFull, SpatialGrid
from world.core.interest import Interest, TickView
from world.core.pose import PoseBook
from world.core.movement import MovementRules
from world.protocol import ErrorCode, error, ok
from world.core.scene import RoomConfig
from world.insight.analytics import Analytics
from world.commerce.shop import CartAdd, CartGet, Commerce, CommerceAct, OfferClaim, OfferSettled, ProductTry, ProductView
from world.replication.mirror import Mirror, Shared
from world.insight.triggers import Triggers
from world.shows.concert_show import ConcertAct, ConcertShow
from world.shows.wheel_show import PlaceBet, WheelAct, WheelShow
from world.social.layer import AssistAsk, Ask, Event, React, Say, Social, StaffAct, Vote

# ---- inputs (built by the gateway after validation) ----------------------------------------


@dataclass(slots=True)
class Join:
    ref: int  # correlates the reply in the outbox with the waiting request
    avatar: int
    name: str
    look: dict[str, Any]
    session: str | None = None  # the visitor's resume token: bans hold against it too


@dataclass(slots=True)
class Leave:
    avatar: int
    ref: int | None = None


@dataclass(slots=True)
class Attach:
    """The avatar's visitor is connected (again): it views the room and gets full state."""

    avatar: int


@dataclass(slots=True)
class Detach:
    """The visitor's connection dropped: the avatar stays in place during the grace period."""

    avatar: int


class Move(NamedTuple):
    """A requested move; a tuple because the gateway builds thousands per second."""

    avatar: int
    p: tuple[float, float, float]
    yaw: float
    seq: int
    t: int  # server ms when the move arrived


@dataclass(slots=True)
class Moves:
    """Many moves at once, columnar: rows of (avatar, x, y, z, yaw, seq, t) as float64.

    What the server sends its room workers: one array pickles as raw bytes, where thousands
    of Move tuples cost milliseconds each way.
    """

    rows: Any  # NDArray[float64] of shape (n, 7)


@dataclass(slots=True)
class SetLook:
    """The avatar now looks different (e.g. a product variant tried on)."""

    avatar: int
    look: dict[str, Any]


@dataclass(slots=True)
class Handover:
    """The node is draining: the room's per-visitor state (carts, orders, wheel balances and
    open bets) for the node its visitors resume on (shared as a ``handover`` item)."""

    ref: int


@dataclass(slots=True)
class AnalyticsAsk:
    """Staff want the room's analytics report (the export); ``tally``: its raw sums instead,
    to be added up with the other shards' (world.insight.analytics.Analytics.tally)."""

    ref: int
    tally: bool = False


@dataclass(slots=True)
class Detail:
    """How much the room may send (see server.load): far avatars every ``far_stride`` ticks."""

    far_stride: int


@dataclass(slots=True)
class SetPose:
    """A VR pose (world.core.pose.check_pose): ``flags`` 0 clears it; ``values`` (3, 7) rows
    head, left, right as offsets in metres and unit quaternions."""

    avatar: int
    flags: int
    values: Any  # NDArray[float64] of shape (3, 7)


@dataclass(slots=True)
class Poses:
    """Many poses at once, columnar: rows of (avatar, flags, 21 values) as float64, in arrival
    order (what the server sends its room workers; see Moves)."""

    rows: Any  # NDArray[float64] of shape (n, 23)


Input = Union[
    Join, Leave, Attach, Detach, Move, Moves, SetLook, Detail, Say, React, Ask, Vote, AssistAsk, StaffAct,
    ProductView, ProductTry, CartAdd, CartGet, OfferClaim, OfferSettled, CommerceAct, PlaceBet, WheelAct, ConcertAct,
    AnalyticsAsk, Handover, Mirror, SetPose, Poses,
]
SOCIAL = (Say, React, Ask, Vote, AssistAsk, StaffAct)
COMMERCE = (ProductView, ProductTry, CartAdd, CartGet, OfferClaim, OfferSettled, CommerceAct)
WHEEL = (PlaceBet, WheelAct)


def _rows(moves: list[Move]) -> Any:
    return np.array([(m.avatar, *m.p, m.yaw, m.seq, m.t) for m in moves], np.float64).reshape(-1, 7)


@dataclass(slots=True)
class Outbox:
    t: int
    n: int
    replies: dict[int, dict[str, Any]] = field(default_factory=dict)
    corrections: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    ticks: list[TickView] = field(default_factory=list)
    left: list[int] = field(default_factory=list)  # avatars no longer in this room
    events: list[Event] = field(default_factory=list)  # chat, reactions, qa, moderation ...
    staff: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # the host consoles' feed
    removed: list[int] = field(default_factory=list)  # avatars staff removed (kick, ban)
    stats: dict[str, Any] = field(default_factory=dict)
    shared: list[Shared] = field(default_factory=list)  # for this room's shards on other nodes


@dataclass(slots=True)
class Avatar:
    id: int
    name: str
    look: dict[str, Any]
    slot: int
    session: str | None = None
    viewing: bool = True
    enter: list[Any] = field(default_factory=list)  # [id, name, look] as sent in ticks


class Room:
    def __init__(self, config: RoomConfig, *, rng: random.Random | None = None) -> None:
        self.config = config
        self.rng = rng or random.Random(0)
        lo, hi = config.scene.bounds
        self.grid = SpatialGrid(lo, hi, capacity=config.capacity)
        self.interest = Interest(config.view_k)
        lod = config.pose_lod()
        self.poses = PoseBook(hands_m=lod["hands_m"], head_m=lod["head_m"])  # VR poses per grid slot
        self.rules = MovementRules(config.scene, config.max_speed)
        self.avatars: dict[int, Avatar] = {}
        self._enter_of: list[Any] = []  # per grid slot: the avatar's [id, name, look]
        # Per grid slot: movement budget (metres) and when the last move arrived (server ms).
        self._budget = np.zeros(0, np.float64)
        self._last_move_t = np.zeros(0, np.float64)
        self._refresh = np.zeros(0, bool)  # per grid slot: name/look changed, announce again
        # Viewers (re)attached in this step start receiving ticks at the next step, so the
        # join ack (or the resume welcome) is on the wire before their first full view.
        self._fresh: set[int] = set()
        self.tick_no = 0
        self.far_stride = 1
        self.near_m = min(10.0, config.view_radius / 3)
        # Visible sets computed ahead of the next tick (see prepare()): viewer slot ->
        # (row, generation) and the (rows, k) matrix of visible slots with their generations.
        self._ahead: tuple[dict[int, int], Any, Any, Any] | None = None
        self.social = Social(config.id, config.catalog, self, tag=config.shard)
        self.commerce = Commerce(config.id, config.catalog, self, tag=config.shard)
        self.wheel = WheelShow(config.id, self, tag=config.shard) if config.kind == "wheel" else None
        self.concert = ConcertShow(config.id, config.setlist) if config.setlist is not None else None
        self.analytics = Analytics(config.id, config.scene, config.catalog)
        self.triggers = Triggers(config.triggers, self.analytics.zone_ids)
        self._notices: list[Event] = []
        self._next_sample = 0
        self._now = 0
        self._features: list[Social | Commerce | WheelShow | ConcertShow] = [self.social, self.commerce]
        for show in (self.wheel, self.concert):
            if show is not None:
                self._features.append(show)

    @property
    def occupancy(self) -> int:
        return len(self.avatars)

    def info(self, *, full: bool = True) -> dict[str, Any]:
        return self.config.info(self.occupancy, full=full)

    # ---- the tick --------------------------------------------------------------------

    def step(self, now: int, inbox: list[Input]) -> Outbox:
        """Apply the inputs and build every viewer's tick."""
        out = self.apply(now, inbox)
        out.ticks = [view for part in self.tick_parts(1) for view in part]
        return out

    def apply(self, now: int, inbox: list[Input]) -> Outbox:
        """Apply the inputs; the tick's views then come from :meth:`tick_parts`."""
        self.tick_no += 1
        self._now = now
        out = Outbox(t=now, n=self.tick_no)
        self._fresh.clear()
        moves: list[Move] = []  # single moves not yet in `batches`
        batches: list[Any] = []  # move rows in arrival order
        for item in inbox:
            if isinstance(item, Move):
                moves.append(item)
            elif isinstance(item, Moves):
                batches += [_rows(moves), item.rows]
                moves = []
            elif isinstance(item, Join):
                out.replies[item.ref] = self._join(item, now)
            elif isinstance(item, Leave):
                if self._leave(item.avatar):
                    out.left.append(item.avatar)
                if item.ref is not None:
                    out.replies[item.ref] = ok()
            elif isinstance(item, Attach):
                self._attach(item.avatar)
            elif isinstance(item, Detach):
                if item.avatar in self.avatars:
                    self.avatars[item.avatar].viewing = False
                    self.poses.clear(self.avatars[item.avatar].slot)  # no headset on a dropped line
            elif isinstance(item, (SetPose, Poses)):
                self._set_poses(item)
            elif isinstance(item, SetLook):
                self._set_look(item.avatar, item.look)
            elif isinstance(item, SOCIAL):
                answered = self.social.apply(item, now)
                if answered is not None:
                    out.replies[answered[0]] = answered[1]
                    if isinstance(item, StaffAct) and item.action == "host.watch" and answered[1].get("ok"):
                        answered[1].update(self._watch_extras(now))
            elif isinstance(item, COMMERCE):
                ref, reply = self.commerce.apply(item, now)
                out.replies[ref] = reply
            elif isinstance(item, (*WHEEL, ConcertAct)):
                out.replies[item.ref] = self._show_input(item, now)
            elif isinstance(item, Mirror):
                self._mirror(item, now)
            elif isinstance(item, AnalyticsAsk):
                out.replies[item.ref] = ok(tally=self.analytics.tally()) if item.tally else ok(report=self.analytics.report(now))
            elif isinstance(item, Handover):
                snapshot: dict[str, Any] = {"carts": self.commerce.export()}
                if self.wheel is not None:
                    snapshot["wheel"] = self.wheel.export()
                out.replies[item.ref] = ok(snapshot=snapshot)
            elif isinstance(item, Detail):
                self.far_stride = max(1, item.far_stride)
        batches.append(_rows(moves))
        self._apply_moves(batches[0] if len(batches) == 1 else np.concatenate(batches), out)
        social = self.social
        social.finish(now, self.rng)
        self.commerce.finish(now)
        for show in (self.wheel, self.concert):
            if show is not None:
                show.finish(now)
        sampled = now >= self._next_sample
        if sampled:  # about once a second: analytics and zone triggers
            self._next_sample = now + 1000
            self._sample(now)
        for feature in self._features:
            out.events += feature.events
            out.staff += feature.staff
            if feature is not social:  # shop and show actions go in the one moderation log
                for name, entry in feature.staff:
                    if name == "modlog":
                        social.mod.record(entry)
            feature.events, feature.staff = [], []
        out.events += self._notices
        self._notices = []
        for feature in self._features:
            out.shared += feature.shared
            feature.shared = []
        out.shared += self._carried()
        for e in out.events:
            if e.name == "chat":
                self.analytics.count("chat", now)
            elif e.name == "reactions":
                self.analytics.count("reactions", now, sum(e.payload["counts"].values()))
        out.removed, social.removed = social.removed, []
        out.left += out.removed
        if sampled:  # the live numbers for staff, once a second
            out.stats = {
                **social.stats(now, self.occupancy),
                "visitors": len(self.analytics.visitors),
                "top_products": self.analytics.top_products(),
                "funnel": self.analytics.funnel_totals(),
                "offers": self.commerce.conversions(),
                "heatmap": self.analytics.heatmap(),
            }
            for show in (self.wheel, self.concert):
                if show is not None:
                    out.stats["show"] = {k: v for k, v in show.join_extras(0, now)["show"].items()
                                         if k in ("kind", "phase", "round", "cue", "t0", "ends_at")}
        return out

    def _mirror(self, m: Mirror, now: int) -> None:
        """An item from another node's shard of this room; one that does not parse is
        dropped (it must never cost this room its tick)."""
        try:
            if m.kind in ("chat", "reactions", "qa", "staff"):
                self.social.mirror(m, now)
            elif m.kind in ("offer", "stock"):
                self.commerce.mirror(m, now)
            elif m.kind == "stage":
                self._mirror_stage(m, now)
            elif m.kind == "board" and self.wheel is not None:
                self.wheel.mirror_board(m)
            elif m.kind == "handover":
                self._adopt(m)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass

    def _adopt(self, m: Mirror) -> None:
        """Visitors' carts, orders, balances and bets from elsewhere (a drained node, a
        resume, a restore). A visitor resuming here (a ``carry`` of one ``avatar``) is carried
        on from here, so the server keeps its state for a restore too (a drained node's whole
        hand-over is not: those visitors bring theirs when they resume here)."""
        self.commerce.adopt(m.payload["carts"])
        avatars = {int(row[0]) for row in m.payload["carts"]}
        if self.wheel is not None and "wheel" in m.payload:
            self.wheel.adopt(m.payload["wheel"])
            avatars |= {int(row[0]) for row in m.payload["wheel"]["balances"]}
        if not m.history and "avatar" in m.payload:
            self.commerce.carried |= avatars

    def _carried(self) -> list[Shared]:
        """``carry`` items: the state of each visitor whose cart, orders, balance or bets
        changed this tick, for the node it may resume on (see world/mirror.py)."""
        avatars = self.commerce.carried
        wheel = self.wheel
        if wheel is not None:
            avatars |= wheel.carried
            wheel.carried = set()
        self.commerce.carried = set()
        if not avatars:
            return []
        # one export for all of them, split per visitor: a payout carries every bettor at once
        carts = {row[0]: row for row in self.commerce.export(avatars)}
        state = wheel.export(avatars) if wheel is not None else None
        balances: dict[int, list[Any]] = {}
        bets: dict[int, list[Any]] = {}
        if state is not None:
            for row in state["balances"]:
                balances.setdefault(row[0], []).append(row)
            for row in state["bets"]:
                bets.setdefault(row[0], []).append(row)
        items: list[Shared] = []
        for a in sorted(avatars):
            carry: dict[str, Any] = {"avatar": a, "carts": [carts[a]]}
            if state is not None:
                carry["wheel"] = {"balances": balances.get(a, []), "round": state["round"], "bets": bets.get(a, [])}
            items.append(("carry", carry))
        return items

    def _mirror_stage(self, m: Mirror, now: int) -> None:
        action = str(m.payload.get("action"))
        if action == "spotlight":
            self.commerce.mirror(m, now)
        elif action.startswith("wheel.") and self.wheel is not None:
            self.wheel.mirror(m)
        elif action in ("show.start", "concert.cue") and self.concert is not None:
            self.concert.mirror(m, now)

    def _show_input(self, item: PlaceBet | WheelAct | ConcertAct, now: int) -> dict[str, Any]:
        if isinstance(item, ConcertAct):
            if self.concert is not None:
                return self.concert.apply(item, now)[1]
        elif self.wheel is not None:
            return self.wheel.apply(item, now)[1]
        kind = "concert" if isinstance(item, ConcertAct) else "wheel"
        return error(ErrorCode.NOT_FOUND, f"room {self.config.id!r} has no {kind}")

    def _watch_extras(self, now: int) -> dict[str, Any]:
        """What a host console needs beyond the social layer when it starts watching."""
        extras: dict[str, Any] = {"spotlight": self.commerce.spotlight, "offers": self.commerce.conversions()}
        for show in (self.wheel, self.concert):
            if show is not None:
                extras["show"] = show.join_extras(0, now)["show"]
        return extras

    def _sample(self, now: int) -> None:
        grid = self.grid
        slots = np.flatnonzero(grid.active)
        ids, pos = grid.ids[slots].astype(np.int64), grid.pos[slots].astype(np.float64)
        inside = self.analytics.sample(now, ids, pos)
        for avatar, rule in self.triggers.on_sample(now, ids, inside):
            self._notice(avatar, rule)

    def _notice(self, avatar: int, rule: Any) -> None:
        body: dict[str, Any] = {"text": rule.notice.text, "rule": rule.id}
        if rule.notice.product:
            body["product"] = rule.notice.product
            offer = self.commerce.running_offer(rule.notice.product) if rule.notice.offer else None
            if offer is not None:
                body["offer"] = offer
        self._notices.append(Event((avatar,), "notice", body))

    # ---- membership ------------------------------------------------------------------

    def _join(self, j: Join, now: int) -> dict[str, Any]:
        refused = self.social.refused(j.avatar, j.session)
        if refused is not None:
            return refused
        a = self.avatars.get(j.avatar)
        if a is None:
            if len(self.avatars) >= self.config.capacity:
                return error(ErrorCode.ROOM_FULL, f"room {self.config.id!r} is full")
            p = self._spawn_point()
            yaw = self.rng.uniform(-np.pi, np.pi)
            try:
                slot = self.grid.add(j.avatar, p, yaw)
                self.poses.forget(slot)
            except GridFull:
                return error(ErrorCode.ROOM_FULL, f"room {self.config.id!r} is full")
            a = Avatar(j.avatar, j.name, j.look, slot, j.session)
            a.enter = [a.id, a.name, a.look]
            self.avatars[a.id] = a
            self._set_slot_meta(slot, a.enter)
            self._budget[slot] = self.rules.burst
            self._last_move_t[slot] = now
        a.viewing = True
        self.interest.forget(a.slot)  # a (re)joining client starts from an empty view
        self._fresh.add(a.id)
        pos = self.grid.pos[a.slot]
        you = {"id": a.id, "p": [round(float(v), 3) for v in pos], "yaw": float(self.grid.yaw[a.slot]), "look": a.look}
        extras = {"show": None, **self.social.join_extras(a.id, now), **self.commerce.join_extras()}
        for show in (self.wheel, self.concert):
            if show is not None:
                extras.update(show.join_extras(a.id, now))
        return ok(room=self.info(), you=you, **extras)

    def _leave(self, avatar: int) -> bool:
        a = self.avatars.pop(avatar, None)
        if a is None:
            return False
        self.grid.remove(a.slot)
        self.poses.forget(a.slot)
        return True

    def _attach(self, avatar: int) -> None:
        a = self.avatars.get(avatar)
        if a is not None:
            a.viewing = True
            self.interest.forget(a.slot)
            self._fresh.add(a.id)
            self.social.attached(avatar)

    # ---- what the social layer asks of the room (world.social.layer.Members) ---------------

    def name_of(self, avatar: int) -> str | None:
        a = self.avatars.get(avatar)
        return None if a is None else a.name

    def session_of(self, avatar: int) -> str | None:
        a = self.avatars.get(avatar)
        return None if a is None else a.session

    def is_viewing(self, avatar: int) -> bool:
        a = self.avatars.get(avatar)
        return a is not None and a.viewing

    def near(self, avatar: int) -> list[int]:
        """Viewing avatars within the view radius of ``avatar`` (itself included)."""
        a = self.avatars.get(avatar)
        if a is None:
            return []
        grid = self.grid
        offset = grid.pos - grid.pos[a.slot]
        close = grid.active & ((offset * offset).sum(axis=1) <= self.config.view_radius**2)
        return [int(i) for i in grid.ids[close].tolist() if self.is_viewing(int(i))]

    def remove(self, avatar: int) -> bool:
        return self._leave(avatar)

    def shopped(self, stage: str, avatar: int, product: str) -> None:
        self.analytics.mark(stage, avatar, product)
        if stage == "viewed":
            for who, rule in self.triggers.on_view(avatar, product, self._now):
                self._notice(who, rule)

    def wear(self, avatar: int, wear: dict[str, Any]) -> None:
        """The avatar tries a product variant on: everyone who sees it sees it (``look.wear``)."""
        a = self.avatars.get(avatar)
        if a is not None:
            self._set_look(avatar, {**a.look, "wear": wear})

    def viewer_ids(self) -> list[int]:
        return [a.id for a in self.avatars.values() if a.viewing]

    def _set_look(self, avatar: int, look: dict[str, Any]) -> None:
        """Everyone who sees the avatar is told its new look (an ``enter``) in this tick."""
        a = self.avatars.get(avatar)
        if a is None:
            return
        a.look = look
        a.enter = [a.id, a.name, look]
        self._set_slot_meta(a.slot, a.enter)
        self._refresh[a.slot] = True

    def position(self, avatar: int) -> tuple[list[float], float]:
        a = self.avatars[avatar]
        return [float(v) for v in self.grid.pos[a.slot]], float(self.grid.yaw[a.slot])

    def _set_slot_meta(self, slot: int, enter: list[Any]) -> None:
        if slot >= len(self._enter_of):  # grow geometrically: a crowd joins one by one
            grow = max(slot + 1, 2 * len(self._enter_of)) - len(self._enter_of)
            self._enter_of.extend([None] * grow)
            self._refresh = np.concatenate([self._refresh, np.zeros(grow, bool)])
            self._budget = np.concatenate([self._budget, np.zeros(grow)])
            self._last_move_t = np.concatenate([self._last_move_t, np.zeros(grow)])
        self._enter_of[slot] = enter

    def _spawn_point(self) -> tuple[float, float, float]:
        base = self.rng.choice(self.config.scene.spawn)
        for _ in range(4):  # spread newcomers a little so they do not stack
            p = np.array(base) + [self.rng.uniform(-1.5, 1.5), 0.0, self.rng.uniform(-1.5, 1.5)]
            if self.rules.legal_targets(np.array([base], float), p[None])[0]:
                return (float(p[0]), float(p[1]), float(p[2]))
        return (float(base[0]), float(base[1]), float(base[2]))

    # ---- movement --------------------------------------------------------------------

    def _apply_moves(self, moves: Any, out: Outbox) -> None:
        """Apply moves (rows of avatar, x, y, z, yaw, seq, t) in arrival order, vectorised:
        an avatar's k-th move of the tick is in round k, each round checked for every avatar
        at once."""
        if not len(moves):
            return
        avatars = self.avatars
        batch = moves.copy()
        batch[:, 0] = [a.slot if (a := avatars.get(int(i))) is not None else -1 for i in moves[:, 0].tolist()]
        batch = batch[batch[:, 0] >= 0]  # avatars that left (or never joined) move nowhere
        if not len(batch):
            return
        slots = batch[:, 0].astype(np.int64)
        order = np.argsort(slots, kind="stable")
        ranked = slots[order]
        first = np.r_[True, ranked[1:] != ranked[:-1]]
        position = np.arange(len(ranked))
        rank = np.empty(len(ranked), np.int64)
        rank[order] = position - np.maximum.accumulate(np.where(first, position, 0))
        refused_seq: dict[int, int] = {}  # slot -> seq of its last move, if that was refused
        for k in range(int(rank.max()) + 1):
            sel = batch[rank == k]
            s = sel[:, 0].astype(np.int64)
            start = self.grid.pos[s].astype(np.float64)
            end, yaw, t = sel[:, 1:4], sel[:, 4], sel[:, 6]
            legal = self.rules.legal_targets(start, end) & np.isfinite(yaw)
            # illegal targets are measured as staying put: they cost no budget
            dist = np.sqrt(((np.where(legal[:, None], end, start) - start) ** 2).sum(axis=1))
            fits, self._budget[s] = self.rules.spend(self._budget[s], (t - self._last_move_t[s]) / 1000.0, dist)
            self._last_move_t[s] = np.maximum(self._last_move_t[s], t)
            accept = legal & fits
            if accept.any():
                self.grid.place(s[accept], end[accept].astype(np.float32), yaw[accept].astype(np.float32))
            for slot, seq, ok_ in zip(s.tolist(), sel[:, 5].tolist(), accept.tolist()):
                if ok_:
                    refused_seq.pop(slot, None)
                else:
                    refused_seq[slot] = int(seq)
        for slot, seq in refused_seq.items():
            p = [round(float(v), 3) for v in self.grid.pos[slot]]
            out.corrections.append((int(self.grid.ids[slot]), {"p": p, "seq": seq}))

    # ---- VR poses ---------------------------------------------------------------------

    def _set_poses(self, item: SetPose | Poses) -> None:
        """Store poses (validated at the edge) by grid slot; the latest per avatar counts."""
        if isinstance(item, SetPose):
            rows = np.concatenate([[item.avatar, item.flags], np.asarray(item.values, np.float64).reshape(21)])[None]
        else:
            rows = item.rows
        if not len(rows):
            return
        avatars = self.avatars
        slots = np.array([a.slot if (a := avatars.get(int(i))) is not None else -1 for i in rows[:, 0].tolist()], np.int64)
        known = slots >= 0  # avatars that left (or never joined) have no pose
        if known.any():
            rows = rows[known]
            self.poses.set(slots[known], rows[:, 1].astype(np.uint8), rows[:, 2:].reshape(-1, 3, 7))

    # ---- interest --------------------------------------------------------------------

    def prepare(self) -> None:
        """Compute the viewers' visible sets ahead of the next tick, from current positions.

        Called between ticks (a room worker does it while the server is still sending the
        last tick), it takes the grid query off the path from a move to the viewers who see
        it: at the tick, who is in view is one tick old; where they are is current.
        """
        viewers = np.fromiter((a.slot for a in self.avatars.values() if a.viewing), np.int32)
        visible = self.grid.visible(viewers, self.config.view_k, self.config.view_radius)
        gen = self.grid.generation
        self._ahead = (
            {int(v): i for i, v in enumerate(viewers.tolist())},
            gen[viewers].copy(),
            visible,
            gen[np.maximum(visible, 0)],
        )

    def _visible(self, viewers: Any) -> Any:
        cfg = self.config
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return self.grid.visible(viewers, cfg.view_k, cfg.view_radius)
        row_of, viewer_gen, visible, visible_gen = ahead
        gen = self.grid.generation
        rows = np.fromiter((row_of.get(v, -1) for v in viewers.tolist()), np.int64, len(viewers))
        known = rows >= 0
        known[known] = viewer_gen[rows[known]] == gen[viewers[known]]
        out = np.full((len(viewers), cfg.view_k), -1, np.int32)
        if known.any():
            got = visible[rows[known]]
            # entries whose avatar has left (slot free or handed to someone else) drop out
            still = (got >= 0) & self.grid.active[np.maximum(got, 0)] & (gen[np.maximum(got, 0)] == visible_gen[rows[known]])
            out[known] = np.where(still, got, -1)
        if not known.all():  # viewers that were not viewing when the sets were prepared
            out[~known] = self.grid.visible(viewers[~known], cfg.view_k, cfg.view_radius)
        return out

    def tick_parts(self, parts: int) -> Iterator[list[TickView]]:
        """This tick's views in ``parts`` lists (each viewer in exactly one), computed one
        part at a time, so a server can send the first while the next is being built.
        Consume it whole before the next :meth:`apply`."""
        fresh = self._fresh
        viewers = np.fromiter((a.slot for a in self.avatars.values() if a.viewing and a.id not in fresh), np.int32)
        visible = self._visible(viewers)
        frame = self.interest.begin(
            self.grid, self._refresh, tick_no=self.tick_no, far_stride=self.far_stride, near_m=self.near_m,
            pose=self.poses.begin(self.grid, self.tick_no),
        )
        self._refresh = np.zeros_like(self._refresh)  # the frame keeps this tick's copy
        for rows in np.array_split(np.arange(len(viewers)), max(1, parts)):
            yield self.interest.views(frame, viewers[rows], visible[rows], self._enter_of)
