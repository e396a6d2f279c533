"""Simulated visitors only ever ask for legal moves."""

from __future__ import annotations

import random

import numpy as np

from server.config import ASSETS
from world.core.movement import MovementRules
from server.assets import load_rooms
from world.wander import Wanderer


def test_wanderers_walk_legally_and_get_somewhere() -> None:
    room = next(r for r in load_rooms(ASSETS / "rooms") if r.id == "showroom")
    rules = MovementRules(room.scene, room.max_speed)
    for seed in range(5):
        legs = Wanderer(room.scene, room.max_speed, random.Random(seed))
        p = tuple(room.scene.spawn[0])
        start = p
        for _ in range(600):  # a minute at 10 Hz
            q, yaw = legs.step(p, 0.1)
            assert rules.legal_targets(np.array([p], float), np.array([q], float))[0]
            assert np.hypot(q[0] - p[0], q[2] - p[2]) <= room.max_speed * 0.1 + 1e-9
            p = q
        assert np.hypot(p[0] - start[0], p[2] - start[2]) > 1.0
