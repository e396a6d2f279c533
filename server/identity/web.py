"""The HTTP side of visitor identity: the cookie the web client gets with its page, before
its socket connects, and ``GET /api/visitor`` for clients that keep the token themselves."""

from __future__ import annotations

from aiohttp import web

from server.identity import device
from server.identity.address import parse, within
from server.identity.device import Identity
from server.identity.resolver import Identities


def secure_request(request: web.Request, ids: Identities) -> bool:
    """HTTPS, here or at a trusted proxy in front of us (then the cookie is ``Secure``)."""
    if request.secure:
        return True
    proxied = within(parse(request.remote or ""), ids.trusted)
    return proxied and request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def set_cookie(response: web.StreamResponse, request: web.Request, ids: Identities, ident: Identity) -> str:
    """Give the browser ``ident`` as an HttpOnly, SameSite=Lax cookie; returns the token."""
    token = ids.token_for(ident)
    response.set_cookie(device.COOKIE, token, max_age=int(ids.ttl_of(ident)), path="/", httponly=True,
                        samesite="Lax", secure=secure_request(request, ids))
    return token


def known(request: web.Request, ids: Identities) -> Identity | None:
    return ids.from_token(request.cookies.get(device.COOKIE))


def ensure_cookie(response: web.StreamResponse, request: web.Request, ids: Identities) -> Identity:
    """The page's visitor: the one its cookie names (its expiry pushed back), or a new device."""
    ident = known(request, ids) or device.new_device()
    set_cookie(response, request, ids, ident)
    return ident


def add_routes(routes: web.RouteTableDef, ids: Identities) -> None:
    @routes.get("/api/visitor")
    async def visitor(request: web.Request) -> web.Response:
        """This browser's (or client's) visitor identity and a token for clients without
        cookies; a new device identity when it has none."""
        ident = known(request, ids) or device.new_device()
        token = ids.token_for(ident)
        response = web.json_response({**ident.wire(), "token": token}, headers={"Cache-Control": "no-store"})
        set_cookie(response, request, ids, ident)
        return response
