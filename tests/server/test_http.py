"""HTTP endpoints: health, metrics, room list, the web client and its vendored packages."""

from __future__ import annotations

import aiohttp

from server.config import Settings
from tests.conftest import AppServer, Visitor, eventually


async def get(server: AppServer, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as s, s.get(server.url + path) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.text()


async def test_healthz_and_rooms(server: AppServer, visitors: list[Visitor]) -> None:
    ada = Visitor("Ada")
    visitors.append(ada)
    await ada.connect(server.url)
    await ada.join("concert")
    status, _, _ = await get(server, "/healthz")
    assert status == 200
    async with aiohttp.ClientSession() as s, s.get(server.url + "/api/rooms") as r:
        rooms = (await r.json())["rooms"]
    by_id = {r["id"]: r for r in rooms}
    assert {"showroom", "concert"} <= by_id.keys() and {r["kind"] for r in rooms} >= {"showroom", "concert", "wheel"}
    assert by_id["concert"]["occupancy"] == 1 and "scene" not in by_id["concert"]


async def test_healthz_says_starting_until_every_room_has_ticked(settings: Settings) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from server.app import ROOMS, create_app

    app = create_app(settings.model_copy(update={"tick_hz": 1.0}))  # the first tick after 1 s
    async with TestClient(TestServer(app)) as http:
        runners = list(app[ROOMS].values())
        async with http.get("/healthz") as r:  # as while a room's spawned worker is starting
            assert r.status == 503 and (await r.json())["status"] == "starting"
        await eventually(lambda: all(x.ready for x in runners), 5)  # its first tick
        async with http.get("/healthz") as r:
            assert r.status == 200 and (await r.json())["status"] == "ok"


async def test_metrics_are_prometheus_text(server: AppServer, visitors: list[Visitor]) -> None:
    ada = Visitor("Ada")
    visitors.append(ada)
    await ada.connect(server.url)
    await ada.join()
    status, ctype, text = await get(server, "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    for name in (
        "vetrina_connections", "vetrina_rooms", "vetrina_avatars", "vetrina_tick_seconds_bucket",
        "vetrina_messages_in_total", "vetrina_messages_out_total", "vetrina_bytes_out_total",
    ):
        assert name in text
    assert 'vetrina_avatars{room="showroom"} 1.0' in text
    assert 'vetrina_connections{namespace="/"} 1.0' in text


async def test_the_web_client_and_its_packages_are_served(server: AppServer) -> None:
    status, ctype, body = await get(server, "/")
    assert status == 200 and "text/html" in ctype and "<html" in body.lower()
    assert (await get(server, "/vendor/three/three.module.js"))[0] == 200
    assert (await get(server, "/vendor/socket.io/socket.io.msgpack.min.js"))[0] == 200
    assert (await get(server, "/vendor/three/../../../../pyproject.toml"))[0] == 404


async def test_websocket_compression_is_declined_unless_enabled(server: AppServer) -> None:
    """Browsers offer permessage-deflate; the server declines it by default (it costs CPU)."""
    ws_url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as s, s.ws_connect(ws_url, compress=15) as ws:
        assert ws.compress == 0
        assert (await ws.receive_str()).startswith("0")


async def test_websocket_compression_can_be_enabled() -> None:
    from aiohttp import web

    from server.app import create_app
    from server.config import Settings

    app = create_app(Settings(port=0, room_processes=False, ws_compression=True))
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"ws://127.0.0.1:{runner.addresses[0][1]}/socket.io/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession() as s, s.ws_connect(url, compress=15) as ws:
            assert ws.compress == 15
    finally:
        await runner.cleanup()


async def test_one_room_with_its_catalog(server: AppServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/api/rooms/showroom") as r:
            assert r.status == 200
            room = await r.json()
        async with http.get(server.url + "/api/rooms/nowhere") as r:
            assert r.status == 404
    assert room["id"] == "showroom" and "scene" not in room
    assert {p["id"] for p in room["catalog"]} >= {"aria-sneaker", "luna-bag"}
