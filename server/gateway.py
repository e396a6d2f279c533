"""Socket.IO handlers for visitors: validate, then enqueue into the room. No game logic here.

Every event is declared once in a table with its pydantic model (see server/handlers.py for
the shared wrapper). Flood limits (token buckets per visitor) and the word filter apply here,
at the edge; everything that changes a room goes into its inbox.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgpack
import socketio
from pydantic import BaseModel, ValidationError

from server import fastio
from server.auth import PERMISSIONS
from server.cluster import Cluster, ClusterUnavailable
from server.handlers import Handler, Namespace, Reply, first_error
from server.metrics import Metrics
from server.packets import MALFORMED_EVENT
from server.runner import RoomRunner, now_ms
from server.shards import AudienceShards
from world.commerce.shop import CartAdd, CartGet, OfferSettled, ProductTry, ProductView
from world.replication.mirror import Mirror
from world.protocol import (
    AskRequest,
    AssistRequest,
    BetRequest,
    CartAddRequest,
    ChatRequest,
    ClaimRequest,
    ConnectAuth,
    EmptyRequest,
    ErrorCode,
    JoinRequest,
    MoveRequest,
    PoseRequest,
    ProductRequest,
    ReactRequest,
    TimeRequest,
    TryRequest,
    VoteRequest,
    WireError,
    ok,
)
from server.ratelimit import TokenBucket
from world.core.room import Attach, Detach, Input, Join, Leave, SetPose
from world.shows.wheel_show import PlaceBet
from world.social.layer import Ask, AssistAsk, React, Say, Vote
from server.visitors import Arrival, Visitor, Visitors
from world.social.wordfilter import WordFilter

log = logging.getLogger(__name__)

# Host actions: a visitor socket sending one is refused with `forbidden` (and counted).
HOST_EVENTS = PERMISSIONS["host"] - {"chat"}
SHOP_LIMIT = (5.0, 20.0)  # shop and game requests per second per visitor, burst  # `chat` exists for visitors too
POSE_LIMIT = (20.0, 10.0)  # VR poses per second per visitor, burst


@dataclass(slots=True)
class Connection:
    """One live visitor socket: who it is and its move allowance."""

    visitor: Visitor
    eio_sid: str
    moves: TokenBucket


class VisitorGateway(Namespace):
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
        chat_rate: float = 1.0,
        chat_burst: float = 5.0,
        react_rate: float = 10.0,
        react_burst: float = 20.0,
        words: WordFilter | None = None,
        cluster: Cluster | None = None,
    ) -> None:
        super().__init__(metrics)
        self.cluster = cluster
        self.sio = sio
        self.rooms = rooms  # room id -> its primary shard
        self.shards: dict[str, AudienceShards] = {}  # room id -> all its shards (filled by the app)
        self._runner_of: dict[int, RoomRunner] = {}  # avatar id -> the shard it is in
        self.visitors = visitors
        self._move_rate = move_rate
        self._move_burst = move_burst
        self._chat_limit = (chat_rate, chat_burst)
        self._react_limit = (react_rate, react_burst)
        self.words = words or WordFilter([])
        # per visitor (not per socket: reconnecting must not refill them)
        self._chat_buckets: dict[int, TokenBucket] = {}
        self._react_buckets: dict[int, TokenBucket] = {}
        self._shop_buckets: dict[int, TokenBucket] = {}
        self._pose_buckets: dict[int, TokenBucket] = {}
        self._eio_sid: dict[int, str] = {}  # avatar id -> engine.io session, for pre-encoded sends
        self._conns: dict[str, Connection] = {}  # by socket.io sid
        self._conns_eio: dict[str, Connection] = {}  # by engine.io sid (the fast path)
        # every visitor this node holds (connected, or within its resume grace), by session:
        # the cluster keeps their sessions and carried state alive in Redis meanwhile
        self._held: dict[str, Visitor] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._moves_in = metrics.messages_in.labels("move")
        self.handlers: dict[str, tuple[type[BaseModel], Handler]] = {
            "join": (JoinRequest, self.join),
            "leave": (EmptyRequest, self.leave),
            "move": (MoveRequest, self.move),
            "pose": (PoseRequest, self.pose),
            "time": (TimeRequest, self.time),
            "chat": (ChatRequest, self.chat),
            "react": (ReactRequest, self.react),
            "qa.ask": (AskRequest, self.qa_ask),
            "qa.vote": (VoteRequest, self.qa_vote),
            "assist": (AssistRequest, self.assist),
            "product.view": (ProductRequest, self.product_view),
            "product.try": (TryRequest, self.product_try),
            "cart.add": (CartAddRequest, self.cart_add),
            "cart.get": (EmptyRequest, self.cart_get),
            "offer.claim": (ClaimRequest, self.offer_claim),
            "bet": (BetRequest, self.bet),
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

    def _visitor(self, sid: str) -> Visitor:
        v = self.visitors.by_sid(sid)
        if v is None:  # connect handler refused or the session is gone
            raise WireError(ErrorCode.NOT_JOINED, "no visitor for this connection")
        return v

    def send_now(self, avatar: int, pkt: bytes) -> bool | None:
        """Send without awaiting when the socket allows it (see fastio.write_direct);
        None: use :meth:`send_to_avatar`."""
        eio_sid = self._eio_sid.get(avatar)
        if eio_sid is None:
            return True
        return fastio.write_direct(self.sio.eio, eio_sid, pkt)

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
            self._count_rejected("connect", ErrorCode.BAD_REQUEST)
            raise socketio.exceptions.ConnectionRefusedError(
                f"bad_request: {first_error(exc)}", {"code": ErrorCode.BAD_REQUEST.value}
            ) from None
        now = now_ms()
        arrival = await self._resume_elsewhere(sid, creds.resume) if creds.resume else None
        if arrival is None:
            arrival = self.visitors.connect(sid, creds.name, creds.look.wire(), creds.resume, now)
        v = arrival.visitor
        self._held[v.session] = v
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, self.namespace)
        self._eio_sid[v.id] = eio_sid
        conn = Connection(v, eio_sid, TokenBucket(self._move_rate, self._move_burst, time.monotonic()))
        self._conns[sid] = conn
        self._conns_eio[eio_sid] = conn
        self.metrics.connections.labels(self.namespace).inc()
        self.metrics.visitors.set(len(self.visitors))
        runner = self._shard_of(v)
        if arrival.resumed and runner is not None:
            runner.submit(Attach(v.id))
        self._remember(v)
        # Welcome goes out after socket.io has sent its CONNECT packet (after we return).
        self._spawn(self._welcome(sid, v, arrival.replaced_sid))

    async def _resume_elsewhere(self, sid: str, token: str) -> Arrival | None:
        """A resume token this node does not know may be from another node of the cluster:
        the visitor comes back with its avatar id, name, look, and in its room."""
        if self.cluster is None or self.visitors.knows(token):
            return None
        body = await self.cluster.load_session(token)
        if body is None or self.visitors.knows(token):
            return None
        try:
            room = body.get("room") if body.get("room") in self.rooms else None
            arrival = self.visitors.adopt(sid, token, int(body["id"]), str(body["name"]), dict(body["look"]), room)
        except (KeyError, TypeError, ValueError):
            return None
        v = arrival.visitor
        if room is not None:  # back in the room (at a spawn point); its client's re-join is idempotent
            carry = await self.cluster.load_carry(v.id)  # its cart, orders, balance and bets
            shards = self.shards[room]
            runner = self._runner_of[v.id] = shards.place()
            if carry is not None:
                runner.submit(Mirror("handover", carry))
            runner.submit(Join(0, v.id, v.name, v.look, v.session))
            shards.placed(runner)
        self.metrics.messages_in.labels("resume-cross-node").inc()
        return arrival

    def held(self) -> list[Visitor]:
        """The visitors this node holds: connected, or disconnected within their grace."""
        return list(self._held.values())

    def _shard_of(self, v: Visitor) -> RoomRunner | None:
        """The shard of its room the visitor is in (None: in no room)."""
        if v.room is None:
            return None
        runner = self._runner_of.get(v.id)
        return runner if runner is not None and runner.room == v.room else self.rooms.get(v.room)

    def _spread(self, room: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Shared items made here (not by a room's tick): to every shard of the room, every node."""
        self.shards[room].share(None, items)
        if self.cluster is not None:
            self.cluster.share(room, items)

    def _remember(self, v: Visitor) -> None:
        """Keep the visitor's session where any node can resume it (without waiting for Redis)."""
        if self.cluster is not None:
            self._spawn(self.cluster.save_session(v))

    async def settle(self, timeout_s: float = 2.0) -> None:
        """Let the session writes still in flight finish (before the cluster closes its pool:
        a write started after that would open a connection nobody closes)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
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
        runner = self._shard_of(v)
        if runner is not None:
            runner.submit(Detach(v.id))

    def sweep(self) -> None:
        """Visitors whose grace period ran out leave their rooms for good."""
        for v in self.visitors.expire(now_ms()):
            self._held.pop(v.session, None)
            self._chat_buckets.pop(v.id, None)
            self._react_buckets.pop(v.id, None)
            self._shop_buckets.pop(v.id, None)
            self._pose_buckets.pop(v.id, None)
            runner = self._shard_of(v)
            if runner is not None:
                runner.submit(Leave(v.id))
            self._runner_of.pop(v.id, None)
        self.metrics.visitors.set(len(self.visitors))

    # ---- events ------------------------------------------------------------------------

    async def join(self, sid: str, req: JoinRequest) -> Reply:
        v = self._visitor(sid)
        shards = self.shards.get(req.room)
        if shards is None:
            raise WireError(ErrorCode.NOT_FOUND, f"no room {req.room[:64]!r}")
        current = self._shard_of(v)
        if current is not None and v.room != req.room:
            current.submit(Leave(v.id))
            v.room = None
            current = None
        # joining again: the same shard; with a friend: the friend's shard when it has room
        friend = self._runner_of.get(req.with_) if req.with_ is not None else None
        runner = current or shards.place(near=friend)
        try:
            reply = await runner.request(lambda ref: Join(ref, v.id, v.name, v.look, v.session))
        finally:
            if current is None:
                shards.placed(runner)
        if reply.get("ok"):
            v.room = req.room
            self._runner_of[v.id] = runner
            self._remember(v)
        return reply

    async def leave(self, sid: str, req: EmptyRequest) -> Reply:
        v = self._visitor(sid)
        runner = self._shard_of(v)
        if runner is None:
            raise WireError(ErrorCode.NOT_JOINED, "you are not in a room")
        v.room = None
        self._runner_of.pop(v.id, None)
        self._remember(v)
        return await runner.request(lambda ref: Leave(v.id, ref))

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
        p = req.p
        runner = self._runner_of.get(v.id) or self.rooms[v.room]
        runner.submit_move(v.id, float(p[0]), float(p[1]), float(p[2]), float(req.yaw), req.seq, now_ms())

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

    async def pose(self, sid: str, req: PoseRequest) -> Reply:
        """A VR pose (head and hands; ``{}`` clears it): into the room's next tick."""
        v, runner = self._in_room(sid)
        self._allow(self._pose_buckets, POSE_LIMIT, v, "poses")
        flags, values = req.parts()
        runner.submit(SetPose(v.id, flags, values))
        return ok()  # sent only when the client asked for an ack

    async def time(self, sid: str, req: TimeRequest) -> Reply:
        return ok(c=req.c, t=now_ms())

    def rejoin(self, runner: RoomRunner) -> list[Input]:
        """Inputs that put every visitor of a shard back after it restarted empty."""
        inputs: list[Input] = []
        for v in self.visitors.in_room(runner.room):
            if self._shard_of(v) is not runner:
                continue
            inputs.append(Join(0, v.id, v.name, v.look, v.session))  # ref 0: nobody waits
            if v.sid is None:
                inputs.append(Detach(v.id))
        return inputs

    def removed(self, runner_id: str, avatar: int) -> None:
        """Staff removed the avatar from a shard (kick, ban): its visitor is in no room now."""
        v = self.visitors.by_id(avatar)
        shard = self._shard_of(v) if v is not None else None
        if v is not None and shard is not None and shard.id == runner_id:
            v.room = None
            self._runner_of.pop(avatar, None)

    # ---- social ------------------------------------------------------------------------

    def _in_room(self, sid: str) -> tuple[Visitor, RoomRunner]:
        v = self._visitor(sid)
        runner = self._shard_of(v)
        if runner is None:
            raise WireError(ErrorCode.NOT_JOINED, "join a room first")
        return v, runner

    def _shop(self, sid: str) -> tuple[Visitor, RoomRunner]:
        """The visitor and room for a shop or game request, within the visitor's allowance
        (a try-on re-announces the avatar to everyone near it: not something to flood)."""
        v, runner = self._in_room(sid)
        self._allow(self._shop_buckets, SHOP_LIMIT, v, "shop and game requests")
        return v, runner

    def _allow(self, buckets: dict[int, TokenBucket], limit: tuple[float, float], v: Visitor, what: str) -> None:
        bucket = buckets.get(v.id)
        now = time.monotonic()
        if bucket is None:
            bucket = buckets[v.id] = TokenBucket(limit[0], limit[1], now)
        if not bucket.take(now):
            raise WireError(ErrorCode.RATE_LIMITED, f"too many {what}: slow down")

    async def chat(self, sid: str, req: ChatRequest) -> Reply:
        v, runner = self._in_room(sid)
        self._allow(self._chat_buckets, self._chat_limit, v, "messages")
        text, filtered = self.words.clean(req.text)
        return await runner.request(lambda ref: Say(ref, v.id, text, req.scope, filtered))

    async def react(self, sid: str, req: ReactRequest) -> Reply:
        v, runner = self._in_room(sid)
        if req.emoji not in runner.config.reactions:
            raise WireError(ErrorCode.BAD_REQUEST, f"emoji {req.emoji!r} is not one of this room's reactions")
        self._allow(self._react_buckets, self._react_limit, v, "reactions")
        runner.submit(React(v.id, req.emoji))
        return ok()  # sent only when the client asked for an ack

    async def qa_ask(self, sid: str, req: AskRequest) -> Reply:
        v, runner = self._in_room(sid)
        self._allow(self._chat_buckets, self._chat_limit, v, "messages")
        text, _ = self.words.clean(req.text)
        return await runner.request(lambda ref: Ask(ref, v.id, text))

    async def qa_vote(self, sid: str, req: VoteRequest) -> Reply:
        v, runner = self._in_room(sid)
        return await runner.request(lambda ref: Vote(ref, v.id, req.id))

    async def assist(self, sid: str, req: AssistRequest) -> Reply:
        v, runner = self._in_room(sid)
        self._allow(self._chat_buckets, self._chat_limit, v, "messages")
        text, _ = self.words.clean(req.text)
        return await runner.request(lambda ref: AssistAsk(ref, v.id, text))

    # ---- commerce ----------------------------------------------------------------------

    async def product_view(self, sid: str, req: ProductRequest) -> Reply:
        v, runner = self._shop(sid)
        return await runner.request(lambda ref: ProductView(ref, v.id, req.product))

    async def product_try(self, sid: str, req: TryRequest) -> Reply:
        v, runner = self._shop(sid)
        reply = await runner.request(lambda ref: ProductTry(ref, v.id, req.product, req.variant))
        if reply.get("ok"):  # the look a resumed or rejoining visitor comes back with
            v.look = {**v.look, "wear": reply["wear"]}
            self._remember(v)
        return reply

    async def cart_add(self, sid: str, req: CartAddRequest) -> Reply:
        v, runner = self._shop(sid)
        return await runner.request(lambda ref: CartAdd(ref, v.id, req.product, req.variant, req.qty))

    async def cart_get(self, sid: str, req: EmptyRequest) -> Reply:
        v, runner = self._shop(sid)
        return await runner.request(lambda ref: CartGet(ref, v.id))

    async def offer_claim(self, sid: str, req: ClaimRequest) -> Reply:
        v, runner = self._shop(sid)
        shards = self.shards[runner.room]
        # One decision in this process (or Redis, with several nodes), then the shard records
        # it: the order is decided outside the room worker, so it survives the worker.
        try:
            ledger = self.cluster if self.cluster is not None else shards.ledger
            decided = await ledger.claim(req.offer, v.id, now_ms())
        except ClusterUnavailable:
            raise WireError(ErrorCode.UNAVAILABLE, "drops are paused for a moment: try again") from None
        if decided is None:
            raise WireError(ErrorCode.NOT_FOUND, f"no offer {req.offer[:64]!r}")
        outcome, order, stock = decided
        if outcome == "sold_out":
            raise WireError(ErrorCode.SOLD_OUT, "sold out")
        if outcome == "closed":
            raise WireError(ErrorCode.CLOSED, "this offer has ended")
        self._spread(runner.room, [("stock", {"offer": req.offer, "stock": stock})])
        return await runner.request(lambda ref: OfferSettled(ref, v.id, req.offer, order, stock))

    async def bet(self, sid: str, req: BetRequest) -> Reply:
        v, runner = self._shop(sid)
        bet_id = req.id or secrets.token_hex(8)  # without an id, every bet is a new one
        return await runner.request(lambda ref: PlaceBet(ref, v.id, req.round, req.segment, req.amount, bet_id))

