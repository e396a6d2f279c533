"""Socket.IO handlers for visitors: validate, then enqueue into the room. No game logic here.

Every event is declared once in a table with its pydantic model. The shared wrapper counts
the message, refuses oversized or malformed payloads, validates, and turns any failure into
the uniform ``{"ok": false, "error": {code, message}}`` ack — a handler that raised would
never ack, and a client waiting on it would hang.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgpack
import socketio
from pydantic import BaseModel, ValidationError

from server import fastio
from server.metrics import Metrics
from server.packets import MALFORMED_EVENT, Oversized
from server.runner import RoomRunner, now_ms
from world.protocol import (
    ConnectAuth,
    EmptyRequest,
    ErrorCode,
    JoinRequest,
    MoveRequest,
    TimeRequest,
    WireError,
    error,
    ok,
)
from world.ratelimit import TokenBucket
from world.room import Attach, Detach, Join, Leave, Move
from world.visitors import Visitor, Visitors

log = logging.getLogger(__name__)

Reply = dict[str, Any] | None
Handler = Callable[[str, Any], Awaitable[Reply]]


@dataclass(slots=True)
class Connection:
    """One live visitor socket: who it is and its move allowance."""

    visitor: Visitor
    eio_sid: str
    moves: TokenBucket


def _first_error(exc: ValidationError) -> str:
    e = exc.errors()[0]
    where = ".".join(str(p) for p in e["loc"]) or "payload"
    return f"{where}: {e['msg']}"


class VisitorGateway:
    """The ``/`` namespace."""

    namespace = "/"

    def __init__(
        self,
        sio: socketio.AsyncServer,
        rooms: dict[str, RoomRunner],
        visitors: Visitors,
        metrics: Metrics,
        *,
        move_rate: float,
        move_burst: float,
    ) -> None:
        self.sio = sio
        self.rooms = rooms
        self.visitors = visitors
        self.metrics = metrics
        self._move_rate = move_rate
        self._move_burst = move_burst
        self._eio_sid: dict[int, str] = {}  # avatar id -> engine.io session, for pre-encoded sends
        self._conns: dict[str, Connection] = {}  # by socket.io sid
        self._conns_eio: dict[str, Connection] = {}  # by engine.io sid (the fast path)
        self._tasks: set[asyncio.Task[None]] = set()
        self._moves_in = metrics.messages_in.labels("move")
        self._rejected: dict[tuple[str, str], Any] = {}
        self.handlers: dict[str, tuple[type[BaseModel], Handler]] = {
            "join": (JoinRequest, self.join),
            "leave": (EmptyRequest, self.leave),
            "move": (MoveRequest, self.move),
            "time": (TimeRequest, self.time),
        }
        ns = self.namespace
        sio.on("connect", self.connect, namespace=ns)
        sio.on("disconnect", self.disconnect, namespace=ns)
        for event, (model, fn) in self.handlers.items():
            sio.on(event, self._wrap(event, model, fn), namespace=ns)
        sio.on("*", self.unknown, namespace=ns)
        sio.eio.vetrina_fast_message = self.fast_message  # see server/fastio.py

    # ---- plumbing ----------------------------------------------------------------------

    def _count_rejected(self, event: str, code: ErrorCode) -> None:
        child = self._rejected.get((code.value, event))
        if child is None:
            child = self._rejected[(code.value, event)] = self.metrics.rejected.labels(code.value, event)
        child.inc()

    def _reject(self, event: str, code: ErrorCode, message: str) -> dict[str, Any]:
        self._count_rejected(event, code)
        return error(code, message)

    def _wrap(self, event: str, model: type[BaseModel], fn: Handler) -> Callable[..., Awaitable[Reply]]:
        counter = self.metrics.messages_in.labels(event)

        async def handle(sid: str, *args: Any) -> Reply:
            counter.inc()
            payload = args[0] if args else {}
            if isinstance(payload, Oversized):
                return self._reject(event, ErrorCode.BAD_REQUEST, f"payload of {payload.size} bytes is over 64 KiB")
            try:
                request = model.model_validate(payload if payload is not None else {})
                return await fn(sid, request)
            except ValidationError as exc:
                return self._reject(event, ErrorCode.BAD_REQUEST, _first_error(exc))
            except WireError as exc:
                return self._reject(event, exc.code, exc.message)
            except Exception:
                log.exception("handler for %r failed", event)
                return self._reject(event, ErrorCode.UNAVAILABLE, "the server could not handle this request")

        return handle

    async def unknown(self, event: str, sid: str, *args: Any) -> Reply:
        if event == MALFORMED_EVENT:  # acked only when an ack id could be read from it
            return self._reject("malformed", ErrorCode.BAD_REQUEST, "malformed packet")
        self.metrics.messages_in.labels("unknown").inc()
        return self._reject("unknown", ErrorCode.BAD_REQUEST, f"unknown event {event[:64]!r}")

    def _visitor(self, sid: str) -> Visitor:
        v = self.visitors.by_sid(sid)
        if v is None:  # connect handler refused or the session is gone
            raise WireError(ErrorCode.NOT_JOINED, "no visitor for this connection")
        return v

    async def send_to_avatar(self, avatar: int, pkt: bytes) -> bool:
        """False when the avatar's client is too far behind to take the packet now."""
        eio_sid = self._eio_sid.get(avatar)
        if eio_sid is None:
            return True
        return await fastio.write_now(self.sio.eio, eio_sid, pkt)

    # ---- lifecycle ---------------------------------------------------------------------

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            creds = ConnectAuth.model_validate(auth if isinstance(auth, dict) else {})
        except ValidationError as exc:
            self.metrics.rejected.labels(ErrorCode.BAD_REQUEST.value, "connect").inc()
            raise socketio.exceptions.ConnectionRefusedError(
                f"bad_request: {_first_error(exc)}", {"code": ErrorCode.BAD_REQUEST.value}
            ) from None
        now = now_ms()
        arrival = self.visitors.connect(sid, creds.name, creds.look.wire(), creds.resume, now)
        v = arrival.visitor
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, self.namespace)
        self._eio_sid[v.id] = eio_sid
        conn = Connection(v, eio_sid, TokenBucket(self._move_rate, self._move_burst, time.monotonic()))
        self._conns[sid] = conn
        self._conns_eio[eio_sid] = conn
        self.metrics.connections.labels(self.namespace).inc()
        self.metrics.visitors.set(len(self.visitors))
        if arrival.resumed and v.room in self.rooms:
            self.rooms[v.room].submit(Attach(v.id))
        # Welcome goes out after socket.io has sent its CONNECT packet (after we return).
        task = asyncio.get_running_loop().create_task(self._welcome(sid, v, arrival.replaced_sid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _welcome(self, sid: str, v: Visitor, replaced_sid: str | None) -> None:
        if replaced_sid is not None:  # the same visitor on a newer connection: close the old one
            await self.sio.disconnect(replaced_sid, namespace=self.namespace)
        body: dict[str, Any] = {"id": v.id, "session": v.session, "t": now_ms()}
        if v.room is not None:
            body["room"] = v.room
        await self.sio.emit("welcome", body, to=sid, namespace=self.namespace)
        self.metrics.messages_out.labels("welcome").inc()

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self._conns.pop(sid, None)
        if conn is not None:
            self._conns_eio.pop(conn.eio_sid, None)
        self.metrics.connections.labels(self.namespace).dec()
        v = self.visitors.disconnect(sid, now_ms())
        if v is None or v.sid is not None:
            return  # unknown, or already taken over by a newer connection
        self._eio_sid.pop(v.id, None)
        if v.room in self.rooms:
            self.rooms[v.room].submit(Detach(v.id))

    def sweep(self) -> None:
        """Visitors whose grace period ran out leave their rooms for good."""
        for v in self.visitors.expire(now_ms()):
            if v.room in self.rooms:
                self.rooms[v.room].submit(Leave(v.id))
        self.metrics.visitors.set(len(self.visitors))

    # ---- events ------------------------------------------------------------------------

    async def join(self, sid: str, req: JoinRequest) -> Reply:
        v = self._visitor(sid)
        runner = self.rooms.get(req.room)
        if runner is None:
            raise WireError(ErrorCode.NOT_FOUND, f"no room {req.room[:64]!r}")
        if v.room is not None and v.room != req.room and v.room in self.rooms:
            self.rooms[v.room].submit(Leave(v.id))
            v.room = None
        reply = await runner.request(lambda ref: Join(ref, v.id, v.name, v.look))
        if reply.get("ok"):
            v.room = req.room
        else:
            self.metrics.rejected.labels(reply["error"]["code"], "join").inc()
        return reply

    async def leave(self, sid: str, req: EmptyRequest) -> Reply:
        v = self._visitor(sid)
        if v.room is None or v.room not in self.rooms:
            raise WireError(ErrorCode.NOT_JOINED, "you are not in a room")
        room, v.room = v.room, None
        return await self.rooms[room].request(lambda ref: Leave(v.id, ref))

    async def move(self, sid: str, req: MoveRequest) -> Reply:
        conn = self._conns.get(sid)
        if conn is None:
            raise WireError(ErrorCode.NOT_JOINED, "no visitor for this connection")
        self._submit_move(conn, req)
        return None  # moves are never acked; refusals come back as `correct`

    def _submit_move(self, conn: Connection, req: MoveRequest) -> None:
        v = conn.visitor
        if v.room is None:
            raise WireError(ErrorCode.NOT_JOINED, "join a room before moving")
        if not conn.moves.take(time.monotonic()):
            raise WireError(ErrorCode.RATE_LIMITED, "too many moves")
        p = (float(req.p[0]), float(req.p[1]), float(req.p[2]))
        self.rooms[v.room].submit(Move(v.id, p, float(req.yaw), req.seq, now_ms()))

    def fast_message(self, eio_sid: str, data: bytes) -> bool:
        """Take a ``move`` straight from engine.io (the busiest event by far), skipping
        socket.io's dispatch layers. Returns False for anything else, which then goes the
        normal way. Same validation, limits and counters as the socket.io path."""
        conn = self._conns_eio.get(eio_sid)
        if conn is None or len(data) > 512:
            return False
        try:
            pkt = msgpack.unpackb(data)
        except Exception:
            return False
        if type(pkt) is not dict or pkt.get("type") != 2 or "id" in pkt or pkt.get("nsp", "/") != "/":
            return False
        event = pkt.get("data")
        if type(event) is not list or not event or event[0] != "move":
            return False
        self._moves_in.inc()
        try:
            self._submit_move(conn, MoveRequest.model_validate(event[1] if len(event) > 1 else {}))
        except ValidationError:
            self._count_rejected("move", ErrorCode.BAD_REQUEST)
        except WireError as exc:
            self._count_rejected("move", exc.code)
        return True

    async def time(self, sid: str, req: TimeRequest) -> Reply:
        return ok(c=req.c, t=now_ms())

