"""The ``/`` namespace: visitor sessions, their connections, and the event tables of the
features (server/visitor/core.py, social.py, shop.py, shows.py). No game logic here.

Every event is declared once in a feature's table with its pydantic model (see
server/handlers.py for the shared wrapper). Flood limits (token buckets per visitor) and the
word filter apply here, at the edge; everything that changes a room goes into its inbox.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, NoReturn

import msgpack
import socketio
from pydantic import BaseModel, ValidationError

from server import fastio
from server.auth import PERMISSIONS, AuthError
from server.cluster import Cluster
from server.directory import RoomDirectory
from server.handlers import Handler, Namespace, Reply, first_error
from server.identity.device import from_saved
from server.identity.resolver import Caller, Identities
from server.metrics import Metrics
from server.packets import MALFORMED_EVENT
from server.runner import RoomRunner, now_ms
from server.tasks import TaskSet
from server.visitor import core, shop, shows, social
from server.visitor.session import Limits, Sessions, VisitorSession
from server.visitors import Arrival, Visitor, Visitors
from world.core.room import Attach, Detach, Input, Join, Leave
from world.protocol import ConnectAuth, ErrorCode, MoveRequest, WireError
from world.replication.shared import Replicated
from world.social.wordfilter import WordFilter

log = logging.getLogger(__name__)

# Host actions: a visitor socket sending one is refused with `forbidden` (and counted).
HOST_EVENTS = PERMISSIONS["host"] - {"chat"}  # `chat` exists for visitors too
# The visitor features: each one module with its EVENTS table (adding a feature: one line).
FEATURES = (core.EVENTS, social.EVENTS, shop.EVENTS, shows.EVENTS)

# Overload policy of the background sends and writes (server/tasks.py):
# - welcomes (one per connection, done in a moment): when this many are still running, the
#   node is in a connection storm; new connections are refused `unavailable` (counted).
WELCOMES_LIMIT = 10_000
# - Redis session saves (with a cluster): beyond this many in flight Redis is far behind; a
#   save is skipped (counted) and the cluster's keep-alive writes every held session again.
SAVES_LIMIT = 1_000


class VisitorGateway(Namespace):
    """The ``/`` namespace."""

    namespace = "/"

    def __init__(
        self,
        sio: socketio.AsyncServer,
        directory: RoomDirectory,
        visitors: Visitors,
        metrics: Metrics,
        *,
        identities: Identities,
        limits: Limits = Limits(),
        words: WordFilter | None = None,
        cluster: Cluster | None = None,
    ) -> None:
        super().__init__(metrics)
        self.identities = identities
        self.cluster = cluster
        self.sio = sio
        self.directory = directory
        self.visitors = visitors
        self.sessions = Sessions(limits)
        self.words = words or WordFilter([])
        self._welcomes = TaskSet("welcomes", WELCOMES_LIMIT, metrics)
        self._saves = TaskSet("session_saves", SAVES_LIMIT, metrics)
        self._moves_in = metrics.messages_in.labels("move")
        self.handlers: dict[str, tuple[type[BaseModel], Handler]] = {
            event: (model, partial(fn, self)) for table in FEATURES for event, (model, fn) in table.items()
        }
        ns = self.namespace
        sio.on("connect", self.connect, namespace=ns)
        sio.on("disconnect", self.disconnect, namespace=ns)
        for event, (model, fn) in self.handlers.items():
            sio.on(event, self._wrap(event, model, fn), namespace=ns)
        for event in HOST_EVENTS - self.handlers.keys():
            sio.on(event, self._forbidden(event), namespace=ns)
        sio.on("*", self.unknown, namespace=ns)
        sio.eio.vetrina_fast_message = self.fast_message  # see server/fastio.py

    # ---- plumbing ----------------------------------------------------------------------

    def _forbidden(self, event: str) -> Callable[..., Awaitable[Reply]]:
        async def refuse(sid: str, *args: Any) -> Reply:
            self.metrics.messages_in.labels("host-event").inc()
            return self._reject(event, ErrorCode.FORBIDDEN, f"{event!r} is a staff action: connect to /host with a token")

        return refuse

    async def unknown(self, event: str, sid: str, *args: Any) -> Reply:
        if event == MALFORMED_EVENT:  # acked only when an ack id could be read from it
            return self._reject("malformed", ErrorCode.BAD_REQUEST, "malformed packet")
        self.metrics.messages_in.labels("unknown").inc()
        return self._reject("unknown", ErrorCode.BAD_REQUEST, f"unknown event {event[:64]!r}")

    def session(self, sid: str) -> VisitorSession:
        """The session of the visitor on this connection (a connection taken over by a newer
        one of the same visitor has none)."""
        v = self.visitors.by_sid(sid)
        s = self.sessions.by_avatar(v.id) if v is not None else None
        if s is None:  # connect handler refused or the session is gone
            raise WireError(ErrorCode.NOT_JOINED, "no visitor for this connection")
        return s

    def in_room(self, sid: str) -> tuple[VisitorSession, RoomRunner]:
        s = self.session(sid)
        runner = self.shard_of(s)
        if runner is None:
            raise WireError(ErrorCode.NOT_JOINED, "join a room first")
        return s, runner

    def shard_of(self, s: VisitorSession) -> RoomRunner | None:
        """The shard of its room the visitor is in (None: in no room)."""
        return self.directory.shard_for(s.visitor.room, s.runner)

    def send_now(self, avatar: int, pkt: bytes) -> bool | None:
        """Send without awaiting when the socket allows it (see fastio.write_direct);
        None: use :meth:`send_to_avatar`."""
        s = self.sessions.by_avatar(avatar)
        if s is None or s.eio_sid is None:
            return True
        return fastio.write_direct(self.sio.eio, s.eio_sid, pkt)

    async def send_to_avatar(self, avatar: int, pkt: bytes) -> bool:
        """False when the avatar's client is too far behind to take the packet now."""
        s = self.sessions.by_avatar(avatar)
        if s is None or s.eio_sid is None:
            return True
        return await fastio.write_now(self.sio.eio, s.eio_sid, pkt)

    def remember(self, v: Visitor) -> None:
        """Keep the visitor's session where any node can resume it (without waiting for Redis)."""
        if self.cluster is not None:
            self._saves.spawn(self.cluster.save_session(v))

    async def settle(self, timeout_s: float = 2.0) -> None:
        """Let the session writes still in flight finish (before the cluster closes its pool:
        a write started after that would open a connection nobody closes)."""
        await self._saves.settle(timeout_s)

    def held(self) -> list[Visitor]:
        """The visitors this node holds: connected, or disconnected within their grace."""
        return self.sessions.held()

    # ---- lifecycle ---------------------------------------------------------------------

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            creds = ConnectAuth.model_validate(auth if isinstance(auth, dict) else {})
        except ValidationError as exc:
            self._refuse_connection(ErrorCode.BAD_REQUEST, f"bad_request: {first_error(exc)}")
        if self._welcomes.full:
            self._refuse_connection(ErrorCode.UNAVAILABLE, "unavailable: too many connections at once, try again")
        try:
            caller = await self.identities.connecting(environ, creds.signin, creds.visitor)
        except AuthError as exc:
            self.metrics.messages_in.labels("signin-refused").inc()
            self._refuse_connection(ErrorCode.FORBIDDEN, f"forbidden: signed visitor token refused: {exc}")
        placed: RoomRunner | None = None
        arrival = None
        if creds.resume:
            arrival, placed = await self._resume_elsewhere(sid, creds.resume)
        if arrival is None:
            name = caller.identity.name or creds.name
            arrival = self.visitors.connect(sid, name, creds.look.wire(), creds.resume, now_ms(), caller.identity,
                                            caller.addr)
        v = arrival.visitor
        s = self.sessions.open(v, sid, self.sio.manager.eio_sid_from_sid(sid, self.namespace))
        s.caller = caller
        if placed is not None:
            s.runner = placed
        self.metrics.connections.labels(self.namespace).inc()
        self.metrics.visitors.set(len(self.visitors))
        runner = self.shard_of(s)
        if arrival.resumed and runner is not None:
            runner.submit(Attach(v.id))
        self.remember(v)
        # Welcome goes out after socket.io has sent its CONNECT packet (after we return).
        self._welcomes.spawn(self._welcome(sid, v, arrival.replaced_sid, caller))

    def _refuse_connection(self, code: ErrorCode, message: str) -> NoReturn:
        self._count_rejected("connect", code)
        raise socketio.exceptions.ConnectionRefusedError(message, {"code": code.value}) from None

    async def _resume_elsewhere(self, sid: str, token: str) -> tuple[Arrival | None, RoomRunner | None]:
        """A resume token this node does not know may be from another node of the cluster:
        the visitor comes back with its avatar id, name, look, and in its room (the shard
        it is placed in is returned with it)."""
        if self.cluster is None or self.visitors.knows(token):
            return None, None
        body = await self.cluster.load_session(token)
        if body is None or self.visitors.knows(token):
            return None, None
        try:
            room = body.get("room") if body.get("room") in self.directory else None
            identity, addr = from_saved(body.get("who"))
            arrival = self.visitors.adopt(sid, token, int(body["id"]), str(body["name"]), dict(body["look"]), room,
                                          identity, addr)
        except (KeyError, TypeError, ValueError):
            return None, None
        v = arrival.visitor
        runner = None
        if room is not None:  # back in the room (at a spawn point); its client's re-join is idempotent
            carry = await self.cluster.load_carry(v.id)  # its cart, orders, balance and bets
            shards = self.directory.audience(room)
            assert shards is not None
            runner = shards.place()
            if carry is not None:
                runner.submit(Replicated("handover", carry))
            runner.submit(Join(0, v.id, v.name, v.look, v.who))
            shards.placed(runner)
        self.metrics.messages_in.labels("resume-cross-node").inc()
        return arrival, runner

    async def _welcome(self, sid: str, v: Visitor, replaced_sid: str | None, caller: Caller) -> None:
        if replaced_sid is not None:  # the same session on a newer connection: close the old one
            await self.sio.disconnect(replaced_sid, namespace=self.namespace)
        visitor = v.identity.wire()
        if caller.token is not None and caller.identity.key == v.identity.key:
            visitor["token"] = caller.token  # keep it for the next connection (``auth.visitor``)
        body: dict[str, Any] = {"id": v.id, "session": v.session, "t": now_ms(), "visitor": visitor}
        if v.room is not None:
            body["room"] = v.room
        await self.sio.emit("welcome", body, to=sid, namespace=self.namespace)
        self.metrics.messages_out.labels("welcome").inc()

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        self.sessions.close(sid)
        self.metrics.connections.labels(self.namespace).dec()
        v = self.visitors.disconnect(sid, now_ms())
        if v is None or v.sid is not None:
            return  # unknown, or already taken over by a newer connection
        s = self.sessions.by_avatar(v.id)
        if s is None:
            return
        s.eio_sid = None
        runner = self.shard_of(s)
        if runner is not None:
            runner.submit(Detach(v.id))

    def sweep(self) -> None:
        """Visitors whose grace period ran out leave their rooms for good."""
        for v in self.visitors.expire(now_ms()):
            s = self.sessions.drop(v.id)
            runner = self.directory.shard_for(v.room, s.runner if s is not None else None)
            if runner is not None:
                runner.submit(Leave(v.id))
                audience = self.directory.audience(runner.room_id)
                if audience is not None:  # gone for good: nothing of it to restore any more
                    audience.forget(v.id)
        self.metrics.visitors.set(len(self.visitors))

    # ---- the fast path for moves -------------------------------------------------------

    def fast_message(self, eio_sid: str, data: bytes) -> bool:
        """Take a ``move`` straight from engine.io (the busiest event by far), skipping
        socket.io's dispatch layers. Returns False for anything else, which then goes the
        normal way. Same validation, limits and counters as the socket.io path."""
        s = self.sessions.by_eio(eio_sid)
        if s is None or len(data) > 512:
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
            core.submit_move(self, s, MoveRequest.model_validate(event[1] if len(event) > 1 else {}))
        except ValidationError:
            self._count_rejected("move", ErrorCode.BAD_REQUEST)
        except WireError as exc:
            self._count_rejected("move", exc.code)
        return True

    # ---- what the rooms ask of the visitors (through server/outlet.py) -----------------

    def rejoin(self, runner: RoomRunner) -> list[Input]:
        """Inputs that put every visitor of a shard back after it restarted empty."""
        inputs: list[Input] = []
        for v in self.visitors.in_room(runner.room_id):
            s = self.sessions.by_avatar(v.id)
            if self.directory.shard_for(v.room, s.runner if s is not None else None) is not runner:
                continue
            inputs.append(Join(0, v.id, v.name, v.look, v.who))  # ref 0: nobody waits
            if v.sid is None:
                inputs.append(Detach(v.id))
        return inputs

    def removed(self, runner: RoomRunner, avatar: int) -> None:
        """Staff removed the avatar from a shard (kick, ban): its visitor is in no room now."""
        s = self.sessions.by_avatar(avatar)
        if s is not None and self.shard_of(s) is runner:
            s.visitor.room = None
            s.runner = None
