"""create_app(settings): the aiohttp application with socket.io, HTTP routes and room tasks."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from pathlib import Path

import socketio
from aiohttp import web
from pydantic import ValidationError

from server import autopilot, fastio
from server.cluster import Cluster, ClusterUnavailable
from server.config import Settings
from server.auth import DEFAULT_SECRET, MAX_TOKEN_TTL_S, AuthError, StaffClaims, verify
from server.gateway import VisitorGateway
from server.host import STATS_EVERY_S, HostGateway
from server.metrics import Metrics
from server.packets import VetrinaPacket
from server.revocations import Revocations
from server.engines import InlineEngine, ProcessEngine, RoomEngine
from server.runner import RoomRunner, now_ms
from server.shards import AudienceShards
from world.insight.analytics import Analytics, add_tallies, to_csv
from world.replication.mirror import Mirror
from world.protocol import RevokeRequest
from world.core.room import AnalyticsAsk, Handover
from server.assets import load_rooms, load_wordfilter
from world.core.scene import RoomConfig
from server.visitors import Visitors

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
ROOMS = web.AppKey("rooms", dict[str, RoomRunner])
SIO = web.AppKey("sio", socketio.AsyncServer)
GATEWAY = web.AppKey("gateway", VisitorGateway)
HOST = web.AppKey("host", HostGateway)
CLUSTER: web.AppKey[Cluster | None] = web.AppKey("cluster")

TALLY_EVERY_S = 5.0  # how often a node writes its rooms' analytics where the other nodes add them up
TRANSPORT_LIMIT = 1024 * 1024  # engine.io frame limit; payloads over 64 KiB get bad_request first


class InsecureSecret(ValueError):
    """The server would sign staff tokens with the public default secret."""


def create_app(settings: Settings) -> web.Application:
    if settings.secret == DEFAULT_SECRET and not settings.demo:
        raise InsecureSecret(
            "refusing to start with the default secret: set VETRINA_SECRET (e.g. `openssl rand -hex 32`), "
            "or pass --demo for a local demo"
        )
    app = web.Application()
    metrics = Metrics()
    configs = load_rooms(settings.rooms)
    cluster: Cluster | None = None
    if settings.redis_url:
        # every node of a cluster shares the secret: it also seals the wheel's seeds in Redis
        ttl = settings.session_ttl_s or settings.resume_grace_s + 60
        cluster = Cluster(settings.redis_url, settings.node_id, metrics, secret=settings.secret, session_ttl_s=ttl)
        # ids this node's rooms mint (chat messages, drops) carry a tag unique among the nodes
        tag = secrets.token_hex(3)
        configs = [cfg.model_copy(update={"shard": tag}) for cfg in configs]
    fastio.install()
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        async_handlers=False,  # handle events inline in the reader: no task per message
        serializer=VetrinaPacket,
        cors_allowed_origins=settings.cors_origins if settings.cors_origins != "*" else "*",
        max_http_buffer_size=TRANSPORT_LIMIT,
        ping_interval=settings.ping_interval_s,
        ping_timeout=settings.ping_timeout_s,
        logger=False,
        engineio_logger=False,
    )
    sio.attach(app)
    fastio.configure(sio.eio, compression=settings.ws_compression, slow_client_bytes=settings.slow_client_bytes)
    rooms: dict[str, RoomRunner] = {}
    visitors = Visitors(grace_ms=int(settings.resume_grace_s * 1000))
    words = load_wordfilter(settings.wordfilter)
    gateway = VisitorGateway(
        sio, rooms, visitors, metrics, move_rate=settings.move_rate, move_burst=settings.move_burst,
        chat_rate=settings.chat_rate, chat_burst=settings.chat_burst,
        react_rate=settings.react_rate, react_burst=settings.react_burst, words=words, cluster=cluster,
    )
    revocations = Revocations(settings.data_dir, redis_url=settings.redis_url)
    host = HostGateway(sio, rooms, metrics, secret=settings.secret, words=words, shards=gateway.shards,
                       revocations=revocations)
    engines: list[RoomEngine] = []
    running: list[asyncio.Task[None]] = []  # extra shards' tick loops, started when needed

    def share(runner: RoomRunner, items: list[tuple[str, dict[str, Any]]]) -> None:
        room = runner.room
        # to the sibling shards on this node, and kept (carry included) to restore a shard
        # whose worker dies
        gateway.shards[room].share(runner.id, items)
        if cluster is not None:
            cluster.share(room, items)  # and to the other nodes

    def make_runner(cfg: RoomConfig, seed: int, shard: int) -> RoomRunner:
        if shard:  # ids the shard mints (messages, drops, questions, tickets) unique among its siblings
            cfg = cfg.model_copy(update={"shard": f"{cfg.shard}s{shard + 1}"})
        engine: RoomEngine = (
            ProcessEngine(cfg, seed=seed, viewers_per_part=settings.tick_part_viewers)
            if settings.room_processes else InlineEngine(cfg, seed=seed)
        )
        engines.append(engine)

        async def staff(room: str, event: str, payload: dict[str, Any]) -> None:
            # the primary shard has everything the consoles need (the rest is mirrored into
            # it); the others add only what exists nowhere else: their visitors' tickets
            if shard == 0 or event == "ticket":
                await host.feed(cfg.id, event, payload)

        return RoomRunner(
            cfg, engine, send=gateway.send_to_avatar, send_now=gateway.send_now, metrics=metrics,
            staff=staff, removed=gateway.removed, rejoin=gateway.rejoin, share=share,
            restore=lambda r: gateway.shards[r.room].restore(r),
            inbox_limit=settings.inbox_limit, tick_hz=settings.tick_hz,
            request_timeout_s=settings.request_timeout_s, shard=shard,
        )

    def spawn(cfg: RoomConfig, seed: int) -> Callable[[int], RoomRunner]:
        def start(shard: int) -> RoomRunner:
            runner = make_runner(cfg, seed + 1000 * shard, shard)
            running.append(asyncio.get_running_loop().create_task(runner.run(), name=f"room:{runner.id}"))
            log.info("room %s: audience shard %s started", cfg.id, runner.id)
            return runner

        return start

    for i, cfg in enumerate(configs):
        if settings.shard_size is not None:
            cfg = cfg.model_copy(update={"shard_size": settings.shard_size or None if cfg.shard_size else None})
        rooms[cfg.id] = make_runner(cfg, i, 0)
        gateway.shards[cfg.id] = AudienceShards(cfg.id, rooms[cfg.id], cfg.shard_size, spawn(cfg, i))
    metrics.rooms.set(len(rooms))
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[ROOMS] = rooms
    app[SIO] = sio
    app[GATEWAY] = gateway
    app[HOST] = host
    app[CLUSTER] = cluster
    _routes(app, settings.client_dir)

    async def cluster_link(app: web.Application) -> AsyncIterator[None]:
        assert cluster is not None

        def submit(room: str, item: Mirror) -> bool:
            shards = gateway.shards.get(room)
            if shards is None:
                return False
            shards.take(item)
            return True

        async def heal() -> None:  # Redis is back, maybe empty: what only this node still knows
            await _restore_carry(gateway, cluster)

        visitors.start_ids_at(await cluster.start(submit, list(rooms), held=gateway.held, on_heal=heal))
        host.drops_paused = lambda: not cluster.up  # a drop must never exist on one node only
        tallies = asyncio.create_task(_write_tallies(gateway, cluster), name="cluster:analytics")
        yield
        tallies.cancel()
        await asyncio.gather(tallies, return_exceptions=True)
        await gateway.settle()
        await cluster.close()  # after every client was told to go: what they were acked is published

    async def room_tasks(app: web.Application) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(r.run(), name=f"room:{r.id}") for r in rooms.values()]
        tasks.append(asyncio.create_task(_sweep(gateway), name="sweep"))
        tasks.append(asyncio.create_task(_staff_stats(host), name="staff-stats"))
        if settings.demo and settings.autopilot:
            owns = cluster.owns if cluster is not None else autopilot.everywhere
            tasks.append(asyncio.create_task(autopilot.run(rooms, owns), name="autopilot"))
        yield
        for t in [*tasks, *running]:
            t.cancel()
        await asyncio.gather(*tasks, *running, return_exceptions=True)
        for e in engines:
            e.close()

    async def disconnect_everyone(app: web.Application) -> None:
        # aiohttp waits for open handlers before cleanup, and a websocket handler only ends
        # when its client goes: close every engine.io session first (visitors see a normal
        # server disconnect; their clients may reconnect to another node).
        if sio.eio.sockets:
            await sio.eio.disconnect()
        if cluster is not None:  # a drain: hand the visitors' carts, balances and bets over
            await _hand_over(gateway, cluster)
            await _save_tallies(gateway, cluster)  # what this node saw stays in the event's numbers

    app.on_shutdown.append(disconnect_everyone)
    if cluster is not None:
        app.cleanup_ctx.append(cluster_link)
    app.cleanup_ctx.append(room_tasks)
    app.cleanup_ctx.append(_revocations_life)
    if settings.crowd:
        app.cleanup_ctx.append(_demo_crowd)
    return app


async def _revocations_life(app: web.Application) -> AsyncIterator[None]:
    revocations = app[HOST].revocations
    revocations.start()
    yield
    await revocations.close()


def staff_claims(request: web.Request) -> StaffClaims:
    """The staff token sent as ``Authorization: Bearer``, verified and not revoked."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise web.HTTPUnauthorized(text="send a staff token: Authorization: Bearer <token>")
    try:
        claims = verify(request.app[SETTINGS].secret, header[7:].strip())
    except AuthError as exc:
        raise web.HTTPUnauthorized(text=f"forbidden: {exc}") from None
    if request.app[HOST].revocations.is_revoked(claims.jti):
        raise web.HTTPUnauthorized(text="forbidden: token revoked")
    return claims


async def node_tally(shards: AudienceShards) -> dict[str, Any] | None:
    """The analytics sums of every shard of a room on this node, added up (None: no shard
    answered)."""
    replies = await asyncio.gather(*(r.request(lambda ref: AnalyticsAsk(ref, tally=True)) for r in shards.runners))
    tallies = [reply["tally"] for reply in replies if reply.get("ok")]
    return add_tallies(tallies) if tallies else None


async def _save_tallies(gateway: VisitorGateway, cluster: Cluster) -> None:
    for room, shards in gateway.shards.items():
        tally = await node_tally(shards)
        if tally is not None:
            await cluster.save_tally(room, tally)


async def _write_tallies(gateway: VisitorGateway, cluster: Cluster) -> None:
    """Every few seconds, this node's analytics of each room where the other nodes' exports
    add them up."""
    while True:
        await asyncio.sleep(TALLY_EVERY_S)
        try:
            await _save_tallies(gateway, cluster)
        except Exception:  # a room that did not answer in time: the next round tries again
            log.exception("cluster: writing analytics tallies failed")


async def _hand_over(gateway: VisitorGateway, cluster: Cluster) -> None:
    """Every shard's per-visitor state to the other nodes, where the visitors resume (the
    cluster publishes it before closing: see Cluster.close)."""
    for room, shards in gateway.shards.items():
        for runner in shards.runners:
            reply = await runner.request(lambda ref: Handover(ref))
            if reply.get("ok"):
                cluster.share(room, [("handover", reply["snapshot"])])
            else:
                log.warning("room %s: nothing handed over (%s)", runner.id, reply.get("error"))


async def _restore_carry(gateway: VisitorGateway, cluster: Cluster) -> None:
    """After Redis came back (maybe empty): every held visitor's cart, orders, balance and
    open bets where any node can give them back, and its orders in the drops' order books."""
    held = {v.id for v in gateway.held()}
    for room, shards in gateway.shards.items():
        for runner in shards.runners:
            reply = await runner.request(lambda ref: Handover(ref))
            if reply.get("ok"):
                await cluster.restore_carry(reply["snapshot"], held)
            else:
                log.warning("room %s: carried state not restored (%s)", runner.id, reply.get("error"))


async def _sweep(gateway: VisitorGateway) -> None:
    while True:
        await asyncio.sleep(1.0)
        gateway.sweep()


async def _staff_stats(host: HostGateway) -> None:
    while True:
        await asyncio.sleep(STATS_EVERY_S)
        try:
            await host.publish_stats()
        except Exception:  # never let one bad emit stop the stats
            log.exception("publishing staff stats failed")


async def _demo_crowd(app: web.Application) -> AsyncIterator[None]:
    """Simulated visitors that wander the demo room, connecting over real sockets."""
    from server.crowd import Crowd  # a client: imported only when the demo asks for one

    s = app[SETTINGS]
    crowd = Crowd(f"http://{_connect_host(s.host)}:{s.port}", s.crowd_room, s.crowd, seed=7)
    task = asyncio.create_task(crowd.run(start_delay=0.5), name="demo-crowd")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _connect_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def _routes(app: web.Application, client: Path) -> None:
    node = client / "node_modules"

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(client / "index.html")

    async def host_console(request: web.Request) -> web.StreamResponse:
        page = client / "host.html"
        if not page.exists():
            raise web.HTTPNotFound(text="the host console is not part of this build yet")
        return web.FileResponse(page)

    async def healthz(request: web.Request) -> web.Response:
        rooms = request.app[ROOMS]
        cluster = request.app[CLUSTER]
        redis = "off" if cluster is None else "up" if cluster.up else "down"
        # starting: a room's worker has not ticked yet, so a join would wait on it (a proxy or
        # a test should not send visitors here yet); degraded: this node still serves its
        # visitors, cross-node features are paused
        starting = not all(r.ready for r in rooms.values())
        body: dict[str, object] = {
            "status": "starting" if starting else "degraded" if redis == "down" else "ok",
            "redis": redis,
            "rooms": len(rooms),
            "avatars": sum(s.occupancy for s in request.app[GATEWAY].shards.values()),
        }
        if cluster is not None:
            body["node"] = cluster.node
            body["owns"] = sorted(cluster.owned)  # rooms whose stage this node drives
        return web.json_response(body, status=503 if starting else 200)

    async def metrics(request: web.Request) -> web.Response:
        body = request.app[METRICS].render()
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def api_rooms(request: web.Request) -> web.Response:
        shards = request.app[GATEWAY].shards
        out = []
        for room_id, r in request.app[ROOMS].items():
            info = r.info(full=False)
            info["occupancy"] = shards[room_id].occupancy  # every audience shard of the room
            if len(shards[room_id].runners) > 1:
                info["shards"] = len(shards[room_id].runners)
            out.append(info)
        return web.json_response({"rooms": out})

    async def api_analytics(request: web.Request) -> web.Response:
        """The room's analytics report for brand staff: Bearer token covering the room."""
        room = request.match_info["room"]
        claims = staff_claims(request)
        if not claims.covers(room):
            raise web.HTTPForbidden(text=f"your token does not cover room {room[:64]!r}")
        shards = request.app[GATEWAY].shards.get(room)
        if shards is None:
            raise web.HTTPNotFound(text="no such room")
        # every shard of the room here and, with Redis, what the other nodes saw
        tally = await node_tally(shards)
        if tally is None:
            raise web.HTTPServiceUnavailable(text="the room did not answer in time")
        tallies = [tally]
        cluster = request.app[CLUSTER]
        if cluster is not None:
            try:
                tallies += await cluster.tallies(room)
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

    async def api_revoke(request: web.Request) -> web.Response:
        """``POST {"jti"}`` with a host token covering every room: revoke a staff token
        (what ``vetrina token --revoke`` calls)."""
        claims = staff_claims(request)
        if not claims.may("staff.revoke") or claims.rooms is not None:
            raise web.HTTPForbidden(text="revoking a token takes a host token for every room ('*')")
        try:
            req = RevokeRequest.model_validate(await request.json())
        except (ValueError, ValidationError) as exc:
            raise web.HTTPBadRequest(text=f"bad_request: send {{\"jti\": \"<token id>\"}} ({str(exc)[:200]})") from None
        host = request.app[HOST]
        ended = len(host.sessions_with(req.jti))
        shared = await host.revocations.revoke(req.jti, int(time.time()) + MAX_TOKEN_TTL_S)
        return web.json_response({"ok": True, "jti": req.jti, "ended": ended, "cluster": "ok" if shared else "pending"})

    async def api_room(request: web.Request) -> web.Response:
        runner = request.app[ROOMS].get(request.match_info["room"])
        if runner is None:
            raise web.HTTPNotFound(text="no such room")
        info = runner.info(full=True)
        info.pop("scene", None)  # the catalog, without the geometry
        return web.json_response(info)

    app.router.add_get("/", index)
    app.router.add_get("/host", host_console)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/rooms", api_rooms)
    app.router.add_get("/api/rooms/{room}", api_room)
    app.router.add_get("/api/rooms/{room}/analytics", api_analytics)
    app.router.add_post("/api/staff/revoke", api_revoke)
    if (client / "src").is_dir():
        app.router.add_static("/static/", client / "src")
    for prefix, folder in (
        ("/vendor/three/", node / "three" / "build"),
        ("/vendor/three-addons/", node / "three" / "examples" / "jsm"),
        ("/vendor/socket.io/", node / "socket.io-client" / "dist"),
    ):
        if folder.is_dir():
            app.router.add_static(prefix, folder)
        else:
            log.warning("%s is missing: run `make setup` to install the web client's packages", folder)
