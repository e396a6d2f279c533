"""Interest diffs: enter/leave/records exactly as the binary tick of PROTOCOL.md."""

from __future__ import annotations

import math
import struct

import numpy as np

from world.core.grid import SpatialGrid
from world.core.interest import RECORD_BYTES, Interest, decode_records, quantize


class World:
    def __init__(self) -> None:
        self.grid = SpatialGrid((-100, 0, -100), (100, 10, 100))
        self.interest = Interest(k=8)
        self.enter_of: list[list[object]] = []

    def add(self, avatar: int, p: tuple[float, float, float], yaw: float = 0.0) -> int:
        slot = self.grid.add(avatar, p, yaw)
        while len(self.enter_of) <= slot:
            self.enter_of.append([])
        self.enter_of[slot] = [avatar, f"a{avatar}", {"color": "#112233"}]
        return slot

    def step(self, viewers: list[int], radius: float = 30.0) -> dict[int, object]:
        v = np.array(viewers, np.int32)
        vis = self.grid.visible(v, 8, radius)
        return {t.viewer: t for t in self.interest.step(self.grid, v, vis, self.enter_of)}


def test_record_layout_is_little_endian_id_cm_and_yaw() -> None:
    rec = quantize(np.array([[1.234, -0.5, 327.0]], np.float32), np.array([math.pi / 2], np.float32), np.array([7], np.uint32))
    raw = rec.tobytes()
    assert len(raw) == RECORD_BYTES == 12
    assert struct.unpack("<Ihhhh", raw) == (7, 123, -50, 32700, round(0.5 * 32767))


def test_first_tick_enters_everyone_in_view_then_only_changes() -> None:
    w = World()
    a = w.add(1, (0, 0, 0))
    w.add(2, (3, 0, 0))
    w.add(3, (80, 0, 80))  # far away
    first = w.step([a])
    t = first[1]
    assert [e[0] for e in t.enter] == [2] and t.enter[0][1] == "a2"
    assert t.leave == []
    recs = decode_records(t.pos)
    assert recs["id"].tolist() == [2] and recs["x"].tolist() == [300]
    # nothing moved: the viewer gets no tick at all
    assert w.step([a]) == {}


def test_only_moved_avatars_are_resent() -> None:
    w = World()
    a = w.add(1, (0, 0, 0))
    b = w.add(2, (3, 0, 0))
    w.add(3, (-3, 0, 0))
    w.step([a])
    w.grid.place(np.array([b], np.int32), np.array([[4, 0, 0]], np.float32), np.array([1.0], np.float32))
    t = w.step([a])[1]
    assert t.enter == [] and t.leave == []
    assert decode_records(t.pos)["id"].tolist() == [2]


def test_sub_centimetre_jitter_is_not_resent() -> None:
    w = World()
    a = w.add(1, (0, 0, 0))
    b = w.add(2, (3, 0, 0))
    w.step([a])
    w.grid.place(np.array([b], np.int32), np.array([[3.001, 0, 0]], np.float32), np.array([0.0], np.float32))
    assert w.step([a]) == {}


def test_leaving_view_and_leaving_room_produce_leave() -> None:
    w = World()
    a = w.add(1, (0, 0, 0))
    b = w.add(2, (3, 0, 0))
    c = w.add(3, (-3, 0, 0))
    w.step([a])
    w.grid.place(np.array([b], np.int32), np.array([[60, 0, 0]], np.float32), np.array([0.0], np.float32))
    w.grid.remove(c)
    t = w.step([a])[1]
    assert sorted(t.leave) == [2, 3] and t.enter == [] and t.pos == b""


def test_many_viewers_get_their_own_views() -> None:
    w = World()
    slots = [w.add(i, (i * 10.0, 0, 0)) for i in range(1, 6)]  # a line 10 m apart
    views = w.step(slots, radius=15.0)
    for i in range(1, 6):
        expected = {j for j in (i - 1, i + 1) if 1 <= j <= 5}
        assert {e[0] for e in views[i].enter} == expected
        assert set(decode_records(views[i].pos)["id"].tolist()) == expected


def test_forget_resends_full_state_and_refresh_reannounces() -> None:
    w = World()
    a = w.add(1, (0, 0, 0))
    b = w.add(2, (3, 0, 0))
    w.step([a])
    w.interest.forget(a)
    t = w.step([a])[1]
    assert [e[0] for e in t.enter] == [2] and len(decode_records(t.pos)) == 1
    refresh = np.zeros(len(w.grid.active), bool)
    refresh[b] = True
    w.enter_of[b] = [2, "a2", {"color": "#ff0000"}]
    vis = w.grid.visible(np.array([a], np.int32), 8, 30.0)
    (t2,) = w.interest.step(w.grid, np.array([a], np.int32), vis, w.enter_of, refresh)
    assert t2.enter == [[2, "a2", {"color": "#ff0000"}]]


def test_a_forgotten_viewer_gets_one_reset_tick_with_its_whole_view() -> None:
    w = World()
    a = w.add(1, (0, 0, 0))
    w.add(2, (3, 0, 0))
    assert w.step([a])[1].reset is False  # a brand-new viewer slot needs no reset
    w.interest.forget(a)
    t = w.step([a])[1]
    assert t.reset is True and [e[0] for e in t.enter] == [2]
    w.interest.forget(a)
    w.grid.remove(1)  # nobody left in view: the reset tick still goes out, empty
    t = w.step([a])[1]
    assert t.reset is True and t.enter == [] and t.pos == b""
    assert w.step([a]) == {}
