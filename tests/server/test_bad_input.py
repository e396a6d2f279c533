"""Bad input gets a typed error, is counted, and never hurts anyone else."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import msgpack
import pytest
import socketio

from server.config import Settings
from tests.conftest import AppServer, Visitor, eventually


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if m and ",".join(sorted((m.group(1) or "").split(","))) == want:
            return float(m.group(2))
    return 0.0


async def metrics_text(server: AppServer) -> str:
    async with aiohttp.ClientSession() as s, s.get(server.url + "/metrics") as r:
        return await r.text()


@pytest.mark.parametrize(
    "event,payload,code",
    [
        ("join", {"room": 42}, "bad_request"),
        ("join", {}, "bad_request"),
        ("join", "showroom", "bad_request"),
        ("join", {"room": "nowhere"}, "not_found"),
        ("join", {"room": "x" * 100_000}, "bad_request"),  # over 64 KiB
        ("time", {"c": "noon"}, "bad_request"),
        ("time", {"c": float("nan")}, "bad_request"),
        ("leave", {}, "not_joined"),
        ("teleport", {"to": "anywhere"}, "bad_request"),
        ("chat", {"text": ""}, "bad_request"),
        ("chat", {"text": "x" * 501}, "bad_request"),
        ("chat", {"text": ["<script>"]}, "bad_request"),
        ("chat", {"text": "hello"}, "not_joined"),
        ("react", {"emoji": "❤️"}, "not_joined"),
        ("qa.ask", {"text": "q" * 301}, "bad_request"),
        ("qa.vote", {"id": 12}, "bad_request"),
        ("assist", {"text": "\u0000\u0007 "}, "bad_request"),
        ("mod.ban", {"room": "showroom", "avatar": 1}, "forbidden"),
        ("chat.pin", {"room": "showroom", "text": "mine now"}, "forbidden"),
    ],
)
async def test_bad_requests_get_typed_errors_and_are_counted(
    server: AppServer, visitors: list[Visitor], event: str, payload: object, code: str
) -> None:
    ada = Visitor("Ada")
    visitors.append(ada)
    await ada.connect(server.url)
    ack = await ada.call(event, payload)
    assert ack["ok"] is False and ack["error"]["code"] == code and ack["error"]["message"]
    assert ada.sio.connected
    counted = event if event != "teleport" else "unknown"
    assert metric(await metrics_text(server), "vetrina_rejected_total", code=code, event=counted) >= 1


@pytest.mark.parametrize(
    "auth",
    [{}, {"name": ""}, {"name": "x" * 33}, {"name": 7}, {"name": "\u200b\u0007"}, {"name": "Ada", "look": {"color": "red"}}],
)
async def test_bad_auth_is_refused_with_a_reason(server: AppServer, auth: dict[str, object]) -> None:
    c = socketio.AsyncClient(serializer="msgpack", reconnection=False)
    reasons: list[object] = []
    c.on("connect_error", lambda data: reasons.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await c.connect(server.url, auth=auth, transports=["websocket"], wait_timeout=5)
    await c.disconnect()
    assert reasons and reasons[0]["message"].startswith("bad_request: ")  # type: ignore[index]
    assert reasons[0]["data"] == {"code": "bad_request"}  # type: ignore[index]


async def test_bad_moves_are_dropped_or_corrected_and_counted(server: AppServer, visitors: list[Visitor]) -> None:
    ada = Visitor("Ada")
    visitors.append(ada)
    await ada.connect(server.url)
    await ada.sio.emit("move", {"p": [0, 0, 30], "yaw": 0, "seq": 1})  # before join: dropped
    you = (await ada.join())["you"]
    await ada.sio.emit("move", {"p": ["a", 0, 0], "yaw": 0, "seq": 2})  # wrong type: dropped
    await ada.sio.emit("move", {"p": [1, 2], "seq": 3})  # wrong shape: dropped
    await ada.sio.emit("move", {"p": [float("nan"), 0, 0], "yaw": 0, "seq": 4})  # NaN: corrected
    await eventually(lambda: ada.corrections)
    assert ada.corrections[-1]["seq"] == 4 and ada.corrections[-1]["p"] == [round(v, 3) for v in you["p"]]
    text = await metrics_text(server)
    assert metric(text, "vetrina_rejected_total", code="not_joined", event="move") == 1
    assert metric(text, "vetrina_rejected_total", code="bad_request", event="move") == 2
    assert (await ada.call("time", {"c": 1}))["ok"]


async def test_a_flooding_client_is_throttled_and_others_do_not_notice(
    server: AppServer, visitors: list[Visitor]
) -> None:
    flood, calm, watcher = Visitor("Flood"), Visitor("Calm"), Visitor("Watcher")
    visitors += [flood, calm, watcher]
    for v in (flood, calm, watcher):
        await v.connect(server.url)
        await v.join()
    calm_id = calm.welcome["id"]  # type: ignore[index]
    x, y, z = (await calm.join())["you"]["p"]
    fp = (await flood.join())["you"]["p"]

    async def flood_moves() -> None:
        for i in range(600):  # ~300 moves/s for 2 s: ten times the allowed rate
            await flood.sio.emit("move", {"p": fp, "yaw": (i % 60) / 10, "seq": i})
            if i % 10 == 0:
                await asyncio.sleep(0.03)

    async def calm_walk() -> None:
        for i in range(1, 11):
            await calm.sio.emit("move", {"p": [x + 0.25 * i, y, z], "yaw": 0, "seq": i})
            await asyncio.sleep(0.1)

    await asyncio.gather(flood_moves(), calm_walk())
    text = await metrics_text(server)
    assert metric(text, "vetrina_rejected_total", code="rate_limited", event="move") > 100
    assert flood.sio.connected and calm.sio.connected and calm.corrections == []

    def watcher_sees_calm_arrive() -> bool:
        from world.interest import decode_records

        for t in watcher.ticks:
            r = decode_records(t["pos"])
            if any(r["id"][r["x"] == round((x + 2.5) * 100)] == calm_id):
                return True
        return False

    await eventually(watcher_sees_calm_arrive)
    ack = await calm.call("time", {"c": 5})
    assert ack["ok"]


async def test_malformed_packets_are_counted_and_the_connection_survives(server: AppServer) -> None:
    """Raw engine.io over a websocket: garbage msgpack, a non-event, then a valid request."""
    ws_url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as s, s.ws_connect(ws_url) as ws:
        opened = await ws.receive_str()
        assert opened.startswith("0")
        await ws.send_bytes(msgpack.packb({"type": 0, "nsp": "/", "data": {"name": "Raw"}}))

        async def next_packet() -> dict:
            while True:
                msg = await asyncio.wait_for(ws.receive(), 5)
                if msg.type == aiohttp.WSMsgType.BINARY:
                    return msgpack.unpackb(msg.data)  # type: ignore[no-any-return]
                if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "2":
                    await ws.send_str("3")  # answer engine.io pings

        assert (await next_packet())["type"] == 0  # CONNECT
        assert (await next_packet())["data"][0] == "welcome"
        await ws.send_bytes(b"\xc1\xc1\xc1 not msgpack")
        await ws.send_bytes(msgpack.packb([1, 2, 3]))
        await ws.send_bytes(msgpack.packb({"type": 2, "nsp": "/", "data": 5, "id": 1}))
        await ws.send_bytes(msgpack.packb({"type": 2, "nsp": "/", "data": ["time", {"c": 9}], "id": 2}))
        refused = await next_packet()  # the event with an ack id but no event name
        assert refused["type"] == 3 and refused["id"] == 1 and refused["data"][0]["error"]["code"] == "bad_request"
        reply = await next_packet()
        assert reply["type"] == 3 and reply["id"] == 2 and reply["data"][0]["c"] == 9
    text = await metrics_text(server)
    assert metric(text, "vetrina_rejected_total", code="bad_request", event="malformed") == 3


@pytest.fixture
def settings() -> Settings:
    return Settings(port=0, tick_hz=20.0, move_rate=30.0, move_burst=30.0, room_processes=False)


async def test_chat_and_reaction_floods_cost_only_the_flooder(server: AppServer, visitors: list[Visitor]) -> None:
    flood, calm = Visitor("Flood"), Visitor("Calm")
    visitors += [flood, calm]
    for v in (flood, calm):
        await v.connect(server.url)
        await v.join()
    acks = await asyncio.gather(*(flood.call("chat", {"text": f"spam {i}"}) for i in range(30)))
    codes = [a["error"]["code"] if not a["ok"] else "ok" for a in acks]
    assert codes.count("ok") <= 6 and codes.count("rate_limited") >= 24  # burst 5, then 1/s
    for _ in range(200):  # reactions past 10/s (burst 20) are dropped, not queued
        await flood.sio.emit("react", {"emoji": "🔥"})
    assert (await calm.call("chat", {"text": "hello"}))["ok"]
    await eventually(lambda: calm.events.get("reactions"))
    await asyncio.sleep(0.3)
    fire = sum(m["counts"].get("🔥", 0) for m in calm.events["reactions"])
    assert 20 <= fire <= 30
    text = await metrics_text(server)
    assert metric(text, "vetrina_rejected_total", code="rate_limited", event="chat") >= 24
    assert metric(text, "vetrina_rejected_total", code="rate_limited", event="react") >= 170
    assert flood.sio.connected and calm.sio.connected
