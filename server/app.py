"""create_app(settings): the aiohttp application with socket.io, HTTP routes and room tasks.

create_app reads as the list of a node's parts; each part is one small function below.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Callable

import socketio
from aiohttp import web

from server import autopilot, fastio
from server.assets import load_rooms, load_wordfilter
from server.auth import DEFAULT_SECRET
from server.cluster import Cluster
from server.config import Settings
from server.directory import RoomDirectory
from server.host import HostGateway
from server.http import add_routes
from server.metrics import Metrics
from server.node import Node, hand_over, restore_carry, save_tallies, staff_stats, sweep, write_tallies
from server.outlet import NodeOutlet
from server.packets import VetrinaPacket
from server.revocations import Revocations
from server.rooms import RoomFactory
from server.visitor.namespace import VisitorGateway
from server.visitor.session import Limits
from server.identity.address import networks
from server.identity.resolver import Identities
from server.visitors import Visitors
from world.core.scene import RoomConfig

log = logging.getLogger(__name__)

NODE = web.AppKey("node", Node)
SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
ROOMS = web.AppKey("rooms", RoomDirectory)
SIO = web.AppKey("sio", socketio.AsyncServer)
GATEWAY = web.AppKey("gateway", VisitorGateway)
HOST = web.AppKey("host", HostGateway)
CLUSTER: web.AppKey[Cluster | None] = web.AppKey("cluster")

TRANSPORT_LIMIT = 1024 * 1024  # engine.io frame limit; payloads over 64 KiB get bad_request first


class InsecureSecret(ValueError):
    """The server would sign staff tokens with the public default secret."""


def create_app(settings: Settings) -> web.Application:
    refuse_default_secret(settings)
    app = web.Application()
    metrics = Metrics()
    configs = load_rooms(settings.rooms)
    cluster, configs = cluster_part(settings, metrics, configs)
    sio = socketio_part(app, settings)
    directory = RoomDirectory()
    visitors = Visitors(grace_ms=int(settings.resume_grace_s * 1000))
    gateway, host = gateways_part(sio, directory, visitors, settings, metrics, cluster)
    rooms = RoomFactory(settings, metrics, NodeOutlet(directory, gateway, host), remote=cluster)
    rooms.fill(directory, configs)
    node = Node(settings, metrics, sio, directory, visitors, gateway, host, rooms, cluster)
    store_part(app, node)
    add_routes(app, node)
    lifecycle_part(app, node)
    return app


def refuse_default_secret(settings: Settings) -> None:
    if settings.secret == DEFAULT_SECRET and not settings.demo:
        raise InsecureSecret(
            "refusing to start with the default secret: set VETRINA_SECRET (e.g. `openssl rand -hex 32`), "
            "or pass --demo for a local demo"
        )


def cluster_part(settings: Settings, metrics: Metrics,
                 configs: list[RoomConfig]) -> tuple[Cluster | None, list[RoomConfig]]:
    """With ``--redis``: the link to the other nodes, and the rooms' configs tagged for it."""
    if not settings.redis_url:
        return None, configs
    # every node of a cluster shares the secret: it also seals the wheel's seeds in Redis
    ttl = settings.session_ttl_s or settings.resume_grace_s + 60
    cluster = Cluster(settings.redis_url, settings.node_id, metrics, secret=settings.secret, session_ttl_s=ttl)
    # ids this node's rooms mint (chat messages, drops) carry a tag unique among the nodes
    tag = secrets.token_hex(3)
    return cluster, [cfg.model_copy(update={"tag": tag}) for cfg in configs]


def socketio_part(app: web.Application, settings: Settings) -> socketio.AsyncServer:
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
    return sio


def identities_part(settings: Settings) -> Identities:
    """Who visitors are: device identities, brands' signed-in customers, addresses."""
    return Identities(settings.secret, networks(settings.trusted_proxies), device_ttl_s=settings.visitor_days * 86400,
                      signed_ttl_s=settings.signed_hours * 3600)


def gateways_part(sio: socketio.AsyncServer, directory: RoomDirectory, visitors: Visitors, settings: Settings,
                  metrics: Metrics, cluster: Cluster | None) -> tuple[VisitorGateway, HostGateway]:
    """The visitor namespace ``/`` and the staff namespace ``/host``."""
    words = load_wordfilter(settings.wordfilter)
    limits = Limits(
        moves=(settings.move_rate, settings.move_burst), chat=(settings.chat_rate, settings.chat_burst),
        react=(settings.react_rate, settings.react_burst),
    )
    gateway = VisitorGateway(sio, directory, visitors, metrics, identities=identities_part(settings), limits=limits,
                             words=words, cluster=cluster)
    revocations = Revocations(settings.data_dir, redis_url=settings.redis_url)
    host = HostGateway(sio, directory, metrics, secret=settings.secret, words=words, revocations=revocations)
    return gateway, host


def store_part(app: web.Application, node: Node) -> None:
    app[NODE] = node
    app[SETTINGS] = node.settings
    app[METRICS] = node.metrics
    app[ROOMS] = node.directory
    app[SIO] = node.sio
    app[GATEWAY] = node.gateway
    app[HOST] = node.host
    app[CLUSTER] = node.cluster


def lifecycle_part(app: web.Application, node: Node) -> None:
    """What starts with the server and stops with it, in order."""
    app.on_shutdown.append(_disconnect_everyone)
    if node.cluster is not None:
        app.cleanup_ctx.append(_cluster_link)
    app.cleanup_ctx.append(_room_tasks)
    app.cleanup_ctx.append(_revocations_life)
    if node.settings.crowd:
        app.cleanup_ctx.append(_demo_crowd)


async def _cluster_link(app: web.Application) -> AsyncIterator[None]:
    node = app[NODE]
    cluster, gateway, host = node.cluster, node.gateway, node.host
    assert cluster is not None

    async def heal() -> None:  # Redis is back, maybe empty: what only this node still knows
        await restore_carry(node, cluster)

    node.visitors.start_ids_at(await cluster.start(list(node.directory), held=gateway.held, on_heal=heal))
    host.drops_paused = lambda: not cluster.up  # a drop must never exist on one node only
    tallies = asyncio.create_task(write_tallies(node.directory, cluster), name="cluster:analytics")
    yield
    tallies.cancel()
    await asyncio.gather(tallies, return_exceptions=True)
    await gateway.settle()
    await cluster.close()  # after every client was told to go: what they were acked is published


async def _room_tasks(app: web.Application) -> AsyncIterator[None]:
    node = app[NODE]
    tasks = node.rooms.start(node.directory)
    tasks.append(asyncio.create_task(sweep(node.gateway), name="sweep"))
    tasks.append(asyncio.create_task(staff_stats(node.host), name="staff-stats"))
    if node.settings.demo and node.settings.autopilot:
        owns: Callable[[str], bool] = node.cluster.owns if node.cluster is not None else autopilot.everywhere
        tasks.append(asyncio.create_task(autopilot.run(node.directory, owns), name="autopilot"))
    yield
    await node.rooms.stop(tasks)


async def _disconnect_everyone(app: web.Application) -> None:
    # aiohttp waits for open handlers before cleanup, and a websocket handler only ends
    # when its client goes: close every engine.io session first (visitors see a normal
    # server disconnect; their clients may reconnect to another node).
    node = app[NODE]
    if node.sio.eio.sockets:
        await node.sio.eio.disconnect()
    if node.cluster is not None:  # a drain: hand the visitors' carts, balances and bets over
        await hand_over(node.directory, node.cluster)
        await save_tallies(node.directory, node.cluster)  # what this node saw stays in the event's numbers


async def _revocations_life(app: web.Application) -> AsyncIterator[None]:
    revocations = app[HOST].revocations
    revocations.start()
    yield
    await revocations.close()


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

