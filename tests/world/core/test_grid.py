"""SpatialGrid visible sets against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest

from world.core.grid import GridFull, SpatialGrid


def brute_force(pos: np.ndarray, viewer: int, k: int, radius: float) -> set[int]:
    d = np.sqrt(((pos - pos[viewer]) ** 2).sum(axis=1))
    d[viewer] = np.inf
    nearest = np.argsort(d)[:k]
    return {int(i) for i in nearest if d[i] <= radius}


def filled(pos: np.ndarray, half: float = 100.0) -> tuple[SpatialGrid, np.ndarray]:
    g = SpatialGrid((-half, 0, -half), (half, 10, half), capacity=len(pos) + 10)
    slots = np.array([g.add(i, tuple(p)) for i, p in enumerate(pos)], np.int32)
    return g, slots


def crowd(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "uniform":
        xz = rng.uniform(-95, 95, (n, 2))
    elif kind == "clustered":  # a concert pit plus a few tight groups and stragglers
        pit = rng.uniform([-30, -20], [30, 20], (int(n * 0.6), 2))
        groups = rng.normal(rng.uniform(-80, 80, (5, 2))[rng.integers(0, 5, int(n * 0.3))], 1.5)
        rest = rng.uniform(-95, 95, (n - len(pit) - len(groups), 2))
        xz = np.clip(np.concatenate([pit, groups, rest]), -99, 99)
    else:  # everyone on a single spot: the worst case for any spatial index
        xz = rng.normal(0, 0.5, (n, 2))
    y = rng.uniform(0, 2, (n, 1))
    return np.concatenate([xz[:, :1], y, xz[:, 1:]], axis=1).astype(np.float32)


@pytest.mark.parametrize("kind", ["uniform", "clustered", "pile"])
@pytest.mark.parametrize("n,k,radius", [(300, 64, 30.0), (2500, 64, 30.0), (2500, 8, 5.0), (800, 200, 60.0)])
def test_visible_sets_match_brute_force(kind: str, n: int, k: int, radius: float) -> None:
    rng = np.random.default_rng(n + k)
    pos = crowd(kind, n, rng)
    g, slots = filled(pos)
    vis = g.visible(slots, k, radius)
    assert vis.shape == (n, k)
    for v in range(0, n, max(1, n // 150)):
        got = {int(s) for s in vis[v] if s >= 0}
        assert got == brute_force(pos, v, k, radius), f"viewer {v}"


def test_viewer_never_sees_itself_and_padding_is_minus_one() -> None:
    g, slots = filled(np.array([[0, 0, 0], [1, 0, 0], [50, 0, 50]], np.float32))
    vis = g.visible(slots, 4, 10.0)
    assert set(vis[0]) == {1, -1, -1, -1} | {1}
    assert sorted(vis[0].tolist()) == [-1, -1, -1, 1]
    assert sorted(vis[2].tolist()) == [-1, -1, -1, -1]  # nobody within 10 m


def test_removed_avatars_vanish_and_slots_are_reused() -> None:
    g, slots = filled(np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0]], np.float32))
    g.remove(int(slots[1]))
    assert len(g) == 2
    vis = g.visible(np.array([slots[0]], np.int32), 4, 10.0)
    assert set(vis[0].tolist()) == {2, -1}
    again = g.add(99, (0.5, 0, 0))
    assert again == slots[1] and g.ids[again] == 99
    with pytest.raises(KeyError):
        g.remove(123)


def test_moving_avatars_changes_who_is_near() -> None:
    g, slots = filled(np.array([[0, 0, 0], [40, 0, 0]], np.float32))
    assert g.visible(slots[:1], 4, 30.0)[0].max() == -1
    g.place(slots[1:], np.array([[5, 0, 0]], np.float32), np.array([0.5], np.float32))
    assert g.visible(slots[:1], 4, 30.0)[0].max() == slots[1]


def test_capacity_is_a_hard_bound() -> None:
    g = SpatialGrid((-10, 0, -10), (10, 5, 10), capacity=2)
    g.add(1, (0, 0, 0))
    g.add(2, (1, 0, 0))
    with pytest.raises(GridFull):
        g.add(3, (2, 0, 0))


def test_positions_outside_bounds_are_clamped_into_edge_cells_not_lost() -> None:
    g, slots = filled(np.array([[-99.9, 0, -99.9], [-99.0, 0, -99.5]], np.float32))
    assert g.visible(slots, 2, 5.0)[0].max() == slots[1]
