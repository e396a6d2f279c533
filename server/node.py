"""One node's parts (what create_app wires, server/app.py) and its background chores:
sweeping expired visitors, staff stats, and with Redis the analytics tallies and hand-overs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import socketio

from server.cluster import Cluster
from server.config import Settings
from server.directory import RoomDirectory
from server.host import STATS_EVERY_S, HostGateway
from server.metrics import Metrics
from server.rooms import RoomFactory
from server.shards import AudienceShards
from server.visitor.namespace import VisitorGateway
from server.visitors import Visitors
from world.core.room import AnalyticsAsk, Handover
from world.insight.analytics import add_tallies

log = logging.getLogger(__name__)

TALLY_EVERY_S = 5.0  # how often a node writes its rooms' analytics where the other nodes add them up
SWEEP_EVERY_S = 1.0


@dataclass
class Node:
    settings: Settings
    metrics: Metrics
    sio: socketio.AsyncServer
    directory: RoomDirectory
    visitors: Visitors
    gateway: VisitorGateway
    host: HostGateway
    rooms: RoomFactory
    cluster: Cluster | None


async def node_tally(shards: AudienceShards) -> dict[str, Any] | None:
    """The analytics sums of every shard of a room on this node, added up (None: no shard
    answered)."""
    replies = await asyncio.gather(*(r.request(lambda ref: AnalyticsAsk(ref, tally=True)) for r in shards.runners))
    tallies = [reply["tally"] for reply in replies if reply.get("ok")]
    return add_tallies(tallies) if tallies else None


async def save_tallies(directory: RoomDirectory, cluster: Cluster) -> None:
    for room, shards in directory.audiences():
        tally = await node_tally(shards)
        if tally is not None:
            await cluster.save_tally(room, tally)


async def write_tallies(directory: RoomDirectory, cluster: Cluster) -> None:
    """Every few seconds, this node's analytics of each room where the other nodes' exports
    add them up."""
    while True:
        await asyncio.sleep(TALLY_EVERY_S)
        try:
            await save_tallies(directory, cluster)
        except Exception:  # a room that did not answer in time: the next round tries again
            log.exception("cluster: writing analytics tallies failed")


async def _snapshots(directory: RoomDirectory, what: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Every shard's per-visitor state (a ``Handover`` snapshot), room by room; a shard that
    does not answer is logged (``what``: what is then missing) and skipped."""
    for room, shards in directory.audiences():
        for runner in shards.runners:
            reply = await runner.request(lambda ref: Handover(ref))
            if reply.get("ok"):
                yield room, reply["snapshot"]
            else:
                log.warning("room %s: %s (%s)", runner.id, what, reply.get("error"))


async def hand_over(directory: RoomDirectory, cluster: Cluster) -> None:
    """Every shard's per-visitor state to the other nodes, where the visitors resume (the
    cluster publishes it before closing: see Cluster.close)."""
    async for room, snapshot in _snapshots(directory, "nothing handed over"):
        cluster.share(room, [("handover", snapshot)])


async def restore_carry(node: Node, cluster: Cluster) -> None:
    """After Redis came back (maybe empty): every held visitor's cart, orders, balance and
    open bets where any node can give them back, and its orders in the drops' order books."""
    held = {v.id for v in node.gateway.held()}
    async for _, snapshot in _snapshots(node.directory, "carried state not restored"):
        await cluster.restore_carry(snapshot, held)


async def sweep(gateway: VisitorGateway) -> None:
    while True:
        await asyncio.sleep(SWEEP_EVERY_S)
        gateway.sweep()


async def staff_stats(host: HostGateway) -> None:
    while True:
        await asyncio.sleep(STATS_EVERY_S)
        try:
            await host.publish_stats()
        except Exception:  # never let one bad emit stop the stats
            log.exception("publishing staff stats failed")
