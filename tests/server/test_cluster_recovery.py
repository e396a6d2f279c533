"""A cluster survives a node killed without warning and a Redis that restarts empty.

Real parts only: real redis-server processes (stopped and started again without persistence),
real `vetrina serve` subprocesses killed with SIGKILL, real socket.io clients.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from typing import Any

import aiohttp
import msgpack
import pytest
import redis.asyncio as aioredis

from server.app import CLUSTER
from server.cluster import Cluster
from server.metrics import Metrics
from server.replication.room import Replication
from server.runner import now_ms
from tests.conftest import TEST_SECRET, AppServer, StaffClient, Visitor, eventually, start_server_process, stop_process
from tests.server.test_cluster import RedisServer, drain, nodes, redis_server, up, visitor

__all__ = ["redis_server"]  # the fixture, shared with test_cluster.py


async def start_drop(node: AppServer | str, staff: list[StaffClient], room: str = "showroom", stock: int = 20,
                     seconds: int = 120) -> str:
    host = StaffClient("host", [room])
    staff.append(host)
    await host.connect(node if isinstance(node, str) else node.url)
    started = await host.call("offer.start", {"room": room, "product": "luna-bag", "price": 10,
                                              "stock": stock, "seconds": seconds})
    assert started["ok"], started
    return str(started["offer"])


async def metrics_text(node: AppServer) -> str:
    async with aiohttp.ClientSession() as http, http.get(node.url + "/metrics") as r:
        return await r.text()


async def restart_empty(redis_server: RedisServer, *clusters: Cluster | None) -> None:
    """Stopped and started again without persistence, as compose runs it: empty. Returns when
    each of ``clusters`` has noticed and restored what it knows (healed)."""
    before = [c.healed if c is not None else 0 for c in clusters]
    redis_server.stop()
    redis_server.start()
    await eventually(lambda: all(c is not None and c.up and c.healed > n for c, n in zip(clusters, before)), 10)


# ---- A: a visitor resumes after its node is killed, however quiet it was -------------------


@pytest.fixture
def killed_and_spare(redis_server: RedisServer) -> Iterator[tuple[Any, str, str]]:
    """Two `vetrina serve --redis` subprocesses with a 1 s resume grace and a 3 s session TTL
    (the TTL the keys in Redis get; the default is grace + 60 s): (first's process, urls)."""
    args = ("--demo", "--no-autopilot", "--redis", redis_server.url, "--resume-grace", "1")
    env = {"VETRINA_SESSION_TTL_S": "3"}
    first, p1 = start_server_process(*args, "--node-id", "doomed", env=env)
    try:
        second, p2 = start_server_process(*args, "--node-id", "spare", env=env)
    except BaseException:  # (never leave the first one running)
        stop_process(first)
        raise
    yield first, f"http://127.0.0.1:{p1}", f"http://127.0.0.1:{p2}"
    for proc in (first, second):
        stop_process(proc)


@pytest.mark.parametrize("redis_restarts", [False, True], ids=["redis-stays", "redis-restarts-empty-first"])
async def test_a_quiet_visitor_resumes_with_cart_and_orders_after_its_node_is_killed(
    killed_and_spare: tuple[Any, str, str], redis_server: RedisServer, visitors: list[Visitor],
    staff: list[StaffClient], redis_restarts: bool,
) -> None:
    proc, doomed, spare = killed_and_spare
    eva = Visitor("Eva")
    visitors.append(eva)
    first = await eva.connect(doomed)
    await eva.join("showroom")
    watcher = Visitor("Watcher")
    visitors.append(watcher)
    await watcher.connect(spare)
    await watcher.join("showroom")
    assert (await eva.call("cart.add", {"product": "luna-bag", "variant": "cognac", "qty": 1}))["ok"]
    offer = await start_drop(doomed, staff, stock=5)
    await eventually(lambda: any(o["id"] == offer for o in watcher.events.get("offer", [])), 5)  # the spare knows it
    claimed = await eva.call("offer.claim", {"offer": offer})
    assert claimed["ok"], claimed

    if redis_restarts:  # her session, cart and orders are gone from Redis: the nodes put them back
        redis_server.stop()
        redis_server.start()
    await asyncio.sleep(5.0)  # quiet for longer than the keys' TTL (3 s): only a keep-alive holds them
    proc.kill()  # SIGKILL: no drain, no hand-over
    proc.wait(5)

    back = Visitor("Eva")
    visitors.append(back)
    welcome = await back.connect(spare, resume=first["session"])
    assert welcome["id"] == first["id"] and welcome.get("room") == "showroom"
    await back.join("showroom")
    cart = (await back.call("cart.get"))["cart"]
    assert [(i["product"], i["variant"], i["qty"]) for i in cart["items"]] == [("luna-bag", "cognac", 1)]
    assert [o["order"] for o in cart["orders"]] == [claimed["order"]]
    again = await back.call("offer.claim", {"offer": offer})
    assert again["ok"] and again["order"] == claimed["order"]  # one order per visitor, across the resume


# ---- B: a Redis restart never oversells nor reuses an order id -----------------------------


async def shoppers(node: AppServer, visitors: list[Visitor], n: int, tag: str) -> list[Visitor]:
    made = [Visitor(f"{tag}{i}") for i in range(n)]
    visitors.extend(made)
    await asyncio.gather(*(v.connect(node.url) for v in made))
    await asyncio.gather(*(v.join("showroom") for v in made))
    return made


@pytest.mark.parametrize("first_node_stays", [True, False], ids=["both-nodes-stay", "only-the-late-node-stays"])
async def test_a_redis_restart_sells_only_what_is_left_and_never_repeats_an_order_id(
    redis_server: RedisServer, visitors: list[Visitor], staff: list[StaffClient], first_node_stays: bool
) -> None:
    async with nodes(redis_server.url, 1) as (b,):
        offer = await start_drop(b, staff, stock=20)
        early = await shoppers(b, visitors, 15, "Early")
        first = await asyncio.gather(*(v.call("offer.claim", {"offer": offer}) for v in early))
        assert all(x["ok"] for x in first), first
        async with nodes(redis_server.url, 1, first=3) as (c,):  # starts mid-event: replays the drop
            late = await shoppers(c, visitors, 20, "Late")
            joined = (await late[0].call("join", {"room": "showroom"}))["offers"]
            assert [o["stock"] for o in joined if o["id"] == offer] == [5]
            if not first_node_stays:
                await drain(b)  # only what the late node replayed knows the stock now
            await restart_empty(redis_server, *[n.app[CLUSTER] for n in ((b, c) if first_node_stays else (c,))])

            acks = await asyncio.gather(*(v.call("offer.claim", {"offer": offer}) for v in late))
            sold = [x["order"] for x in acks if x["ok"]]
            assert len(sold) == 5, acks  # 15 before, 5 after: 20 of 20
            assert {x["error"]["code"] for x in acks if not x["ok"]} == {"sold_out"}
            orders = [x["order"] for x in first] + sold
            assert len(set(orders)) == len(orders) == 20  # no order id twice
            if first_node_stays:  # its visitors' orders are back in the order book
                again = await early[0].call("offer.claim", {"offer": offer})
                assert again["ok"] and again["order"] == first[0]["order"]


async def test_order_ids_stay_unique_when_a_claim_was_lost_with_redis(redis_server: RedisServer) -> None:
    """The residual window: a claim acked by a node that died with Redis before any other node
    heard of it. The stock re-created from what the survivors saw is one too high, but the
    re-created drop's order ids carry an epoch: none is issued twice."""
    offer = {"id": "d1", "product": "luna-bag", "name": "Luna", "price": 10.0, "currency": "EUR", "initial": 3,
             "stock": 3, "ends_at": now_ms() + 60_000}
    survivor = Cluster(redis_server.url, "survivor", Metrics(), secret=TEST_SECRET)
    doomed = Cluster(redis_server.url, "doomed", Metrics(), secret=TEST_SECRET)
    # each node's replication component of the room (no shards: the ledgers are what counts)
    shared = {node: Replication("showroom", [], node.ledger, remote=node) for node in (survivor, doomed)}
    try:
        for node in (survivor, doomed):
            await node.start()
        shared[survivor].share(None, [("offer", offer)])
        await eventually(lambda: "d1" in doomed.ledger.book, 5)
        one = await survivor.ledger.claim("d1", 1, now_ms())
        two = await doomed.ledger.claim("d1", 2, now_ms())  # no `stock` item follows: its node dies now
        assert (one.order, two.order) == ("d1-o1", "d1-o2")
        await doomed.close()
        await restart_empty(redis_server, survivor)
        three = await survivor.ledger.claim("d1", 3, now_ms())
        assert three.outcome == "ok" and three.order not in (one.order, two.order)
        assert three.order.startswith("d1-o2-")  # the survivor saw 2 left: numbered on from there
    finally:
        await survivor.close()


# ---- C: a drop never exists on one node only -----------------------------------------------


async def host_and_visitor(a: AppServer, b: AppServer, visitors: list[Visitor],
                           staff: list[StaffClient]) -> tuple[StaffClient, Visitor]:
    """A host console on node A and a visitor, Bo, in the showroom on node B."""
    bo = await visitor(b, visitors, "Bo")
    host = StaffClient("host", ["showroom"])
    staff.append(host)
    await host.connect(a.url)
    return host, bo


async def test_a_drop_cannot_start_while_redis_is_down_and_can_once_it_is_back(
    redis_server: RedisServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    async with nodes(redis_server.url) as (a, b):
        host, bo = await host_and_visitor(a, b, visitors, staff)
        drop = {"room": "showroom", "product": "luna-bag", "price": 10, "stock": 5, "seconds": 60}
        redis_server.stop()
        await eventually(lambda: not up(a), 5)
        refused = await host.call("offer.start", drop)
        assert refused["ok"] is False and refused["error"]["code"] == "unavailable", refused
        assert "Redis" in refused["error"]["message"]  # what the console shows the host
        assert 'vetrina_rejected_total{code="unavailable",event="host:offer.start"} 1.0' in await metrics_text(a)

        redis_server.start()
        await eventually(lambda: up(a) and up(b), 10)
        started = await host.call("offer.start", drop)
        assert started["ok"], started
        await eventually(lambda: any(o["id"] == started["offer"] for o in bo.events.get("offer", [])), 5)
        assert (await bo.call("offer.claim", {"offer": started["offer"]}))["ok"]


async def test_what_staff_share_while_redis_is_down_reaches_every_node_when_it_is_back(
    redis_server: RedisServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    async with nodes(redis_server.url) as (a, b):
        host, bo = await host_and_visitor(a, b, visitors, staff)
        redis_server.stop()
        await eventually(lambda: not up(a), 5)
        lit = await host.call("spotlight", {"room": "showroom", "product": "luna-bag"})
        assert lit["ok"], lit  # the node's own visitors see it at once
        assert 'vetrina_cluster_messages_total{direction="held",kind="stage"} 1.0' in await metrics_text(a)

        await restart_empty(redis_server, a.app[CLUSTER], b.app[CLUSTER])
        seen = await eventually(lambda: bo.events.get("spotlight"), 5)  # held, then published
        assert seen[-1]["product"]["id"] == "luna-bag"
        async with nodes(redis_server.url, 1, first=3) as (late,):  # and kept for late nodes
            cy = await visitor(late, visitors, "Cy")
            ack = await cy.call("join", {"room": "showroom"})
            assert ack["spotlight"]["product"]["id"] == "luna-bag"


# ---- the wheel's seed never crosses Redis in the clear ------------------------------------


def leaves(value: Any) -> Iterator[bytes]:
    """Every string and bytes value (and key) in a decoded item, as bytes."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(k)
            yield from leaves(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from leaves(v)
    elif isinstance(value, bytes):
        yield value
    elif isinstance(value, str):
        yield value.encode()
        try:
            yield bytes.fromhex(value)
        except ValueError:
            pass


def reveals(item: Any, commit: str) -> bool:
    return any(hashlib.sha256(leaf).hexdigest() == commit for leaf in leaves(item))


async def test_the_wheel_seed_is_sealed_in_redis_and_every_node_draws_the_same(
    redis_server: RedisServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    spy = aioredis.Redis.from_url(redis_server.url)
    pubsub = spy.pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe("vetrina:room:studio")
    try:
        async with nodes(redis_server.url) as (a, b):
            ada, bo = await visitor(a, visitors, "Ada", "studio"), await visitor(b, visitors, "Bo", "studio")
            host = StaffClient("host", ["studio"])
            staff.append(host)
            await host.connect(a.url)
            opened = await host.call("wheel.open", {"room": "studio", "seconds": 30})
            assert opened["ok"], opened
            commit = opened["commit"]
            published = await stage_item(pubsub, "wheel.open")
            stored = [msgpack.unpackb(raw) for raw in await spy.lrange("vetrina:replay:studio", 0, -1)]
            assert any(kind == "stage" for kind, _ in stored)
            assert not reveals(published, commit) and not any(reveals(item, commit) for item in stored)
            await eventually(lambda: any(s.get("commit") == commit for s in bo.events.get("show", [])), 5)

            assert (await host.call("wheel.spin", {"room": "studio"}))["ok"]
            results = [await eventually(lambda v=v: [s for s in v.events.get("show", []) if s.get("seed")], 15)
                       for v in (ada, bo)]
            seeds = {s[-1]["seed"] for s in results}
            assert len(seeds) == 1 and hashlib.sha256(bytes.fromhex(seeds.pop())).hexdigest() == commit
            assert results[0][-1]["result"] == results[1][-1]["result"]  # the same draw on both nodes
            seed = bytes.fromhex(results[0][-1]["seed"])
            raw = b"".join([e for e in await spy.lrange("vetrina:replay:studio", 0, -1) if isinstance(e, bytes)])
            assert seed not in raw and seed not in msgpack.packb(published)
    finally:
        await pubsub.aclose()
        await spy.aclose()


async def stage_item(pubsub: Any, action: str) -> dict[str, Any]:
    """The next published stage item with this action, as a reader of Redis sees it."""
    async with asyncio.timeout(5):
        async for msg in pubsub.listen():
            item = msgpack.unpackb(msg["data"])
            if item["kind"] == "stage" and item["payload"].get("action") == action:
                return item
    raise AssertionError("no stage item published")
