"""Authoritative movement: which requested moves the server accepts.

A move is legal when its target is finite and inside the room's bounds, the straight segment
from the avatar's current position does not pass through a collider, and the distance fits
the avatar's movement budget. The budget refills at ``max_speed * tolerance`` metres per
second up to ``burst_seconds`` worth, so network jitter (two moves arriving together) is
fine while sustained speeding is not. All checks are vectorised over a batch of moves.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from world.core.scene import Scene

F = NDArray[np.float64]
FOOT_M = 0.05


class MovementRules:
    def __init__(
        self,
        scene: Scene,
        max_speed: float,
        *,
        tolerance: float = 1.25,
        burst_seconds: float = 0.5,
        slack_m: float = 0.05,
    ) -> None:
        self.lo = np.array(scene.bounds[0], np.float64)
        self.hi = np.array(scene.bounds[1], np.float64)
        boxes = scene.colliders
        self.box_lo = np.array([b.min for b in boxes], np.float64).reshape(-1, 3)
        self.box_hi = np.array([b.max for b in boxes], np.float64).reshape(-1, 3)
        self.refill = max_speed * tolerance  # metres of budget per second
        self.burst = max_speed * burst_seconds  # metres
        self.slack = slack_m

    def spend(self, budget: F, elapsed_s: F, dist: F) -> tuple[NDArray[np.bool_], F]:
        """Refill each budget for the elapsed time and try to pay ``dist`` from it."""
        budget = np.minimum(self.burst, budget + np.maximum(elapsed_s, 0.0) * self.refill)
        fits = dist <= budget + self.slack
        return fits, np.where(fits, np.maximum(budget - dist, 0.0), budget)

    def legal_targets(self, start: F, end: F) -> NDArray[np.bool_]:
        """Finite, in bounds, and the segment start->end crosses no collider."""
        finite = np.asarray(np.isfinite(end).all(axis=1))
        end = np.where(finite[:, None], end, start)
        inside = ((end >= self.lo) & (end <= self.hi)).all(axis=1)
        return finite & inside & ~self.crosses_collider(start, end)

    def crosses_collider(self, start: F, end: F) -> NDArray[np.bool_]:
        """Slab test of every segment against every box: (moves, boxes) at once."""
        if len(self.box_lo) == 0 or len(start) == 0:
            return np.zeros(len(start), bool)
        # Test a point just above the feet: an avatar standing on the floor (y = 0) is inside
        # the vertical extent of a wall that also starts at y = 0, one on top of a stage is not.
        lift = np.array([0.0, FOOT_M, 0.0])
        s = (start + lift)[:, None, :]
        d = (end - start)[:, None, :]
        lo, hi = self.box_lo[None], self.box_hi[None]
        flat = d == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = (lo - s) / d
            t2 = (hi - s) / d
        # An axis the segment does not move along: inside the slab for all t, or never.
        in_slab = (s > lo) & (s < hi)
        t_near = np.where(flat, np.where(in_slab, -np.inf, np.inf), np.minimum(t1, t2))
        t_far = np.where(flat, np.where(in_slab, np.inf, -np.inf), np.maximum(t1, t2))
        enter = t_near.max(axis=2)
        leave = t_far.min(axis=2)
        # Touching a face is allowed; passing through the interior is not.
        hit = (enter < leave) & (leave > 0.0) & (enter < 1.0)
        return hit.any(axis=1)
