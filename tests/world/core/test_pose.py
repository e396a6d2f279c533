"""VR poses: validation, the smallest-three packing, and the per-viewer level of detail."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from world.core.grid import SpatialGrid
from world.core.interest import Interest
from world.core.pose import (
    HEAD,
    LEFT,
    RIGHT,
    PoseBook,
    PoseError,
    check_part,
    check_pose,
    decode_quats,
    decode_records,
    encode_quats,
)
from world.core.room import Join, Leave, Poses, Room, SetPose
from world.core.scene import RoomConfig, Scene

IDENTITY = [0.0, 0.0, 0.0, 1.0]
HEAD_PART = [0.05, 1.6, -0.02, *IDENTITY]
LEFT_PART = [-0.3, 1.1, -0.3, 0.0, 0.0, 0.0, 1.0]
RIGHT_PART = [0.3, 1.1, -0.3, 0.0, 0.7071068, 0.0, 0.7071068]


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    dot = np.abs((a * b).sum(axis=1)).clip(0.0, 1.0)
    return np.degrees(2.0 * np.arccos(dot))


# ---- the packing ---------------------------------------------------------------------------


def test_round_trip_is_within_a_fifth_of_a_degree() -> None:
    rng = np.random.default_rng(7)
    q = rng.normal(size=(100_000, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    largest = np.abs(q).argmax(axis=1)
    assert (q[np.arange(len(q)), largest] < 0).sum() > 40_000  # negative largest components included
    back = decode_quats(encode_quats(q))
    assert np.allclose(np.linalg.norm(back, axis=1), 1.0)
    assert angle_deg(q, back).max() < 0.2


def test_packing_follows_the_spec_bit_layout() -> None:
    # 90 degrees about y: (0, s, 0, s); the largest is y (index 1, first of equals by magnitude)
    s = math.sqrt(0.5)
    (packed,) = encode_quats(np.array([[0.0, -s, 0.0, -s]])).tolist()  # negative: negated first
    assert packed >> 30 == 1
    mid = round((0 + 1 / math.sqrt(2)) / math.sqrt(2) * 1023)  # 0.0 -> 512 (rounded 511.5)
    top = round((s + 1 / math.sqrt(2)) / math.sqrt(2) * 1023)
    assert (packed >> 20) & 1023 == mid and (packed >> 10) & 1023 == mid and packed & 1023 == top
    x, y, z, w = decode_quats(np.array([packed]))[0]
    assert abs(x) < 2e-3 and abs(z) < 2e-3 and y == pytest.approx(s, abs=2e-3) and w == pytest.approx(s, abs=2e-3)
    identity = encode_quats(np.array([IDENTITY]))[0]
    assert identity >> 30 == 3 and np.allclose(decode_quats(np.array([identity]))[0], IDENTITY, atol=2e-3)


# ---- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, values",
    [
        ("head", [0, 1.6, 0, 0, 0, 0, float("nan")]),
        ("head", [float("inf"), 1.6, 0, *IDENTITY]),
        ("head", [0, 1.6, 0, 0, 0, 0, 2.0]),  # not unit
        ("head", [0, 1.6, 0, 0, 0, 0, 0.5]),
        ("head", [0, 1.6, 0, 0, 0, 1]),  # six numbers
        ("head", [0, 1.6, 0, 0, 0, 0, 1, 0]),  # eight
        ("head", [0, 1.6, 0, 0, 0, 0, "1"]),
        ("head", [0, 1.6, 0, 0, 0, 0, True]),
        ("head", "0,1.6,0,0,0,0,1"),
        ("head", [1.2, 1.6, 0, *IDENTITY]),  # out of reach: x
        ("head", [0, 0.1, 0, *IDENTITY]),  # y below 0.2
        ("head", [0, 2.7, 0, *IDENTITY]),
        ("head", [0, 1.6, -1.01, *IDENTITY]),
        ("left", [1.6, 1.0, 0, *IDENTITY]),
        ("right", [0, -0.3, 0, *IDENTITY]),
        ("right", [0, 2.9, 0, *IDENTITY]),
    ],
)
def test_bad_parts_are_refused(name: str, values: object) -> None:
    with pytest.raises(PoseError):
        check_part(name, values)


def test_good_parts_are_normalised_and_unknown_parts_ignored() -> None:
    got = check_part("head", [0, 1.6, 0, 0, 0, 0, 1.05])
    assert got[6] == pytest.approx(1.0)
    flags, values = check_pose({"head": HEAD_PART, "right": RIGHT_PART, "tail": [1, 2, 3]})
    assert flags == HEAD | RIGHT and values.shape == (3, 7) and not values[1].any()
    assert check_pose({})[0] == 0
    with pytest.raises(PoseError):
        check_pose({"left": LEFT_PART})  # hands need a head


# ---- level of detail -----------------------------------------------------------------------


class World:
    """A grid, its interest and a pose book, stepped like a room does."""

    def __init__(self, hands_m: float = 4.0, head_m: float = 15.0) -> None:
        self.grid = SpatialGrid((-100, 0, -100), (100, 10, 100))
        self.interest = Interest(k=16)
        self.poses = PoseBook(hands_m=hands_m, head_m=head_m)
        self.enter_of: list[list[object]] = []
        self.tick = 0

    def add(self, avatar: int, x: float) -> int:
        slot = self.grid.add(avatar, (x, 0.0, 0.0))
        self.enter_of += [[]] * (slot + 1 - len(self.enter_of))
        self.enter_of[slot] = [avatar, f"a{avatar}", {}]
        return slot

    def pose(self, slot: int, parts: dict[str, list[float]]) -> None:
        flags, values = check_pose(parts)
        self.poses.set(np.array([slot]), np.array([flags]), values[None])

    def step(self, viewers: list[int]) -> dict[int, dict[int, object]]:
        """viewer id -> {avatar id: PoseRecord} of this tick."""
        self.tick += 1
        v = np.array(viewers, np.int32)
        frame = self.interest.begin(self.grid, tick_no=self.tick, pose=self.poses.begin(self.grid, self.tick))
        views = self.interest.views(frame, v, self.grid.visible(v, 16, 30.0), self.enter_of)
        return {t.viewer: {r.avatar: r for r in decode_records(t.pose)} for t in views}


FULL = {"head": HEAD_PART, "left": LEFT_PART, "right": RIGHT_PART}


def test_hands_near_head_further_nothing_beyond() -> None:
    w = World()
    vr = w.add(1, 0.0)
    near, mid, far = w.add(2, 2.0), w.add(3, 10.0), w.add(4, 25.0)
    w.pose(vr, FULL)
    got = w.step([near, mid, far])
    rec = got[2][1]
    assert rec.flags == HEAD | LEFT | RIGHT
    assert rec.head is not None and rec.head[:3] == pytest.approx((0.05, 1.6, -0.02))
    assert rec.right is not None and np.allclose(rec.right[3:], RIGHT_PART[3:], atol=3e-3)
    assert got[3][1].flags == HEAD and got[3][1].left is None
    assert 1 not in got.get(4, {})  # 25 m: the position record only


def test_records_on_change_and_enter_then_keyframes_staggered_by_id() -> None:
    w = World()
    vr = w.add(1, 0.0)
    viewer = w.add(2, 2.0)
    w.pose(vr, FULL)
    seen = [1 in w.step([viewer]).get(2, {}) for _ in range(30)]
    # first tick (change + enter), then only on keyframes: (tick + id) % 10 == 0
    assert seen[0]
    keyframes = [t for t in range(2, 31) if (t + 1) % 10 == 0]
    assert [t for t in range(2, 31) if seen[t - 1]] == keyframes
    w.pose(vr, {**FULL, "head": [0.1, 1.6, -0.02, *IDENTITY]})  # moved 5 cm
    assert 1 in w.step([viewer]).get(2, {})
    w.pose(vr, {**FULL, "head": [0.1001, 1.6, -0.02, *IDENTITY]})  # same centimetre: unchanged
    assert 1 not in w.step([viewer]).get(2, {}) or (w.tick + 1) % 10 == 0
    newcomer = w.add(3, -2.0)  # enters the view: gets the pose at once
    got = w.step([viewer, newcomer])
    assert got[3][1].flags == HEAD | LEFT | RIGHT


def test_clearing_sends_flags_zero_once() -> None:
    w = World()
    vr, viewer = w.add(1, 0.0), w.add(2, 3.0)
    w.pose(vr, FULL)
    w.step([viewer])
    w.pose(vr, {})
    rec = w.step([viewer])[2][1]
    assert rec.flags == 0 and rec.head is None
    assert all(1 not in w.step([viewer]).get(2, {}) for _ in range(20))
    assert not w.poses.active


def test_record_bytes_match_the_spec() -> None:
    w = World()
    vr, viewer = w.add(7, 0.0), w.add(8, 10.0)
    w.pose(vr, {"head": [0.05, 1.6, -0.02, *IDENTITY], "left": LEFT_PART})
    views = w.interest.views(
        w.interest.begin(w.grid, tick_no=1, pose=w.poses.begin(w.grid, 1)),
        np.array([viewer], np.int32), w.grid.visible(np.array([viewer], np.int32), 16, 30.0), w.enter_of,
    )
    raw = views[0].pose
    assert len(raw) == 15  # head tier at 10 m: header + head
    avatar, flags, x, y, z, q = struct.unpack("<IBhhhI", raw)
    assert (avatar, flags, x, y, z) == (7, HEAD, 5, 160, -2) and q >> 30 == 3


def test_no_pose_costs_nothing_and_sends_nothing() -> None:
    w = World()
    a, b = w.add(1, 0.0), w.add(2, 2.0)
    assert w.poses.begin(w.grid, 1) is None  # the early exit: no pose anywhere
    w.step([a, b])
    assert w.step([a, b]) == {}  # nobody moved: no tick at all
    w.pose(a, FULL)
    w.pose(a, {})  # set and cleared before any tick: viewers never saw it
    assert w.poses.active
    w.step([a, b])
    assert w.poses.begin(w.grid, 5) is None


# ---- in the room ---------------------------------------------------------------------------


def room_config(**over: object) -> RoomConfig:
    scene = Scene(bounds=((-50, 0, -50), (50, 10, 50)), spawn=[(0, 0, 0)])
    return RoomConfig(id="r", kind="showroom", name="R", scene=scene, **over)  # type: ignore[arg-type]


def test_room_info_carries_the_radii_capped_at_the_view_radius() -> None:
    assert room_config().info(0)["pose"] == {"hands_m": 4.0, "head_m": 15.0}
    assert room_config(view_radius=10.0, pose={"hands_m": 12.0, "head_m": 20.0}).info(0)["pose"] == {
        "hands_m": 10.0, "head_m": 10.0,
    }


def test_room_stores_poses_by_slot_and_forgets_them_when_the_avatar_leaves() -> None:
    room = Room(room_config())
    room.step(1000, [Join(1, 1, "Ada", {}), Join(2, 2, "Bob", {})])
    room.step(1100, [])
    flags, values = check_pose(FULL)
    out = room.step(1200, [Poses.of(SetPose(1, flags, values))])
    (tick,) = [t for t in out.ticks if t.viewer == 2]
    assert [r.avatar for r in decode_records(tick.pose)] == [1]
    assert all(not t.pose for t in out.ticks if t.viewer == 1)  # never your own
    room.step(1300, [Leave(1)])
    assert not room.poses.active
    out = room.step(1400, [Join(3, 3, "Cy", {}), Poses.of(SetPose(99, flags, values))])  # unknown avatar: ignored
    assert not room.poses.active


def test_pose_storage_may_outgrow_the_grid_arrays() -> None:
    w = World()
    slots = [w.add(i, float(i % 50) - 25.0) for i in range(1, 204)]
    w.pose(slots[199], FULL)
    w.pose(slots[200], FULL)  # the pose book doubles past the grid's 256 slots
    assert len(w.poses.flags) > len(w.grid.ids)
    got = w.step([slots[0], slots[150]])
    assert got  # no shape error; records built
