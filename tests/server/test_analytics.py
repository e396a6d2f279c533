"""Analytics export and marketing triggers over real sockets and HTTP."""

from __future__ import annotations

import asyncio
import csv
import io

import aiohttp

from server.auth import mint
from tests.conftest import TEST_SECRET, AppServer, StaffClient, Visitor, chat_marker, eventually


async def test_triggers_send_a_notice_once_per_cooldown(server: AppServer, visitors: list[Visitor]) -> None:
    ada = Visitor("Ada")
    visitors.append(ada)
    await ada.connect(server.url)
    await ada.join("showroom")  # the spawn points are in the entrance zone
    welcome = await eventually(lambda: ada.events.get("notice"), timeout=4)
    assert welcome[0]["rule"] == "welcome" and "Welcome" in welcome[0]["text"]
    await ada.call("product.view", {"product": "orbita-watch"})
    await eventually(lambda: len(ada.events["notice"]) == 2)
    assert ada.events["notice"][1]["rule"] == "watch-viewed" and ada.events["notice"][1]["product"] == "orbita-watch"
    assert (await ada.call("product.view", {"product": "orbita-watch"}))["ok"]
    await chat_marker(ada)  # a later tick's message: a notice for that view would have come first
    assert len(ada.events["notice"]) == 2  # once per cooldown


async def test_analytics_export_matches_what_visitors_did(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    ada, bob = Visitor("Ada"), Visitor("Bob")
    visitors += [ada, bob]
    for v in (ada, bob):
        await v.connect(server.url)
        await v.join("showroom")
    for v in (ada, bob):
        await v.call("product.view", {"product": "luna-bag"})
    await ada.call("product.try", {"product": "luna-bag", "variant": "cognac"})
    await ada.call("cart.add", {"product": "luna-bag", "variant": "cognac"})
    host = StaffClient("host", ["showroom"])
    staff.append(host)
    await host.connect(server.url)
    offer = (await host.call("offer.start", {"room": "showroom", "product": "luna-bag", "price": 99, "stock": 5,
                                             "seconds": 60}))["offer"]
    assert (await bob.call("offer.claim", {"offer": offer}))["ok"]
    for text in ("first", "second", "third"):
        assert (await ada.call("chat", {"text": text}))["ok"]
    await asyncio.sleep(1.2)  # a sample for attendance and dwell

    url = server.url + "/api/rooms/showroom/analytics"
    token = mint(TEST_SECRET, role="host", rooms=["showroom"], ttl_s=60)
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            assert r.status == 401
        other = mint(TEST_SECRET, role="host", rooms=["concert"], ttl_s=60)
        async with http.get(url, headers={"Authorization": f"Bearer {other}"}) as r:
            assert r.status == 403
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
            report = await r.json()
        async with http.get(url + "?format=csv", headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.headers["Content-Type"].startswith("text/csv")
            rows = list(csv.DictReader(io.StringIO(await r.text())))
    luna = report["funnel"]["products"]["luna-bag"]
    assert (luna["viewed"], luna["tried"], luna["cart"], luna["claimed"]) == (2, 1, 1, 1)
    assert report["visitors"] == 2 and report["peak"] == 2 and report["attendance"]
    got = {(r["section"], r["key"], r["metric"]): r["value"] for r in rows}
    assert got[("funnel", "luna-bag", "viewed")] == "2" and got[("funnel", "luna-bag", "claimed")] == "1"
    assert sum(int(r["value"]) for r in rows if r["section"] == "per_minute" and r["metric"] == "chat") == 3
    assert float(got[("zone", "entrance", "dwell_seconds")]) > 0

    assert not host.got("stats")  # only watchers get stats
    await host.call("stats.watch", {"room": "showroom"})
    live = (await eventually(lambda: host.got("stats"), timeout=4))[-1]
    assert live["funnel"]["viewed"] == 2 and live["offers"][0]["orders"] == 1
    assert live["heatmap"]["shape"][0] * live["heatmap"]["shape"][1] * 2 == len(live["heatmap"]["data"])
    assert sum(memoryview(live["heatmap"]["data"]).cast("H")) == 2
