"""The avatar core's events: join and leave a room, move, VR pose, clock sync."""

from __future__ import annotations

import time

from server.handlers import Reply
from server.runner import now_ms
from server.visitor import Events, Gateway
from server.visitor.session import VisitorSession
from world.core.room import Join, Leave, SetPose
from world.protocol import (
    EmptyRequest,
    ErrorCode,
    JoinRequest,
    MoveRequest,
    PoseRequest,
    TimeRequest,
    WireError,
    ok,
)



async def join(gw: Gateway, sid: str, req: JoinRequest) -> Reply:
    s = gw.session(sid)
    v = s.visitor
    shards = gw.directory.audience(req.room)
    if shards is None:
        raise WireError(ErrorCode.NOT_FOUND, f"no room {req.room[:64]!r}")
    current = gw.shard_of(s)
    if current is not None and v.room != req.room:
        current.submit(Leave(v.id))
        v.room = None
        current = None
    # joining again: the same shard; with a friend: the friend's shard when it has room
    friend = gw.sessions.by_avatar(req.with_) if req.with_ is not None else None
    runner = current or shards.place(near=friend.runner if friend is not None else None)
    try:
        reply = await s.request(runner, lambda ref: Join(ref, v.id, v.name, v.look, v.who))
    finally:
        if current is None:
            shards.placed(runner)
    if reply.get("ok"):
        v.room = req.room
        s.runner = runner
        gw.remember(v)
    return reply


async def leave(gw: Gateway, sid: str, req: EmptyRequest) -> Reply:
    s = gw.session(sid)
    runner = gw.shard_of(s)
    if runner is None:
        raise WireError(ErrorCode.NOT_JOINED, "you are not in a room")
    v = s.visitor
    v.room = None
    s.runner = None
    gw.remember(v)
    return await s.request(runner, lambda ref: Leave(v.id, ref))


async def move(gw: Gateway, sid: str, req: MoveRequest) -> Reply:
    s = gw.sessions.by_sid(sid)
    if s is None:
        raise WireError(ErrorCode.NOT_JOINED, "no visitor for this connection")
    submit_move(gw, s, req)
    return None  # moves are never acked; refusals come back as `correct`


def submit_move(gw: Gateway, s: VisitorSession, req: MoveRequest) -> None:
    """A move into its shard's next tick (also called by the engine.io fast path)."""
    v = s.visitor
    if v.room is None:
        raise WireError(ErrorCode.NOT_JOINED, "join a room before moving")
    if not s.moves.take(time.monotonic()):
        raise WireError(ErrorCode.RATE_LIMITED, "too many moves")
    p = req.p
    runner = s.runner or gw.directory[v.room]
    runner.submit_move(v.id, float(p[0]), float(p[1]), float(p[2]), float(req.yaw), req.seq, now_ms())


async def pose(gw: Gateway, sid: str, req: PoseRequest) -> Reply:
    """A VR pose (head and hands; ``{}`` clears it): into the room's next tick."""
    s, runner = gw.in_room(sid)
    s.allow("pose", "poses")
    flags, values = req.parts()
    runner.submit(SetPose(s.visitor.id, flags, values))  # a full inbox drops it, as a move (counted)
    return ok()  # sent only when the client asked for an ack


async def time_sync(gw: Gateway, sid: str, req: TimeRequest) -> Reply:
    return ok(c=req.c, t=now_ms())


EVENTS: Events = {
    "join": (JoinRequest, join),
    "leave": (EmptyRequest, leave),
    "move": (MoveRequest, move),
    "pose": (PoseRequest, pose),
    "time": (TimeRequest, time_sync),
}
