"""Authoritative movement: speed budget, bounds, colliders, non-finite numbers."""

from __future__ import annotations

import numpy as np

from world.core.movement import MovementRules
from world.core.scene import Collider, Scene

SCENE = Scene(
    bounds=((-10, 0, -10), (10, 5, 10)),
    spawn=[(0, 0, 5)],
    colliders=[Collider(id="wall", min=(-10, 0, -0.2), max=(10, 3, 0.2))],
)


def legal(start: tuple[float, float, float], end: tuple[float, float, float]) -> bool:
    rules = MovementRules(SCENE, max_speed=5.0)
    return bool(rules.legal_targets(np.array([start], float), np.array([end], float))[0])


def test_open_floor_moves_are_legal() -> None:
    assert legal((0, 0, 5), (1, 0, 5))


def test_out_of_bounds_target_is_refused() -> None:
    assert not legal((9, 0, 5), (11, 0, 5))


def test_passing_through_a_wall_is_refused_even_when_both_ends_are_free() -> None:
    assert not legal((0, 0, 1), (0, 0, -1))
    assert not legal((0, 0, 1), (0, 0, 0))  # ending inside the wall
    assert legal((0, 0, 1), (0, 0, 0.2))  # touching the face is fine
    assert legal((0, 0, 0.2), (3, 0, 0.2))  # sliding along the face is fine


def test_non_finite_targets_are_refused() -> None:
    assert not legal((0, 0, 5), (float("nan"), 0, 5))
    assert not legal((0, 0, 5), (0, float("inf"), 5))


def test_budget_tolerates_jitter_but_not_sustained_speeding() -> None:
    rules = MovementRules(SCENE, max_speed=5.0)  # burst 2.5 m, refill 6.25 m/s
    budget = np.array([rules.burst])
    # two legal 0.5 m steps arriving in the same millisecond (network jitter): both fit
    for _ in range(2):
        fits, budget = rules.spend(budget, np.array([0.0]), np.array([0.5]))
        assert fits[0]
    # 10 Hz at max speed is sustainable forever
    for _ in range(50):
        fits, budget = rules.spend(budget, np.array([0.1]), np.array([0.5]))
        assert fits[0]
    # twice max speed drains the budget and gets refused
    results = []
    for _ in range(20):
        fits, budget = rules.spend(budget, np.array([0.1]), np.array([1.0]))
        results.append(bool(fits[0]))
    assert not all(results) and results[0]


def test_one_huge_jump_is_refused() -> None:
    rules = MovementRules(SCENE, max_speed=5.0)
    fits, _ = rules.spend(np.array([rules.burst]), np.array([10.0]), np.array([8.0]))
    assert not fits[0]
