"""A visitor session's server-side state, from its first connection until its resume grace
runs out. Flood allowances (chat, reactions, shop) are kept per *visitor* (server/identity/),
shared by all of its sessions on this node: a reconnect, a new tab or ten fresh connections
of one visitor do not refill them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from server.identity.resolver import Caller
from server.ratelimit import TokenBucket
from server.runner import RoomRunner
from server.visitors import Visitor
from world.core.room import Input
from world.protocol import ErrorCode, WireError

# Overload policy for one visitor's requests waiting on a room's tick: beyond this many at
# once, the next is answered `rate_limited` (counted) and never queued, so one client cannot
# fill a room's inbox. (Over a websocket socket.io handles a connection's events one at a
# time, but a long-polling client can send many POSTs at once, each handled concurrently.)
PENDING_LIMIT = 16

Limit = tuple[float, float]  # tokens per second, burst


@dataclass(frozen=True, slots=True)
class Limits:
    """Flood limits per visitor (token buckets: see server/ratelimit.py)."""

    moves: Limit = (30.0, 30.0)
    chat: Limit = (1.0, 5.0)  # chat, questions and assistant messages
    react: Limit = (10.0, 20.0)
    shop: Limit = (5.0, 20.0)  # shop and game requests
    pose: Limit = (20.0, 10.0)  # VR poses


@dataclass(slots=True)
class VisitorSession:
    visitor: Visitor
    limits: Limits
    moves: TokenBucket
    eio_sid: str | None = None  # its live engine.io session, for pre-encoded sends
    runner: RoomRunner | None = None  # the shard of its room it was placed in
    pending: int = 0  # its requests waiting for a room's answer
    buckets: dict[str, TokenBucket] = field(default_factory=dict)  # chat, react, shop, pose: the visitor's
    caller: Caller | None = None  # who connected last, from where (server/identity/resolver.py)

    def allow(self, kind: str, what: str) -> None:
        """Take a token from the ``kind`` bucket (a field of :class:`Limits`), or refuse."""
        now = time.monotonic()
        bucket = self.buckets.get(kind)
        if bucket is None:
            rate, burst = getattr(self.limits, kind)
            bucket = self.buckets[kind] = TokenBucket(rate, burst, now)
        if not bucket.take(now):
            raise WireError(ErrorCode.RATE_LIMITED, f"too many {what}: slow down")

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """One of the visitor's PENDING_LIMIT requests in flight, for the block's duration."""
        if self.pending >= PENDING_LIMIT:
            raise WireError(ErrorCode.RATE_LIMITED, "too many requests waiting for the room: wait for their answers")
        self.pending += 1
        try:
            yield
        finally:
            self.pending -= 1

    async def request(self, runner: RoomRunner, make: Callable[[int], Input]) -> dict[str, Any]:
        """A request to the room, within the visitor's PENDING_LIMIT."""
        with self.waiting():
            return await runner.request(make)


class Sessions:
    """Every visitor this node holds (connected, or within its resume grace), by avatar id,
    and the live connections that lead to them."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._by_avatar: dict[int, VisitorSession] = {}
        self._by_sid: dict[str, tuple[VisitorSession, str]] = {}  # socket.io sid -> (session, engine.io sid)
        self._by_eio: dict[str, VisitorSession] = {}  # engine.io sid (the fast path)
        # visitor key -> (its allowances, how many of its sessions this node holds)
        self._allowances: dict[str, tuple[dict[str, TokenBucket], int]] = {}

    def __len__(self) -> int:
        return len(self._by_avatar)

    def open(self, v: Visitor, sid: str, eio_sid: str) -> VisitorSession:
        """The visitor's session (new, or the one it resumes) on a new connection."""
        s = self._by_avatar.get(v.id)
        now = time.monotonic()
        if s is None or s.visitor is not v:
            s = self._by_avatar[v.id] = VisitorSession(v, self.limits, TokenBucket(*self.limits.moves, now))
            s.buckets = self._share_allowances(v.who.key)
        else:  # moves are allowed per connection, as they always were: a new one starts full
            s.moves = TokenBucket(*self.limits.moves, now)
        s.eio_sid = eio_sid
        self._by_sid[sid] = (s, eio_sid)
        self._by_eio[eio_sid] = s
        return s

    def close(self, sid: str) -> VisitorSession | None:
        """A connection ended; its visitor's session stays (see :meth:`drop`)."""
        conn = self._by_sid.pop(sid, None)
        if conn is None:
            return None
        self._by_eio.pop(conn[1], None)
        return conn[0]

    def drop(self, avatar: int) -> VisitorSession | None:
        """The session is gone for good (its grace ran out)."""
        s = self._by_avatar.pop(avatar, None)
        if s is not None:
            key = s.visitor.who.key
            buckets, held = self._allowances.get(key, (s.buckets, 1))
            if held <= 1:
                self._allowances.pop(key, None)
            else:
                self._allowances[key] = (buckets, held - 1)
        return s

    def _share_allowances(self, key: str) -> dict[str, TokenBucket]:
        buckets, held = self._allowances.get(key, ({}, 0))
        self._allowances[key] = (buckets, held + 1)
        return buckets

    def by_sid(self, sid: str) -> VisitorSession | None:
        conn = self._by_sid.get(sid)
        return conn[0] if conn is not None else None

    def by_eio(self, eio_sid: str) -> VisitorSession | None:
        return self._by_eio.get(eio_sid)

    def by_avatar(self, avatar: int) -> VisitorSession | None:
        return self._by_avatar.get(avatar)

    def held(self) -> list[Visitor]:
        return [s.visitor for s in self._by_avatar.values()]
