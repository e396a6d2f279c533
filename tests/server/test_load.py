"""Graceful degradation: the governor's levels, and thinning of far avatars in ticks."""

from __future__ import annotations

import numpy as np

from world.core.grid import SpatialGrid
from world.core.interest import Interest, decode_records
from server.load import MAX_LEVEL, LoadGovernor


def test_governor_climbs_under_load_one_level_per_hold_and_recovers() -> None:
    g = LoadGovernor(hold_s=2.0)
    levels = [g.update(1.5, 0.0, t * 0.1) for t in range(1, 120)]  # 12 s of overload
    assert levels[0] == 0 and max(levels) == MAX_LEVEL
    first_up = levels.index(1)
    assert levels.index(2) - first_up >= 19  # at least hold_s between steps
    assert g.rate_divisor == 2 and g.far_stride == 4
    calm = [g.update(0.1, 0.0, 12 + t * 0.1) for t in range(1, 200)]
    assert calm[-1] == 0


def test_lateness_alone_also_counts_as_overload() -> None:
    g = LoadGovernor(hold_s=0.0)
    for t in range(30):
        g.update(0.1, 2.0, t * 0.1)  # cheap ticks that start two periods late: a busy loop
    assert g.level >= 1


def test_a_brief_spike_does_not_degrade() -> None:
    g = LoadGovernor()
    for t in range(100):
        g.update(3.0 if t == 50 else 0.2, 0.0, t * 0.1)
    assert g.level == 0


def test_far_avatars_are_thinned_but_their_last_position_arrives() -> None:
    grid = SpatialGrid((-100, 0, -100), (100, 10, 100))
    interest = Interest(k=8)
    enter_of: list[list[object]] = []
    viewer = grid.add(1, (0, 0, 0))
    near = grid.add(2, (3, 0, 0))
    far = grid.add(3, (20, 0, 0))
    enter_of += [[1, "v", {}], [2, "near", {}], [3, "far", {}]]
    v = np.array([viewer], np.int32)

    def tick(n: int) -> set[int]:
        vis = grid.visible(v, 8, 30.0)
        views = interest.step(grid, v, vis, enter_of, tick_no=n, far_stride=4, near_m=10.0)
        return set(decode_records(views[0].pos)["id"].tolist()) if views else set()

    assert tick(0) == {2, 3}  # entering: everything, whatever the phase
    seen_far = []
    for n in range(1, 9):  # both walk every tick
        grid.place(np.array([near, far], np.int32), np.array([[3 + 0.1 * n, 0, 0], [20 + 0.1 * n, 0, 0]], np.float32), np.zeros(2, np.float32))
        got = tick(n)
        assert 2 in got  # near: every tick
        seen_far.append(3 in got)
    assert sum(seen_far) == 2  # far: every 4th tick only
    # the far avatar stops between its phase ticks; its final position still arrives
    last = None
    for n in range(9, 14):
        vis = grid.visible(v, 8, 30.0)
        views = interest.step(grid, v, vis, enter_of, tick_no=n, far_stride=4, near_m=10.0)
        for t in views:
            r = decode_records(t.pos)
            if 3 in r["id"]:
                last = int(r["x"][r["id"] == 3][0])
    assert last == round((20 + 0.8) * 100)
