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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio
from pydantic import BaseModel, ValidationError

from server.directory import RoomDirectory
from server.auth import MAX_TOKEN_TTL_S, AuthError, StaffClaims, verify
from server.handlers import Handler, Namespace, Reply, first_error
from server.metrics import Metrics
from server.revocations import Revocations
from server.runner import RoomRunner, now_ms
from server.tasks import TaskSet
from world.social.assistant import ticket_room
from world.protocol import (
    AnswerRequest,
    ConcertCueRequest,
    EmptyRequest,
    ErrorCode,
    HostAuth,
    MessageRequest,
    OfferStartRequest,
    PinRequest,
    ReplyRequest,
    RevokeRequest,
    RoomRequest,
    ScopedTargetRequest,
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
from world.commerce.shop import CommerceAct
from world.shows.concert_show import ConcertAct
from world.shows.wheel_show import WheelAct
from world.social.layer import Staff, StaffAct, default_scope
from world.social.wordfilter import WordFilter

log = logging.getLogger(__name__)

# Every staff action is one of these room inputs: (ref, staff, action, params).
StaffInput = StaffAct | CommerceAct | WheelAct | ConcertAct

STATS_EVERY_S = 1.0
STAFF_LIMIT = 5_000  # staff sessions on one node
EMITS_LIMIT = 10_000  # staff welcomes and session ends in flight
CONSOLE_BACKLOG = 64  # packets queued for one console before it is let go (as visitors: fastio.py)


@dataclass(slots=True)
class StaffSession:
    claims: StaffClaims
    watching: set[str] = field(default_factory=set)  # rooms whose feed it gets
    stats: set[str] = field(default_factory=set)  # rooms whose stats it gets
    since: int = 0  # server ms it signed in
    ends: asyncio.Task[None] | None = None  # ends the session when the token expires
    shed: bool = False  # let go for not reading its feed (see HostGateway._shed_laggards)


def feed_room(room: str) -> str:
    return f"staff:{room}"


def stats_room(room: str) -> str:
    return f"stats:{room}"


class HostGateway(Namespace):
    namespace = "/host"
    # with Redis (set by the app): True while the cluster cannot guarantee a drop's stock
    drops_paused: Callable[[], bool] = staticmethod(lambda: False)

    def __init__(
        self,
        sio: socketio.AsyncServer,
        directory: RoomDirectory,
        metrics: Metrics,
        *,
        secret: str,
        words: WordFilter | None = None,
        revocations: Revocations | None = None,
    ) -> None:
        super().__init__(metrics)
        self.revocations = revocations or Revocations(Path("data"))
        self.revocations.on_revoke(self._revoked)
        self.sio = sio
        # room id -> its primary shard (staff act there, it shares with the rest), and its shards
        self.directory = directory
        self._secret = secret
        self.words = words or WordFilter([])
        self._staff: dict[str, StaffSession] = {}
        self._watchers: dict[str, int] = {}  # room -> staff sockets watching its feed
        # Overload policy: one timer per staff session (ends it when its token expires); at
        # STAFF_LIMIT sessions a new staff connection is refused `unavailable` (counted).
        self._timers = TaskSet("staff_timers", STAFF_LIMIT, metrics)
        # Welcomes and session ends, done in a moment: beyond EMITS_LIMIT at once one is skipped
        # (counted); a revoked or expired token still cannot act (checked on every action).
        self._emits = TaskSet("staff_emits", EMITS_LIMIT, metrics)
        self.handlers: dict[str, tuple[type[BaseModel], Handler]] = {
            "host.watch": (RoomRequest, self.watch),
            "host.unwatch": (RoomRequest, self.unwatch),
            "stats.watch": (RoomRequest, self.stats_watch),
            "chat": (StaffChatRequest, self.say),
            "chat.pin": (PinRequest, self._act("chat.pin")),
            "chat.delete": (MessageRequest, self._act("chat.delete")),
            "mod.mute": (ScopedTargetRequest, self._scoped("mod.mute")),
            "mod.shadow": (ScopedTargetRequest, self._scoped("mod.shadow")),
            "mod.unmute": (ScopedTargetRequest, self._scoped("mod.unmute")),
            "mod.kick": (TargetRequest, self._act("mod.kick")),
            "mod.ban": (ScopedTargetRequest, self._scoped("mod.ban")),
            "mod.unban": (ScopedTargetRequest, self._scoped("mod.unban")),
            "mod.slow": (SlowRequest, self._act("mod.slow")),
            "qa.answer": (AnswerRequest, self._act("qa.answer")),
            "qa.delete": (MessageRequest, self._act("qa.delete")),
            "assist.reply": (ReplyRequest, self.assist_reply),
            "spotlight": (SpotlightRequest, self._act("spotlight", CommerceAct)),
            "offer.start": (OfferStartRequest, self.offer_start),
            "wheel.open": (WheelOpenRequest, self.wheel_open),
            "wheel.spin": (RoomRequest, self._act("wheel.spin", WheelAct)),
            "show.start": (ShowStartRequest, self.show_start),
            "time": (TimeRequest, self.time),
            "staff.list": (EmptyRequest, self.staff_list),
            "staff.revoke": (RevokeRequest, self.staff_revoke),
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
            if self.revocations.is_revoked(claims.jti):
                raise AuthError("token revoked")
        except (ValidationError, AuthError) as exc:
            reason = first_error(exc) if isinstance(exc, ValidationError) else str(exc)
            self._count_rejected("host:connect", ErrorCode.FORBIDDEN)
            raise socketio.exceptions.ConnectionRefusedError(
                f"forbidden: {reason}", {"code": ErrorCode.FORBIDDEN.value}
            ) from None
        if self._timers.full:
            self._count_rejected("host:connect", ErrorCode.UNAVAILABLE)
            raise socketio.exceptions.ConnectionRefusedError(
                "unavailable: too many staff sessions on this node", {"code": ErrorCode.UNAVAILABLE.value}
            )
        session = self._staff[sid] = StaffSession(claims, since=now_ms())
        session.ends = self._timers.spawn(self._end_at_expiry(sid, claims.exp))
        self.metrics.connections.labels(self.namespace).inc()
        log.info("staff %r (%s) connected", claims.name, claims.role)
        # after socket.io has sent its CONNECT packet (after we return)
        self._emits.spawn(self._emit("welcome", {**claims.wire(), "jti": claims.jti, "exp": claims.exp, "t": now_ms()}, sid))

    async def _emit(self, event: str, payload: dict[str, Any], sid: str) -> None:
        await self.sio.emit(event, payload, to=sid, namespace=self.namespace)

    async def _end_at_expiry(self, sid: str, exp: int) -> None:
        """Tell the console and close the session when its token expires (sleeping in steps:
        a token valid for years must not overflow a timer)."""
        while (left := exp - time.time()) > 0:
            await asyncio.sleep(min(left, 3600.0))
        await self._end(sid, "expired")

    async def _end(self, sid: str, reason: str) -> None:
        """``session.end {"reason"}`` to the console, then the server closes its connection."""
        if sid not in self._staff:
            return
        log.info("staff session %s ended: token %s", sid, reason)
        self.metrics.messages_out.labels("session.end").inc()
        try:
            await self.sio.emit("session.end", {"reason": reason}, to=sid, namespace=self.namespace)
        finally:
            await self.sio.disconnect(sid, namespace=self.namespace)

    def sessions_with(self, jti: str) -> list[StaffSession]:
        return [s for s in self._staff.values() if s.claims.jti == jti]

    def _revoked(self, jti: str) -> None:
        """A token was revoked (here or on another node): its sessions end now."""
        for sid, session in list(self._staff.items()):
            if session.claims.jti == jti:
                self._emits.spawn(self._end(sid, "revoked"))

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        session = self._staff.pop(sid, None)
        if session is None:
            return
        if session.ends is not None and session.ends is not asyncio.current_task():
            session.ends.cancel()
        self.metrics.connections.labels(self.namespace).dec()
        for room in session.watching:
            self._watchers[room] -= 1

    async def unknown(self, event: str, sid: str, *args: Any) -> Reply:
        self.metrics.messages_in.labels("host:unknown").inc()
        return self._reject("host:unknown", ErrorCode.BAD_REQUEST, f"unknown event {event[:64]!r}")

    # ---- checks ------------------------------------------------------------------------

    def _authorise(self, sid: str, action: str, room: str) -> tuple[StaffSession, RoomRunner]:
        session = self._signed_in(sid)
        if not session.claims.may(action):
            raise WireError(ErrorCode.FORBIDDEN, f"a {session.claims.role} may not {action}")
        if not session.claims.covers(room):
            raise WireError(ErrorCode.FORBIDDEN, f"your token does not cover room {room[:64]!r}")
        runner = self.directory.get(room)
        if runner is None:
            raise WireError(ErrorCode.NOT_FOUND, f"no room {room[:64]!r}")
        return session, runner

    def _signed_in(self, sid: str) -> StaffSession:
        """The session, if its token is still good: an expired or revoked token acts no more,
        even in the moment before its connection is closed."""
        session = self._staff.get(sid)
        if session is None:
            raise WireError(ErrorCode.FORBIDDEN, "not signed in")
        if session.claims.exp <= time.time():
            raise WireError(ErrorCode.FORBIDDEN, "token expired: sign in again")
        if self.revocations.is_revoked(session.claims.jti):
            raise WireError(ErrorCode.FORBIDDEN, "token revoked")
        return session

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

    async def offer_start(self, sid: str, req: OfferStartRequest) -> Reply:
        """A drop, unless Redis is away: then it would exist on this node only (sold here,
        unknown to the others), so it is refused until the cluster is whole again."""
        if self.drops_paused():
            self._authorise(sid, "offer.start", req.room)
            raise WireError(ErrorCode.UNAVAILABLE, "drops cannot start while the cluster is cut off from Redis: try again in a moment")
        return await self._act("offer.start", CommerceAct)(sid, req)

    def _scoped(self, action: str) -> Handler:
        """A moderation action for one room or, with ``scope: "event"``, for every room the
        staff token covers (see :meth:`_fan_out`)."""

        async def handle(sid: str, req: ScopedTargetRequest) -> Reply:
            session, runner = self._authorise(sid, action, req.room)
            params = {**req.model_dump(exclude={"room"}), "scope": req.scope or default_scope(action)}
            reply = await self._request(runner, session, action, params)
            if params["scope"] == "room":
                return reply
            return await self._fan_out(session, action, req.room, params, reply)

        return handle

    async def _fan_out(self, session: StaffSession, action: str, asked: str, params: dict[str, Any],
                       reply: Reply) -> Reply:
        """An event-wide action, done in room ``asked``, to the primary shard of every other
        room the token covers (each shares it with its other shards and nodes, as any staff
        action). A mute or ban needs ``asked`` to know the visitor (a typo bans no one); it
        then names the visitor to rooms that have not seen it yet. An unmute or unban is
        done wherever there is one to lift."""
        first_ok = bool(reply and reply.get("ok"))
        if action in ("mod.mute", "mod.shadow", "mod.ban"):
            if not first_ok:
                return reply
            params = {**params, "name": (reply or {}).get("name")}
        others = [room for room in self.directory if room != asked and session.claims.covers(room)]
        replies = await asyncio.gather(*(self._request(self.directory[room], session, action, params) for room in others))
        done = ([asked] if first_ok else []) + [room for room, r in zip(others, replies) if r and r.get("ok")]
        if not done:
            return reply
        best = reply if first_ok else next(r for r in replies if r and r.get("ok"))
        return {**(best or {}), "rooms": done}

    # ---- actions -----------------------------------------------------------------------

    async def time(self, sid: str, req: TimeRequest) -> Reply:
        """Clock sync for consoles, as on `/` (NTP-style round trips)."""
        self._signed_in(sid)
        return ok(c=req.c, t=now_ms())

    async def staff_list(self, sid: str, req: EmptyRequest) -> Reply:
        """The staff signed in on this node (hosts only): who, with which token, until when."""
        me = self._signed_in(sid)
        if not me.claims.may("staff.list"):
            raise WireError(ErrorCode.FORBIDDEN, f"a {me.claims.role} may not staff.list")
        people = [{**s.claims.wire(), "jti": s.claims.jti, "exp": s.claims.exp, "since": s.since, "you": other == sid}
                  for other, s in self._staff.items()]
        return ok(staff=sorted(people, key=lambda p: p["since"]))

    async def staff_revoke(self, sid: str, req: RevokeRequest) -> Reply:
        """Revoke a token by its id: every session signed in with it ends, on every node."""
        me = self._signed_in(sid)
        if not me.claims.may("staff.revoke"):
            raise WireError(ErrorCode.FORBIDDEN, f"a {me.claims.role} may not staff.revoke")
        known = [s.claims.exp for s in self.sessions_with(req.jti)]
        # a token not signed in here may be in use elsewhere: keep it revoked as long as a token can live
        exp = max(known) if known else int(time.time()) + MAX_TOKEN_TTL_S
        shared = await self.revocations.revoke(req.jti, exp)
        log.warning("staff %r revoked token %r", me.claims.name, req.jti)
        return ok(ended=len(known), cluster="ok" if shared else "pending")

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
        shards = self.directory.audience(room)
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
            self._shed_laggards(room, feed_room(room))
            await self.sio.emit(event, payload, room=feed_room(room), namespace=self.namespace)

    def _shed_laggards(self, room: str, channel: str) -> None:
        """Overload policy for a console that stops reading: socket.io would queue every
        emit for it without end; past CONSOLE_BACKLOG queued packets its session ends
        (counted in vetrina_dropped_inputs_total{reason="slow_console"}); the console signs
        in again and a `host.watch` gives it the room as it stands."""
        for sid, eio_sid in list(self.sio.manager.get_participants(self.namespace, channel)):
            sock = self.sio.eio.sockets.get(eio_sid)
            session = self._staff.get(sid)
            if sock is not None and session is not None and not session.shed and sock.queue.qsize() > CONSOLE_BACKLOG:
                session.shed = True
                self.metrics.dropped.labels(room, "slow_console").inc()
                self._emits.spawn(self.sio.disconnect(sid, namespace=self.namespace))

    async def publish_stats(self) -> None:
        """Once a second: each watched room's numbers to the consoles that asked."""
        wanted = {room for s in self._staff.values() for room in s.stats}
        for room in wanted:
            runner = self.directory.get(room)
            if runner is not None and runner.stats:
                stats = runner.stats
                shards = self.directory.audience(room)
                if shards is not None and len(shards.runners) > 1:  # attendance of every shard
                    stats = {**stats, "attendees": shards.occupancy, "shards": len(shards.runners)}
                self._shed_laggards(room, stats_room(room))
                await self.sio.emit("stats", stats, room=stats_room(room), namespace=self.namespace)
