"""Overload policies over real sockets: a flood is answered with a typed error and counted in
/metrics; a well-behaved visitor in the same room is not affected."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp
import msgpack
import pytest

from server.config import Settings
from server.metrics import Metrics
from server.tasks import TaskSet
from server.visitor.session import PENDING_LIMIT
from tests.conftest import AppServer, Visitor
from tests.server.test_bad_input import metric, metrics_text

INBOX = PENDING_LIMIT + 4  # inputs a room queues per tick, besides joins and leaves


@pytest.fixture
def settings() -> Settings:
    # one tick a second: a flood sent at once lands in one or two ticks
    return Settings(port=0, tick_hz=1.0, room_processes=False, inbox_limit=INBOX, react_burst=100.0)


async def joined(server: AppServer, visitors: list[Visitor], name: str) -> Visitor:
    v = Visitor(name)
    visitors.append(v)
    await v.connect(server.url)
    await v.join()
    return v


def codes(acks: list[dict[str, object]]) -> list[str]:
    return [str(a["error"]["code"]) if not a["ok"] else "ok" for a in acks]  # type: ignore[index]


async def test_a_full_room_inbox_refuses_requests_but_still_takes_joins(
    server: AppServer, visitors: list[Visitor]
) -> None:
    flood = await joined(server, visitors, "Flood")
    n = 3 * INBOX
    reactions = [flood.call("react", {"emoji": "🔥"}) for _ in range(n)]
    late = Visitor("Late")
    visitors.append(late)
    await late.connect(server.url)
    got = codes(await asyncio.gather(*reactions, late.call("join", {"room": "showroom"})))
    joined_late = got.pop()
    assert joined_late == "ok"  # a join always gets in, full inbox or not
    refused = got.count("unavailable")
    # all at once into the inbox: at most two ticks' worth get in, the rest are refused
    assert set(got) == {"ok", "unavailable"} and got.count("ok") <= 2 * INBOX and refused >= n - 2 * INBOX
    text = await metrics_text(server)
    assert metric(text, "vetrina_rejected_total", code="unavailable", event="react") == refused
    assert metric(text, "vetrina_dropped_inputs_total", room="showroom", reason="inbox_full") == refused
    # once the tick took the inbox, the room answers everyone again
    assert (await late.call("chat", {"text": "made it"}))["ok"]


class PollingClient:
    """A raw engine.io long-polling client (msgpack socket.io packets, base64 in the payload):
    unlike a websocket, its POSTs can carry events to the server concurrently."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url, self.sid = http, url + "/socket.io/?EIO=4&transport=polling", ""
        self.acks: dict[int, dict[str, Any]] = {}

    async def open(self, name: str) -> None:
        async with self.http.get(self.url) as r:
            self.sid = json.loads((await r.text())[1:])["sid"]
        self.url += f"&sid={self.sid}"
        await self.post({"type": 0, "nsp": "/", "data": {"name": name}})

    async def post(self, pkt: dict[str, Any]) -> None:
        body = "b" + base64.b64encode(msgpack.packb(pkt)).decode()
        async with self.http.post(self.url, data=body, headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 200, await r.text()

    async def emit(self, ack_id: int, event: str, data: dict[str, Any]) -> None:
        await self.post({"type": 2, "nsp": "/", "data": [event, data], "id": ack_id})

    async def close(self) -> None:
        """Engine.io CLOSE: otherwise the server's shutdown waits for this client to poll."""
        async with self.http.post(self.url, data="1", headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 200

    async def acked(self, ids: set[int]) -> dict[int, dict[str, Any]]:
        """Poll until every ack in ``ids`` arrived."""
        while not ids <= self.acks.keys():
            async with self.http.get(self.url) as r:
                for part in (await r.text()).split("\x1e"):
                    if part.startswith("b"):
                        pkt = msgpack.unpackb(base64.b64decode(part[1:]))
                        if pkt.get("type") == 3:
                            self.acks[int(pkt["id"])] = pkt["data"][0]
        return {i: self.acks[i] for i in ids}


async def test_one_visitor_cannot_fill_the_room_with_requests(server: AppServer, visitors: list[Visitor]) -> None:
    calm = await joined(server, visitors, "Calm")
    async with aiohttp.ClientSession() as http:
        flood = PollingClient(http, server.url)
        await flood.open("Flood")
        await flood.emit(1, "join", {"room": "showroom"})
        assert (await flood.acked({1}))[1]["ok"]
        n = 2 * PENDING_LIMIT + 8
        await asyncio.gather(*(flood.emit(2 + i, "qa.vote", {"id": f"q{i}"}) for i in range(n)))
        got = codes(list((await flood.acked(set(range(2, 2 + n)))).values()))
        await flood.close()
    limited = got.count("rate_limited")
    # at most PENDING_LIMIT wait at once; even if a tick answered some mid-flood, 8 are refused
    assert limited >= n - 2 * PENDING_LIMIT and set(got) == {"not_found", "rate_limited"}
    assert (await calm.call("chat", {"text": "still here"}))["ok"]
    text = await metrics_text(server)
    assert metric(text, "vetrina_rejected_total", code="rate_limited", event="qa.vote") == limited
    assert metric(text, "vetrina_dropped_inputs_total", room="showroom", reason="inbox_full") == 0


async def test_a_task_set_refuses_tasks_past_its_bound_and_counts_them() -> None:
    metrics = Metrics()
    tasks = TaskSet("saves", 2, metrics)
    gate = asyncio.Event()
    started = [tasks.spawn(gate.wait()) for _ in range(2)]  # type: ignore[arg-type]
    assert all(started) and tasks.full
    assert tasks.spawn(gate.wait()) is None  # type: ignore[arg-type]
    text = metrics.render().decode()
    assert metric(text, "vetrina_background_tasks_refused_total", set="saves") == 1
    assert metric(text, "vetrina_background_tasks", set="saves") == 2
    gate.set()
    await tasks.settle()
    assert len(tasks) == 0 and tasks.spawn(gate.wait()) is not None  # type: ignore[arg-type]
    await tasks.settle()
    assert metric(metrics.render().decode(), "vetrina_background_tasks", set="saves") == 0
