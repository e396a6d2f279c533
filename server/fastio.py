"""A leaner Engine.IO websocket path for python-engineio's asyncio server.

Profiling 500 visitors at 10 Hz (py-spy) showed most server CPU in engine.io's per-frame
machinery, not in the simulation: every received frame got a new task and a ``wait_for``,
and every sent packet woke a writer task through a queue. This module keeps the protocol
byte-for-byte and changes only that plumbing:

- the websocket reader is a plain ``receive()`` loop (dead peers are still found by engine.io's
  own ping/pong cycle, which closes the socket and so ends the loop);
- binary frames are first offered to the server's ``vetrina_fast_message(eio_sid, data)`` hook
  (the gateway's handler for high-rate events such as ``move``), which skips socket.io's
  dispatch layers; anything it declines takes the normal socket.io path;
- a client that stops reading never holds up anyone else: when its socket buffer is full,
  :meth:`LeanSocket.write_now` skips the tick instead of waiting for it to drain (aiohttp would
  wait, freezing the whole room's delivery) and reports it, so the room resyncs that viewer;
- :meth:`LeanSocket.write_now` writes a pre-encoded binary packet straight to the websocket
  when nothing is queued ahead of it (otherwise it queues, so packets never overtake each
  other); ticks use it, everything else goes through engine.io as usual.

- permessage-deflate is negotiated only when enabled (``ws_compression``): every browser
  offers it and aiohttp accepts by default, which measured 2.6x the socket process's CPU and
  +120 MB at 500 visitors for tick frames of binary records that barely compress.

Long-polling clients and polling->websocket upgrades keep engine.io's original code path.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp.web import WebSocketResponse
from engineio import async_server, async_socket, packet
from engineio.async_drivers import aiohttp as aiohttp_driver

_installed = False
# How long closing waits for the client's close frame: a client that stops reading must not
# hold up a node's drain (aiohttp's default is 10 s per socket).
CLOSE_WAIT_S = 1.0
SLOW_CLIENT_BYTES = 256 * 1024  # unsent bytes queued for one client before its ticks are skipped


class LeanSocket(async_socket.AsyncSocket):
    connected: bool
    upgraded: bool
    _sock: Any = None  # the aiohttp WebSocketResponse once on the websocket transport

    async def write_now(self, data: bytes) -> bool:
        """Send one binary engine.io MESSAGE, skipping the writer task when nothing is queued.

        Returns False, without sending, when the client is too far behind (it is not reading
        what we send): the caller should resync it rather than wait for it.
        """
        sock = self._sock
        if sock is None or self.closing or self.closed or not self.queue.empty() or self.upgrading:
            if self.queue.qsize() > 64:  # not even the writer task keeps up: same policy
                return False
            await self.send(packet.Packet(packet.MESSAGE, data=data))
            return True
        writer = sock._writer
        limit = getattr(self.server, "vetrina_slow_client_bytes", SLOW_CLIENT_BYTES)
        if writer is not None and (writer.protocol._paused or writer.transport.get_write_buffer_size() > limit):
            return False
        try:
            await sock.send_bytes(data)
        except (ConnectionError, RuntimeError, aiohttp.ClientError):
            pass  # the reader sees the close and cleans up
        return True

    def write_direct(self, data: bytes) -> bool | None:
        """:meth:`write_now` without a coroutine in sight, for the tick loop: True sent (or
        the socket is going away), False the client is behind, None use :meth:`write_now`.

        The websocket frame is built here (RFC 6455: FIN + binary opcode, server frames
        unmasked) and written straight to the transport, which is all aiohttp would do for
        an uncompressed frame, minus five layers of awaits per packet.
        """
        sock = self._sock
        if sock is None or self.closing or self.closed or self.upgrading or not self.queue.empty():
            return None
        writer = sock._writer
        if writer is None or getattr(self.server, "vetrina_ws_compression", False) or writer._closing:
            return None
        transport = writer.transport
        limit = getattr(self.server, "vetrina_slow_client_bytes", SLOW_CLIENT_BYTES)
        if writer.protocol._paused or transport.get_write_buffer_size() > limit:
            return False
        if transport.is_closing():
            return True  # the reader sees the close and cleans up
        n = len(data)
        if n < 126:
            header = bytes((0x82, n))
        elif n < 65536:
            header = b"\x82\x7e" + n.to_bytes(2, "big")
        else:
            header = b"\x82\x7f" + n.to_bytes(8, "big")
        transport.write(header + data)
        return True

    async def _websocket_handler(self, ws: Any) -> None:
        if self.connected:  # an upgrade from long-polling: engine.io's own handshake dance
            await super()._websocket_handler(ws)
            return
        self.connected = True
        self.upgraded = True
        sock = ws._sock
        limit = self.server.max_http_buffer_size
        fast = getattr(self.server, "vetrina_fast_message", None)
        binary = aiohttp.WSMsgType.BINARY

        async def writer() -> None:
            while True:
                try:
                    packets = await self.poll()
                except Exception:
                    break
                if not packets:
                    break
                try:
                    for pkt in packets:
                        await ws.send(pkt.encode())
                except Exception:
                    break
                if self.closed:  # the server closed the session: close the websocket too, even
                    break  # if the client never answers engine.io's CLOSE (see CLOSE_WAIT_S)
            await ws.close()

        writer_task = asyncio.ensure_future(writer())
        self._sock = sock
        try:
            while True:
                msg = await sock.receive()
                if msg.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                    break  # close, error or closed
                if len(msg.data) > limit:
                    break
                if fast is not None and msg.type == binary and fast(self.sid, msg.data):
                    continue
                try:
                    await self.receive(packet.Packet(encoded_packet=msg.data))
                except Exception:
                    if self.closed:
                        break
                    self.server.logger.exception("receive error")
        finally:
            self._sock = None
            await self.queue.put(None)  # let the writer finish what is queued, then exit
            await asyncio.wait_for(writer_task, timeout=None)
            await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)


class TunedWebSocket(aiohttp_driver.WebSocket):
    """engine.io's aiohttp websocket, with compression only when the server enables it."""

    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size,
            timeout=CLOSE_WAIT_S,
            compress=bool(getattr(self.server, "vetrina_ws_compression", False)),
        )
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


def configure(eio_server: Any, *, compression: bool, slow_client_bytes: int = SLOW_CLIENT_BYTES) -> None:
    """Use :class:`TunedWebSocket` for this engine.io server (its driver table is per server)."""
    eio_server.vetrina_ws_compression = compression
    eio_server.vetrina_slow_client_bytes = slow_client_bytes
    eio_server._async = {**eio_server._async, "websocket": TunedWebSocket}


def install() -> None:
    """Make engine.io's asyncio server create LeanSocket for new connections (idempotent)."""
    global _installed
    if not _installed:
        async_server.async_socket.AsyncSocket = LeanSocket  # the name _handle_connect looks up
        _installed = True


def write_direct(server: Any, eio_sid: str, data: bytes) -> bool | None:
    """The synchronous fast path of :func:`write_now`; None: await write_now instead."""
    sock = server.sockets.get(eio_sid)
    if sock is None:
        return True
    if isinstance(sock, LeanSocket):
        return sock.write_direct(data)
    return None


async def write_now(server: Any, eio_sid: str, data: bytes) -> bool:
    """Send a pre-encoded socket.io packet to one engine.io session, by the fastest path.
    False: the client is too far behind and the packet was not sent."""
    sock = server.sockets.get(eio_sid)
    if sock is None:
        return True  # gone: nothing to resync
    if isinstance(sock, LeanSocket):
        return await sock.write_now(data)
    await sock.send(packet.Packet(packet.MESSAGE, data=data))
    return True
