"""SpatialGrid: every avatar of a room as structure-of-arrays, and vectorised visible sets.

Positions are room-local metres (float32), ``y`` up; the grid indexes the floor plane
(``x``, ``z``) in square cells of ``cell_size`` metres. Distances are full 3-D distances.

The visible-set query answers, for every viewer at once, "the ``k`` nearest other avatars
within ``radius``" without a Python loop over avatars:

1. Avatars are counting-sorted by cell (row-major ``cz * ncx + cx``), so the cells of one
   grid row form one contiguous run of the sorted arrays.
2. Each viewer picks a square block of ``2r + 1`` rows around its cell. ``r`` comes from a
   summed-area table of the cell counts: the smallest block whose inscribed disc should
   already hold ``k`` avatars, so a viewer in a dense concert pit scans a few metres and one
   in an empty hall scans up to ``radius``.
3. The blocks' row runs are expanded into one flat candidate array; distances are computed
   on it and ``argpartition`` keeps the ``k`` smallest per viewer (viewers are bucketed by
   candidate count so padding stays small).
4. The answer is exact when the ``k``-th distance is within the block's covered radius
   (``r * cell_size``: nothing outside the block can be nearer) or the block already covers
   ``radius``. Viewers for which neither holds retry with a bigger block.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

Slots = NDArray[np.int32]


class GridFull(RuntimeError):
    """No free slot is left; the room's capacity bounds the grid."""


class SpatialGrid:
    """Avatar positions of one room, slot-indexed, with a free list.

    Slots are reused after :meth:`remove`; callers map their avatar ids to slots.
    """

    def __init__(
        self,
        bounds_min: tuple[float, float, float],
        bounds_max: tuple[float, float, float],
        *,
        capacity: int = 100_000,
        cell_size: float = 1.0,
        initial: int = 256,
    ) -> None:
        if cell_size <= 0:
            raise ValueError("cell_size must be positive")
        self.capacity = capacity
        self.cell_size = float(cell_size)
        self._x0 = float(bounds_min[0])
        self._z0 = float(bounds_min[2])
        self.ncx = max(1, math.ceil((bounds_max[0] - bounds_min[0]) / cell_size))
        self.ncz = max(1, math.ceil((bounds_max[2] - bounds_min[2]) / cell_size))
        n = min(initial, capacity)
        self.pos = np.zeros((n, 3), np.float32)
        self.yaw = np.zeros(n, np.float32)
        self.ids = np.zeros(n, np.uint32)
        self.active = np.zeros(n, bool)
        self.generation = np.zeros(n, np.uint32)  # bumped whenever a slot changes hands
        self._free: list[int] = []
        self._high = 0  # slots [0, _high) have been handed out at least once

    # ---- membership -------------------------------------------------------------------

    def __len__(self) -> int:
        return self._high - len(self._free)

    def add(self, avatar_id: int, p: tuple[float, float, float], yaw: float = 0.0) -> int:
        if self._free:
            slot = self._free.pop()
        else:
            if self._high >= self.capacity:
                raise GridFull(f"grid holds at most {self.capacity} avatars")
            if self._high >= len(self.active):
                self._grow()
            slot = self._high
            self._high += 1
        self.pos[slot] = p
        self.yaw[slot] = yaw
        self.ids[slot] = avatar_id
        self.active[slot] = True
        self.generation[slot] += 1
        return slot

    def remove(self, slot: int) -> None:
        if not (0 <= slot < self._high and self.active[slot]):
            raise KeyError(f"slot {slot} is not in use")
        self.active[slot] = False
        self._free.append(slot)

    def place(self, slots: Slots, p: NDArray[np.float32], yaw: NDArray[np.float32]) -> None:
        """Set the positions (metres) and yaws (radians) of many avatars at once."""
        self.pos[slots] = p
        self.yaw[slots] = yaw

    def active_slots(self) -> Slots:
        return np.flatnonzero(self.active[: self._high]).astype(np.int32)

    def _grow(self) -> None:
        n = min(self.capacity, max(16, 2 * len(self.active)))
        self.pos = np.resize(self.pos, (n, 3))
        self.yaw = np.resize(self.yaw, n)
        self.ids = np.resize(self.ids, n)
        active = np.zeros(n, bool)
        active[: len(self.active)] = self.active
        self.active = active
        self.generation = np.resize(self.generation, n)
        self.generation[self._high :] = 0

    # ---- visible sets -----------------------------------------------------------------

    def visible(self, viewers: Slots, k: int, radius: float) -> Slots:
        """For each viewer slot, the slots of its ``k`` nearest other avatars within ``radius``.

        Returns an ``(len(viewers), k)`` int32 array; rows are unordered and padded with -1.
        """
        viewers = np.asarray(viewers, np.int32)
        out = np.full((len(viewers), k), -1, np.int32)
        if len(viewers) == 0 or k <= 0:
            return out
        index = _CellIndex(self, radius)
        vx, vy, vz = (np.ascontiguousarray(self.pos[viewers, i]) for i in range(3))
        vcx, vcz = index.cell_xz(vx, vz)
        r = index.initial_rings(vcx, vcz, k)
        pending = np.arange(len(viewers))
        while len(pending):
            slots, done = index.nearest(
                viewers[pending], vx[pending], vy[pending], vz[pending],
                vcx[pending], vcz[pending], r[pending], k,
            )
            out[pending[done]] = slots[done]
            pending = pending[~done]
            r[pending] = np.minimum(index.r_max, np.maximum(r[pending] + 1, (r[pending] * 3 + 1) // 2))
        return out


def _expand_runs(begin: NDArray[np.int64], length: NDArray[np.int64]) -> NDArray[np.int64]:
    """Concatenate ``range(b, b + n)`` for each run, vectorised (one cumsum, no repeat)."""
    keep = length > 0
    begin, length = begin[keep], length[keep]
    total = int(length.sum())
    steps = np.ones(total, np.int64)
    if total == 0:
        return steps
    first = np.cumsum(length) - length
    steps[0] = begin[0]
    steps[first[1:]] = begin[1:] - (begin[:-1] + length[:-1] - 1)
    return np.cumsum(steps)


class _CellIndex:
    """One tick's snapshot of the grid, counting-sorted by cell, for the visible-set query.

    The cell size adapts to the crowd (about half the mean spacing, at least 0.5 m) so a
    block holds a few times ``k`` avatars whether the room is empty or packed.
    """

    CHUNK = 1024  # viewers per padded distance matrix

    def __init__(self, grid: SpatialGrid, radius: float) -> None:
        act = grid.active_slots()
        p = grid.pos[act]
        n = max(len(act), 1)
        area = (grid.ncx * grid.cell_size) * (grid.ncz * grid.cell_size)
        c = float(np.clip(0.5 * math.sqrt(area / n), 0.5, max(0.5, radius / 4)))
        self.c = c
        self.r_max = max(1, math.ceil(radius / c))
        self.radius2 = np.float32(radius * radius)
        self.x0, self.z0 = grid._x0, grid._z0
        self.ncx = max(1, math.ceil(grid.ncx * grid.cell_size / c))
        self.ncz = max(1, math.ceil(grid.ncz * grid.cell_size / c))
        cx, cz = self.cell_xz(p[:, 0], p[:, 2])
        cell = cz * self.ncx + cx
        ncells = self.ncx * self.ncz
        counts = np.bincount(cell, minlength=ncells)
        order = np.argsort(cell, kind="stable")
        # SoA copies so each gather reads one contiguous array; the tail is a sentinel run
        # (far away, slot -1) that pads every viewer's candidate list to a common width.
        self.n = len(act)
        self.slots = np.concatenate([act[order], np.full(1, -1, np.int32)])
        far = np.float32(1e9)
        self.x = np.concatenate([p[order, 0], [far]]).astype(np.float32)
        self.y = np.concatenate([p[order, 1], [far]]).astype(np.float32)
        self.z = np.concatenate([p[order, 2], [far]]).astype(np.float32)
        self.start = np.zeros(ncells + 1, np.int64)
        np.cumsum(counts, out=self.start[1:])
        sat = np.zeros((self.ncz + 1, self.ncx + 1), np.int64)
        sat[1:, 1:] = counts.reshape(self.ncz, self.ncx).cumsum(0).cumsum(1)
        self.sat = sat

    def cell_xz(self, x: NDArray[np.float32], z: NDArray[np.float32]) -> tuple[Slots, Slots]:
        inv = 1.0 / self.c
        cx = np.clip(((x - self.x0) * inv).astype(np.int32), 0, self.ncx - 1)
        cz = np.clip(((z - self.z0) * inv).astype(np.int32), 0, self.ncz - 1)
        return cx, cz

    def block_count(self, cx: Slots, cz: Slots, r: Slots) -> NDArray[np.int64]:
        x0 = np.clip(cx - r, 0, self.ncx)
        x1 = np.clip(cx + r + 1, 0, self.ncx)
        z0 = np.clip(cz - r, 0, self.ncz)
        z1 = np.clip(cz + r + 1, 0, self.ncz)
        s = self.sat
        return s[z1, x1] - s[z0, x1] - s[z1, x0] + s[z0, x0]

    def initial_rings(self, cx: Slots, cz: Slots, k: int) -> Slots:
        """Smallest ring count whose inscribed disc is expected to hold ``k`` others.

        Binary search per viewer: the expected count grows with the ring count.
        """
        need = 1.15 * (k + 1)  # +1: the viewer itself is in its own block
        lo = np.ones(len(cx), np.int32)
        hi = np.full(len(cx), self.r_max, np.int32)
        while True:
            open_ = lo < hi
            if not open_.any():
                return hi
            mid = (lo + hi) // 2
            share = np.pi * mid.astype(np.float64) ** 2 / (2 * mid + 1) ** 2
            enough = self.block_count(cx, cz, mid) * share >= need
            hi = np.where(open_ & enough, mid, hi)
            lo = np.where(open_ & ~enough, mid + 1, lo)

    def nearest(
        self,
        viewers: Slots,
        vx: NDArray[np.float32],
        vy: NDArray[np.float32],
        vz: NDArray[np.float32],
        vcx: Slots,
        vcz: Slots,
        r: Slots,
        k: int,
    ) -> tuple[Slots, NDArray[np.bool_]]:
        """k nearest within each viewer's block, and whether that answer is final.

        Final means exact (the k-th is inside the covered radius, or the block covers the
        whole view radius).
        """
        slots = np.full((len(viewers), k), -1, np.int32)
        done = np.zeros(len(viewers), bool)
        # Group by ring count (so the row matrix is tight), then sort by candidate count and
        # cut into chunks (so each padded distance matrix is tight and stays in cache).
        ring_group = np.ceil(np.log2(r)).astype(np.int32)
        for g in np.unique(ring_group):
            sel = np.flatnonzero(ring_group == g)
            begin, length = self._rows(vcx[sel], vcz[sel], r[sel])
            count = length.sum(1)
            by_count = np.argsort(count, kind="stable")
            for c0 in range(0, len(sel), self.CHUNK):
                sub = by_count[c0 : c0 + self.CHUNK]
                v = sel[sub]
                sl, ok = self._select(
                    viewers[v], vx[v], vy[v], vz[v], r[v], begin[sub], length[sub], count[sub], k
                )
                slots[v] = sl
                done[v] = ok
        return slots, done

    def _rows(self, cx: Slots, cz: Slots, r: Slots) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Each viewer's block as row runs of the sorted arrays: (begin, length) per row."""
        rr = int(r.max())
        dz = np.arange(-rr, rr + 1, dtype=np.int32)
        rows = cz[:, None] + dz[None, :]
        use = (np.abs(dz)[None, :] <= r[:, None]) & (rows >= 0) & (rows < self.ncz)
        rows = np.clip(rows, 0, self.ncz - 1) * self.ncx
        lo = np.clip(cx - r, 0, self.ncx - 1)[:, None]
        hi = np.clip(cx + r, 0, self.ncx - 1)[:, None]
        begin = self.start[rows + lo]
        length = np.where(use, self.start[rows + hi + 1] - begin, 0)
        return begin, length

    def _select(
        self,
        viewers: Slots,
        vx: NDArray[np.float32],
        vy: NDArray[np.float32],
        vz: NDArray[np.float32],
        r: Slots,
        begin: NDArray[np.int64],
        length: NDArray[np.int64],
        count: NDArray[np.int64],
        k: int,
    ) -> tuple[Slots, NDArray[np.bool_]]:
        nv = len(viewers)
        width = max(int(count.max()), 1)
        # One extra run per viewer pads it to `width` with the sentinel (index n, far away).
        pad = width - count
        begin = np.concatenate([begin, np.full((nv, 1), self.n, np.int64)], axis=1)
        length = np.concatenate([length, pad[:, None]], axis=1)
        cand = _expand_runs(begin.ravel(), length.ravel())
        cand = np.minimum(cand, self.n).reshape(nv, width)
        d2 = self.x[cand] - vx[:, None]
        d2 *= d2
        t = self.y[cand] - vy[:, None]
        d2 += t * t
        t = self.z[cand] - vz[:, None]
        d2 += t * t
        cslot = self.slots[cand]
        d2[(cslot == viewers[:, None]) | (d2 > self.radius2)] = np.inf
        if width > k:
            part = np.argpartition(d2, k - 1, axis=1)[:, :k]
            kth = np.take_along_axis(d2, part[:, k - 1 : k], axis=1)[:, 0]
            cslot = np.take_along_axis(cslot, part, axis=1)
            short = np.flatnonzero(np.isinf(kth))  # fewer than k within the radius: rare
            if len(short):
                far = np.isinf(np.take_along_axis(d2[short], part[short], axis=1))
                cslot[short] = np.where(far, -1, cslot[short])
        else:
            kth = d2.max(axis=1) if width == k else np.full(nv, np.inf, np.float32)
            cslot[np.isinf(d2)] = -1
        out = np.full((nv, k), -1, np.int32)
        w = min(width, k)
        out[:, :w] = cslot[:, :w]
        covered = (r.astype(np.float32) * np.float32(self.c)) ** 2
        final = (kth <= covered) | (r >= self.r_max)
        return out, final
