"""Who is connecting: the identity (a brand's signed-in customer, a visitor token, the
cookie, or a new device identity) and the network address of a new connection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any, Protocol

from server.auth import AuthError
from server.identity import device
from server.identity.address import Network, client_address, hash_address
from server.identity.device import Identity
from world.feature import Who


class SignIn(Protocol):
    """Verifies a brand's signed visitor token (server/identity/brands.py)."""

    async def verify(self, token: str) -> Identity: ...


@dataclass(frozen=True, slots=True)
class Caller:
    """A connection's visitor: its identity, address and where the identity came from."""

    identity: Identity
    ip: str  # plain address: used at connect time (range bans), never stored
    addr: str  # keyed hash of ``ip``: what moderation and limits keep
    token: str | None  # a visitor token to hand the client (None: it has the cookie already)
    source: str  # "signin" | "token" | "cookie" | "new"

    def who(self) -> Who:
        return Who(self.identity.key, self.addr, self.identity.customer)


class Identities:
    def __init__(self, secret: str, trusted: Sequence[Network], *, device_ttl_s: float, signed_ttl_s: float,
                 signin: SignIn | None = None) -> None:
        self.secret = secret
        self.trusted = tuple(trusted)
        self.device_ttl_s = device_ttl_s
        self.signed_ttl_s = signed_ttl_s
        self.signin = signin

    def address(self, peer: str | None, forwarded_for: str | None) -> tuple[str, str]:
        ip = client_address(peer, forwarded_for, self.trusted)
        return ip, hash_address(self.secret, ip)

    def ttl_of(self, ident: Identity) -> float:
        return self.signed_ttl_s if ident.signed else self.device_ttl_s

    def token_for(self, ident: Identity) -> str:
        return device.mint(self.secret, ident, self.ttl_of(ident))

    def from_token(self, token: str | None) -> Identity | None:
        """The identity a visitor token carries; None when absent, forged or expired (the
        visitor then gets a new device identity: a stale token must not lock anyone out)."""
        if not token:
            return None
        try:
            return device.read(self.secret, token)
        except AuthError:
            return None

    async def connecting(self, environ: Mapping[str, Any], signin: str | None, token: str | None) -> Caller:
        """The caller of a socket.io connect. Raises AuthError for a brand's signed visitor
        token that does not verify (the connection is refused: it asked to be someone)."""
        request = environ.get("aiohttp.request")
        peer = getattr(request, "remote", None) or environ.get("REMOTE_ADDR")
        ip, addr = self.address(peer, environ.get("HTTP_X_FORWARDED_FOR"))
        if signin:
            if self.signin is None:
                raise AuthError("this server signs no brand's customers in")
            signed = await self.signin.verify(signin)
            return Caller(signed, ip, addr, self.token_for(signed), "signin")
        held = self.from_token(token)
        if held is not None:
            return Caller(held, ip, addr, None, "token")
        held = self.from_token(cookie_of(environ.get("HTTP_COOKIE")))
        if held is not None:
            return Caller(held, ip, addr, None, "cookie")
        fresh = device.new_device()
        return Caller(fresh, ip, addr, self.token_for(fresh), "new")


def cookie_of(header: str | None) -> str | None:
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(device.COOKIE)
    return morsel.value if morsel is not None else None
