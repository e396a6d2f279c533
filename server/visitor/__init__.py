"""The visitor namespace: sessions (session.py), the namespace itself (namespace.py) and one
module per feature family with its events (core, social, shop, shows).

A feature module sees the namespace only as a :class:`Gateway`: what its handlers may use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pydantic import BaseModel

from server.directory import RoomDirectory
from server.handlers import Reply
from server.runner import RoomRunner
from server.visitor.session import Sessions, VisitorSession
from server.visitors import Visitor
from world.social.wordfilter import WordFilter


class Gateway(Protocol):
    """What a feature's handlers may use of the visitor namespace (server/visitor/namespace.py)."""

    directory: RoomDirectory
    sessions: Sessions
    words: WordFilter

    def session(self, sid: str) -> VisitorSession:
        """The session of a connected socket (``not_joined`` otherwise)."""
        ...

    def in_room(self, sid: str) -> tuple[VisitorSession, RoomRunner]:
        """The session and its shard, for a visitor in a room (``not_joined`` otherwise)."""
        ...

    def shard_of(self, s: VisitorSession) -> RoomRunner | None: ...

    def remember(self, v: Visitor) -> None:
        """Keep what a resuming visitor comes back with (its look, its room)."""
        ...


# A feature's event handler: (the gateway, socket.io sid, the validated request) -> the ack.
FeatureHandler = Callable[[Gateway, str, Any], Awaitable[Reply]]
# A feature's events: event name -> (its request model, its handler).
Events = dict[str, tuple[type[BaseModel], FeatureHandler]]
