"""The legs of a simulated visitor: pick a reachable point, walk to it, pause, repeat.

Used by ``vetrina crowd`` and the load tests. Pure: the caller passes elapsed time and a
seeded ``random.Random``. Yaw follows the three.js convention: ``rotation.y``, so a yaw of 0
faces -z and walking along (dx, dz) means ``yaw = atan2(-dx, -dz)``.
"""

from __future__ import annotations

import math
import random

import numpy as np

from world.core.movement import MovementRules
from world.core.scene import Scene

Vec = tuple[float, float, float]


class Wanderer:
    def __init__(
        self,
        scene: Scene,
        max_speed: float,
        rng: random.Random,
        *,
        speed: tuple[float, float] = (1.0, 1.8),
        pause_s: tuple[float, float] = (0.5, 4.0),
        hotspot: tuple[float, float, float] | None = None,
    ) -> None:
        self.rules = MovementRules(scene, max_speed)
        self.rng = rng
        self.lo, self.hi = scene.bounds
        self.speed = min(rng.uniform(*speed), 0.9 * max_speed)
        self.pause_range = pause_s
        self.hotspot = hotspot  # (x, z, spread): where a crowd gathers, e.g. a concert pit
        self.target: Vec | None = None
        self.pause = 0.0
        self.yaw = rng.uniform(-math.pi, math.pi)

    def _pick(self, p: Vec) -> Vec | None:
        margin = 1.0
        for _ in range(24):
            if self.hotspot is not None:
                hx, hz, spread = self.hotspot
                x, z = self.rng.gauss(hx, spread), self.rng.gauss(hz, spread)
            else:
                x = self.rng.uniform(self.lo[0] + margin, self.hi[0] - margin)
                z = self.rng.uniform(self.lo[2] + margin, self.hi[2] - margin)
            # prefer nearby targets: browsing, not sprinting across the hall
            if self.hotspot is None and self.rng.random() < 0.7:
                x = p[0] + (x - p[0]) * 0.3
                z = p[2] + (z - p[2]) * 0.3
            t = (x, p[1], z)
            if self.rules.legal_targets(np.array([p], float), np.array([t], float))[0]:
                return t
        return None

    def step(self, p: Vec, dt: float) -> tuple[Vec, float]:
        """Advance ``dt`` seconds from ``p``; returns the new position and yaw."""
        if self.pause > 0:
            self.pause -= dt
            return p, self.yaw
        if self.target is None:
            self.target = self._pick(p)
            if self.target is None:
                self.pause = 1.0
                return p, self.yaw
        dx, dz = self.target[0] - p[0], self.target[2] - p[2]
        dist = math.hypot(dx, dz)
        stride = self.speed * dt
        if dist <= stride:
            self.target = None
            self.pause = self.rng.uniform(*self.pause_range)
            q = (p[0] + dx, p[1], p[2] + dz)
        else:
            q = (p[0] + dx / dist * stride, p[1], p[2] + dz / dist * stride)
        if dist > 1e-6:
            self.yaw = math.atan2(-dx, -dz)
        return q, self.yaw

    def corrected(self) -> None:
        """The server refused a move: forget the target and choose again."""
        self.target = None
