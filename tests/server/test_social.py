"""The social layer over real sockets: chat, proximity chat, reactions, Q&A, the assistant."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest

from server.config import Settings
from tests.conftest import ROOT, TEST_SECRET, AppServer, StaffClient, Visitor, before_marker, chat_marker, eventually


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The showroom with one spawn point and a 6 m view radius, so "near" and "far" take a
    # short walk; its catalog as it is. A generous chat allowance: tests send back to back.
    room = json.loads((ROOT / "assets/rooms/showroom.json").read_text())
    room["scene"]["spawn"] = [[0.0, 0.0, 34.0]]
    room["view_radius"] = 6.0
    (tmp_path / "rooms").mkdir()
    (tmp_path / "rooms/showroom.json").write_text(json.dumps(room))
    (tmp_path / "catalogs").symlink_to(ROOT / "assets/catalogs")
    return Settings(port=0, tick_hz=20.0, room_processes=False, secret=TEST_SECRET, chat_burst=100,
                    rooms=tmp_path / "rooms")


async def _crowd(server: AppServer, visitors: list[Visitor], *names: str, room: str = "showroom") -> list[Visitor]:
    out = []
    for name in names:
        v = Visitor(name)
        visitors.append(v)
        await v.connect(server.url)
        await v.join(room)
        out.append(v)
    return out


async def _walk_to(v: Visitor, target: tuple[float, float], step: float = 0.3) -> None:
    """Walk in legal steps (20 Hz, 6 m/s) to (x, z)."""
    x, y, z = (await v.call("join", {"room": "showroom"}))["you"]["p"]
    seq = 1000
    while math.dist((x, z), target) > 0.01:
        d = math.dist((x, z), target)
        k = min(1.0, step / d)
        x, z = x + (target[0] - x) * k, z + (target[1] - z) * k
        seq += 1
        await v.sio.emit("move", {"p": [x, y, z], "yaw": 0.0, "seq": seq})
        await asyncio.sleep(0.05)


async def test_room_chat_reaches_everyone_and_joins_get_history(server: AppServer, visitors: list[Visitor]) -> None:
    ada, bob = await _crowd(server, visitors, "Ada", "Bob")
    ack = await ada.call("chat", {"text": "  Ciao a tutti!  "})
    assert ack["ok"] and isinstance(ack["id"], str)
    got = await eventually(lambda: bob.events.get("chat"))
    msg = got[0]
    assert msg["text"] == "Ciao a tutti!" and msg["scope"] == "room" and msg["id"] == ack["id"]
    assert msg["from"] == {"id": ada.welcome["id"], "name": "Ada"} and isinstance(msg["t"], int)
    await eventually(lambda: ada.events.get("chat"))  # the sender sees its own message too

    for i in range(55):
        assert (await ada.call("chat", {"text": f"message {i}"}))["ok"]
    (cleo,) = await _crowd(server, visitors, "Cleo")
    history = (await cleo.call("join", {"room": "showroom"}))["chat"]
    assert len(history) == 50
    assert history[-1]["text"] == "message 54" and history[0]["text"] == "message 5"  # oldest first


async def test_bad_chat_gets_typed_errors(server: AppServer, visitors: list[Visitor]) -> None:
    (ada,) = await _crowd(server, visitors, "Ada")
    for payload in ({"text": ""}, {"text": "   "}, {"text": "x" * 501}, {"text": 42},
                    {"text": "hi", "scope": "everywhere"}, {}, "hello", [1, 2]):
        ack = await ada.call("chat", payload)
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request", payload
    loner = Visitor("Loner")
    visitors.append(loner)
    await loner.connect(server.url)
    assert (await loner.call("chat", {"text": "anyone?"}))["error"]["code"] == "not_joined"
    filtered = await ada.call("chat", {"text": "che cazzata, what the fuck"})
    assert filtered["ok"] and filtered["filtered"] is True
    shown = await eventually(lambda: ada.events.get("chat"))
    assert shown[-1]["text"] == "che *******, what the ****"


async def test_proximity_chat_reaches_near_avatars_only(server: AppServer, visitors: list[Visitor]) -> None:
    ada, near, far = await _crowd(server, visitors, "Ada", "Near", "Far")
    await _walk_to(far, (0.0, 20.0))  # 14 m from the spawn point: out of the 6 m radius
    ack = await ada.call("chat", {"text": "psst", "scope": "near"})
    assert ack["ok"]
    await eventually(lambda: near.events.get("chat"))
    assert near.events["chat"][0]["scope"] == "near"
    await chat_marker(ada, far)  # a room message after it: whatever "psst" sent far came first
    assert before_marker(far.events["chat"]) == []
    history = (await near.call("join", {"room": "showroom"}))["chat"]
    assert all(m["text"] != "psst" for m in history)  # near messages are not history


async def test_reactions_are_aggregated_into_one_message_per_tick(server: AppServer, visitors: list[Visitor]) -> None:
    crowd = await _crowd(server, visitors, *(f"Fan{i}" for i in range(6)))
    watcher = crowd[0]
    await asyncio.sleep(0.2)
    watcher.events.pop("reactions", None)
    # everyone presses at once: the server sums them per tick
    await asyncio.gather(*(v.sio.emit("react", {"emoji": "❤️"}) for v in crowd for _ in range(3)))
    await asyncio.gather(*(v.sio.emit("react", {"emoji": "🔥"}) for v in crowd[:2]))
    await eventually(lambda: sum(m["counts"].get("❤️", 0) for m in watcher.events.get("reactions", [])) == 18)
    # each fan's ack after its presses: they are all in the room; then a later tick's message
    await asyncio.gather(*(v.call("qa.vote", {"id": "q-none"}) for v in crowd))
    await chat_marker(watcher)
    got = watcher.events["reactions"]
    assert sum(m["counts"].get("❤️", 0) for m in got) == 18
    assert sum(m["counts"].get("🔥", 0) for m in got) == 2
    assert len(got) <= 3  # one message per tick, not one per reaction
    ids = {v.welcome["id"] for v in crowd}
    assert all(a in ids and e in ("❤️", "🔥") for m in got for a, e in m["near"])
    assert (await watcher.call("react", {"emoji": "🍕"}))["error"]["code"] == "bad_request"
    assert (await watcher.call("react", {"emoji": "👏"}))["ok"]


async def test_qa_ask_vote_once_and_answer(server: AppServer, visitors: list[Visitor], staff: list[StaffClient]) -> None:
    ada, bob = await _crowd(server, visitors, "Ada", "Bob")
    asked = await ada.call("qa.ask", {"text": "Does the Aria come in size 44?"})
    assert asked["ok"]
    qid = asked["id"]
    assert (await bob.call("qa.vote", {"id": qid})) == {"ok": True, "votes": 1}
    assert (await bob.call("qa.vote", {"id": qid})) == {"ok": True, "votes": 1}  # once per visitor
    assert (await ada.call("qa.vote", {"id": qid}))["votes"] == 2
    assert (await ada.call("qa.vote", {"id": "q-nope"}))["error"]["code"] == "not_found"
    assert (await ada.call("qa.ask", {"text": "y" * 301}))["error"]["code"] == "bad_request"

    top = await eventually(lambda: [m for m in bob.events.get("qa", []) if m["top"] and m["top"][0]["votes"] == 2])
    assert top[-1]["top"][0]["text"] == "Does the Aria come in size 44?"

    host = StaffClient("host")
    staff.append(host)
    await host.connect(server.url)
    assert (await host.call("qa.answer", {"room": "showroom", "id": qid, "text": "Yes, from next week."}))["ok"]
    answered = await eventually(lambda: [m for m in bob.events.get("qa", []) if m["top"][0].get("answer")])
    assert answered[-1]["top"][0]["answer"] == "Yes, from next week."


async def test_votes_are_idempotent_across_a_reconnect(server: AppServer, visitors: list[Visitor]) -> None:
    ada, bob = await _crowd(server, visitors, "Ada", "Bob")
    qid = (await ada.call("qa.ask", {"text": "Free shipping?"}))["id"]
    assert (await bob.call("qa.vote", {"id": qid}))["votes"] == 1
    session = bob.welcome["session"]
    await bob.close()
    again = Visitor("Bob")
    visitors.append(again)
    await again.connect(server.url, resume=session)
    await again.join()
    assert (await again.call("qa.vote", {"id": qid}))["votes"] == 1
