"""Bad input gets a typed error, is counted, and never hurts anyone else."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp
import msgpack
import psutil
import pytest
import socketio
from socketio import packet

from server.config import ASSETS, Settings
from server.engines import InlineEngine, ProcessEngine
from server.packets import VetrinaPacket, event_packet
from tests.conftest import AppServer, LiveServer, StaffClient, Visitor, chat_marker, eventually
from world.commerce.shop import CartGet
from world.core.room import Join
from world.feature import Who
from server.assets import load_rooms
from world.shows.concert_show import ConcertAct
from world.social.layer import Staff


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if m and ",".join(sorted((m.group(1) or "").split(","))) == want:
            return float(m.group(2))
    return 0.0


async def metrics_text(server: AppServer | LiveServer) -> str:
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
        from world.core.interest import decode_records

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
    await flood.call("qa.vote", {"id": "q-none"})  # answered by a tick: every reaction before it is in the room
    assert (await calm.call("chat", {"text": "hello"}))["ok"]
    await eventually(lambda: calm.events.get("reactions"))
    await chat_marker(calm, text="later")  # a later tick: every reactions message of those is here
    fire = sum(m["counts"].get("🔥", 0) for m in calm.events["reactions"])
    assert 20 <= fire <= 30
    text = await metrics_text(server)
    assert metric(text, "vetrina_rejected_total", code="rate_limited", event="chat") >= 24
    assert metric(text, "vetrina_rejected_total", code="rate_limited", event="react") >= 170
    assert flood.sio.connected and calm.sio.connected


# ---- absurd numbers (issue 12 D): refused at the edge, and never fatal to a room ----------

def now_ms() -> int:
    return time.time_ns() // 1_000_000  # the server's clock: it runs on this machine


def room_workers(server_pid: int) -> dict[int, float]:
    """The server's worker processes (rooms and their helpers): pid -> start time."""
    return {p.pid: p.create_time() for p in psutil.Process(server_pid).children() if p.is_running()}


async def test_an_absurd_cue_time_is_refused_and_the_room_keeps_its_show_and_orders(
    live_server: LiveServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    """The reported case, against `vetrina serve` with rooms in worker processes."""
    host, ada = StaffClient("host", ["concert"]), Visitor("Ada")
    staff.append(host)
    visitors.append(ada)
    await host.connect(live_server.url)
    await ada.connect(live_server.url)
    await ada.join("concert")
    workers = room_workers(live_server.pid)
    started = await host.call("show.start", {"room": "concert", "kind": "concert"})
    drop = await host.call("offer.start", {"room": "concert", "product": "tour-tee", "price": 25, "stock": 5, "seconds": 60})
    order = (await ada.call("offer.claim", {"offer": drop["offer"]}))["order"]
    absurd = [2**64 - 1, 2**53, now_ms() + 25 * 3600 * 1000, now_ms() - 60_000, 0, -1]
    for at in absurd:
        ack = await host.call("concert.cue", {"room": "concert", "cue": "song-1", "at": at})
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request", (at, ack)
        assert ack["error"]["message"].startswith("at"), ack  # names the field
    soon = await host.call("concert.cue", {"room": "concert", "cue": "song-1", "at": now_ms() + 2000})
    assert soon["ok"] and soon["t0"] == started["t0"]
    text = await metrics_text(live_server)
    assert metric(text, "vetrina_rejected_total", code="bad_request", event="host:concert.cue") == len(absurd)
    assert room_workers(live_server.pid) == workers  # no worker died or was replaced
    bob = Visitor("Bob")
    visitors.append(bob)
    await bob.connect(live_server.url)
    assert (await bob.join("concert"))["show"]["t0"] == started["t0"]
    assert order in [o["order"] for o in (await ada.call("cart.get"))["cart"]["orders"]]


HOST_BOUNDS = [  # (event, payload, the field the message names)
    ("offer.start", {"product": "aria-sneaker", "price": 1e300, "stock": 5, "seconds": 60}, "price"),
    ("offer.start", {"product": "aria-sneaker", "price": -0.01, "stock": 5, "seconds": 60}, "price"),
    ("offer.start", {"product": "aria-sneaker", "price": 10, "stock": 2**64 - 1, "seconds": 60}, "stock"),
    ("offer.start", {"product": "aria-sneaker", "price": 10, "stock": 0, "seconds": 60}, "stock"),
    ("offer.start", {"product": "aria-sneaker", "price": 10, "stock": 5, "seconds": float("inf")}, "seconds"),
    ("offer.start", {"product": "aria-sneaker", "price": 10, "stock": 5, "seconds": -60}, "seconds"),
    ("mod.mute", {"avatar": 5, "minutes": 2**64 - 1}, "minutes"),
    ("mod.mute", {"avatar": 5, "minutes": float("nan")}, "minutes"),
    ("mod.mute", {"avatar": 5, "minutes": 0}, "minutes"),
    ("mod.kick", {"avatar": 2**63}, "avatar"),
    ("mod.kick", {"avatar": -(2**63)}, "avatar"),
    ("mod.slow", {"seconds": 10**9}, "seconds"),
    ("mod.slow", {"seconds": -1}, "seconds"),
    ("wheel.open", {"seconds": 1e12}, "seconds"),
    ("show.start", {"kind": "wheel", "seconds": -5}, "seconds"),
    ("concert.cue", {"cue": "song-1", "at": 2**64 - 1}, "at"),
    ("concert.cue", {"cue": "song-1", "at": -1}, "at"),
    ("time", {"c": 2**64 - 1}, "c"),
    ("time", {"c": -1e300}, "c"),
]


@pytest.mark.parametrize("event,payload,field", HOST_BOUNDS)
async def test_staff_numbers_out_of_range_get_bad_request_naming_the_field(
    server: AppServer, staff: list[StaffClient], event: str, payload: dict[str, object], field: str
) -> None:
    host = StaffClient("host", "*")
    staff.append(host)
    await host.connect(server.url)
    ack = await host.call(event, {"room": "showroom", **payload})
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
    assert ack["error"]["message"].split(":")[0].split(".")[0] == field, ack
    assert metric(await metrics_text(server), "vetrina_rejected_total", code="bad_request", event=f"host:{event}") == 1


@pytest.mark.parametrize(
    "event,payload,field",
    [
        ("time", {"c": 2**64 - 1}, "c"),
        ("time", {"c": -(2**63)}, "c"),
        ("cart.add", {"product": "aria-sneaker", "variant": "white-40", "qty": 2**64 - 1}, "qty"),
        ("cart.add", {"product": "aria-sneaker", "variant": "white-40", "qty": -1}, "qty"),
        ("bet", {"round": "r", "segment": "1", "amount": 2**63 - 1}, "amount"),
        ("bet", {"round": "r", "segment": "1", "amount": 0}, "amount"),
        ("join", {"room": "concert", "with": 2**64 - 1}, "with"),
    ],
)
async def test_visitor_numbers_out_of_range_get_bad_request_naming_the_field(
    server: AppServer, visitors: list[Visitor], event: str, payload: dict[str, object], field: str
) -> None:
    ada = Visitor("Ada")
    visitors.append(ada)
    await ada.connect(server.url)
    await ada.join()
    ack = await ada.call(event, payload)
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
    assert ack["error"]["message"].split(":")[0].split(".")[0] == field, ack
    assert metric(await metrics_text(server), "vetrina_rejected_total", code="bad_request", event=event) == 1


async def test_a_move_with_an_absurd_yaw_is_dropped_and_counted(server: AppServer, visitors: list[Visitor]) -> None:
    ada, bob = Visitor("Ada"), Visitor("Bob")
    visitors += [ada, bob]
    for v in (ada, bob):
        await v.connect(server.url)
    p = (await ada.join())["you"]["p"]
    await bob.join()
    await ada.sio.emit("move", {"p": p, "yaw": 1e300, "seq": 1})  # float32 would make it inf
    await ada.sio.emit("move", {"p": p, "yaw": float("nan"), "seq": 2})  # not finite: corrected, as before
    await eventually(lambda: ada.corrections)
    assert [c["seq"] for c in ada.corrections] == [2]
    assert metric(await metrics_text(server), "vetrina_rejected_total", code="bad_request", event="move") == 1


CONCERT = next(r for r in load_rooms(ASSETS / "rooms") if r.id == "concert")
SARA = Staff("Sara", "host")


@pytest.mark.parametrize("kind", ["process", "inline"])
async def test_a_tick_that_fails_answers_its_requests_and_the_room_lives_on(kind: str) -> None:
    """Input that slipped past validation (here: a cue id that is not a string) makes the
    room's step raise: the tick's requests are answered `unavailable` at once, and the same
    worker keeps the same room."""
    engine = ProcessEngine(CONCERT, seed=1) if kind == "process" else InlineEngine(CONCERT, seed=1)
    try:
        joined = await engine.step(1000, [Join(1, 7, "Ada", {}, Who("s7"))])
        assert joined.replies[1]["ok"]
        started = await engine.step(1100, [ConcertAct(2, SARA, "show.start", {})])
        t0 = started.replies[2]["t0"]
        pid = engine.process.pid if isinstance(engine, ProcessEngine) else None
        bad = await engine.step(1200, [ConcertAct(3, SARA, "concert.cue", {"cue": 5}), CartGet(4, 7)])
        assert {ref: r["error"]["code"] for ref, r in bad.replies.items()} == {3: "unavailable", 4: "unavailable"}
        after = await engine.step(1300, [ConcertAct(5, SARA, "concert.cue", {"cue": "drop"}), Join(6, 8, "Bob", {}, Who("s8"))])
        assert after.replies[5]["ok"] and after.replies[5]["t0"] == t0  # the show is the same show
        assert after.replies[6]["ok"] and after.occupancy == 2  # Ada is still in the room
        if isinstance(engine, ProcessEngine):
            assert engine.process.is_alive() and engine.process.pid == pid
    finally:
        engine.close()


def test_what_msgpack_cannot_pack_is_answered_not_raised() -> None:
    """An int beyond 64 bits (or any unpackable value) in a reply or an event."""
    ack = VetrinaPacket(packet.ACK, data=[{"ok": True, "at": 2**64}], namespace="/host", id=9)
    decoded = msgpack.unpackb(ack.encode())
    assert decoded["type"] == packet.ACK and decoded["id"] == 9 and decoded["nsp"] == "/host"
    assert decoded["data"] == [{"ok": False, "error": {"code": "unavailable", "message": "the server could not encode its reply"}}]
    event = msgpack.unpackb(VetrinaPacket(packet.EVENT, data=["show", {"t0": -(2**64)}], namespace="/host").encode())
    assert event["data"][0] == "error" and event["data"][1]["event"] == "show" and event["data"][1]["code"] == "unavailable"
    fast = msgpack.unpackb(event_packet("show", {"ends_at": 2**65, "x": object()}))
    assert fast["data"][0] == "error" and fast["data"][1]["event"] == "show"
    assert msgpack.unpackb(event_packet("show", {"t0": 2**64 - 1}))["data"] == ["show", {"t0": 2**64 - 1}]


async def test_an_empty_frame_is_counted_as_malformed_and_the_connection_survives(server: AppServer) -> None:
    """An empty binary frame is not decoded at all by python-socketio: it used to reach the
    dispatcher as an event without data (an exception in the server's log, no counter)."""
    ws_url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as s, s.ws_connect(ws_url) as ws:
        assert (await ws.receive_str()).startswith("0")
        await ws.send_bytes(msgpack.packb({"type": 0, "nsp": "/", "data": {"name": "Raw"}}))
        await ws.send_bytes(b"")
        await ws.send_bytes(msgpack.packb({"type": 2, "nsp": "/", "data": ["time", {"c": 3}], "id": 1}))
        while True:
            msg = await asyncio.wait_for(ws.receive(), 5)
            if msg.type == aiohttp.WSMsgType.BINARY and (pkt := msgpack.unpackb(msg.data))["type"] == 3:
                break
        assert pkt["id"] == 1 and pkt["data"][0]["c"] == 3
    assert metric(await metrics_text(server), "vetrina_rejected_total", code="bad_request", event="malformed") == 1
