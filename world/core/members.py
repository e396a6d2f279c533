"""The avatar core of a room: who is in it, where, how they look and which VR pose they hold.

:class:`Members` keeps the avatars in a spatial grid (one slot each) and applies joins,
leaves, moves, poses and looks; it is also the :class:`world.feature.Context` the room's
features get (names, who each visitor is, who is near, the moderation log ...), never the Room itself.
Time is server ms.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from world.core.grid import GridFull, SpatialGrid
from world.core.interest import Interest
from world.core.movement import MovementRules
from world.core.pose import PoseBook
from world.core.scene import RoomConfig
from world.feature import Hooks, Who
from world.social.moderation import LOG_SIZE


@dataclass(slots=True)
class Avatar:
    id: int
    name: str
    look: dict[str, Any]
    slot: int
    who: Who
    viewing: bool = True
    enter: list[Any] = field(default_factory=list)  # [id, name, look] as sent in ticks


class Members:
    """The room's avatars (the avatar core) and what its features may ask of them."""

    def __init__(self, config: RoomConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        lo, hi = config.scene.bounds
        self.grid = SpatialGrid(lo, hi, capacity=config.capacity)
        self.interest = Interest(config.view_k)
        lod = config.pose_lod()
        self.poses = PoseBook(hands_m=lod["hands_m"], head_m=lod["head_m"])  # VR poses per grid slot
        self.rules = MovementRules(config.scene, config.max_speed)
        self.avatars: dict[int, Avatar] = {}
        self.enter_of: list[Any] = []  # per grid slot: the avatar's [id, name, look]
        # Per grid slot: movement budget (metres) and when the last move arrived (server ms).
        self._budget = np.zeros(0, np.float64)
        self._last_move_t = np.zeros(0, np.float64)
        self.refresh = np.zeros(0, bool)  # per grid slot: name/look changed, announce again
        # Viewers (re)attached in this tick start receiving ticks at the next one, so the
        # join ack (or the resume welcome) is on the wire before their first full view.
        self.fresh: set[int] = set()
        self.hooks = Hooks()
        self.watching: Callable[[int], dict[str, Any]] = lambda now: {}  # set by the room: its features' watch
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)

    # ---- membership ------------------------------------------------------------------

    def place(self, avatar: int, name: str, look: dict[str, Any], who: Who, now: int) -> Avatar | None:
        """The avatar, placed at a spawn point if it is new; None when the room is full."""
        a = self.avatars.get(avatar)
        if a is None:
            if len(self.avatars) >= self.config.capacity:
                return None
            p = self._spawn_point()
            yaw = self.rng.uniform(-np.pi, np.pi)
            try:
                slot = self.grid.add(avatar, p, yaw)
                self.poses.forget(slot)
            except GridFull:
                return None
            a = Avatar(avatar, name, look, slot, who)
            a.enter = [a.id, a.name, a.look]
            self.avatars[a.id] = a
            self._set_slot_meta(slot, a.enter)
            self._budget[slot] = self.rules.burst
            self._last_move_t[slot] = now
        self.attach(avatar)
        return a

    def you(self, a: Avatar) -> dict[str, Any]:
        """The ``you`` of a join ack: where the avatar stands and how it looks."""
        pos = self.grid.pos[a.slot]
        return {"id": a.id, "p": [round(float(v), 3) for v in pos], "yaw": float(self.grid.yaw[a.slot]), "look": a.look}

    def leave(self, avatar: int) -> bool:
        a = self.avatars.pop(avatar, None)
        if a is None:
            return False
        self.grid.remove(a.slot)
        self.poses.forget(a.slot)
        return True

    def attach(self, avatar: int) -> bool:
        """The avatar views the room (again), starting from an empty view."""
        a = self.avatars.get(avatar)
        if a is None:
            return False
        a.viewing = True
        self.interest.forget(a.slot)
        self.fresh.add(a.id)
        return True

    def detach(self, avatar: int) -> None:
        a = self.avatars.get(avatar)
        if a is not None:
            a.viewing = False
            self.poses.clear(a.slot)  # no headset on a dropped line

    def set_look(self, avatar: int, look: dict[str, Any]) -> None:
        """Everyone who sees the avatar is told its new look (an ``enter``) in this tick."""
        a = self.avatars.get(avatar)
        if a is None:
            return
        a.look = look
        a.enter = [a.id, a.name, look]
        self._set_slot_meta(a.slot, a.enter)
        self.refresh[a.slot] = True

    def position(self, avatar: int) -> tuple[list[float], float]:
        a = self.avatars[avatar]
        return [float(v) for v in self.grid.pos[a.slot]], float(self.grid.yaw[a.slot])

    def _set_slot_meta(self, slot: int, enter: list[Any]) -> None:
        if slot >= len(self.enter_of):  # grow geometrically: a crowd joins one by one
            grow = max(slot + 1, 2 * len(self.enter_of)) - len(self.enter_of)
            self.enter_of.extend([None] * grow)
            self.refresh = np.concatenate([self.refresh, np.zeros(grow, bool)])
            self._budget = np.concatenate([self._budget, np.zeros(grow)])
            self._last_move_t = np.concatenate([self._last_move_t, np.zeros(grow)])
        self.enter_of[slot] = enter

    def _spawn_point(self) -> tuple[float, float, float]:
        base = self.rng.choice(self.config.scene.spawn)
        for _ in range(4):  # spread newcomers a little so they do not stack
            p = np.array(base) + [self.rng.uniform(-1.5, 1.5), 0.0, self.rng.uniform(-1.5, 1.5)]
            if self.rules.legal_targets(np.array([base], float), p[None])[0]:
                return (float(p[0]), float(p[1]), float(p[2]))
        return (float(base[0]), float(base[1]), float(base[2]))

    # ---- the Context features get (world.feature.Context) ------------------------------

    def name_of(self, avatar: int) -> str | None:
        a = self.avatars.get(avatar)
        return None if a is None else a.name

    def who_of(self, avatar: int) -> Who | None:
        a = self.avatars.get(avatar)
        return None if a is None else a.who

    def avatars_of(self, key: str) -> list[int]:
        return [a.id for a in self.avatars.values() if a.who.key == key]

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

    def viewer_ids(self) -> list[int]:
        return [a.id for a in self.avatars.values() if a.viewing]

    def occupancy(self) -> int:
        return len(self.avatars)

    def positions(self) -> tuple[Any, Any]:
        grid = self.grid
        slots = np.flatnonzero(grid.active)
        return grid.ids[slots].astype(np.int64), grid.pos[slots].astype(np.float64)

    def remove(self, avatar: int) -> bool:
        return self.leave(avatar)

    def wear(self, avatar: int, wear: dict[str, Any]) -> None:
        a = self.avatars.get(avatar)
        if a is not None:
            self.set_look(avatar, {**a.look, "wear": wear})

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        self._log.append(entry)
        return entry

    def modlog(self) -> list[dict[str, Any]]:
        return list(self._log)

    # ---- movement --------------------------------------------------------------------

    def apply_moves(self, moves: Any) -> list[tuple[int, dict[str, Any]]]:
        """Apply moves (rows of avatar, x, y, z, yaw, seq, t) in arrival order, vectorised:
        an avatar's k-th move of the tick is in round k, each round checked for every avatar
        at once. Returns the corrections (avatar, {p, seq}) of refused moves."""
        if not len(moves):
            return []
        avatars = self.avatars
        batch = moves.copy()
        batch[:, 0] = [a.slot if (a := avatars.get(int(i))) is not None else -1 for i in moves[:, 0].tolist()]
        batch = batch[batch[:, 0] >= 0]  # avatars that left (or never joined) move nowhere
        if not len(batch):
            return []
        slots = batch[:, 0].astype(np.int64)
        order = np.argsort(slots, kind="stable")
        ranked = slots[order]
        first = np.r_[True, ranked[1:] != ranked[:-1]]
        position = np.arange(len(ranked))
        rank = np.empty(len(ranked), np.int64)
        rank[order] = position - np.maximum.accumulate(np.where(first, position, 0))
        refused_seq: dict[int, int] = {}  # slot -> seq of its last move, if that was refused
        for k in range(int(rank.max()) + 1):
            self._move_round(batch[rank == k], refused_seq)
        return [(int(self.grid.ids[slot]), {"p": [round(float(v), 3) for v in self.grid.pos[slot]], "seq": seq})
                for slot, seq in refused_seq.items()]

    def _move_round(self, sel: Any, refused_seq: dict[int, int]) -> None:
        """One round of moves, at most one per avatar."""
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

    # ---- VR poses ---------------------------------------------------------------------

    def set_poses(self, rows: Any) -> None:
        """Store poses (rows of avatar, flags, 21 values; validated at the edge) by grid slot;
        the latest per avatar counts."""
        if not len(rows):
            return
        avatars = self.avatars
        slots = np.array([a.slot if (a := avatars.get(int(i))) is not None else -1 for i in rows[:, 0].tolist()], np.int64)
        known = slots >= 0  # avatars that left (or never joined) have no pose
        if known.any():
            rows = rows[known]
            self.poses.set(slots[known], rows[:, 1].astype(np.uint8), rows[:, 2:].reshape(-1, 3, 7))
