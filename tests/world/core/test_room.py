"""Room.step: joins, leaves, moves and the ticks they produce, without any sockets."""

from __future__ import annotations

import random

from world.core.interest import decode_records
from world.core.room import Attach, Detach, Join, Leave, Move, Moves, Room, SetLook
from world.core.scene import Collider, RoomConfig, Scene


def config(**over: object) -> RoomConfig:
    scene = Scene(
        bounds=((-20, 0, -20), (20, 5, 20)),
        spawn=[(0, 0, 10)],
        colliders=[Collider(id="stand", min=(-2, 0, -2), max=(2, 1.2, 2), kind="stand")],
    )
    return RoomConfig(id="r", kind="showroom", name="R", scene=scene, max_speed=5.0, **over)  # type: ignore[arg-type]


def joined(room: Room, *names: str, now: int = 1000) -> list[dict]:
    out = room.step(now, [Join(i, i, n, {}) for i, n in enumerate(names, 1)])
    return [out.replies[i] for i in range(1, len(names) + 1)]


def test_join_ack_carries_room_info_and_a_legal_spawn() -> None:
    room = Room(config(), rng=random.Random(1))
    (ack,) = joined(room, "Ada")
    assert ack["ok"] and ack["room"]["id"] == "r" and ack["room"]["occupancy"] == 1
    assert "scene" in ack["room"] and ack["chat"] == [] and ack["show"] is None
    x, y, z = ack["you"]["p"]
    assert -20 <= x <= 20 and abs(z - 10) <= 1.5 and ack["you"]["id"] == 1


def test_join_is_idempotent() -> None:
    room = Room(config())
    (first,) = joined(room, "Ada")
    out = room.step(1100, [Join(9, 1, "Ada", {})])
    assert out.replies[9]["you"] == first["you"] and room.occupancy == 1


def test_full_room_refuses_with_room_full() -> None:
    room = Room(config(capacity=1))
    a, b = joined(room, "Ada", "Bob")
    assert a["ok"] and b == {"ok": False, "error": {"code": "room_full", "message": "room 'r' is full"}}


def test_visitors_see_each_other_move_and_leave() -> None:
    room = Room(config())
    out = room.step(1000, [Join(1, 1, "Ada", {}), Join(2, 2, "Bob", {})])
    assert out.ticks == []  # the join acks go out first; views start with the next tick
    out = room.step(1050, [])
    views = {t.viewer: t for t in out.ticks}
    assert [e[:2] for e in views[1].enter] == [[2, "Bob"]]
    assert room.step(1100, []).ticks == []  # nothing changed: nobody gets a tick
    p = room.position(2)[0]
    out = room.step(1200, [Moves.of([Move(2, (p[0] + 0.4, p[1], p[2]), 1.0, 1, 1150)])])
    (t,) = out.ticks
    assert t.viewer == 1 and decode_records(t.pos)["x"].tolist() == [round((p[0] + 0.4) * 100)]
    out = room.step(1300, [Leave(2, ref=5)])
    assert out.replies[5] == {"ok": True} and out.left == [2]
    assert [t.leave for t in out.ticks] == [[2]]


def test_illegal_moves_are_corrected_with_the_authoritative_position() -> None:
    room = Room(config())
    joined(room, "Ada")
    p = room.position(1)[0]
    out = room.step(1100, [Moves.of([Move(1, (p[0], p[1], 0.0), 0.0, 7, 1050)])])  # into the stand, and too far
    assert out.corrections == [(1, {"p": [round(v, 3) for v in p], "seq": 7})]
    assert room.position(1)[0] == p


def test_a_later_legal_move_in_the_same_tick_clears_the_correction() -> None:
    room = Room(config())
    joined(room, "Ada")
    p = room.position(1)[0]
    out = room.step(1100, [Moves.of([Move(1, (50, 0, 0), 0.0, 1, 1050), Move(1, (p[0] + 0.3, p[1], p[2]), 0.0, 2, 1060)])])
    assert out.corrections == [] and abs(room.position(1)[0][0] - (p[0] + 0.3)) < 1e-5


def test_moves_for_avatars_not_in_the_room_are_ignored() -> None:
    room = Room(config())
    out = room.step(1000, [Moves.of([Move(42, (0, 0, 5), 0.0, 1, 990)])])
    assert out.corrections == [] and out.ticks == []


def test_detached_avatars_stay_visible_but_get_no_ticks_until_attached() -> None:
    room = Room(config())
    joined(room, "Ada", "Bob")
    room.step(1100, [])
    out = room.step(1200, [Detach(2)])
    assert all(t.viewer != 2 for t in out.ticks)
    p = room.position(1)[0]
    out = room.step(1300, [Moves.of([Move(1, (p[0] + 0.3, p[1], p[2]), 0.0, 1, 1250)])])
    assert [t.viewer for t in out.ticks] == []  # Bob is detached; nobody else watches Ada
    assert room.step(1400, [Attach(2)]).ticks == []  # resumed: full view from the next tick
    out = room.step(1500, [])
    (t,) = out.ticks
    assert t.viewer == 2 and [e[0] for e in t.enter] == [1]  # full state again after resume


def test_same_inputs_give_the_same_outbox() -> None:
    def run() -> list[object]:
        room = Room(config(), rng=random.Random(5))
        joined(room, "Ada", "Bob", "Cy")
        room.step(1050, [])
        out = room.step(1100, [Moves.of([Move(1, (1, 0, 10), 0.5, 1, 1050)])])
        return [(t.viewer, t.enter, t.leave, t.pos) for t in out.ticks]

    assert run() == run()


def test_views_prepared_ahead_stay_correct_when_people_come_and_go() -> None:
    room = Room(config())
    out = room.step(1000, [Join(i, i, f"v{i}", {}) for i in (1, 2, 3)])
    room.prepare()
    out = room.step(1100, [])
    assert {t.viewer: sorted(e[0] for e in t.enter) for t in out.ticks} == {1: [2, 3], 2: [1, 3], 3: [1, 2]}
    room.prepare()  # sets prepared with 1, 2, 3 in the room
    # 3 leaves and 4 joins, reusing 3's grid slot; 5 joins too: none of this is in the prepared sets
    out = room.step(1200, [Leave(3), Join(10, 4, "v4", {}), Join(11, 5, "v5", {})])
    views = {t.viewer: t for t in out.ticks}
    assert views[1].leave == [3] and views[2].leave == [3]
    assert all(e[0] != 4 for t in out.ticks for e in t.enter)  # 4 is not mistaken for 3
    room.prepare()
    out = room.step(1300, [])
    views = {t.viewer: t for t in out.ticks}
    assert sorted(e[0] for e in views[4].enter) == [1, 2, 5]  # late joiners get full, fresh views
    assert sorted(e[0] for e in views[1].enter) == [4, 5]


def test_a_new_look_is_announced_to_everyone_who_sees_the_avatar() -> None:
    room = Room(config())
    joined(room, "Ada", "Bob")
    room.step(1050, [])
    out = room.step(1100, [SetLook(2, {"color": "#ff0000"})])
    (t,) = [t for t in out.ticks if t.viewer == 1]
    assert t.enter == [[2, "Bob", {"color": "#ff0000"}]]
    assert room.step(1200, []).ticks == []  # announced once


def test_a_tick_in_parts_is_the_same_tick() -> None:
    """tick_parts(n) splits the viewers, not the work: every viewer gets the same tick."""
    import numpy as np

    from world.core.room import Moves

    def crowd() -> Room:
        room = Room(config(), rng=random.Random(5))
        room.step(1000, [Join(i, i, f"V{i}", {}) for i in range(1, 121)])
        return room

    whole, parted = crowd(), crowd()
    rng = random.Random(9)
    for t in range(1100, 1600, 100):
        rows = [(i, rng.uniform(-15, 15), 0.0, rng.uniform(-15, 15), 0.0, t, t) for i in range(1, 121)]
        inbox: list[object] = [Moves(np.array(rows, float))]
        if t == 1300:
            inbox.append(SetLook(7, {"color": "#00ff00"}))
        a = whole.step(t, inbox)  # type: ignore[arg-type]
        b = parted.apply(t, inbox)  # type: ignore[arg-type]
        parts = list(parted.tick_parts(3))
        assert len(parts) == 3 and all(parts)
        assert sorted(a.ticks) == sorted(v for part in parts for v in part)
        assert a.corrections == b.corrections
