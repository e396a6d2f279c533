"""Room: one shared space. Inputs queue between ticks; ``apply(now, inbox)`` applies them all.

The room is a small contract in the spirit of a Nakama match: the transport validates and
enqueues inputs, the room's own tick hands the batch to :meth:`Room.apply`, and the returned
:class:`Outbox` says what to send; :meth:`Room.tick_parts` then builds every viewer's tick
(:meth:`Room.step` is the two at once). Same state + same inputs + same ``now`` + same seed
give the same outbox. Time is server wall clock in milliseconds.

The room itself keeps the avatar core (world/core/members.py: joins, leaves, moves, poses,
looks) and the visible sets; every other input, and every item shared by the room's other
shards, goes by table to one of its features (world/feature.py), listed in world/features.py.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from world.core.interest import TickView
from world.core.members import Avatar, Members
from world.core.scene import RoomConfig
from world.feature import Event, Feature, InputHandler, ReplicaHandler, Who
from world.features import build_features
from world.insight.feature import AnalyticsAsk
from world.protocol import ErrorCode, error, ok
from world.replication.items import BadReplica, HandoverItem, Replica, parse
from world.replication.shared import Replicated, Shared

__all__ = [
    "AnalyticsAsk", "Attach", "Avatar", "Detach", "Detail", "Event", "Handover", "Input", "Join", "Leave", "Replicated",
    "Move", "Moves", "Outbox", "Poses", "Room", "SetLook", "SetPose",
]

# ---- inputs of the avatar core (built by the gateway after validation) ----------------------


@dataclass(slots=True)
class Join:
    ref: int  # correlates the reply in the outbox with the waiting request
    avatar: int
    name: str
    look: dict[str, Any]
    who: Who | None = None  # the visitor (None: unknown, keyed on the avatar id)


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


@dataclass(slots=True)
class Forget:
    """Erase what the room keeps of visitor ``key`` (the erase endpoint: docs/identity.md)."""

    key: str


class Move(NamedTuple):
    """A requested move, as the gateway hands it to its runner (which batches them as
    :class:`Moves`); a tuple because the gateway builds thousands per second."""

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

    @classmethod
    def of(cls, moves: list[Move]) -> Moves:
        return cls(np.array([(m.avatar, *m.p, m.yaw, m.seq, m.t) for m in moves], np.float64).reshape(-1, 7))


@dataclass(slots=True)
class SetPose:
    """A VR pose (world.core.pose.check_pose), as the gateway hands it to its runner (which
    batches them as :class:`Poses`): ``flags`` 0 clears it; ``values`` (3, 7) rows head, left,
    right as offsets in metres and unit quaternions."""

    avatar: int
    flags: int
    values: Any  # NDArray[float64] of shape (3, 7)


@dataclass(slots=True)
class Poses:
    """Many poses at once, columnar: rows of (avatar, flags, 21 values) as float64, in arrival
    order (what the server sends its room workers; see Moves)."""

    rows: Any  # NDArray[float64] of shape (n, 23)

    @classmethod
    def of(cls, *poses: SetPose) -> Poses:
        rows = [np.concatenate([[p.avatar, p.flags], np.asarray(p.values, np.float64).reshape(21)]) for p in poses]
        return cls(np.array(rows, np.float64).reshape(-1, 23))


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
class Detail:
    """How much the room may send (see server.load): far avatars every ``far_stride`` ticks."""

    far_stride: int


# A core input above, or one a feature declares (world/features.py lists them).
Input = object


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
    # shared items from other nodes that did not parse: kind -> (how many, the first reason)
    rejected: dict[str, tuple[int, str]] = field(default_factory=dict)

    def reject(self, kind: str, reason: str) -> None:
        count, first = self.rejected.get(kind, (0, reason))
        self.rejected[kind] = (count + 1, first)


CoreHandler = Callable[[Any, int, Outbox], None]


class Room:
    def __init__(self, config: RoomConfig, *, rng: random.Random | None = None) -> None:
        self.config = config
        self.rng = rng or random.Random(0)
        self.members = m = Members(config, self.rng)
        self.avatars, self.grid, self.poses, self.interest = m.avatars, m.grid, m.poses, m.interest
        self.tick_no = 0
        self.far_stride = 1
        self.near_m = min(10.0, config.view_radius / 3)
        # Visible sets computed ahead of the next tick (see prepare()): viewer slot ->
        # (row, generation) and the (rows, k) matrix of visible slots with their generations.
        self._ahead: tuple[dict[int, int], Any, Any, Any] | None = None
        self._next_sample = 0
        self.features: list[Feature] = build_features(config, m, self.rng)
        m.watching = self._watching
        self._inputs: dict[type, InputHandler] = {}
        self._replicas: dict[type[Replica], list[ReplicaHandler]] = {}
        for feature in self.features:
            for kind, handler in feature.inputs.items():
                assert kind not in self._inputs, f"{kind.__name__} has two features"
                self._inputs[kind] = handler
            for item_kind, on_item in feature.replicas.items():
                self._replicas.setdefault(item_kind, []).append(on_item)
        self._core: dict[type, CoreHandler] = {
            Join: self._on_join, Leave: self._on_leave, Attach: self._on_attach, Detach: self._on_detach,
            Poses: self._on_poses, SetLook: self._on_look, Detail: self._on_detail, Handover: self._on_handover,
            Replicated: self._on_replicated, Forget: self._on_forget,
        }
        self._moves: list[Any] = []  # this tick's move rows, in arrival order
        self._resumed: set[int] = set()  # visitors who resumed here this tick: carried on from here

    def feature(self, name: str) -> Any:
        """The room's feature called ``name`` (its ``name``), or None: for tests and tools."""
        return next((f for f in self.features if f.name == name), None)

    # the features under their names, for tests and tools that read their state
    social = property(lambda self: self.feature("social"))
    commerce = property(lambda self: self.feature("commerce"))
    wheel = property(lambda self: self.feature("wheel"))
    concert = property(lambda self: self.feature("concert"))

    @property
    def occupancy(self) -> int:
        return len(self.avatars)

    def info(self, *, full: bool = True) -> dict[str, Any]:
        return self.config.info(self.occupancy, full=full)

    def position(self, avatar: int) -> tuple[list[float], float]:
        return self.members.position(avatar)

    def viewer_ids(self) -> list[int]:
        return self.members.viewer_ids()

    # ---- the tick --------------------------------------------------------------------

    def step(self, now: int, inbox: list[Input]) -> Outbox:
        """:meth:`apply`, then every viewer's tick in one list (what engines do in parts)."""
        out = self.apply(now, inbox)
        out.ticks = [view for part in self.tick_parts(1) for view in part]
        return out

    def apply(self, now: int, inbox: list[Input]) -> Outbox:
        """Apply the inputs; the tick's views then come from :meth:`tick_parts`."""
        self.tick_no += 1
        out = Outbox(t=now, n=self.tick_no)
        self.members.fresh.clear()
        for item in inbox:
            self._dispatch(item, now, out)
        moves, self._moves = self._moves, []
        if moves:
            out.corrections += self.members.apply_moves(moves[0] if len(moves) == 1 else np.concatenate(moves))
        for feature in self.features:
            feature.finish(now)
        if now >= self._next_sample:  # about once a second: the live numbers for staff
            self._next_sample = now + 1000
            out.stats = {"room": self.config.id, "t": now, "attendees": self.occupancy}
            for feature in self.features:
                out.stats.update(feature.each_second(now))
        self._drain(out)
        return out

    def _dispatch(self, item: Input, now: int, out: Outbox) -> None:
        kind = type(item)
        if kind is Moves:
            self._moves.append(item.rows)  # type: ignore[attr-defined]
            return
        core = self._core.get(kind)
        if core is not None:
            core(item, now, out)
            return
        handler = self._inputs.get(kind)
        ref = getattr(item, "ref", None)
        if handler is None:  # e.g. a bet in a room without a wheel
            if ref is not None:
                what = getattr(kind, "FEATURE", kind.__name__)
                out.replies[ref] = error(ErrorCode.NOT_FOUND, f"room {self.config.id!r} has no {what}")
            return
        reply = handler(item, now)
        if reply is not None and ref is not None:
            out.replies[ref] = reply

    def _drain(self, out: Outbox) -> None:
        """Every feature's feed into the outbox, in the order the features are listed."""
        carried, self._resumed = self._resumed, set()
        for feature in self.features:
            feed = feature.feed
            out.events += feed.events
            out.staff += feed.staff
            out.shared += feed.shared
            out.removed += feed.removed
            carried |= feed.carried
            feed.events, feed.staff, feed.shared, feed.removed, feed.carried = [], [], [], [], set()
        out.shared += self._carry(carried)
        out.left += out.removed

    # ---- the avatar core's inputs ----------------------------------------------------

    def _on_join(self, j: Join, now: int, out: Outbox) -> None:
        out.replies[j.ref] = self._join(j, now)

    def _join(self, j: Join, now: int) -> dict[str, Any]:
        who = j.who or Who.of_avatar(j.avatar)
        for feature in self.features:
            refused = feature.admit(j.avatar, who)
            if refused is not None:
                return refused
        a = self.members.place(j.avatar, j.name, j.look, who, now)
        if a is None:
            return error(ErrorCode.ROOM_FULL, f"room {self.config.id!r} is full")
        extras: dict[str, Any] = {"show": None}  # the join ack has a show, null without one
        for feature in self.features:
            extras.update(feature.join(a.id, now))
        return ok(room=self.info(), you=self.members.you(a), **extras)

    def _on_leave(self, item: Leave, now: int, out: Outbox) -> None:
        if self.members.leave(item.avatar):
            out.left.append(item.avatar)
        if item.ref is not None:
            out.replies[item.ref] = ok()

    def _on_attach(self, item: Attach, now: int, out: Outbox) -> None:
        if self.members.attach(item.avatar):
            for feature in self.features:
                feature.attached(item.avatar)

    def _on_detach(self, item: Detach, now: int, out: Outbox) -> None:
        self.members.detach(item.avatar)

    def _on_forget(self, item: Forget, now: int, out: Outbox) -> None:
        for feature in self.features:
            feature.forget(item.key)

    def _on_poses(self, item: Poses, now: int, out: Outbox) -> None:
        self.members.set_poses(item.rows)

    def _on_look(self, item: SetLook, now: int, out: Outbox) -> None:
        self.members.set_look(item.avatar, item.look)

    def _on_detail(self, item: Detail, now: int, out: Outbox) -> None:
        self.far_stride = max(1, item.far_stride)

    def _on_handover(self, item: Handover, now: int, out: Outbox) -> None:
        snapshot: dict[str, Any] = {}
        for feature in self.features:
            snapshot.update(feature.export(None))
        out.replies[item.ref] = ok(snapshot=snapshot)

    def _watching(self, now: int) -> dict[str, Any]:
        extras: dict[str, Any] = {}
        for feature in self.features:
            extras.update(feature.watch(now))
        return extras

    # ---- items from the room's other shards ------------------------------------------

    def _on_replicated(self, m: Replicated, now: int, out: Outbox) -> None:
        """An item from another shard of this room, parsed before any feature sees it; one
        that does not parse (or that its feature refuses) is counted, never costs the tick."""
        try:
            item = parse(m.kind, m.payload)
            if isinstance(item, HandoverItem):
                self._adopt(item, m.history)
            for handler in self._replicas.get(type(item), ()):
                handler(item, m.history, now)
        except BadReplica as exc:
            out.reject(exc.kind, exc.reason)
        except (KeyError, TypeError, ValueError) as exc:  # a feature's refusal
            out.reject(str(m.kind)[:32], f"{type(exc).__name__}: {exc}"[:120])

    def _adopt(self, item: HandoverItem, history: bool) -> None:
        """Visitors' carts, orders, balances and bets from elsewhere (a drained node, a
        resume, a restore). A visitor resuming here (a ``carry`` of one ``avatar``) is carried
        on from here, so the server keeps its state for a restore too (a drained node's whole
        hand-over is not: those visitors bring theirs when they resume here)."""
        avatars: set[int] = set()
        for feature in self.features:
            avatars |= feature.adopt(item)
        if not history and item.avatar is not None:
            self._resumed |= avatars

    def _carry(self, avatars: set[int]) -> list[Shared]:
        """``carry`` items: the state of each visitor whose cart, orders, balance or bets
        changed this tick, for the node it may resume on (world/replication/shared.py)."""
        if not avatars:
            return []
        # one export per feature for all of them, split per visitor: a payout carries every bettor at once
        parts = [feature.export_each(avatars) for feature in self.features]
        items: list[Shared] = []
        for a in sorted(avatars):
            carry: dict[str, Any] = {"avatar": a}
            for part in parts:
                carry.update(part.get(a, {}))
            items.append(("carry", carry))
        return items

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
        m = self.members
        fresh = m.fresh
        viewers = np.fromiter((a.slot for a in self.avatars.values() if a.viewing and a.id not in fresh), np.int32)
        visible = self._visible(viewers)
        frame = self.interest.begin(
            self.grid, m.refresh, tick_no=self.tick_no, far_stride=self.far_stride, near_m=self.near_m,
            pose=self.poses.begin(self.grid, self.tick_no),
        )
        m.refresh = np.zeros_like(m.refresh)  # the frame keeps this tick's copy
        for rows in np.array_split(np.arange(len(viewers)), max(1, parts)):
            yield self.interest.views(frame, viewers[rows], visible[rows], m.enter_of)
