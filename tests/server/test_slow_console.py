"""A staff console that stops reading its feed is let go (counted) instead of having the
feed queued for it without end; the other consoles keep getting theirs."""

from __future__ import annotations

import asyncio
import socket

import msgpack
import pytest

from server.auth import mint
from server.config import Settings
from tests.conftest import TEST_SECRET, AppServer, StaffClient, Visitor, eventually
from tests.server.test_bad_input import metric, metrics_text
from tests.server.test_slow_client import ws_frame


@pytest.fixture
def settings() -> Settings:
    # chat as fast as the room answers: the feed grows quickly
    return Settings(port=0, tick_hz=20.0, room_processes=False, chat_rate=100.0, chat_burst=500.0)


def raw_console(port: int) -> socket.socket:
    """A /host client over a raw websocket that watches the showroom, then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    token = mint(TEST_SECRET, role="host", rooms="*", ttl_s=600, name="Deaf")
    sock.sendall(ws_frame(msgpack.packb({"type": 0, "nsp": "/host", "data": {"token": token}})))
    return sock


@pytest.mark.slow
async def test_a_console_that_stops_reading_is_let_go_and_the_others_keep_their_feed(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    from server.app import HOST

    host = server.app[HOST]
    deaf = raw_console(int(server.url.rsplit(":", 1)[1]))
    try:
        sid = await eventually(lambda: next((s for s, x in host._staff.items() if x.claims.name == "Deaf"), None))
        deaf.sendall(ws_frame(msgpack.packb(
            {"type": 2, "nsp": "/host", "data": ["host.watch", {"room": "showroom"}], "id": 1})))
        await eventually(lambda: "showroom" in host._staff[sid].watching)
        # its link is thin: a few KiB of feed fill it (instead of the megabytes the kernel takes)
        eio_sid = host.sio.manager.eio_sid_from_sid(sid, "/host")
        ws = host.sio.eio.sockets[eio_sid]._sock
        transport = ws._writer.transport
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        transport.set_write_buffer_limits(high=4096)  # and aiohttp waits for it past 4 KiB, not 64

        good = StaffClient()
        staff.append(good)
        await good.connect(server.url)
        assert (await good.call("host.watch", {"room": "showroom"}))["ok"]
        talkers = [Visitor(f"T{i}") for i in range(8)]
        visitors.extend(talkers)
        for v in talkers:
            await v.connect(server.url)
            await v.join()

        async def talk(v: Visitor) -> None:
            for i in range(90):  # 720 messages of ~0.5 KiB: past aiohttp's 256 KiB buffer, then 64 packets
                assert (await v.call("chat", {"text": f"{v.name} says {i} " + "x" * 400}))["ok"]

        await asyncio.gather(*(talk(v) for v in talkers))
        text = await metrics_text(server)
        assert metric(text, "vetrina_dropped_inputs_total", room="showroom", reason="slow_console") == 1
        await eventually(lambda: sid not in host._staff)  # its session ended
        # the console that reads got the whole feed and is still signed in
        assert (await talkers[0].call("chat", {"text": "last"}))["ok"]
        await eventually(lambda: any(m.get("text") == "last" for m in good.got("chat")))
        texts = {m.get("text") for m in good.got("chat")}
        assert all(f"{v.name} says 89 " + "x" * 400 in texts for v in talkers)
        assert good.sio.connected
    finally:
        deaf.close()
