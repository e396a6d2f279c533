"""The demo's autopilot: with ``--demo``, a staff member called "Autopilot" keeps the shows
going so every demo room has something on out of the box — a money-wheel round in the
studio, the concert's set on a loop, and a limited drop in the showroom now and then.

It acts through the same room inputs as a host in the console (no socket), so what visitors
see is exactly what a real host would produce.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from server.runner import RoomRunner
from world.commerce.shop import CommerceAct
from world.shows.concert_show import ConcertAct
from world.shows.wheel_show import WheelAct
from world.social.layer import Staff

log = logging.getLogger(__name__)

PILOT = Staff("Autopilot", "host")
WHEEL_BETTING_S = 20.0
WHEEL_EVERY_S = 45.0
DROP_EVERY_S = 180.0
CHECK_EVERY_S = 5.0
FIRST_AFTER_S = 5.0  # let the rooms start before the first round and drop


async def _act(runner: RoomRunner, make: Any) -> dict[str, Any]:
    return await runner.request(make)


def everywhere(room: str) -> bool:
    return True


async def run(rooms: Mapping[str, RoomRunner], owns: Callable[[str], bool] = everywhere) -> None:
    """Keep the demo's shows going in the rooms this node ``owns`` (with several nodes, the
    room's owner drives it and the other nodes replicate its stage)."""
    loop = asyncio.get_running_loop()
    next_wheel = next_drop = loop.time() + FIRST_AFTER_S
    while True:
        now = loop.time()
        try:
            for runner in rooms.values():
                if not owns(runner.id):
                    continue
                kind = runner.config.kind
                if kind == "wheel" and now >= next_wheel:
                    params = {"seconds": WHEEL_BETTING_S, "seed": secrets.token_bytes(32)}
                    await _act(runner, lambda ref, p=params: WheelAct(ref, PILOT, "wheel.open", p))
                    next_wheel = now + WHEEL_EVERY_S
                elif kind == "concert" and runner.config.setlist is not None:
                    state = runner.stats.get("show")  # the room reports it about once a second
                    if state is None or state.get("phase") in ("idle", "ended"):
                        await _act(runner, lambda ref: ConcertAct(ref, PILOT, "show.start", {}))
                elif kind == "showroom" and now >= next_drop and runner.config.catalog.products:
                    product = runner.config.catalog.products[int(now) % len(runner.config.catalog.products)]
                    params = {"product": product.id, "price": round(product.price * 0.7, 2), "stock": 10, "seconds": 60}
                    await _act(runner, lambda ref, p=params: CommerceAct(ref, PILOT, "offer.start", p))
                    next_drop = now + DROP_EVERY_S
        except Exception:  # the demo must keep going whatever one room says
            log.exception("autopilot step failed")
        await asyncio.sleep(CHECK_EVERY_S)
