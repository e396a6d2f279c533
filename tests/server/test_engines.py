"""Room engines: a room in a worker process behaves like one inline, and survives a crash."""

from __future__ import annotations

import os
import signal

import pytest

from server.config import ASSETS
from server.engines import InlineEngine, ProcessEngine, RoomWorkerDied
from world.core.room import Join, Move, Moves
from server.assets import load_rooms

CONFIG = next(r for r in load_rooms(ASSETS / "rooms") if r.id == "studio")


async def script(engine: InlineEngine | ProcessEngine) -> list[object]:
    joined = await engine.step(1000, [Join(1, 1, "Ada", {}), Join(2, 2, "Bob", {})])
    p = joined.replies[2]["you"]["p"]
    first = await engine.step(1100, [])
    moved = await engine.step(1200, [Moves.of([Move(2, (p[0] + 0.3, p[1], p[2]), 0.5, 1, 1150), Move(1, (999.0, 0.0, 0.0), 0.0, 7, 1150)])])
    return [joined.replies, joined.occupancy, first.packets, moved.packets, moved.corrections]


async def test_process_engine_gives_the_same_results_as_inline() -> None:
    inline, worker = InlineEngine(CONFIG, seed=3), ProcessEngine(CONFIG, seed=3)
    try:
        assert await script(worker) == await script(inline)
    finally:
        worker.close()
    assert not worker.process.is_alive()


async def test_a_crashed_worker_is_reported_and_replaced_with_an_empty_room() -> None:
    engine = ProcessEngine(CONFIG, seed=1)
    try:
        await engine.step(1000, [Join(1, 1, "Ada", {})])
        os.kill(engine.process.pid, signal.SIGKILL)
        engine.process.join(5)
        with pytest.raises(RoomWorkerDied, match="restarted empty"):
            await engine.step(1100, [])
        again = await engine.step(1200, [Join(5, 1, "Ada", {})])
        assert again.replies[5]["ok"] and again.occupancy == 1
    finally:
        engine.close()


async def test_visitors_are_back_in_their_room_after_its_worker_crashed() -> None:
    from aiohttp import web

    from server.app import ROOMS, create_app
    from server.config import Settings
    from tests.conftest import Visitor, eventually

    app = create_app(Settings(port=0, tick_hz=20.0, room_processes=True))
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    ada, bob = Visitor("Ada"), Visitor("Bob")
    try:
        # spawned workers take seconds to start on a busy machine: a join waits for a tick
        await eventually(lambda: all(r.ready for r in app[ROOMS].values()), timeout=30)
        for v in (ada, bob):
            await v.connect(url)
            await v.join("studio")
        engine = app[ROOMS]["studio"].engine
        assert isinstance(engine, ProcessEngine)
        os.kill(engine.process.pid, signal.SIGKILL)
        # the room restarts (restored: tests/server/test_worker_recovery.py) and takes its
        # visitors back: Bob reappears in Ada's view (a full `reset` view) and both can chat
        # and move again without rejoining
        await eventually(lambda: any(t.get("reset") and any(e[0] == bob.welcome["id"] for e in t["enter"])
                                     for t in ada.ticks[1:]), timeout=10)
        assert app[ROOMS]["studio"].occupancy == 2
        assert (await ada.call("chat", {"text": "still here"}))["ok"]
        await bob.sio.emit("move", {"p": [500.0, 0.0, 0.0], "yaw": 0.0, "seq": 9})
        await eventually(lambda: bob.corrections)
    finally:
        for v in (ada, bob):
            await v.close()
        await runner.cleanup()


async def test_a_big_room_worker_sends_its_tick_in_parts_with_every_packet() -> None:
    from server.engines import parts_for

    n = 1100
    assert parts_for(n) == 2
    inline, worker = InlineEngine(CONFIG.model_copy(update={"capacity": 2000}), seed=3), \
        ProcessEngine(CONFIG.model_copy(update={"capacity": 2000}), seed=3)
    try:
        joins = [Join(i, i, f"V{i}", {}) for i in range(1, n + 1)]
        for engine in (inline, worker):
            await engine.step(1000, list(joins))
        a = await inline.step(1100, [])
        b = await worker.step(1100, [])
        assert not a.more and b.more
        rest = await worker.more()
        assert rest.last and rest.compute_s >= b.compute_s
        assert len(a.packets) == n and sorted(a.packets) == sorted(b.packets + rest.packets)
    finally:
        worker.close()
