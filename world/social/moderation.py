"""Moderation state of one room: mutes, shadow-mutes, bans and the log of staff actions.

Mutes are keyed by avatar id (which survives a resume), bans by avatar id and by session
token, so a banned visitor cannot come back by resuming either. Time is server ms.

Each room keeps its own moderation state. A mute or ban of the whole event (``scope``
``"event"``) is the same entry in every room the staff member covers (the host namespace sends
it to each); the scope is kept so the console can show it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

LOG_SIZE = 200


@dataclass(slots=True)
class Mute:
    avatar: int
    name: str
    until: int
    shadow: bool
    scope: str = "room"  # "room" | "event"

    def wire(self) -> dict[str, Any]:
        return {"avatar": self.avatar, "name": self.name, "until": self.until, "shadow": self.shadow,
                "scope": self.scope}


class Moderation:
    def __init__(self) -> None:
        self._mutes: dict[int, Mute] = {}
        self._banned: dict[int, str] = {}  # avatar -> name
        self._ban_scope: dict[int, str] = {}  # avatar -> "room" | "event"
        self._banned_sessions: dict[int, str] = {}  # avatar -> its session token
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)

    def mute_of(self, avatar: int, now: int) -> Mute | None:
        m = self._mutes.get(avatar)
        if m is not None and m.until <= now:
            del self._mutes[avatar]
            return None
        return m

    def mute(self, avatar: int, name: str, until: int, *, shadow: bool, scope: str = "room") -> Mute:
        m = self._mutes[avatar] = Mute(avatar, name, until, shadow, scope)
        return m

    def unmute(self, avatar: int) -> bool:
        return self._mutes.pop(avatar, None) is not None

    def ban(self, avatar: int, name: str, session: str | None, *, scope: str = "room") -> None:
        self._banned[avatar] = name
        self._ban_scope[avatar] = scope
        if session:
            self._banned_sessions[avatar] = session

    def unban(self, avatar: int) -> bool:
        self._banned_sessions.pop(avatar, None)
        self._ban_scope.pop(avatar, None)
        return self._banned.pop(avatar, None) is not None

    def is_banned(self, avatar: int, session: str | None) -> bool:
        return avatar in self._banned or (session is not None and session in self._banned_sessions.values())

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        self.log.append(entry)
        return entry

    def muted(self, now: int) -> list[dict[str, Any]]:
        return [m.wire() for m in list(self._mutes.values()) if self.mute_of(m.avatar, now) is not None]

    def banned(self) -> list[dict[str, Any]]:
        return [{"avatar": a, "name": n, "scope": self._ban_scope.get(a, "room")} for a, n in self._banned.items()]
