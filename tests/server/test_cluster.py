"""Several nodes joined by a real redis-server: one event across processes' audience shards."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import msgpack
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from server.app import CLUSTER, ROOMS, create_app
from server.auth import mint
from server.config import Settings
from tests.conftest import TEST_SECRET, AppServer, StaffClient, Visitor, eventually, free_port


class RedisServer:
    """A throwaway redis-server on its own port, without persistence; can be stopped and restarted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server is missing: install Debian's redis-server (make system-deps)")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    r = RedisServer()
    r.start()
    yield r
    r.stop()


@asynccontextmanager
async def nodes(redis_url: str, n: int = 2, *, first: int = 1, **extra: Any) -> AsyncIterator[list[AppServer]]:
    """``n`` nodes of one cluster in this event loop, each on its own real socket (named
    ``node<first>``, ``node<first + 1>``...; ``extra``: more settings)."""
    runners: list[web.AppRunner] = []
    made: list[AppServer] = []
    try:
        for i in range(n):
            settings = Settings(port=0, tick_hz=20.0, room_processes=False, secret=TEST_SECRET,
                                redis_url=redis_url, node_id=f"node{first + i}", **extra)
            app = create_app(settings)
            runner = web.AppRunner(app, handle_signals=False, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append(runner)
            made.append(AppServer(f"http://127.0.0.1:{runner.addresses[0][1]}", app))
            _RUNNERS[made[-1].url] = runner
        for node in made:  # as a proxy would: wait until /healthz stops saying `starting`
            await eventually(lambda node=node: all(r.ready for r in node.app[ROOMS].values()), 10)
        yield made
    finally:
        for node, runner in zip(made, runners):
            if _RUNNERS.pop(node.url, None) is not None:
                await runner.cleanup()


_RUNNERS: dict[str, web.AppRunner] = {}


async def drain(node: AppServer) -> None:
    """What SIGTERM does to a node (server/cli.py): stop accepting, tell clients, clean up."""
    await _RUNNERS.pop(node.url).cleanup()


async def visitor(node: AppServer, visitors: list[Visitor], name: str, room: str = "showroom", **auth: Any) -> Visitor:
    v = Visitor(name)
    visitors.append(v)
    await v.connect(node.url, **auth)
    await v.join(room)
    return v


async def health(node: AppServer) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(node.url + "/healthz") as r:
        assert r.status == 200  # degraded still serves: proxies keep routing to it
        return await r.json()  # type: ignore[no-any-return]


def up(node: AppServer) -> bool:
    cluster = node.app[CLUSTER]
    return cluster is not None and cluster.up


def chats(v: Visitor) -> list[str]:
    return [m["text"] for m in v.events.get("chat", [])]


async def test_chat_and_reactions_cross_nodes_history_reaches_late_joiners(
    redis_server: RedisServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    async with nodes(redis_server.url) as (a, b):
        host = StaffClient("host", ["concert"])
        staff.append(host)
        await host.connect(a.url)
        show = await host.call("show.start", {"room": "concert", "kind": "concert"})
        assert show["ok"], show
        assert (await health(a))["redis"] == "up" and (await health(b))["status"] == "ok"
        ada = await visitor(a, visitors, "Ada", "concert")
        bo = await visitor(b, visitors, "Bo", "concert")
        assert ada.welcome and bo.welcome and ada.welcome["id"] != bo.welcome["id"]  # ids unique across nodes

        sent = await ada.call("chat", {"text": "Ciao from node one"})
        assert sent["ok"]
        await eventually(lambda: "Ciao from node one" in chats(bo))
        got = [m for m in bo.events["chat"] if m["text"] == "Ciao from node one"][0]
        assert got["id"] == sent["id"] and got["from"] == {"id": ada.welcome["id"], "name": "Ada"}
        assert (await bo.call("chat", {"text": "and from node two"}))["ok"]
        await eventually(lambda: "and from node two" in chats(ada))
        near = await bo.call("chat", {"text": "only for my neighbours", "scope": "near"})
        assert near["ok"]

        for _ in range(3):
            await ada.sio.emit("react", {"emoji": "🔥"})
        await bo.sio.emit("react", {"emoji": "👏"})

        def counted(v: Visitor) -> dict[str, int]:
            total: dict[str, int] = {}
            for msg in v.events.get("reactions", []):
                for emoji, n in msg["counts"].items():
                    total[emoji] = total.get(emoji, 0) + n
            return total

        await eventually(lambda: counted(bo) == {"🔥": 3, "👏": 1} and counted(ada) == {"🔥": 3, "👏": 1})

        # a visitor joining on the other node gets the whole room's history
        cy = Visitor("Cy")
        visitors.append(cy)
        await cy.connect(b.url)
        history = [m["text"] for m in (await cy.join("concert"))["chat"]]
        assert history[-2:] == ["Ciao from node one", "and from node two"]
        assert "only for my neighbours" not in chats(ada)  # proximity chat stays on its node

    # a node that starts later seeds its rooms' history and the running show from Redis
    async with nodes(redis_server.url, 1) as (c,):
        dee = Visitor("Dee")
        visitors.append(dee)
        await dee.connect(c.url)
        ack = await dee.join("concert")
        history = [m["text"] for m in ack["chat"]]
        assert history[-2:] == ["Ciao from node one", "and from node two"]
        assert ack["show"]["kind"] == "concert" and ack["show"]["t0"] == show["t0"]  # the same timeline


async def test_a_malformed_item_from_redis_is_counted_and_never_reaches_a_room(
    redis_server: RedisServer, visitors: list[Visitor]
) -> None:
    spy = aioredis.Redis.from_url(redis_server.url)
    try:
        async with nodes(redis_server.url, 1) as (a,):
            ada = await visitor(a, visitors, "Ada")
            bad = {"id": "spy-1", "from": {"id": 9, "name": "Spy"}, "text": 5, "scope": "room", "t": 1}
            good = {**bad, "id": "spy-2", "text": "well formed"}
            for payload in (bad, good):  # as another node would publish them
                await spy.publish("vetrina:room:showroom", msgpack.packb({"node": "spy", "kind": "chat", "payload": payload}))
            await eventually(lambda: "well formed" in chats(ada), 5)  # the bad one came first
            assert [m["id"] for m in ada.events["chat"] if m["id"].startswith("spy-")] == ["spy-2"]
            async with aiohttp.ClientSession() as http, http.get(a.url + "/metrics") as r:
                assert 'vetrina_cluster_dropped_total{reason="malformed"} 1.0' in await r.text()
    finally:
        await spy.aclose()


async def test_a_ban_and_the_qa_board_hold_across_nodes(
    redis_server: RedisServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    async with nodes(redis_server.url) as (a, b):
        ada = await visitor(a, visitors, "Ada", "concert")
        troll = await visitor(b, visitors, "Troll", "concert")
        host = StaffClient("moderator", ["concert"], name="Mia")
        staff.append(host)
        await host.connect(a.url)
        assert (await host.call("host.watch", {"room": "concert"}))["ok"]
        assert (await troll.call("chat", {"text": "buy followers here"}))["ok"]
        seen = await eventually(lambda: [m for m in host.got("chat") if m.get("text") == "buy followers here"], 5)
        assert troll.welcome is not None and seen[0]["from"]["id"] == troll.welcome["id"]
        banned = await host.call("mod.ban", {"room": "concert", "avatar": troll.welcome["id"]})
        assert banned["ok"], banned  # a visitor of the other node, known here from its chat
        await eventually(lambda: any(m.get("action") == "banned" for m in troll.events.get("moderation", [])), 5)
        again = await troll.call("join", {"room": "concert"})
        assert again["error"]["code"] == "banned"  # its own node holds the ban too

        asked = await troll.call("qa.ask", {"text": "can I still ask?"})  # not in a room: refused
        assert not asked["ok"]
        bo = await visitor(b, visitors, "Bo", "concert")
        q = (await bo.call("qa.ask", {"text": "When does the encore start?"}))["id"]
        await eventually(lambda: any(t["id"] == q for m in ada.events.get("qa", []) for t in m["top"]), 5)
        assert (await ada.call("qa.vote", {"id": q}))["votes"] == 1
        await eventually(lambda: any(t["id"] == q and t["votes"] == 1 for m in bo.events.get("qa", []) for t in m["top"]), 5)
        assert (await bo.call("qa.vote", {"id": q}))["votes"] == 2  # one board: both votes count
        assert (await host.call("qa.answer", {"room": "concert", "id": q, "text": "At ten."}))["ok"]
        await eventually(lambda: any(t["id"] == q and t.get("answer") == "At ten." and t["votes"] == 2
                                     for m in bo.events.get("qa", []) for t in m["top"]), 5)


async def test_a_visitor_resumes_on_the_other_node_with_its_avatar_and_room(
    redis_server: RedisServer, visitors: list[Visitor]
) -> None:
    async with nodes(redis_server.url) as (a, b):
        eva = await visitor(a, visitors, "Eva", "showroom", look={"color": "#ff8800"})
        assert eva.welcome is not None
        avatar, session = eva.welcome["id"], eva.welcome["session"]
        assert (await eva.call("cart.add", {"product": "luna-bag", "variant": "cognac", "qty": 2}))["ok"]
        await asyncio.sleep(0.3)  # (her cart is kept in Redis within a tick)
        await eva.close()  # her node goes away (or the proxy sends her elsewhere)

        back = Visitor("Eva")
        visitors.append(back)
        welcome = await back.connect(b.url, resume=session)
        assert welcome["id"] == avatar and welcome["session"] == session and welcome["room"] == "showroom"
        ack = await back.join("showroom")  # the client re-joins after a welcome: idempotent
        assert ack["you"]["id"] == avatar
        cart = (await back.call("cart.get"))["cart"]  # her node never handed it over: Redis had it
        assert [(i["product"], i["variant"], i["qty"]) for i in cart["items"]] == [("luna-bag", "cognac", 2)]
        watcher = await visitor(b, visitors, "Watcher")
        seen = await eventually(lambda: [e for t in watcher.ticks for e in t["enter"] if e[0] == avatar], 5)
        assert seen[0][1] == "Eva" and seen[0][2]["color"] == "#ff8800"

        stranger = Visitor("Nobody")
        visitors.append(stranger)
        fresh = await stranger.connect(b.url, resume="not-a-session-anywhere")
        assert fresh["id"] not in (avatar, watcher.welcome and watcher.welcome["id"]) and "room" not in fresh


async def test_400_concurrent_claims_over_two_nodes_on_a_stock_of_100(
    redis_server: RedisServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    async with nodes(redis_server.url) as (a, b):
        crowd: list[Visitor] = []
        for batch in range(8):  # 400 real socket.io clients, half on each node
            node = (a, b)[batch % 2]
            made = [Visitor(f"Shopper{batch}-{i}") for i in range(50)]
            visitors.extend(made)
            await asyncio.gather(*(v.connect(node.url) for v in made))
            await asyncio.gather(*(v.join("showroom") for v in made))
            crowd += made
        host = StaffClient("host", ["showroom"])
        staff.append(host)
        await host.connect(a.url)
        started = await host.call("offer.start", {"room": "showroom", "product": "luna-bag", "price": 199,
                                                  "stock": 100, "seconds": 60})
        assert started["ok"]
        offer = started["offer"]
        await eventually(lambda: all(v.events.get("offer") for v in crowd), 5)  # both nodes show the drop

        acks = await asyncio.gather(*(v.call("offer.claim", {"offer": offer}) for v in crowd))
        orders = [x["order"] for x in acks if x["ok"]]
        assert len(orders) == 100 and len(set(orders)) == 100
        assert {x["error"]["code"] for x in acks if not x["ok"]} == {"sold_out"}
        winners = {i % 100 // 50 for i, x in enumerate(acks) if x["ok"]}
        assert winners  # (which node's shoppers won is up to the race)
        again = await crowd[[i for i, x in enumerate(acks) if x["ok"]][-1]].call("offer.claim", {"offer": offer})
        assert again["ok"] and again["order"] in orders  # one order per visitor, across nodes too
        # both nodes stream the stock down to zero
        for v in (crowd[0], crowd[50]):
            await eventually(lambda v=v: any(m["stock"] == 0 for m in v.events["offer"]), 5)


async def test_redis_outage_keeps_local_movement_and_recovers_by_itself(
    redis_server: RedisServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    async with nodes(redis_server.url) as (a, b):
        ada = await visitor(a, visitors, "Ada")
        bo = await visitor(a, visitors, "Bo")
        cy = await visitor(b, visitors, "Cy")
        host = StaffClient("host", ["showroom"])
        staff.append(host)
        await host.connect(a.url)
        offer = (await host.call("offer.start", {"room": "showroom", "product": "luna-bag", "price": 1,
                                                 "stock": 5, "seconds": 120}))["offer"]

        redis_server.stop()
        await eventually(lambda: not up(a), 5)
        h = await health(a)
        assert h["status"] == "degraded" and h["redis"] == "down"
        # local life goes on: Bo sees Ada walk, chat on the node works
        assert ada.welcome is not None
        await ada.sio.emit("move", {"p": [1.5, 0.0, 2.0], "yaw": 0.0, "seq": 1})
        await eventually(lambda: any(ada.welcome and rec for rec in _positions(bo, ada.welcome["id"])), 5)
        assert (await ada.call("chat", {"text": "still here"}))["ok"]
        await eventually(lambda: "still here" in chats(bo))
        refused = await bo.call("offer.claim", {"offer": offer})
        assert refused["error"]["code"] == "unavailable"
        assert "still here" not in chats(cy)
        async with aiohttp.ClientSession() as http, http.get(a.url + "/metrics") as r:
            text = await r.text()
        assert "vetrina_redis_up 0.0" in text

        redis_server.start()  # Redis is back (empty: no persistence)
        await eventually(lambda: up(a) and up(b), 10)
        assert (await health(a))["status"] == "ok"

        async def crosses() -> bool:
            assert (await ada.call("chat", {"text": "back again"}))["ok"]
            await asyncio.sleep(1.0)  # (and inside Ada's chat allowance of 1 a second)
            return "back again" in chats(cy)

        deadline = time.monotonic() + 10
        while not await crosses():  # the listener re-subscribes on its own
            assert time.monotonic() < deadline, "chat never crossed nodes again"
        claimed = await bo.call("offer.claim", {"offer": offer})
        assert claimed["ok"], claimed


async def test_a_drained_node_loses_no_acknowledged_chat(redis_server: RedisServer, visitors: list[Visitor]) -> None:
    async with nodes(redis_server.url) as (a, b):
        ada = await visitor(a, visitors, "Ada", "concert")
        bo = await visitor(b, visitors, "Bo", "concert")
        texts = [f"last words {i}" for i in range(4)]
        acks = await asyncio.gather(*(ada.call("chat", {"text": t}) for t in texts))
        assert all(x["ok"] for x in acks)
        await drain(a)  # right after the acks: what was acknowledged is flushed to Redis first
        await eventually(lambda: not ada.sio.connected, 5)  # her client was told to go
        await eventually(lambda: set(texts) <= set(chats(bo)), 5)
        late = Visitor("Late")
        visitors.append(late)
        await late.connect(b.url)
        history = [m["text"] for m in (await late.join("concert"))["chat"]]
        assert set(texts) <= set(history)


async def test_a_drained_node_hands_over_carts_balances_and_open_bets(
    redis_server: RedisServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    async with nodes(redis_server.url) as (a, b):
        host = StaffClient("host", ["studio"])
        staff.append(host)
        await host.connect(b.url)
        opened = await host.call("wheel.open", {"room": "studio", "seconds": 30})
        assert opened["ok"], opened
        eva = Visitor("Eva")
        visitors.append(eva)
        await eva.connect(a.url)
        joined = await eva.join("studio")
        assert eva.welcome is not None
        session, avatar = eva.welcome["session"], eva.welcome["id"]
        # the round reached her node before her join (in its ack) or after (a `show`)
        await eventually(lambda: any(s.get("round") == opened["round"]
                                     for s in [joined["show"], *eva.events.get("show", [])]), 5)
        # one credit on every number: whatever the draw, exactly one of them wins
        for i, segment in enumerate(["1", "2", "5", "10", "20", "40"]):
            placed = await eva.call("bet", {"round": opened["round"], "segment": segment, "amount": 1, "id": f"b{i}"})
            assert placed["ok"], placed
        assert placed["balance"] == 1000 - 6
        assert (await eva.call("cart.add", {"product": "tour-tee", "variant": "black-m", "qty": 2}))["ok"] is False  # not sold here
        await drain(a)  # her node goes; what she was acknowledged goes with her

        back = Visitor("Eva")
        visitors.append(back)
        welcome = await back.connect(b.url, resume=session)
        assert welcome["id"] == avatar
        ack = await back.join("studio")
        await eventually(lambda: _balance(b, avatar) == 1000 - 6, 5)
        assert ack["balance"] in (1000, 1000 - 6)  # (the hand-over may land just after her join)
        again = await back.call("bet", {"round": opened["round"], "segment": "1", "amount": 1, "id": "b0"})
        assert again["ok"] and again["balance"] == 1000 - 6  # the same bet id: charged once, here too
        assert (await host.call("wheel.spin", {"room": "studio"}))["ok"]
        payout = await eventually(lambda: back.events.get("payout"), 15)
        assert payout[0]["round"] == opened["round"] and payout[0]["won"] >= 2  # stake back and winnings
        assert payout[0]["balance"] == 1000 - 6 + payout[0]["won"]


async def test_the_analytics_export_adds_up_every_node_including_one_that_went_away(
    redis_server: RedisServer, visitors: list[Visitor]
) -> None:
    async with nodes(redis_server.url) as (a, b):
        ada = await visitor(a, visitors, "Ada")
        bo = await visitor(b, visitors, "Bo")
        for v in (ada, bo):
            assert (await v.call("product.view", {"product": "luna-bag"}))["ok"]
        assert (await bo.call("chat", {"text": "nice bag"}))["ok"]
        await asyncio.sleep(1.3)  # a sample on each node
        await drain(a)  # node a goes: what it saw stays in the event's numbers
        token = mint(TEST_SECRET, role="host", rooms=["showroom"], ttl_s=60)
        async with aiohttp.ClientSession() as http, http.get(
            b.url + "/api/rooms/showroom/analytics", headers={"Authorization": f"Bearer {token}"}
        ) as r:
            report = await r.json()
        assert report["visitors"] == 2 and report["funnel"]["products"]["luna-bag"]["viewed"] == 2
        assert sum(m["chat"] for m in report["per_minute"]) >= 1


def _balance(node: AppServer, avatar: int) -> int | None:

    engine = node.app[ROOMS]["studio"].engine
    room = getattr(engine, "room", None)  # the inline engine (tests run rooms in-process)
    return room.wheel.wheel.balances.get(avatar) if room is not None and room.wheel is not None else None


def _positions(v: Visitor, avatar: int) -> list[bytes]:
    import numpy as np

    from world.core.interest import RECORD

    return [b for t in v.ticks for b in [t["pos"]] if avatar in np.frombuffer(b, RECORD)["id"]]


def _healthz(port: int) -> dict[str, Any]:
    import json
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
        return json.load(r)  # type: ignore[no-any-return]


def _until(check: Any, timeout: float) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "not in time"
        time.sleep(0.1)
    return time.monotonic() - started


def test_killing_a_rooms_owner_hands_it_over_and_a_drain_hands_over_at_once(redis_server: RedisServer) -> None:
    import signal

    from tests.conftest import start_server_process, stop_process

    rooms = ["concert", "showroom", "studio"]
    args = ("--demo", "--no-autopilot", "--redis", redis_server.url)
    first, p1 = start_server_process(*args, "--node-id", "first")
    second = third = None
    try:
        _until(lambda: _healthz(p1)["owns"] == rooms, 5)  # the only node runs every room
        second, p2 = start_server_process(*args, "--node-id", "second")
        time.sleep(1.5)
        assert _healthz(p2)["owns"] == []  # the leases are held: one owner per room

        first.send_signal(signal.SIGKILL)  # the owner dies without a word
        first.wait(5)
        took = _until(lambda: _healthz(p2)["owns"] == rooms, 8)
        assert took < 5.0  # within a lease (3 s) and a renewal (1 s)

        third, p3 = start_server_process(*args, "--node-id", "third")
        time.sleep(1.5)
        assert _healthz(p3)["owns"] == []
        second.send_signal(signal.SIGTERM)  # a drain releases its leases on the way out
        started = time.monotonic()
        second.wait(10)
        _until(lambda: _healthz(p3)["owns"] == rooms, 5)
        assert time.monotonic() - started < 3.5
    finally:
        for proc in (first, second, third):
            if proc is not None:
                stop_process(proc)
