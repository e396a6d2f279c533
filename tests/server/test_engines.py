"""Room engines: a room in a worker process behaves like one inline, and survives a crash."""

from __future__ import annotations

import os
import signal

import pytest

from server.config import ASSETS
from server.engines import InlineEngine, ProcessEngine, RoomWorkerDied
from world.room import Join, Move
from world.scene import load_rooms

CONFIG = next(r for r in load_rooms(ASSETS / "rooms") if r.id == "studio")


async def script(engine: InlineEngine | ProcessEngine) -> list[object]:
    joined = await engine.step(1000, [Join(1, 1, "Ada", {}), Join(2, 2, "Bob", {})])
    p = joined.replies[2]["you"]["p"]
    first = await engine.step(1100, [])
    moved = await engine.step(1200, [Move(2, (p[0] + 0.3, p[1], p[2]), 0.5, 1, 1150), Move(1, (999.0, 0.0, 0.0), 0.0, 7, 1150)])
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
