"""A client that stops reading never holds up anyone else, and is resynced when it catches up."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import msgpack
import pytest

from loadtests.swarm import Swarm
from server.config import Settings
from tests.conftest import AppServer, Visitor
from tests.server.test_bad_input import metric, metrics_text


@pytest.fixture
def settings() -> Settings:
    return Settings(port=0, tick_hz=20.0, room_processes=False, slow_client_bytes=8 * 1024)


def ws_frame(payload: bytes) -> bytes:
    """One masked binary websocket frame, as a client must send it."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_frames(buf: bytearray) -> list[bytes]:
    """Complete unmasked server frames at the front of ``buf`` (consumed from it)."""
    out = []
    while len(buf) >= 2:
        n, at = buf[1] & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                break
            n, at = int.from_bytes(buf[2:4], "big"), 4
        elif n == 127:
            if len(buf) < 10:
                break
            n, at = int.from_bytes(buf[2:10], "big"), 10
        if len(buf) < at + n:
            break
        out.append(bytes(buf[at : at + n]))
        del buf[: at + n]
    return out


@pytest.mark.slow
async def test_a_client_that_stops_reading_is_skipped_then_resynced(server: AppServer, visitors: list[Visitor]) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window fills fast
    slow.connect(("127.0.0.1", port))
    slow.sendall(
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    slow.sendall(ws_frame(msgpack.packb({"type": 0, "nsp": "/", "data": {"name": "Slow"}})))
    await asyncio.sleep(0.3)
    slow.sendall(ws_frame(msgpack.packb({"type": 2, "nsp": "/", "data": ["join", {"room": "showroom"}], "id": 1})))

    # The slow visitor's link is thin: shrink the OS send buffer of its server-side socket so
    # that a few seconds of ticks fill it (instead of the megabytes the kernel would absorb).
    from server.app import GATEWAY

    gateway = server.app[GATEWAY]
    for _ in range(50):
        slow_one = next((v for v in gateway.held() if v.name == "Slow"), None)
        if slow_one is not None and slow_one.room == "showroom":
            break
        await asyncio.sleep(0.05)
    assert slow_one is not None
    session = gateway.sessions.by_avatar(slow_one.id)
    assert session is not None and session.eio_sid is not None
    ws = gateway.sio.eio.sockets[session.eio_sid]._sock
    ws._writer.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

    watcher = Visitor("Watcher")
    visitors.append(watcher)
    await watcher.connect(server.url)
    await watcher.join()
    crowd = Swarm(server.url, "showroom", probe_every=10_000, observer_every=10_000)
    try:
        await crowd.grow(40)
        # The slow client reads nothing for several seconds while 40 visitors walk around it.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            text = await metrics_text(server)
            if metric(text, "vetrina_dropped_inputs_total", room="showroom", reason="slow_client") > 0:
                break
            await asyncio.sleep(0.5)
        else:
            pytest.fail("the slow client's ticks were never skipped")
        # Meanwhile everyone else kept getting their ticks on time.
        before = len(watcher.ticks)
        await asyncio.sleep(2.0)
        assert len(watcher.ticks) - before >= 20  # 20 Hz, nearly every tick has a mover in view
        assert watcher.sio.connected

        # The slow client starts reading again: it is still connected and gets a reset tick.
        slow.setblocking(False)
        buf = bytearray()
        resynced = False
        loop = asyncio.get_running_loop()
        end = time.monotonic() + 10
        while not resynced and time.monotonic() < end:
            try:
                chunk = await asyncio.wait_for(loop.sock_recv(slow, 65536), 1.0)
            except asyncio.TimeoutError:
                continue
            assert chunk, "the server closed the slow client's connection"
            buf += chunk
            if buf.startswith(b"HTTP/1.1"):
                if b"\r\n\r\n" not in buf:
                    continue
                del buf[: buf.index(b"\r\n\r\n") + 4]
            for frame in read_frames(buf):
                try:
                    pkt = msgpack.unpackb(frame)
                except Exception:
                    continue  # engine.io text frames (open packet, pings)
                data = pkt.get("data") if isinstance(pkt, dict) else None
                if isinstance(data, list) and data[:1] == ["tick"] and data[1].get("reset"):
                    resynced = True
        assert resynced
    finally:
        await crowd.close()
        slow.close()
