"""VR poses (head and hands): validation, the wire packing and per-viewer level of detail.

The pose extension (docs/protocol.md, "Pose extension (VR)"): a visitor in VR sends its head
and hands as offsets from its avatar's position ``p`` (room axes, metres, not rotated by
yaw) and orientations as unit quaternions in room axes. Viewers get them in the tick's
``pose`` field as variable-length little-endian records::

    <I B>        avatar id, flags (1 head, 2 left hand, 4 right hand; 0: no pose)
    <h h h I>    per flagged part, in the order head, left, right: offset x, y, z in
                 centimetres and the orientation packed "smallest three" into a uint32

Level of detail per viewer: hands only within ``hands_m``, the head within ``head_m``,
nothing beyond. A record goes out when the avatar's quantised pose changed, in the tick the
avatar enters the view, and on its keyframe tick (every ``KEYFRAME_TICKS``-th, staggered by
id) while it has a pose; a cleared pose sends one flags-0 record.

Storage is per grid slot (like ``world.core.interest``); the record building is vectorised over
viewers x view entries. A room where no avatar has (or just cleared) a pose pays one
attribute check per tick.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from world.core.grid import Slots, SpatialGrid

HEAD, LEFT, RIGHT = 1, 2, 4
PART_NAMES = ("head", "left", "right")  # wire order of the parts; bit i is part i
KEYFRAME_TICKS = 10
PART = np.dtype([("x", "<i2"), ("y", "<i2"), ("z", "<i2"), ("q", "<u4")])  # 10 bytes, packed
HEADER = np.dtype([("id", "<u4"), ("flags", "u1")])  # 5 bytes, packed
PART_BYTES = PART.itemsize
HEADER_BYTES = HEADER.itemsize
RECORD_MAX = HEADER_BYTES + 3 * PART_BYTES  # 35
# Offset limits (metres, relative to the avatar's position): (lo, hi) for x, y, z.
HEAD_REACH = ((-1.0, 1.0), (0.2, 2.6), (-1.0, 1.0))
HAND_REACH = ((-1.5, 1.5), (-0.2, 2.8), (-1.5, 1.5))
NORM_RANGE = (0.9, 1.1)  # quaternions outside are refused; the rest are normalised

_SQRT2 = math.sqrt(2.0)
_HALF = 1.0 / _SQRT2


class PoseError(ValueError):
    """A client pose outside the limits (answered with ``bad_request``)."""


# ---- validation ------------------------------------------------------------------------


def check_part(name: str, values: Any) -> list[float]:
    """One part as 7 finite numbers ``x, y, z, qx, qy, qz, qw`` within its reach; returns
    them with the quaternion normalised. Raises :class:`PoseError`.

    Plain Python on purpose: it runs at the edge for every pose a visitor sends, where numpy's
    per-call overhead on 7 numbers cost ~10x more."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) != 7:
        raise PoseError(f"{name}: exactly 7 numbers (x, y, z, qx, qy, qz, qw)")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise PoseError(f"{name}: exactly 7 numbers (x, y, z, qx, qy, qz, qw)")
    if not all(math.isfinite(v) for v in values):
        raise PoseError(f"{name}: numbers must be finite")
    x, y, z, qx, qy, qz, qw = (float(v) for v in values)
    norm = math.sqrt(qx * qx + qy * qy + qz * qz + qw * qw)
    if not NORM_RANGE[0] <= norm <= NORM_RANGE[1]:
        raise PoseError(f"{name}: the quaternion must be unit length (norm {norm:.3f})")
    reach = HEAD_REACH if name == "head" else HAND_REACH
    for axis, v, (lo, hi) in zip("xyz", (x, y, z), reach):
        if not lo <= v <= hi:
            raise PoseError(f"{name}: offset {axis} = {v:.3f} m is outside [{lo}, {hi}]")
    return [x, y, z, qx / norm, qy / norm, qz / norm, qw / norm]


_ABSENT = [0.0] * 7


def check_pose(parts: dict[str, Any]) -> tuple[int, NDArray[np.float64]]:
    """A pose as ``(flags, values)``: ``values`` is (3, 7), rows head, left, right (zeros
    where a part is absent). ``{}`` (or all parts None) is flags 0: clear the pose.
    Unknown part names are ignored. Raises :class:`PoseError`."""
    flags = 0
    rows = []
    for i, name in enumerate(PART_NAMES):
        got = parts.get(name)
        if got is not None:
            rows.append(check_part(name, got))
            flags |= 1 << i
        else:
            rows.append(_ABSENT)
    if flags and not flags & HEAD:
        raise PoseError("hands need a head: send 'head' with 'left' / 'right'")
    return flags, np.array(rows, np.float64)


# ---- the wire packing ----------------------------------------------------------------------


def encode_quats(q: NDArray[Any]) -> NDArray[np.uint32]:
    """Unit quaternions (n, 4) as ``x, y, z, w`` -> uint32 "smallest three" (see module doc)."""
    q = np.asarray(q, np.float64).reshape(-1, 4)
    n = len(q)
    big = np.abs(q).argmax(axis=1)
    rows = np.arange(n)
    q = np.where((q[rows, big] < 0)[:, None], -q, q)
    # the other three components in index order: drop column `big` from each row
    keep = np.ones((n, 4), bool)
    keep[rows, big] = False
    rest = q[keep].reshape(n, 3)
    scaled = (rest + _HALF) / _SQRT2 * 1023.0
    top = big.astype(np.uint32) << np.uint32(30)
    packed = _pack3(top, np.rint(scaled))
    # Rounding each component alone leaves ~0.01 % of orientations up to 0.26 degrees off
    # (the omitted component amplifies the error); for those, the best of the neighbouring
    # values (floor / ceil per component) keeps every one within 0.16 degrees.
    worst = np.flatnonzero(np.abs((decode_quats(packed) * q).sum(axis=1)) < _REFINE_DOT)
    if len(worst):
        qw, floor = q[worst], np.floor(scaled[worst])
        best, best_dot = packed[worst], np.full(len(worst), -1.0)
        for step in _STEPS:
            cand = _pack3(top[worst], floor + step)
            dot = np.abs((decode_quats(cand) * qw).sum(axis=1))
            better = dot > best_dot
            best, best_dot = np.where(better, cand, best), np.where(better, dot, best_dot)
        packed[worst] = best
    return packed


_REFINE_DOT = math.cos(math.radians(0.14) / 2)  # refine what decodes more than 0.14 degrees off
_STEPS = np.array([[i >> 2 & 1, i >> 1 & 1, i & 1] for i in range(8)], np.float64)[:, None, :]


def _pack3(top: NDArray[np.uint32], v: NDArray[np.float64]) -> NDArray[np.uint32]:
    c = np.clip(v, 0, 1023).astype(np.uint32)
    packed = top | (c[:, 0] << np.uint32(20)) | (c[:, 1] << np.uint32(10)) | c[:, 2]
    return packed.astype(np.uint32, copy=False)


def decode_quats(packed: NDArray[Any]) -> NDArray[np.float64]:
    """uint32 "smallest three" -> unit quaternions (n, 4) ``x, y, z, w`` (largest >= 0)."""
    p = np.asarray(packed, np.uint32).reshape(-1)
    n = len(p)
    big = (p >> 30).astype(np.int64)
    v = np.stack([(p >> 20) & 1023, (p >> 10) & 1023, p & 1023], axis=1).astype(np.float64)
    rest = v / 1023.0 * _SQRT2 - _HALF
    omitted = np.sqrt(np.maximum(0.0, 1.0 - (rest * rest).sum(axis=1)))
    q = np.empty((n, 4), np.float64)
    rows = np.arange(n)
    q[rows, big] = omitted
    keep = np.ones((n, 4), bool)
    keep[rows, big] = False
    q[keep] = rest.reshape(-1)
    return q


def quantize_parts(values: NDArray[Any]) -> NDArray[np.uint8]:
    """Parts (n, 3, 7) in metres and unit quaternions -> wire bytes (n, 30): head, left,
    right at fixed offsets 0, 10, 20 (absent parts are whatever their values encode)."""
    values = np.asarray(values, np.float64).reshape(-1, 3, 7)
    n = len(values)
    parts = np.empty((n, 3), PART)
    cm = np.clip(np.rint(values[:, :, :3] * 100.0), -32768, 32767).astype(np.int16)
    parts["x"], parts["y"], parts["z"] = cm[:, :, 0], cm[:, :, 1], cm[:, :, 2]
    parts["q"] = encode_quats(values[:, :, 3:].reshape(-1, 4)).reshape(n, 3)
    return parts.view(np.uint8).reshape(n, 3 * PART_BYTES)


class PoseRecord(NamedTuple):
    """One decoded record: parts not flagged are None. Offsets in metres."""

    avatar: int
    flags: int
    head: tuple[float, ...] | None
    left: tuple[float, ...] | None
    right: tuple[float, ...] | None


def decode_records(data: bytes) -> list[PoseRecord]:
    """The tick's ``pose`` field -> records, for clients written in Python (tests, bench)."""
    out: list[PoseRecord] = []
    at = 0
    while at + HEADER_BYTES <= len(data):
        head = np.frombuffer(data, HEADER, 1, at)[0]
        flags = int(head["flags"])
        at += HEADER_BYTES
        got: list[tuple[float, ...] | None] = [None, None, None]
        for i in range(3):
            if flags & (1 << i):
                part = np.frombuffer(data, PART, 1, at)[0]
                at += PART_BYTES
                q = decode_quats(np.array([part["q"]]))[0]
                got[i] = (int(part["x"]) / 100, int(part["y"]) / 100, int(part["z"]) / 100, *(float(c) for c in q))
        out.append(PoseRecord(int(head["id"]), flags, got[0], got[1], got[2]))
    if at != len(data):
        raise ValueError(f"pose records: {len(data) - at} trailing bytes")
    return out


# Byte gather index per flags value: header (5 bytes), then the flagged parts of the fixed
# 30-byte layout, left-aligned; padding points at byte 0 and is cut by the record length.
def _gather_table() -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    index = np.zeros((8, RECORD_MAX), np.int64)
    length = np.zeros(8, np.int64)
    for flags in range(8):
        cols = list(range(HEADER_BYTES))
        for i in range(3):
            if flags & (1 << i):
                start = HEADER_BYTES + i * PART_BYTES
                cols += range(start, start + PART_BYTES)
        index[flags, : len(cols)] = cols
        length[flags] = len(cols)
    return index, length


_GATHER, _LENGTH = _gather_table()
# Records are cut from their padded 35 bytes in 5-byte units (the header is one, a part two):
# a mask over 7 units per record instead of 35 bytes (measured 2x faster at 60k records).
_UNIT = 5
_V35, _V5 = np.dtype(f"V{RECORD_MAX}"), np.dtype(f"V{_UNIT}")
_UNIT_COL = np.arange(RECORD_MAX // _UNIT)


# ---- storage and level of detail -----------------------------------------------------------


class PoseFrame(NamedTuple):
    """One tick's pose records, built once for every avatar with a pose (or just cleared).

    ``records[2 * row + tier]`` (tier 0: head only, 1: head and hands) is a record's bytes
    padded to 35 (one ``V35`` item), ``units`` its real length in 5-byte units (a header is
    one, a part two); ``row_of[slot]`` is the avatar's row or -1; ``due[slot]``
    says the avatar's record goes to every viewer within ``head_m`` this tick (changed,
    cleared or keyframe), otherwise only to viewers it enters."""

    records: NDArray[Any]
    units: NDArray[np.int64]
    row_of: NDArray[np.int64]
    due: NDArray[np.bool_]
    hands2: float
    head2: float


class PoseBook:
    """Every avatar's current pose, per grid slot, quantised as it goes on the wire.

    ``hands_m`` / ``head_m``: the level-of-detail radii (metres). The owner clears a slot
    with :meth:`forget` when it changes hands.
    """

    def __init__(self, *, hands_m: float, head_m: float, keyframe_ticks: int = KEYFRAME_TICKS) -> None:
        self.hands_m = min(hands_m, head_m)
        self.head_m = head_m
        self.keyframe_ticks = keyframe_ticks
        self.flags = np.zeros(0, np.uint8)
        self.parts = np.zeros((0, 3 * PART_BYTES), np.uint8)
        self.changed = np.zeros(0, bool)  # quantised pose changed since the last frame
        self.cleared = np.zeros(0, bool)  # pose cleared since the last frame: one flags-0 record
        self.active = False  # some slot has a pose or was just cleared (else: no work at all)

    def set(self, slots: NDArray[Any], flags: NDArray[Any], values: NDArray[Any]) -> None:
        """Set poses (from :func:`check_pose`); flags 0 clears. For a slot given more than
        once, the last one counts."""
        slots = np.asarray(slots, np.int64)
        if not len(slots):
            return
        self._grow(int(slots.max()) + 1)
        # last write per slot wins (numpy leaves repeated fancy assignment unspecified)
        _, last = np.unique(slots[::-1], return_index=True)
        pick = len(slots) - 1 - last
        slots = slots[pick]
        flags = np.asarray(flags, np.uint8)[pick]
        parts = quantize_parts(np.asarray(values, np.float64).reshape(-1, 3, 7)[pick])
        keep = (np.arange(3 * PART_BYTES) // PART_BYTES)[None, :]
        parts = np.where((flags[:, None] >> keep) & 1 == 1, parts, 0).astype(np.uint8)
        was = self.flags[slots]
        diff = (was != flags) | (self.parts[slots] != parts).any(axis=1)
        self.changed[slots] |= diff & (flags != 0)
        self.cleared[slots] |= (was != 0) & (flags == 0)
        self.flags[slots] = flags
        self.parts[slots] = parts
        self.active = bool(self.flags.any() or self.cleared.any())

    def forget(self, slot: int) -> None:
        """The slot changed hands (or its avatar left): no pose, and nothing to announce."""
        if slot < len(self.flags):
            self.flags[slot] = 0
            self.changed[slot] = self.cleared[slot] = False
            self.active = bool(self.flags.any() or self.cleared.any())

    def clear(self, slot: int) -> None:
        """The avatar's visitor left VR (or dropped): viewers get one flags-0 record."""
        if slot < len(self.flags) and self.flags[slot]:
            self.flags[slot] = 0
            self.changed[slot] = False
            self.cleared[slot] = True
            self.active = True

    def begin(self, grid: SpatialGrid, tick_no: int) -> PoseFrame | None:
        """This tick's records, or None when no avatar has or just cleared a pose."""
        if not self.active:
            return None
        n = min(len(self.flags), len(grid.ids))  # either may have grown past the other
        posed = self.flags[:n] != 0
        rows = np.flatnonzero(posed | self.cleared[:n])
        key = posed & ((tick_no + grid.ids[:n].astype(np.int64)) % self.keyframe_ticks == 0)
        due = self.changed[:n] | self.cleared[:n] | key
        self.changed[:] = False
        self.cleared[:] = False
        self.active = bool(posed.any())
        row_of = np.full(len(grid.ids), -1, np.int64)
        row_of[rows] = np.arange(len(rows))
        src = np.empty((len(rows), RECORD_MAX), np.uint8)
        header = np.empty(len(rows), HEADER)
        header["id"] = grid.ids[rows]
        header["flags"] = self.flags[rows]
        src[:, :HEADER_BYTES] = header.view(np.uint8).reshape(-1, HEADER_BYTES)
        src[:, HEADER_BYTES:] = self.parts[rows]
        records = np.empty((len(rows), 2, RECORD_MAX), np.uint8)
        units = np.empty((len(rows), 2), np.int64)
        for tier, mask in enumerate((HEAD, HEAD | LEFT | RIGHT)):
            shown = self.flags[rows] & mask
            rec = np.take_along_axis(src, _GATHER[shown], axis=1)
            rec[:, HEADER_BYTES - 1] = shown  # the flags byte says what this viewer shows
            records[:, tier] = rec
            units[:, tier] = _LENGTH[shown] // _UNIT
        due_all = np.zeros(len(grid.ids), bool)
        due_all[:n] = due
        return PoseFrame(
            records.reshape(-1).view(_V35), units.reshape(-1), row_of, due_all, self.hands_m**2, self.head_m**2,
        )

    def _grow(self, n: int) -> None:
        if n > len(self.flags):
            size = max(n, 2 * len(self.flags))
            grow = size - len(self.flags)
            self.flags = np.concatenate([self.flags, np.zeros(grow, np.uint8)])
            self.parts = np.concatenate([self.parts, np.zeros((grow, 3 * PART_BYTES), np.uint8)])
            self.changed = np.concatenate([self.changed, np.zeros(grow, bool)])
            self.cleared = np.concatenate([self.cleared, np.zeros(grow, bool)])


def view_records(
    frame: PoseFrame,
    grid: SpatialGrid,
    viewers: Slots,
    slots: Slots,
    valid: NDArray[np.bool_],
    entered: NDArray[np.bool_],
) -> tuple[bytes, NDArray[np.int64]]:
    """The pose bytes of every viewer (rows of ``slots``, the view entries, -1 padded) and
    each viewer's end offset into them (cumulative, like ``np.cumsum`` of lengths)."""
    seen = np.maximum(slots, 0)
    row = frame.row_of[seen]
    candidate = valid & (row >= 0) & (entered | frame.due[seen])
    flat = np.flatnonzero(candidate)  # flat indices: cheaper than row/column fancy indexing
    if not len(flat):
        return b"", np.zeros(len(viewers), np.int64)
    r = flat // candidate.shape[1]
    s, v = seen.reshape(-1)[flat], viewers[r]
    pos = grid.pos
    d2 = np.zeros(len(s), np.float32)
    for axis in range(3):  # per coordinate: 1-D gathers are ~5x faster than gathering rows
        coord = pos[:, axis].copy()
        d = coord[s] - coord[v]
        d2 += d * d
    near = d2 <= frame.head2
    r = r[near]
    which = 2 * row.reshape(-1)[flat[near]] + (d2[near] <= frame.hands2)
    units = frame.units[which]
    records = frame.records[which].view(_V5).reshape(len(which), len(_UNIT_COL))
    blob = records[_UNIT_COL[None, :] < units[:, None]].tobytes()
    ends = np.cumsum(np.bincount(r, weights=units * _UNIT, minlength=len(viewers))).astype(np.int64)
    return blob, ends
