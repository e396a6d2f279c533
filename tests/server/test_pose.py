"""VR poses over real sockets: level of detail by distance, clearing, and bad poses refused."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest

from server.config import Settings
from tests.conftest import TEST_SECRET, AppServer, Visitor, eventually
from tests.server.test_bad_input import metric, metrics_text
from world.core.interest import decode_records as decode_positions
from world.core.pose import HEAD, LEFT, RIGHT, PoseRecord, decode_records

IDENTITY = [0.0, 0.0, 0.0, 1.0]
S = math.sqrt(0.5)
POSE = {
    "head": [0.05, 1.62, -0.03, 0.0, S, 0.0, S],  # looking left (90 degrees about y)
    "left": [-0.25, 1.1, -0.35, *IDENTITY],
    "right": [0.3, 1.05, -0.3, *IDENTITY],
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # An empty hall with one spawn point; a fast max speed so each visitor takes its place
    # with one move. Rooms run in worker processes (the serve default): poses cross the pipe.
    room = {
        "id": "lab", "kind": "lobby", "name": "Pose lab", "max_speed": 50.0, "view_radius": 30.0,
        "scene": {"bounds": [[-40, 0, -40], [40, 5, 40]], "spawn": [[0, 0, 0]]},
    }
    (tmp_path / "rooms").mkdir()
    (tmp_path / "rooms/lab.json").write_text(json.dumps(room))
    return Settings(port=0, tick_hz=20.0, room_processes=True, secret=TEST_SECRET, rooms=tmp_path / "rooms")


async def place(v: Visitor, x: float) -> int:
    """Join the lab and step to (x, 0, 0); returns the avatar id."""
    ack = await v.join("lab")
    assert ack["room"]["pose"] == {"hands_m": 4.0, "head_m": 15.0}
    await v.sio.emit("move", {"p": [x, 0.0, 0.0], "yaw": 0.0, "seq": 1})
    return int(ack["you"]["id"])


def poses_of(v: Visitor, avatar: int) -> list[PoseRecord]:
    return [r for t in v.ticks for r in decode_records(t.get("pose", b"")) if r.avatar == avatar]


def sees_at(v: Visitor, avatar: int, x: float) -> bool:
    for t in reversed(v.ticks):
        recs = decode_positions(t["pos"])
        mine = recs[recs["id"] == avatar]
        if len(mine):
            return bool(abs(int(mine["x"][-1]) - round(x * 100)) <= 1)
    return False


async def test_viewers_get_hands_head_or_nothing_by_distance_then_flags_zero(
    server: AppServer, visitors: list[Visitor]
) -> None:
    vr, near, mid, far = (Visitor(n) for n in ("Vera", "Nico", "Mia", "Fede"))
    visitors += [vr, near, mid, far]
    for v in (vr, near, mid, far):
        await v.connect(server.url)
    vr_id = await place(vr, -5.0)
    await asyncio.gather(place(near, -3.0), place(mid, 5.0), place(far, 20.0))
    for v in (near, mid, far):
        await eventually(lambda v=v: sees_at(v, vr_id, -5.0), timeout=5)  # type: ignore[misc]

    await vr.sio.emit("pose", POSE)  # no ack asked: none sent
    rec = (await eventually(lambda: poses_of(near, vr_id)))[-1]
    assert rec.flags == HEAD | LEFT | RIGHT
    assert rec.head is not None and rec.head[:3] == pytest.approx((0.05, 1.62, -0.03))
    qx, qy, qz, qw = rec.head[3:]
    assert abs(qx) < 3e-3 and abs(qz) < 3e-3 and qy == pytest.approx(S, abs=3e-3) and qw == pytest.approx(S, abs=3e-3)
    assert rec.left is not None and rec.left[:3] == pytest.approx((-0.25, 1.1, -0.35))
    assert rec.right is not None and rec.right[:3] == pytest.approx((0.3, 1.05, -0.3))
    head_only = (await eventually(lambda: poses_of(mid, vr_id)))[-1]
    assert head_only.flags == HEAD and head_only.left is None and head_only.head == rec.head
    # keyframes keep coming at least every 10th tick (0.5 s at 20 Hz): wait past two of them
    count = len(poses_of(near, vr_id))
    await asyncio.sleep(1.1)
    assert len(poses_of(near, vr_id)) >= count + 2
    assert poses_of(far, vr_id) == []  # 25 m: position records only
    assert vr.ticks == [] or poses_of(vr, vr_id) == []  # never your own

    ack = await vr.call("pose", {})  # out of VR
    assert ack == {"ok": True}
    await eventually(lambda: poses_of(near, vr_id)[-1].flags == 0)
    await eventually(lambda: poses_of(mid, vr_id)[-1].flags == 0)
    cleared = len(poses_of(near, vr_id))
    for _ in range(12):  # past a keyframe interval (10 ticks): each room request takes a tick
        await vr.call("qa.vote", {"id": "q-none"})
    await vr.sio.emit("move", {"p": [-4.9, 0.0, 0.0], "yaw": 0.0, "seq": 2})  # a later tick everyone in view gets
    for v in (near, far):
        await eventually(lambda v=v: sees_at(v, vr_id, -4.9))
    assert len(poses_of(near, vr_id)) == cleared  # one flags-0 record, then none
    assert poses_of(far, vr_id) == []


BAD: list[Any] = [
    {"head": [0, 1.6, 0, 0, 0, 0, float("nan")]},
    {"head": [0, 1.6, 0, float("inf"), 0, 0, 1]},
    {"head": [0, 1.6, 0, 0, 0, 0, 3.0]},  # not a unit quaternion
    {"head": [0, 1.6, 0, 0.5, 0.5, 0.5, 0.2]},
    {"head": [0, 1.6, 0, 0, 0, 1]},  # six numbers
    {"head": [0, 1.6, 0, 0, 0, 0, "1"]},
    {"head": "up"},
    {"head": [0, 3.5, 0, *IDENTITY]},  # out of reach
    {"left": POSE["left"]},  # hands without a head
    [1, 2, 3],
    "pose",
]


async def test_bad_poses_get_bad_request_are_counted_and_hurt_nobody(server: AppServer, visitors: list[Visitor]) -> None:
    vr, other = Visitor("Vera"), Visitor("Olga")
    visitors += [vr, other]
    await vr.connect(server.url)
    await other.connect(server.url)
    before_join = await vr.call("pose", POSE)
    assert before_join["error"]["code"] == "not_joined"
    await vr.join("lab")
    await other.join("lab")
    for payload in BAD:
        ack = await vr.sio.call("pose", payload, timeout=5)
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request", payload
    for payload in BAD:  # without an ack: dropped
        await vr.sio.emit("pose", payload)
    assert (await vr.call("pose", {**POSE, "tail": [1, 2]}))["ok"]  # unknown parts are ignored
    acks = await asyncio.gather(*(vr.call("pose", POSE) for _ in range(25)))  # faster than 20/s, burst 10
    codes = [a["error"]["code"] for a in acks if not a["ok"]]
    assert codes and set(codes) == {"rate_limited"} and len(codes) <= 16
    assert vr.sio.connected and other.sio.connected
    assert (await other.call("time", {"c": 1}))["ok"] and (await vr.call("time", {"c": 2}))["ok"]
    text = await metrics_text(server)
    assert metric(text, "vetrina_rejected_total", code="bad_request", event="pose") >= 2 * len(BAD)
    assert metric(text, "vetrina_rejected_total", code="not_joined", event="pose") >= 1
    assert metric(text, "vetrina_rejected_total", code="rate_limited", event="pose") >= 1


def test_tick_packets_with_poses_are_exactly_what_msgpack_would_encode() -> None:
    import msgpack

    from server.packets import TickEncoder

    enc = TickEncoder(1_795_000_000_123, 42)
    pose = bytes(range(15))
    for enter, leave, pos, reset in (([], [], b"", False), ([[7, "Ada", {}]], [3], b"\x01" * 12, False),
                                     ([], [], b"", True)):
        body: dict[str, Any] = {"t": 1_795_000_000_123, "n": 42, "enter": enter, "leave": leave, "pos": pos, "pose": pose}
        if reset:
            body["reset"] = True
        assert enc.encode(enter, leave, pos, reset, pose) == msgpack.packb({"type": 2, "data": ["tick", body], "nsp": "/"})
        assert msgpack.unpackb(enc.encode(enter, leave, pos, reset))["data"][1].get("pose") is None
