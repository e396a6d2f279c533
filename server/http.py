"""The node's HTTP routes: the web client and host console, /healthz, /metrics, the rooms
API, the analytics export and token revocation for staff."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from aiohttp import web
from pydantic import ValidationError

from server.auth import MAX_TOKEN_TTL_S, AuthError, StaffClaims, verify
from server.cluster import ClusterUnavailable
from server.identity import web as identity_web
from server.identity.resolver import Identities
from server.identity.web import ensure_cookie
from server.node import Node, node_tally
from server.runner import now_ms
from world.insight.analytics import Analytics, add_tallies, to_csv
from world.protocol import RevokeRequest

log = logging.getLogger(__name__)

Route = web.RouteTableDef


def staff_claims(node: Node, request: web.Request) -> StaffClaims:
    """The staff token sent as ``Authorization: Bearer``, verified and not revoked."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise web.HTTPUnauthorized(text="send a staff token: Authorization: Bearer <token>")
    try:
        claims = verify(node.settings.secret, header[7:].strip())
    except AuthError as exc:
        raise web.HTTPUnauthorized(text=f"forbidden: {exc}") from None
    if node.host.revocations.is_revoked(claims.jti):
        raise web.HTTPUnauthorized(text="forbidden: token revoked")
    return claims


def add_routes(app: web.Application, node: Node) -> None:
    routes = web.RouteTableDef()
    _pages(routes, node.settings.client_dir, node.gateway.identities)
    identity_web.add_routes(routes, node.gateway.identities)
    _status(routes, node)
    _rooms_api(routes, node)
    _staff_api(routes, node)
    app.router.add_routes(routes)
    _static(app, node.settings.client_dir)


def _pages(routes: Route, client: Path, ids: Identities) -> None:
    @routes.get("/")
    async def index(request: web.Request) -> web.FileResponse:
        page = web.FileResponse(client / "index.html")
        ensure_cookie(page, request, ids)  # the visitor is known before its socket connects
        page.headers["Cache-Control"] = "no-cache"
        return page

    @routes.get("/host")
    async def host_console(request: web.Request) -> web.StreamResponse:
        page = client / "host.html"
        if not page.exists():
            raise web.HTTPNotFound(text="the host console is not part of this build yet")
        return web.FileResponse(page)


def _status(routes: Route, node: Node) -> None:
    @routes.get("/healthz")
    async def healthz(request: web.Request) -> web.Response:
        cluster = node.cluster
        redis = "off" if cluster is None else "up" if cluster.up else "down"
        # starting: a room's worker has not ticked yet, so a join would wait on it (a proxy or
        # a test should not send visitors here yet); degraded: this node still serves its
        # visitors, cross-node features are paused
        starting = not all(r.ready for r in node.directory.values())
        body: dict[str, object] = {
            "status": "starting" if starting else "degraded" if redis == "down" else "ok",
            "redis": redis,
            "rooms": len(node.directory),
            "avatars": node.directory.occupancy,
        }
        if cluster is not None:
            body["node"] = cluster.node
            body["owns"] = sorted(cluster.owned)  # rooms whose stage this node drives
        return web.json_response(body, status=503 if starting else 200)

    @routes.get("/metrics")
    async def metrics(request: web.Request) -> web.Response:
        body = node.metrics.render()
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def _rooms_api(routes: Route, node: Node) -> None:
    @routes.get("/api/rooms")
    async def api_rooms(request: web.Request) -> web.Response:
        out = []
        for room_id, shards in node.directory.audiences():
            info = shards.runners[0].info(full=False)
            info["occupancy"] = shards.occupancy  # every audience shard of the room
            if len(shards.runners) > 1:
                info["shards"] = len(shards.runners)
            out.append(info)
        return web.json_response({"rooms": out})

    @routes.get("/api/rooms/{room}")
    async def api_room(request: web.Request) -> web.Response:
        runner = node.directory.get(request.match_info["room"])
        if runner is None:
            raise web.HTTPNotFound(text="no such room")
        info = runner.info(full=True)
        info.pop("scene", None)  # the catalog, without the geometry
        return web.json_response(info)

    @routes.get("/api/rooms/{room}/analytics")
    async def api_analytics(request: web.Request) -> web.Response:
        """The room's analytics report for brand staff: Bearer token covering the room."""
        room = request.match_info["room"]
        claims = staff_claims(node, request)
        if not claims.covers(room):
            raise web.HTTPForbidden(text=f"your token does not cover room {room[:64]!r}")
        shards = node.directory.audience(room)
        if shards is None:
            raise web.HTTPNotFound(text="no such room")
        # every shard of the room here and, with Redis, what the other nodes saw
        tally = await node_tally(shards)
        if tally is None:
            raise web.HTTPServiceUnavailable(text="the room did not answer in time")
        tallies = [tally]
        if node.cluster is not None:
            try:
                tallies += await node.cluster.tallies(room)
            except ClusterUnavailable:
                raise web.HTTPServiceUnavailable(text="unavailable: Redis is down, the other nodes' numbers are out of reach") from None
        cfg = shards.runners[0].config
        report = Analytics(cfg.id, cfg.scene, cfg.catalog).absorb(add_tallies(tallies)).report(now_ms())
        if request.query.get("format", "json") == "csv":
            return web.Response(
                text=to_csv(report), content_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{room}-analytics.csv"'},
            )
        return web.json_response(report)


def _staff_api(routes: Route, node: Node) -> None:
    @routes.post("/api/staff/revoke")
    async def api_revoke(request: web.Request) -> web.Response:
        """``POST {"jti"}`` with a host token covering every room: revoke a staff token
        (what ``vetrina token --revoke`` calls)."""
        claims = staff_claims(node, request)
        if not claims.may("staff.revoke") or claims.rooms is not None:
            raise web.HTTPForbidden(text="revoking a token takes a host token for every room ('*')")
        try:
            req = RevokeRequest.model_validate(await request.json())
        except (ValueError, ValidationError) as exc:
            raise web.HTTPBadRequest(text=f"bad_request: send {{\"jti\": \"<token id>\"}} ({str(exc)[:200]})") from None
        host = node.host
        ended = len(host.sessions_with(req.jti))
        shared = await host.revocations.revoke(req.jti, int(time.time()) + MAX_TOKEN_TTL_S)
        return web.json_response({"ok": True, "jti": req.jti, "ended": ended, "cluster": "ok" if shared else "pending"})


def _static(app: web.Application, client: Path) -> None:
    node_modules = client / "node_modules"
    if (client / "src").is_dir():
        app.router.add_static("/static/", client / "src")
    for prefix, folder in (
        ("/vendor/three/", node_modules / "three" / "build"),
        ("/vendor/three-addons/", node_modules / "three" / "examples" / "jsm"),
        ("/vendor/socket.io/", node_modules / "socket.io-client" / "dist"),
    ):
        if folder.is_dir():
            app.router.add_static(prefix, folder)
        else:
            log.warning("%s is missing: run `make setup` to install the web client's packages", folder)
