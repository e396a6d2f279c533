"""The demo's autopilot keeps every demo room's show going, through ordinary room inputs."""

from __future__ import annotations

import pytest
from aiohttp import web

from server import autopilot
from server.app import create_app
from server.config import Settings
from tests.conftest import Visitor, eventually


async def test_demo_rooms_have_shows_running_out_of_the_box(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(autopilot, "FIRST_AFTER_S", 0.5)
    monkeypatch.setattr(autopilot, "CHECK_EVERY_S", 0.5)
    app = create_app(Settings(port=0, tick_hz=20.0, room_processes=False, demo=True))
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    fan, player, shopper = Visitor("Fan"), Visitor("Player"), Visitor("Shopper")
    try:
        for v, room in ((fan, "concert"), (player, "studio"), (shopper, "showroom")):
            await v.connect(url)
            await v.join(room)
        await eventually(lambda: any(s["phase"] in ("starting", "playing") for s in fan.events.get("show", [])), timeout=6)
        betting = await eventually(lambda: [s for s in player.events.get("show", []) if s["phase"] == "betting"], timeout=6)
        assert (await player.call("bet", {"round": betting[-1]["round"], "segment": "5", "amount": 10}))["ok"]
        drop = await eventually(lambda: shopper.events.get("offer"), timeout=6)
        assert (await shopper.call("offer.claim", {"offer": drop[0]["id"]}))["ok"]
    finally:
        for v in (fan, player, shopper):
            await v.close()
        await runner.cleanup()
