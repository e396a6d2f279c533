"""One task per room: wait for the next tick, step the room, send what it produced.

Handlers never touch room state; they append to the room's inbox (bounded) and, for
requests that need an answer (``join``, ``leave``), wait on a future the tick resolves.
``Room.step`` and the encoding of every viewer's tick run inline on the event loop: a worker
thread looked attractive but measured far worse (a GIL convoy: the step's many short numpy
calls each waited a full switch interval behind the busy socket loop, p99 400 ms at 250
visitors). Inputs that arrive during a tick wait in the socket buffers and are queued for
the next one; none is lost.

Overload policy: a full inbox drops moves (counted) but still accepts joins and leaves; a
tick that runs late skips the ticks it missed (counted) instead of running them back to back.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack

from server.metrics import Metrics
from server.packets import event_packet
from world.protocol import ErrorCode, error
from world.room import Input, Move, Outbox, Room

log = logging.getLogger(__name__)

Send = Callable[[int, bytes], Awaitable[None]]  # (avatar id, encoded socket.io packet)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


_EMPTY = msgpack.packb([])


class TickEncoder:
    """Encodes every viewer's tick packet of one tick; the shared head is packed once.

    The bytes equal ``msgpack.packb({"type": 2, "data": ["tick", {"t", "n", "enter", "leave",
    "pos"}], "nsp": "/"})``: a socket.io EVENT for namespace "/" (tests check the equality).
    """

    def __init__(self, t: int, n: int) -> None:
        pack = msgpack.packb
        self.head = b"".join((b"\x83\xa4type\x02\xa4data\x92\xa4tick\x85\xa1t", pack(t), b"\xa1n", pack(n), b"\xa5enter"))

    def encode(self, enter: list[Any], leave: list[int], pos: bytes) -> bytes:
        pack = msgpack.packb
        return b"".join((
            self.head,
            pack(enter) if enter else _EMPTY,
            b"\xa5leave",
            pack(leave) if leave else _EMPTY,
            b"\xa3pos",
            pack(pos),
            b"\xa3nsp\xa1/",
        ))


def encode_tick(t: int, n: int, enter: list[Any], leave: list[int], pos: bytes) -> bytes:
    """The socket.io EVENT packet carrying one viewer's binary tick (PROTOCOL.md)."""
    return TickEncoder(t, n).encode(enter, leave, pos)


class RoomRunner:
    def __init__(
        self,
        room: Room,
        *,
        send: Send,
        metrics: Metrics,
        inbox_limit: int = 50_000,
        tick_hz: float | None = None,
        request_timeout_s: float = 5.0,
    ) -> None:
        self.room = room
        self.id = room.config.id
        self.period = 1.0 / (tick_hz or room.config.tick_hz)
        self._send = send
        self._metrics = metrics
        self._inbox: list[Input] = []
        self._inbox_limit = inbox_limit
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._refs = itertools.count(1)
        self._timeout = request_timeout_s
        self.last_tick_s = 0.0

    # ---- called by handlers ----------------------------------------------------------

    def submit(self, item: Input) -> bool:
        """Queue an input for the next tick; moves are dropped when the inbox is full."""
        if isinstance(item, Move) and len(self._inbox) >= self._inbox_limit:
            self._metrics.dropped.labels(self.id, "inbox_full").inc()
            return False
        self._inbox.append(item)
        return True

    async def request(self, make: Callable[[int], Input]) -> dict[str, Any]:
        """Queue an input that expects a reply and wait for the tick that answers it."""
        ref = next(self._refs)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = fut
        self._inbox.append(make(ref))
        try:
            return await asyncio.wait_for(fut, self._timeout)
        except asyncio.TimeoutError:
            return error(ErrorCode.UNAVAILABLE, f"room {self.id!r} did not answer in time")
        finally:
            self._waiting.pop(ref, None)

    # ---- the loop --------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        m = self._metrics
        tick_hist, send_hist = m.tick_seconds.labels(self.id), m.tick_send_seconds.labels(self.id)
        lag, slow = m.tick_lag_seconds.labels(self.id), m.slow_ticks.labels(self.id)
        while True:
            next_at += self.period
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay >= self.period:
                missed = int(-delay // self.period)
                next_at += missed * self.period
                m.skipped_ticks.labels(self.id).inc(missed)
            lag.observe(max(0.0, loop.time() - next_at))
            inbox, self._inbox = self._inbox, []
            started = time.perf_counter()
            try:
                out, packets = self._step(now_ms(), inbox)
            except Exception:  # a bug in one tick must not kill the room
                log.exception("room %s: tick failed", self.id)
                continue
            took = time.perf_counter() - started
            self.last_tick_s = took
            tick_hist.observe(took)
            if took > self.period:
                slow.inc()
            await self._deliver(out, packets)
            send_hist.observe(time.perf_counter() - started - took)

    def _step(self, now: int, inbox: list[Input]) -> tuple[Outbox, list[tuple[int, bytes]]]:
        out = self.room.step(now, inbox)
        encode = TickEncoder(out.t, out.n).encode
        packets = [(v.viewer, encode(v.enter, v.leave, v.pos)) for v in out.ticks]
        return out, packets

    async def _deliver(self, out: Outbox, packets: list[tuple[int, bytes]]) -> None:
        m = self._metrics
        for ref, reply in out.replies.items():
            fut = self._waiting.get(ref)
            if fut is not None and not fut.done():
                fut.set_result(reply)
        m.avatars.labels(self.id).set(self.room.occupancy)
        if out.corrections:
            m.corrections.labels(self.id).inc(len(out.corrections))
            for avatar, body in out.corrections:
                await self._send(avatar, event_packet("correct", body))
            m.messages_out.labels("correct").inc(len(out.corrections))
        sent = 0
        for avatar, pkt in packets:
            await self._send(avatar, pkt)
            sent += len(pkt)
        m.messages_out.labels("tick").inc(len(packets))
        m.bytes_out.inc(sent)
