"""Device identities: the long-lived visitor identity the server issues on a first visit.

A visitor's identity travels as a *visitor token*: a JWT (HS256, the server secret, ``typ``
``"visitor"``) with ``sub`` the visitor key and, for a brand's signed-in customer, ``brand``,
``cust`` (the brand's customer id), ``name`` and ``email`` (only when the brand says the
customer consented). The web client gets it as an HttpOnly, SameSite=Lax cookie set over HTTP
before its socket connects; clients without cookies keep the token from ``welcome.visitor``
and send it as ``auth.visitor``. The avatar id is per session; the visitor key is stable.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import jwt

from server.auth import ALGORITHM, AuthError

COOKIE = "vetrina_visitor"
TYPE = "visitor"
DEVICE = "d_"  # a device identity's key prefix
CUSTOMER = "c_"  # a brand's signed-in customer's key prefix


@dataclass(frozen=True, slots=True)
class Identity:
    key: str  # the visitor key: "d_…" or "c_…"
    brand: str | None = None  # the brand that signed the customer in
    customer: str | None = None  # the brand's customer id
    name: str | None = None  # the name the brand gave (shown instead of the typed one)
    email: str | None = None  # only with the customer's consent (the brand's ``email_consent``)

    @property
    def signed(self) -> bool:
        return self.brand is not None

    def wire(self) -> dict[str, object]:
        """What the visitor is told about itself (``welcome.visitor``)."""
        body: dict[str, object] = {"id": self.key, "signed": self.signed}
        if self.signed:
            body.update(brand=self.brand, customer=self.customer, name=self.name)
        return body


def new_device() -> Identity:
    return Identity(DEVICE + secrets.token_urlsafe(16))


def customer_key(secret: str, brand: str, customer: str) -> str:
    """A signed-in customer's visitor key: the same on every device and node, and not the
    customer id itself (which may be an e-mail address) so logs and Redis keys do not carry it."""
    digest = hashlib.blake2b(f"{brand}\x00{customer}".encode(), key=secret.encode()[:64], digest_size=16)
    return CUSTOMER + digest.hexdigest()


def mint(secret: str, ident: Identity, ttl_s: float, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    claims: dict[str, object] = {"typ": TYPE, "sub": ident.key, "iat": issued, "exp": issued + int(ttl_s)}
    if ident.signed:
        claims.update(brand=ident.brand, cust=ident.customer, name=ident.name)
        if ident.email:
            claims["email"] = ident.email
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read(secret: str, token: str) -> Identity:
    """The identity a visitor token carries; AuthError when it is not one of ours or expired."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "typ"]})
    except jwt.ExpiredSignatureError:
        raise AuthError("visitor token expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid visitor token ({exc})") from None
    key = claims["sub"]
    if claims["typ"] != TYPE or not isinstance(key, str) or not key.startswith((DEVICE, CUSTOMER)) or len(key) > 64:
        raise AuthError("not a visitor token")
    if not key.startswith(CUSTOMER):
        return Identity(key)
    return Identity(key, _text(claims.get("brand")), _text(claims.get("cust")), _text(claims.get("name")),
                    _text(claims.get("email")))


def _text(value: object) -> str | None:
    return value[:256] if isinstance(value, str) and value else None


def from_saved(body: object) -> tuple[Identity, str | None]:
    """The identity and address hash kept with a session in Redis (cluster/sessions.py); an
    unreadable one is no identity (keyed on the avatar, as sessions from older nodes were)."""
    if not isinstance(body, dict) or not isinstance(body.get("key"), str):
        return Identity(""), None
    key = body["key"][:64]
    if not key.startswith((DEVICE, CUSTOMER)):
        return Identity(""), None
    ident = Identity(key, _text(body.get("brand")), _text(body.get("customer")), _text(body.get("name")),
                     _text(body.get("email")))
    return ident, _text(body.get("addr"))
