"""Room: one shared space. Inputs queue between ticks; ``step(now, inbox)`` applies them all.

The room is a small contract in the spirit of a Nakama match: the transport validates and
enqueues inputs, the room's own tick hands the batch to :meth:`Room.step`, and the returned
:class:`Outbox` says what to send. Same state + same inputs + same ``now`` + same seed give
the same outbox. Time is server wall clock in milliseconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Union

import numpy as np

from world.grid import GridFull, SpatialGrid
from world.interest import Interest, TickView
from world.movement import MovementRules
from world.protocol import ErrorCode, error, ok
from world.scene import RoomConfig

# ---- inputs (built by the gateway after validation) ----------------------------------------


@dataclass(slots=True)
class Join:
    ref: int  # correlates the reply in the outbox with the waiting request
    avatar: int
    name: str
    look: dict[str, Any]


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
class SetLook:
    """The avatar now looks different (e.g. a product variant tried on)."""

    avatar: int
    look: dict[str, Any]


@dataclass(slots=True)
class Detail:
    """How much the room may send (see world.load): far avatars every ``far_stride`` ticks."""

    far_stride: int


Input = Union[Join, Leave, Attach, Detach, Move, SetLook, Detail]


@dataclass(slots=True)
class Outbox:
    t: int
    n: int
    replies: dict[int, dict[str, Any]] = field(default_factory=dict)
    corrections: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    ticks: list[TickView] = field(default_factory=list)
    left: list[int] = field(default_factory=list)  # avatars no longer in this room


@dataclass(slots=True)
class Avatar:
    id: int
    name: str
    look: dict[str, Any]
    slot: int
    viewing: bool = True
    enter: list[Any] = field(default_factory=list)  # [id, name, look] as sent in ticks


class Room:
    def __init__(self, config: RoomConfig, *, rng: random.Random | None = None) -> None:
        self.config = config
        self.rng = rng or random.Random(0)
        lo, hi = config.scene.bounds
        self.grid = SpatialGrid(lo, hi, capacity=config.capacity)
        self.interest = Interest(config.view_k)
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

    @property
    def occupancy(self) -> int:
        return len(self.avatars)

    def info(self, *, full: bool = True) -> dict[str, Any]:
        return self.config.info(self.occupancy, full=full)

    # ---- the tick --------------------------------------------------------------------

    def step(self, now: int, inbox: list[Input]) -> Outbox:
        self.tick_no += 1
        out = Outbox(t=now, n=self.tick_no)
        self._fresh.clear()
        moves: list[Move] = []
        for item in inbox:
            if isinstance(item, Move):
                moves.append(item)
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
            elif isinstance(item, SetLook):
                self._set_look(item.avatar, item.look)
            elif isinstance(item, Detail):
                self.far_stride = max(1, item.far_stride)
        self._apply_moves(moves, out)
        out.ticks = self._ticks()
        return out

    # ---- membership ------------------------------------------------------------------

    def _join(self, j: Join, now: int) -> dict[str, Any]:
        a = self.avatars.get(j.avatar)
        if a is None:
            if len(self.avatars) >= self.config.capacity:
                return error(ErrorCode.ROOM_FULL, f"room {self.config.id!r} is full")
            p = self._spawn_point()
            yaw = self.rng.uniform(-np.pi, np.pi)
            try:
                slot = self.grid.add(j.avatar, p, yaw)
            except GridFull:
                return error(ErrorCode.ROOM_FULL, f"room {self.config.id!r} is full")
            a = Avatar(j.avatar, j.name, j.look, slot)
            a.enter = [a.id, a.name, a.look]
            self.avatars[a.id] = a
            self._set_slot_meta(slot, a.enter)
            self._budget[slot] = self.rules.burst
            self._last_move_t[slot] = now
        a.viewing = True
        self.interest.forget(a.slot)  # a (re)joining client starts from an empty view
        self._fresh.add(a.id)
        pos = self.grid.pos[a.slot]
        you = {"id": a.id, "p": [round(float(v), 3) for v in pos], "yaw": float(self.grid.yaw[a.slot])}
        return ok(room=self.info(), you=you, chat=[], show=None)

    def _leave(self, avatar: int) -> bool:
        a = self.avatars.pop(avatar, None)
        if a is None:
            return False
        self.grid.remove(a.slot)
        return True

    def _attach(self, avatar: int) -> None:
        a = self.avatars.get(avatar)
        if a is not None:
            a.viewing = True
            self.interest.forget(a.slot)
            self._fresh.add(a.id)

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

    def _apply_moves(self, moves: list[Move], out: Outbox) -> None:
        """Apply moves in arrival order, vectorised: an avatar's k-th move of the tick is in
        round k, and each round is checked for every avatar at once."""
        if not moves:
            return
        avatars = self.avatars
        rows = [
            (a.slot if (a := avatars.get(m.avatar)) is not None else -1, m.p[0], m.p[1], m.p[2], m.yaw, m.seq, m.t)
            for m in moves
        ]
        batch = np.array(rows, np.float64)
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

    def _ticks(self) -> list[TickView]:
        fresh = self._fresh
        viewers = np.fromiter((a.slot for a in self.avatars.values() if a.viewing and a.id not in fresh), np.int32)
        visible = self._visible(viewers)
        views = self.interest.step(
            self.grid, viewers, visible, self._enter_of, self._refresh,
            tick_no=self.tick_no, far_stride=self.far_stride, near_m=self.near_m,
        )
        self._refresh[:] = False
        return views
