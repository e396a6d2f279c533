"""The social layer's inputs (built by the transport after validation) and the rules that
say which staff actions every shard applies and how far they reach."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from world.feature import Staff
from world.protocol import ErrorCode, error

MINUTE_MS = 60_000


@dataclass(slots=True)
class Sanction:
    """A durable moderation record (server/identity/sanctions.py keeps them; issue 14) applied
    to the room: when the room starts, and whenever one is made or lifted on any node. It holds
    on the visitor ``key`` and, unless staff chose "identity only", on the address hash
    ``addr``. No reply: the server sends it, nobody waits on it."""

    kind: str  # "mute" | "shadow" | "ban"
    key: str | None  # the visitor key (world.feature.Who.key)
    addr: str | None  # its address hash (None: the identity only)
    until: int | None  # server ms; None: until lifted
    scope: str  # "room" | "event"
    name: str  # the name it had, for the console
    lifted: bool = False  # an unmute / unban


@dataclass(slots=True)
class Say:
    ref: int
    avatar: int
    text: str
    scope: str
    filtered: bool = False


@dataclass(slots=True)
class React:
    avatar: int
    emoji: str


@dataclass(slots=True)
class Ask:
    ref: int
    avatar: int
    text: str


@dataclass(slots=True)
class Vote:
    ref: int
    avatar: int
    question: str


@dataclass(slots=True)
class AssistAsk:
    ref: int
    avatar: int
    text: str


@dataclass(slots=True)
class StaffAct:
    """A staff action (``mod.mute``, ``chat.pin``, ``qa.answer``, ``host.watch`` ...)."""

    ref: int
    staff: Staff
    action: str
    params: dict[str, Any]
    replicated: bool = False  # done on another node's shard of this room: applied here too


SocialInput = Say | React | Ask | Vote | AssistAsk | StaffAct

# Staff actions every shard of a room applies (the staff member's node shares them): a mute or
# a ban holds on every node, a pin, a deletion or an answer shows everywhere.
SHARED_STAFF = frozenset({
    "mod.mute", "mod.shadow", "mod.unmute", "mod.kick", "mod.ban", "mod.unban", "mod.slow",
    "chat.pin", "chat.delete", "qa.answer", "qa.delete",
})
# Staff actions whose reach staff choose (``scope``): this room, or every room they cover.
SCOPED = frozenset({"mod.mute", "mod.shadow", "mod.unmute", "mod.ban", "mod.unban"})


def default_scope(action: str) -> str:
    """A ban (or unban) covers the whole event unless staff say otherwise; a mute one room."""
    return "event" if action in ("mod.ban", "mod.unban") else "room"


def scope_of(act: StaffAct) -> str:
    """``"room"`` or ``"event"`` for a scoped moderation action (see :data:`SCOPED`)."""
    if act.action not in SCOPED:
        return "room"
    scope = act.params.get("scope")
    return scope if scope in ("room", "event") else default_scope(act.action)


def muted_text(until: int, now: int) -> str:
    minutes = max(1, -(-(until - now) // MINUTE_MS))  # rounded up
    return f"a moderator muted you for {minutes} more minute{'s' if minutes > 1 else ''}"


class Refusal(Exception):
    """An input refused: its reply is the error."""

    def __init__(self, code: ErrorCode, message: str, **extra: Any) -> None:
        self.reply = error(code, message)
        self.reply["error"].update(extra)  # e.g. a mute's ``until`` (server ms: shown in local time)
