"""Visitor sessions: resume tokens and the reconnect grace period. Time is server ms.

A session keeps its avatar id, room and position across a dropped connection: reconnecting
with its ``session`` token within ``grace_ms`` resumes it; after that it is gone for good.
The visitor behind it (``identity``, server/identity/) outlives its sessions: a new tab or a
later visit is a new session (a new avatar id) of the same visitor.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from server.identity.device import Identity
from world.feature import Who


@dataclass(slots=True)
class Visitor:
    id: int
    session: str
    name: str
    look: dict[str, Any]
    sid: str | None = None  # the live connection, if any
    room: str | None = None
    disconnected_at: int | None = None
    identity: Identity = field(default_factory=lambda: Identity(""))
    addr: str | None = None  # keyed hash of the address it connected from

    @property
    def who(self) -> Who:
        if not self.identity.key:  # a session from before identities (an old node's Redis entry)
            return Who.of_avatar(self.id)
        return Who(self.identity.key, self.addr, self.identity.customer)


@dataclass(slots=True)
class Arrival:
    visitor: Visitor
    resumed: bool
    replaced_sid: str | None  # an older connection of the same visitor, to be closed


class Visitors:
    def __init__(self, *, grace_ms: int = 30_000, first_id: int = 1) -> None:
        self.grace_ms = grace_ms
        self._next_id = first_id
        self._by_session: dict[str, Visitor] = {}
        self._by_sid: dict[str, Visitor] = {}
        self._by_id: dict[int, Visitor] = {}

    def __len__(self) -> int:
        return len(self._by_session)

    def connect(self, sid: str, name: str, look: dict[str, Any], resume: str | None, now: int,
                identity: Identity | None = None, addr: str | None = None) -> Arrival:
        v = self._by_session.get(resume) if resume else None
        if v is not None and v.disconnected_at is not None and now - v.disconnected_at > self.grace_ms:
            v = None  # expired but not swept yet: a fresh start
        if v is not None:
            replaced = v.sid
            if replaced is not None:
                self._by_sid.pop(replaced, None)
            v.sid = sid
            v.disconnected_at = None
            self._by_sid[sid] = v
            return Arrival(v, True, replaced)
        v = Visitor(id=self._next_id, session=secrets.token_urlsafe(18), name=name, look=look, sid=sid,
                    identity=identity or Identity(""), addr=addr)
        self._next_id += 1
        self._by_session[v.session] = v
        self._by_sid[sid] = v
        self._by_id[v.id] = v
        return Arrival(v, False, None)

    def start_ids_at(self, first_id: int) -> None:
        """Hand out avatar ids from ``first_id`` on (a node's block in a cluster)."""
        self._next_id = max(self._next_id, first_id)

    def adopt(self, sid: str, session: str, avatar: int, name: str, look: dict[str, Any], room: str | None,
              identity: Identity | None = None, addr: str | None = None) -> Arrival:
        """A visitor resuming here whose session began on another node: same id, name, look,
        room and visitor."""
        if session in self._by_session or avatar in self._by_id:
            raise ValueError("that visitor is already here")
        v = Visitor(id=avatar, session=session, name=name, look=look, sid=sid, room=room,
                    identity=identity or Identity(""), addr=addr)
        self._by_session[session] = v
        self._by_sid[sid] = v
        self._by_id[avatar] = v
        return Arrival(v, True, None)

    def knows(self, session: str) -> bool:
        return session in self._by_session

    def by_id(self, avatar: int) -> Visitor | None:
        return self._by_id.get(avatar)

    def in_room(self, room: str) -> list[Visitor]:
        return [v for v in self._by_session.values() if v.room == room]

    def by_sid(self, sid: str) -> Visitor | None:
        return self._by_sid.get(sid)

    def disconnect(self, sid: str, now: int) -> Visitor | None:
        v = self._by_sid.pop(sid, None)
        if v is not None and v.sid == sid:
            v.sid = None
            v.disconnected_at = now
        return v

    def expire(self, now: int) -> list[Visitor]:
        """Remove and return visitors whose grace period has run out."""
        gone = [
            v for v in self._by_session.values()
            if v.disconnected_at is not None and now - v.disconnected_at > self.grace_ms
        ]
        for v in gone:
            del self._by_session[v.session]
            self._by_id.pop(v.id, None)
        return gone
