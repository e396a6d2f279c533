"""Brand staff tokens: JWT (HS256) signed with the server secret.

Claims: ``role`` (host | operator | moderator), ``rooms`` (a list of room ids or ``"*"``),
``name`` (shown to visitors on staff messages and in the moderation log), ``exp``, ``iat`` and
``jti`` (the token's id: what staff revoke, see server/revocations.py).
What each role may do is :data:`PERMISSIONS`; the host namespace checks it on every action.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
DEFAULT_SECRET = "vetrina-demo-secret-do-not-use-in-production"
ROLES = ("host", "moderator", "operator")
MAX_TOKEN_TTL_S = 30 * 24 * 3600  # longer-lived tokens are refused: a revocation is kept this long

MODERATE = frozenset({"chat", "chat.pin", "chat.delete", "mod.mute", "mod.shadow", "mod.unmute",
                      "mod.kick", "mod.ban", "mod.unban", "mod.slow"})
WATCH = frozenset({"host.watch", "host.unwatch", "stats.watch"})
SHOWS = frozenset({"spotlight", "offer.start", "show.start", "wheel.open", "wheel.spin", "concert.cue"})
STAFF = frozenset({"staff.list", "staff.revoke"})  # who is signed in; revoking a token
PERMISSIONS: dict[str, frozenset[str]] = {
    "host": WATCH | MODERATE | SHOWS | STAFF | {"qa.answer", "qa.delete", "assist.reply"},
    "moderator": WATCH | MODERATE | {"qa.answer", "qa.delete"},
    "operator": WATCH | {"qa.answer", "assist.reply"},
}


class AuthError(Exception):
    """Why a token was refused (expired, bad signature, missing claims...)."""


@dataclass(frozen=True, slots=True)
class StaffClaims:
    name: str
    role: str
    rooms: tuple[str, ...] | None  # None: every room
    jti: str | None = None  # the token's id (tokens minted before ids existed have none)
    exp: int = 0  # unix seconds: the session ends then

    def may(self, action: str) -> bool:
        return action in PERMISSIONS[self.role]

    def covers(self, room: str) -> bool:
        return self.rooms is None or room in self.rooms

    def wire(self) -> dict[str, object]:
        return {"name": self.name, "role": self.role, "rooms": "*" if self.rooms is None else list(self.rooms)}


def mint(secret: str, *, role: str, rooms: list[str] | str, ttl_s: float, name: str = "Staff",
         now: float | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if ttl_s > MAX_TOKEN_TTL_S:
        raise ValueError(f"a token lives at most {MAX_TOKEN_TTL_S // 86400} days")
    if rooms != "*" and (isinstance(rooms, str) or not rooms):
        raise ValueError("rooms must be a non-empty list of room ids, or '*'")
    issued = time.time() if now is None else now
    claims = {"role": role, "rooms": rooms, "name": name, "iat": int(issued), "exp": int(issued + ttl_s),
              "jti": new_jti()}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def new_jti() -> str:
    return secrets.token_urlsafe(12)


def token_id(token: str) -> str | None:
    """The ``jti`` of a token, read without checking it (to tell staff what to revoke)."""
    try:
        jti = jwt.decode(token, options={"verify_signature": False}).get("jti")
    except jwt.InvalidTokenError:
        return None
    return jti if isinstance(jti, str) else None


def verify(secret: str, token: str) -> StaffClaims:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "role", "rooms"]})
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token ({exc})") from None
    role, rooms, name = claims.get("role"), claims.get("rooms"), claims.get("name", "Staff")
    if role not in ROLES:
        raise AuthError(f"unknown role {str(role)[:32]!r}")
    if rooms == "*":
        scope = None
    elif isinstance(rooms, list) and rooms and all(isinstance(r, str) for r in rooms):
        scope = tuple(rooms)
    else:
        raise AuthError("rooms claim must be a list of room ids or '*'")
    if not isinstance(name, str) or not name.strip():
        name = "Staff"
    if int(claims["exp"]) > time.time() + MAX_TOKEN_TTL_S:
        raise AuthError(f"token lives longer than {MAX_TOKEN_TTL_S // 86400} days")
    jti = claims.get("jti")
    if jti is not None and (not isinstance(jti, str) or not 0 < len(jti) <= 128):
        raise AuthError("jti claim must be a short string")
    return StaffClaims(name.strip()[:32], role, scope, jti, int(claims["exp"]))


def parse_ttl(text: str) -> float:
    """'8h', '30m', '45s', '2d' or plain seconds -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        if text and text[-1] in units:
            value = float(text[:-1]) * units[text[-1]]
        else:
            value = float(text)
    except ValueError:
        raise ValueError(f"bad duration {text!r} (use e.g. 8h, 30m, 3600)") from None
    if not value > 0:
        raise ValueError("the duration must be positive")
    return value
