"""Room files: the demo loads; broken files fail with a message naming the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.config import ASSETS
from server.assets import RoomFileError, load_rooms


def test_demo_rooms_load_with_one_of_each_kind() -> None:
    rooms = {r.id: r for r in load_rooms(ASSETS / "rooms")}
    assert {r.kind for r in rooms.values()} >= {"showroom", "concert", "wheel"}
    show = rooms["showroom"].scene
    (x0, _, z0), (x1, _, z1) = show.bounds
    assert x1 - x0 >= 120 and z1 - z0 >= 80
    assert any(c.kind == "wall" for c in show.colliders) and any(c.kind == "stand" for c in show.colliders)
    assert show.spawn and show.zones


def write(tmp_path: Path, room: dict) -> Path:
    p = tmp_path / "room.json"
    p.write_text(json.dumps(room))
    return p


BASE = {
    "id": "x", "kind": "showroom", "name": "X",
    "scene": {"bounds": [[-10, 0, -10], [10, 5, 10]], "spawn": [[0, 0, 0]]},
}


def test_broken_json_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text("{nope")
    with pytest.raises(RoomFileError, match="bad.json: cannot read"):
        load_rooms(p)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"scene": {**BASE["scene"], "spawn": [[50, 0, 0]]}}, "outside the bounds"),
        ({"scene": {**BASE["scene"], "colliders": [{"id": "c", "min": [-1, 0, -1], "max": [1, 1, 1]}]}}, "inside collider 'c'"),
        ({"scene": {**BASE["scene"], "bounds": [[-400, 0, -10], [10, 5, 10]]}}, "int16"),
        ({"view_k": 0}, "view_k"),
        ({"kind": "casino"}, "kind"),
    ],
)
def test_invalid_rooms_say_what_is_wrong(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(RoomFileError, match=message):
        load_rooms(write(tmp_path, {**BASE, **change}))


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(BASE))
    (tmp_path / "b.json").write_text(json.dumps(BASE))
    with pytest.raises(RoomFileError, match="defined twice"):
        load_rooms(tmp_path)
