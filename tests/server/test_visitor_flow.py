"""Visitors over real sockets: welcome, join, seeing each other move, time, leave."""

from __future__ import annotations

import asyncio
import math

from tests.conftest import AppServer, Visitor, eventually
from world.core.interest import decode_records


async def test_welcome_then_join_returns_room_info(server: AppServer, visitors: list[Visitor]) -> None:
    ada = Visitor("Ada")
    visitors.append(ada)
    welcome = await ada.connect(server.url, look={"color": "#123456"})
    assert isinstance(welcome["id"], int) and isinstance(welcome["session"], str) and isinstance(welcome["t"], int)
    ack = await ada.join("showroom")
    room = ack["room"]
    assert room["id"] == "showroom" and room["kind"] == "showroom"
    for key in ("name", "bounds", "tick_hz", "view_radius", "view_k", "max_speed", "reactions", "scene", "occupancy"):
        assert key in room
    assert ack["you"]["id"] == welcome["id"] and len(ack["you"]["p"]) == 3
    assert ack["chat"] == []


async def test_two_visitors_see_each_other_enter_move_and_leave(server: AppServer, visitors: list[Visitor]) -> None:
    ada, bob = Visitor("Ada"), Visitor("Bob")
    visitors += [ada, bob]
    await ada.connect(server.url, look={"color": "#aa0000"})
    bob_id = (await bob.connect(server.url))["id"]
    await ada.join()
    you = (await bob.join())["you"]

    def entered() -> bool:
        return any(e[0] == bob_id and e[1] == "Bob" for t in ada.ticks for e in t["enter"])

    await eventually(entered)
    assert all(e[0] != ada.welcome["id"] for t in ada.ticks for e in t["enter"])  # never yourself

    x, y, z = you["p"]
    for i in range(1, 6):  # walk 0.3 m per step at 10 Hz: legal
        await bob.sio.emit("move", {"p": [x + 0.3 * i, y, z], "yaw": math.pi / 2, "seq": i})
        await asyncio.sleep(0.1)

    def last_seen_x() -> float | None:
        for t in reversed(ada.ticks):
            recs = decode_records(t["pos"])
            mine = recs[recs["id"] == bob_id]
            if len(mine):
                return float(mine["x"][-1]) / 100
        return None

    await eventually(lambda: (v := last_seen_x()) is not None and abs(v - (x + 1.5)) < 0.011)
    assert bob.corrections == []
    yaws = [r["yaw"] for t in ada.ticks for r in decode_records(t["pos"]) if r["id"] == bob_id]
    assert round(math.pi / 2 / math.pi * 32767) in yaws

    assert (await bob.call("leave")) == {"ok": True}
    await eventually(lambda: any(bob_id in t["leave"] for t in ada.ticks))


async def test_unchanged_world_sends_no_ticks(server: AppServer, visitors: list[Visitor]) -> None:
    ada, bob = Visitor("Ada"), Visitor("Bob")
    visitors += [ada, bob]
    await ada.connect(server.url)
    await bob.connect(server.url)
    await ada.join()
    x, y, z = (await bob.join())["you"]["p"]
    await eventually(lambda: any(e[0] == bob.welcome["id"] for t in ada.ticks for e in t["enter"]))  # type: ignore[index]
    before = len(ada.ticks)
    for _ in range(10):  # ten ticks, nobody moved: each room request is answered by a tick of its own
        await ada.call("qa.vote", {"id": "q-none"})
    # then Bob steps: the tick that shows it is the first one Ada gets since, ten ticks on at least
    await bob.sio.emit("move", {"p": [x + 0.1, y, z], "yaw": 0.0, "seq": 1})
    await eventually(lambda: len(ada.ticks) > before)
    moved = ada.ticks[before:]
    assert len(moved) == 1 and moved[0]["n"] >= ada.ticks[before - 1]["n"] + 10
    assert [r["id"] for r in decode_records(moved[0]["pos"])] == [bob.welcome["id"]]  # type: ignore[index]


async def test_time_sync_answers_with_server_clock(server: AppServer, visitors: list[Visitor]) -> None:
    ada = Visitor("Ada")
    visitors.append(ada)
    welcome = await ada.connect(server.url)
    ack = await ada.call("time", {"c": 12345})
    assert ack["ok"] and ack["c"] == 12345 and ack["t"] >= welcome["t"]


async def test_too_fast_and_through_walls_are_corrected(server: AppServer, visitors: list[Visitor]) -> None:
    ada = Visitor("Ada")
    visitors.append(ada)
    await ada.connect(server.url)
    you = (await ada.join())["you"]
    x, y, z = you["p"]
    await ada.sio.emit("move", {"p": [x + 40, y, z], "yaw": 0, "seq": 1})  # teleport
    await eventually(lambda: ada.corrections)
    assert ada.corrections[-1]["seq"] == 1
    assert [round(v, 2) for v in ada.corrections[-1]["p"]] == [round(v, 2) for v in you["p"]]
    await ada.sio.emit("move", {"p": [x, y, 41.0], "yaw": 0, "seq": 2})  # outside the south wall
    await eventually(lambda: len(ada.corrections) >= 2)
    assert ada.corrections[-1]["seq"] == 2


async def test_joining_another_room_leaves_the_first(server: AppServer, visitors: list[Visitor]) -> None:
    ada, bob = Visitor("Ada"), Visitor("Bob")
    visitors += [ada, bob]
    await ada.connect(server.url)
    bob_id = (await bob.connect(server.url))["id"]
    await ada.join("showroom")
    await bob.join("showroom")
    await eventually(lambda: any(e[0] == bob_id for t in ada.ticks for e in t["enter"]))
    ack = await bob.join("concert")
    assert ack["room"]["id"] == "concert"
    await eventually(lambda: any(bob_id in t["leave"] for t in ada.ticks))


async def test_join_ack_arrives_before_the_first_tick_of_the_new_view(server: AppServer, visitors: list[Visitor]) -> None:
    """Packet order on the wire: a client may reset its view on the ack, then apply enters."""
    import aiohttp
    import msgpack

    ada = Visitor("Ada")
    visitors.append(ada)
    await ada.connect(server.url)
    await ada.join()
    ws_url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as s, s.ws_connect(ws_url) as ws:
        await ws.receive_str()
        await ws.send_bytes(msgpack.packb({"type": 0, "nsp": "/", "data": {"name": "Raw"}}))
        order: list[str] = []
        joined = False
        while len(order) < 4 or "tick" not in order:
            msg = await asyncio.wait_for(ws.receive(), 5)
            if msg.type != aiohttp.WSMsgType.BINARY:
                continue
            pkt = msgpack.unpackb(msg.data)
            order.append("ack" if pkt["type"] == 3 else pkt["data"][0] if pkt["type"] == 2 else str(pkt["type"]))
            if order[-1] == "welcome" and not joined:
                joined = True
                await ws.send_bytes(msgpack.packb({"type": 2, "nsp": "/", "data": ["join", {"room": "showroom"}], "id": 1}))
    assert order.index("ack") < order.index("tick"), order


def test_tick_packets_are_exactly_what_msgpack_would_encode() -> None:
    """The hand-assembled tick packet equals the plain msgpack encoding of the same packet."""
    import msgpack

    from server.packets import TickEncoder

    enc = TickEncoder(1_795_000_000_123, 42)
    for enter, leave, pos in (([], [], b""), ([[7, "Ada", {"color": "#112233"}]], [3, 4], b"\x01" * 24), ([], [9], b"x" * 300)):
        body = {"t": 1_795_000_000_123, "n": 42, "enter": enter, "leave": leave, "pos": pos}
        assert enc.encode(enter, leave, pos) == msgpack.packb({"type": 2, "data": ["tick", body], "nsp": "/"})
