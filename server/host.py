"""The ``/host`` namespace: brand staff (hosts, moderators, operators) with a JWT.

Connecting needs a valid token (server/auth.py); every action is checked against the token's
role and rooms before it reaches the room, where it is applied in the tick like any input
(world/social.py). Staff who watch a room get its feed — chat (with shadow-muted messages),
Q&A queue, assistant tickets, the moderation log — and ``stats`` every second.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

import socketio
from pydantic import BaseModel, ValidationError

from server.auth import AuthError, StaffClaims, verify
from server.handlers import Handler, Namespace, Reply, first_error
from server.metrics import Metrics
from server.runner import RoomRunner, now_ms
from server.shards import AudienceShards
from world.assistant import ticket_room
from world.protocol import (
    AnswerRequest,
    ConcertCueRequest,
    ErrorCode,
    HostAuth,
    MessageRequest,
    OfferStartRequest,
    PinRequest,
    ReplyRequest,
    RoomRequest,
    ShowStartRequest,
    SlowRequest,
    SpotlightRequest,
    StaffChatRequest,
    TargetRequest,
    TimeRequest,
    WheelOpenRequest,
    WireError,
    ok,
)
from world.commerce import CommerceAct
from world.shows.concert_show import ConcertAct
from world.shows.wheel_show import WheelAct
from world.social import Staff, StaffAct
from world.wordfilter import WordFilter

log = logging.getLogger(__name__)

# Every staff action is one of these room inputs: (ref, staff, action, params).
StaffInput = StaffAct | CommerceAct | WheelAct | ConcertAct

STATS_EVERY_S = 1.0


@dataclass(slots=True)
class StaffSession:
    claims: StaffClaims
    watching: set[str] = field(default_factory=set)  # rooms whose feed it gets
    stats: set[str] = field(default_factory=set)  # rooms whose stats it gets


def feed_room(room: str) -> str:
    return f"staff:{room}"


def stats_room(room: str) -> str:
    return f"stats:{room}"


class HostGateway(Namespace):
    namespace = "/host"

    def __init__(
        self,
        sio: socketio.AsyncServer,
        rooms: dict[str, RoomRunner],
        metrics: Metrics,
        *,
        secret: str,
        words: WordFilter | None = None,
        shards: dict[str, AudienceShards] | None = None,
    ) -> None:
        super().__init__(metrics)
        self.sio = sio
        self.rooms = rooms  # room id -> its primary shard: staff act there, it mirrors to the rest
        self.shards = shards if shards is not None else {}
        self._secret = secret
        self.words = words or WordFilter([])
        self._staff: dict[str, StaffSession] = {}
        self._watchers: dict[str, int] = {}  # room -> staff sockets watching its feed
        self._tasks: set[asyncio.Task[None]] = set()
        self.handlers: dict[str, tuple[type[BaseModel], Handler]] = {
            "host.watch": (RoomRequest, self.watch),
            "host.unwatch": (RoomRequest, self.unwatch),
            "stats.watch": (RoomRequest, self.stats_watch),
            "chat": (StaffChatRequest, self.say),
            "chat.pin": (PinRequest, self._act("chat.pin")),
            "chat.delete": (MessageRequest, self._act("chat.delete")),
            "mod.mute": (TargetRequest, self._act("mod.mute")),
            "mod.shadow": (TargetRequest, self._act("mod.shadow")),
            "mod.unmute": (TargetRequest, self._act("mod.unmute")),
            "mod.kick": (TargetRequest, self._act("mod.kick")),
            "mod.ban": (TargetRequest, self._act("mod.ban")),
            "mod.unban": (TargetRequest, self._act("mod.unban")),
            "mod.slow": (SlowRequest, self._act("mod.slow")),
            "qa.answer": (AnswerRequest, self._act("qa.answer")),
            "assist.reply": (ReplyRequest, self.assist_reply),
            "spotlight": (SpotlightRequest, self._act("spotlight", CommerceAct)),
            "offer.start": (OfferStartRequest, self._act("offer.start", CommerceAct)),
            "wheel.open": (WheelOpenRequest, self.wheel_open),
            "wheel.spin": (RoomRequest, self._act("wheel.spin", WheelAct)),
            "show.start": (ShowStartRequest, self.show_start),
            "time": (TimeRequest, self.time),
            "concert.cue": (ConcertCueRequest, self._act("concert.cue", ConcertAct)),
        }
        ns = self.namespace
        sio.on("connect", self.connect, namespace=ns)
        sio.on("disconnect", self.disconnect, namespace=ns)
        for event, (model, fn) in self.handlers.items():
            sio.on(event, self._wrap(event, model, fn, label=f"host:{event}"), namespace=ns)
        sio.on("*", self.unknown, namespace=ns)

    # ---- lifecycle ---------------------------------------------------------------------

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            token = HostAuth.model_validate(auth if isinstance(auth, dict) else {}).token
            claims = verify(self._secret, token)
        except (ValidationError, AuthError) as exc:
            reason = first_error(exc) if isinstance(exc, ValidationError) else str(exc)
            self._count_rejected("host:connect", ErrorCode.FORBIDDEN)
            raise socketio.exceptions.ConnectionRefusedError(
                f"forbidden: {reason}", {"code": ErrorCode.FORBIDDEN.value}
            ) from None
        self._staff[sid] = StaffSession(claims)
        self.metrics.connections.labels(self.namespace).inc()
        log.info("staff %r (%s) connected", claims.name, claims.role)
        # after socket.io has sent its CONNECT packet (after we return)
        task = asyncio.get_running_loop().create_task(
            self.sio.emit("welcome", {**claims.wire(), "t": now_ms()}, to=sid, namespace=self.namespace)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        session = self._staff.pop(sid, None)
        if session is None:
            return
        self.metrics.connections.labels(self.namespace).dec()
        for room in session.watching:
            self._watchers[room] -= 1

    async def unknown(self, event: str, sid: str, *args: Any) -> Reply:
        self.metrics.messages_in.labels("host:unknown").inc()
        return self._reject("host:unknown", ErrorCode.BAD_REQUEST, f"unknown event {event[:64]!r}")

    # ---- checks ------------------------------------------------------------------------

    def _authorise(self, sid: str, action: str, room: str) -> tuple[StaffSession, RoomRunner]:
        session = self._staff.get(sid)
        if session is None:
            raise WireError(ErrorCode.FORBIDDEN, "not signed in")
        if not session.claims.may(action):
            raise WireError(ErrorCode.FORBIDDEN, f"a {session.claims.role} may not {action}")
        if not session.claims.covers(room):
            raise WireError(ErrorCode.FORBIDDEN, f"your token does not cover room {room[:64]!r}")
        runner = self.rooms.get(room)
        if runner is None:
            raise WireError(ErrorCode.NOT_FOUND, f"no room {room[:64]!r}")
        return session, runner

    async def _request(
        self, runner: RoomRunner, session: StaffSession, action: str, params: dict[str, Any],
        kind: type[StaffInput] = StaffAct,
    ) -> Reply:
        """Queue a staff action (``kind``: for the social layer, the shop or a show) and wait."""
        staff = Staff(session.claims.name, session.claims.role)
        return await runner.request(lambda ref: kind(ref, staff, action, params))

    def _act(self, action: str, kind: type[StaffInput] = StaffAct) -> Handler:
        """A handler that forwards the validated request to the room as a staff action."""

        async def handle(sid: str, req: Any) -> Reply:
            session, runner = self._authorise(sid, action, req.room)
            return await self._request(runner, session, action, req.model_dump(exclude={"room"}), kind)

        return handle

    # ---- actions -----------------------------------------------------------------------

    async def time(self, sid: str, req: TimeRequest) -> Reply:
        """Clock sync for consoles, as on `/` (NTP-style round trips)."""
        if sid not in self._staff:
            raise WireError(ErrorCode.FORBIDDEN, "not signed in")
        return ok(c=req.c, t=now_ms())

    async def show_start(self, sid: str, req: ShowStartRequest) -> Reply:
        if req.kind == "wheel":  # a wheel show starts with its first betting window
            return await self.wheel_open(sid, WheelOpenRequest(room=req.room, seconds=req.seconds), action="show.start")
        session, runner = self._authorise(sid, "show.start", req.room)
        return await self._request(runner, session, "show.start", {}, ConcertAct)

    async def wheel_open(self, sid: str, req: WheelOpenRequest, action: str = "wheel.open") -> Reply:
        session, runner = self._authorise(sid, action, req.room)
        # the round's seed: unpredictable, fixed now, published (as its hash) before any bet
        params = {"seconds": float(req.seconds), "seed": secrets.token_bytes(32)}
        return await self._request(runner, session, "wheel.open", params, WheelAct)

    async def watch(self, sid: str, req: RoomRequest) -> Reply:
        session, runner = self._authorise(sid, "host.watch", req.room)
        # subscribe first: the feed may then repeat what the snapshot has, never miss it
        if req.room not in session.watching:
            session.watching.add(req.room)
            self._watchers[req.room] = self._watchers.get(req.room, 0) + 1
            await self.sio.enter_room(sid, feed_room(req.room), namespace=self.namespace)
        session.stats.add(req.room)
        await self.sio.enter_room(sid, stats_room(req.room), namespace=self.namespace)
        reply = await self._request(runner, session, "host.watch", {})
        if reply is None or not reply.get("ok"):
            return reply
        return {**reply, "room": runner.info(full=False)}

    async def unwatch(self, sid: str, req: RoomRequest) -> Reply:
        session, _ = self._authorise(sid, "host.unwatch", req.room)
        if req.room in session.watching:
            session.watching.discard(req.room)
            self._watchers[req.room] -= 1
            await self.sio.leave_room(sid, feed_room(req.room), namespace=self.namespace)
        session.stats.discard(req.room)
        await self.sio.leave_room(sid, stats_room(req.room), namespace=self.namespace)
        return ok()

    async def stats_watch(self, sid: str, req: RoomRequest) -> Reply:
        session, _ = self._authorise(sid, "stats.watch", req.room)
        session.stats.add(req.room)
        await self.sio.enter_room(sid, stats_room(req.room), namespace=self.namespace)
        return ok()

    async def say(self, sid: str, req: StaffChatRequest) -> Reply:
        session, runner = self._authorise(sid, "chat", req.room)
        text, filtered = self.words.clean(req.text)
        return await self._request(runner, session, "chat", {"text": text, "filtered": filtered})

    async def assist_reply(self, sid: str, req: ReplyRequest) -> Reply:
        room = ticket_room(req.ticket)
        session, runner = self._authorise(sid, "assist.reply", room)
        params = {"ticket": req.ticket, "text": req.text}
        reply = await self._request(runner, session, "assist.reply", params)
        shards = self.shards.get(room)
        for other in shards.runners[1:] if shards is not None else []:  # the ticket is where its visitor is
            refusal: dict[str, Any] = (reply or {}).get("error") or {}
            if refusal.get("code") != ErrorCode.NOT_FOUND.value:
                break
            reply = await self._request(other, session, "assist.reply", params)
        return reply

    # ---- what rooms send to staff ------------------------------------------------------

    async def feed(self, room: str, event: str, payload: dict[str, Any]) -> None:
        """A room's staff message (chat, ticket, modlog ...) to the consoles watching it."""
        if self._watchers.get(room):
            await self.sio.emit(event, payload, room=feed_room(room), namespace=self.namespace)

    async def publish_stats(self) -> None:
        """Once a second: each watched room's numbers to the consoles that asked."""
        wanted = {room for s in self._staff.values() for room in s.stats}
        for room in wanted:
            runner = self.rooms.get(room)
            if runner is not None and runner.stats:
                stats = runner.stats
                shards = self.shards.get(room)
                if shards is not None and len(shards.runners) > 1:  # attendance of every shard
                    stats = {**stats, "attendees": shards.occupancy, "shards": len(shards.runners)}
                await self.sio.emit("stats", stats, room=stats_room(room), namespace=self.namespace)
