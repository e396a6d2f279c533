"""Area of interest: turn visible sets into each viewer's tick (enter / leave / packed records).

The wire record (PROTOCOL.md "Binary tick") is 12 bytes, little-endian ``<I h h h h``:
avatar id, x, y, z in centimetres (room-local), yaw as ``round(yaw / pi * 32767)``.

Per tick and per viewer we send only what changed: ids that came into view (``enter``,
followed by their first record), ids that dropped out (``leave``), and records of avatars in
view whose quantised record changed since the last tick. A viewer with nothing new gets no
tick at all. All set arithmetic is vectorised over every viewer at once; the only Python
loop is the final one that hands each viewer its slice.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from world.core.grid import Slots, SpatialGrid
from world.core.pose import PoseFrame, view_records

RECORD = np.dtype([("id", "<u4"), ("x", "<i2"), ("y", "<i2"), ("z", "<i2"), ("yaw", "<i2")])
RECORD_BYTES = RECORD.itemsize  # 12
_NO_ID = np.uint64(0xFFFFFFFF)  # sorts after every real id; never handed out


class TickView(NamedTuple):
    """One viewer's tick: what the server sends that viewer this tick."""

    viewer: int  # the viewer's avatar id
    enter: list[list[Any]]  # [[id, name, look], ...]
    leave: list[int]
    pos: bytes
    reset: bool = False  # the whole view is resent: drop everything not entered in this tick
    pose: bytes = b""  # VR pose records (world.core.pose); empty: none this tick


def quantize(pos: NDArray[np.float32], yaw: NDArray[np.float32], ids: NDArray[np.uint32]) -> NDArray[Any]:
    """Wire records for avatars: metres -> int16 centimetres, radians -> int16 yaw."""
    rec = np.empty(len(ids), RECORD)
    rec["id"] = ids
    cm = np.clip(np.rint(pos * 100.0), -32768, 32767).astype(np.int16)
    rec["x"], rec["y"], rec["z"] = cm[:, 0], cm[:, 1], cm[:, 2]
    wrapped = (yaw.astype(np.float64) + np.pi) % (2 * np.pi) - np.pi  # into [-pi, pi)
    rec["yaw"] = np.clip(np.rint(wrapped / np.pi * 32767.0), -32767, 32767).astype(np.int16)
    return rec


def decode_records(data: bytes) -> NDArray[Any]:
    """Inverse of the wire packing, for clients written in Python (tests, the crowd, Locust)."""
    return np.frombuffer(data, RECORD)


class Frame(NamedTuple):
    """One tick's quantised avatars, shared by every part of the tick's views."""

    grid: SpatialGrid
    records: NDArray[Any]
    changed: NDArray[np.bool_]
    changed_far: NDArray[np.bool_]
    refresh: NDArray[np.bool_] | None
    far_stride: int
    near_m: float
    pose: PoseFrame | None = None  # this tick's VR pose records, if any avatar has a pose


class Interest:
    """What every viewer of one room has in view, and the diff that makes its next tick.

    Indexed by the viewer's grid slot; a slot's memory is cleared when the slot changes hands.
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self._seen = np.full((0, k), _NO_ID, np.uint64)  # per viewer slot: ids in view, sorted
        self._records = np.zeros(0, RECORD)  # last tick's quantised record per slot
        self._far_records = np.zeros(0, RECORD)  # per slot: the record as of its last far update
        self._reset = np.zeros(0, bool)  # per viewer slot: its next tick resends the whole view

    def forget(self, slot: int) -> None:
        """The viewer in ``slot`` starts from nothing: its next tick re-enters all it sees,
        marked ``reset`` so a client that missed ticks drops whatever it still shows."""
        self._grow(slot + 1)
        self._seen[slot] = _NO_ID
        self._reset[slot] = True

    def step(
        self,
        grid: SpatialGrid,
        viewers: Slots,
        visible: Slots,
        enter_of: list[Any],
        refresh: NDArray[np.bool_] | None = None,
        *,
        tick_no: int = 0,
        far_stride: int = 1,
        near_m: float = 10.0,
    ) -> list[TickView]:
        """Diff this tick's visible sets against the last and build every viewer's tick.

        ``visible`` is ``grid.visible(viewers, k, radius)``; ``enter_of[slot]`` is the
        ``[id, name, look]`` entry announcing the avatar in ``slot``; ``refresh[slot]`` marks
        avatars whose name or look changed, announced again to every viewer that sees them.

        ``far_stride > 1`` thins the view under load: an avatar farther than ``near_m`` from a
        viewer is updated only on its phase ticks (every ``far_stride``-th, staggered by id),
        with whatever changed since its previous phase tick, so no final position is lost.
        """
        frame = self.begin(grid, refresh, tick_no=tick_no, far_stride=far_stride, near_m=near_m)
        return self.views(frame, viewers, visible, enter_of)

    def begin(
        self,
        grid: SpatialGrid,
        refresh: NDArray[np.bool_] | None = None,
        *,
        tick_no: int = 0,
        far_stride: int = 1,
        near_m: float = 10.0,
        pose: PoseFrame | None = None,
    ) -> "Frame":
        """Start a tick: quantise every avatar once. Then :meth:`views` for every viewer,
        all at once or in parts (each viewer exactly once per tick)."""
        n_slots = len(grid.active)
        self._grow(n_slots)
        records = quantize(grid.pos, grid.yaw, grid.ids)
        changed = records != self._records
        self._records = records
        if far_stride > 1:
            phase = (tick_no + grid.ids.astype(np.int64)) % far_stride == 0
            changed_far = (records != self._far_records) & phase
            self._far_records[phase] = records[phase]
        else:
            changed_far = changed
            self._far_records = records
        if refresh is not None:
            padded = np.zeros(n_slots, bool)
            padded[: min(n_slots, len(refresh))] = refresh[:n_slots]
            refresh = padded
            changed |= refresh
        return Frame(grid, records, changed, changed_far, refresh, far_stride, near_m, pose)

    def views(self, frame: "Frame", viewers: Slots, visible: Slots, enter_of: list[Any]) -> list[TickView]:
        """The ticks of ``viewers`` (rows of ``visible``) in the tick ``frame`` began.

        Longer than our ~60-line rule on purpose: one vectorised pass over every viewer on the
        tick's hot path (measured in docs/benchmarks.md); split up, its dozen intermediate
        arrays would only be passed from helper to helper."""
        grid, records, changed, changed_far = frame.grid, frame.records, frame.changed, frame.changed_far
        refresh, far_stride, near_m = frame.refresh, frame.far_stride, frame.near_m
        # Current view per viewer as rows of ids sorted ascending, slots carried alongside.
        valid = visible >= 0
        ids = np.where(valid, grid.ids[np.maximum(visible, 0)].astype(np.uint64), _NO_ID)
        order = np.argsort(ids, axis=1)
        ids = np.take_along_axis(ids, order, axis=1)
        slots = np.take_along_axis(visible, order, axis=1)
        valid = np.take_along_axis(valid, order, axis=1)
        before = self._seen[viewers]
        self._seen[viewers] = ids

        # Row-tagged keys are globally sorted (rows ascending, ids ascending within a row),
        # so membership across all viewers is one searchsorted each way.
        row = (np.arange(len(viewers), dtype=np.uint64) << np.uint64(32))[:, None]
        now_keys = (row | ids)[valid]
        old_valid = before != _NO_ID
        old_keys = (row | before)[old_valid]
        entered = np.zeros(ids.shape, bool)
        entered[valid] = ~_member(now_keys, old_keys)
        left_mask = np.zeros(before.shape, bool)
        left_mask[old_valid] = ~_member(old_keys, now_keys)
        if refresh is not None:
            entered |= valid & refresh[np.maximum(slots, 0)]

        seen_slots = np.maximum(slots, 0)
        if far_stride > 1:
            offset = grid.pos[seen_slots] - grid.pos[viewers][:, None, :]
            near = (offset * offset).sum(axis=2) <= near_m * near_m
            moved = np.where(near, changed[seen_slots], changed_far[seen_slots])
        else:
            moved = changed[seen_slots]
        send = valid & (entered | moved)
        sent_rows, sent_cols = np.nonzero(send)
        blob = records.view("V12")[slots[sent_rows, sent_cols]].tobytes()
        pos_end = np.cumsum(send.sum(axis=1)) * RECORD_BYTES
        enter_rows, enter_cols = np.nonzero(entered)
        left_rows, left_cols = np.nonzero(left_mask)
        reset = self._reset[viewers]
        self._reset[viewers] = False
        touch = send.any(axis=1) | left_mask.any(axis=1) | reset
        pose_end: NDArray[np.int64] | None = None
        if frame.pose is not None:  # some avatar has a VR pose: a tick may carry only poses
            pose_blob, pose_end = view_records(frame.pose, grid, viewers, slots, valid, entered)
            touch |= np.diff(pose_end, prepend=0) > 0
        touched = np.flatnonzero(touch)
        if not len(touched):
            return []
        # Per-row slices into flat lists: one Python step per viewer, none per avatar.
        enters = [enter_of[s] for s in slots[enter_rows, enter_cols].tolist()]
        leaves = before[left_rows, left_cols].tolist()
        enter_end = np.cumsum(np.bincount(enter_rows, minlength=len(viewers)))
        leave_end = np.cumsum(np.bincount(left_rows, minlength=len(viewers)))
        vid = grid.ids[viewers]
        bounds: list[NDArray[Any]] = [vid[touched], reset[touched]]
        for end in (pos_end, enter_end, leave_end):
            bounds += [np.r_[0, end[:-1]][touched], end[touched]]
        if pose_end is None:
            return [
                TickView(viewer, enters[e0:e1], leaves[l0:l1], blob[p0:p1], rs)
                for viewer, rs, p0, p1, e0, e1, l0, l1 in zip(*(b.tolist() for b in bounds))
            ]
        bounds += [np.r_[0, pose_end[:-1]][touched], pose_end[touched]]
        return [
            TickView(viewer, enters[e0:e1], leaves[l0:l1], blob[p0:p1], rs, pose_blob[q0:q1])
            for viewer, rs, p0, p1, e0, e1, l0, l1, q0, q1 in zip(*(b.tolist() for b in bounds))
        ]

    def _grow(self, n: int) -> None:
        if n > len(self._seen):
            seen = np.full((n, self.k), _NO_ID, np.uint64)
            seen[: len(self._seen)] = self._seen
            self._seen = seen
            records = np.zeros(n, RECORD)
            records[: len(self._records)] = self._records
            self._records = records
            far = np.zeros(n, RECORD)
            far[: len(self._far_records)] = self._far_records
            self._far_records = far
            reset = np.zeros(n, bool)
            reset[: len(self._reset)] = self._reset
            self._reset = reset


def _member(keys: NDArray[np.uint64], sorted_pool: NDArray[np.uint64]) -> NDArray[np.bool_]:
    """``keys[i] in sorted_pool`` for every i, for a sorted pool."""
    if len(sorted_pool) == 0:
        return np.zeros(len(keys), bool)
    at = np.minimum(np.searchsorted(sorted_pool, keys), len(sorted_pool) - 1)
    return sorted_pool[at] == keys
