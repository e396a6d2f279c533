"""Where a room's simulation runs: inline on the event loop, or in a process of its own.

A runner hands its engine the tick's inputs and gets back a :class:`StepResult`: the replies,
the corrections and every viewer's tick already encoded as a socket.io packet. The engine is
the only thing that touches the :class:`world.room.Room`.

``ProcessEngine`` is the default for ``vetrina serve``: one spawned worker process per room,
so a big room's tick runs on another core while the event loop keeps reading and writing
sockets (measured: with the tick inline, every millisecond of it was also a millisecond of
latency for every visitor, and socket I/O stalled for its duration). Inputs and results
cross a pipe once per tick as one pickled message each way.
"""

from __future__ import annotations

import asyncio
import fcntl
import gc
import logging
import multiprocessing as mp
import os
import random
import signal
import time
from multiprocessing.connection import Connection
from typing import Any, NamedTuple, Protocol

from server.packets import TickEncoder
from world.room import Input, Room
from world.scene import RoomConfig

log = logging.getLogger(__name__)

_F_SETPIPE_SZ = 1031  # Linux: let one tick's packets fit in the pipe without a writer stall
_PIPE_BYTES = 1 << 20


class StepResult(NamedTuple):
    replies: dict[int, dict[str, Any]]
    corrections: list[tuple[int, dict[str, Any]]]
    packets: list[tuple[int, bytes]]  # (viewer avatar id, encoded socket.io tick packet)
    occupancy: int
    compute_s: float  # time spent stepping and encoding, wherever that ran


class RoomEngine(Protocol):
    async def step(self, now: int, inbox: list[Input]) -> StepResult: ...

    def close(self) -> None: ...


def tune_gc() -> None:
    """A crowd means thousands of long-lived objects (connections, avatars); with CPython's
    default thresholds every tick's short-lived allocations kept triggering collections that
    rescanned them all (profiled: the tick ran 2x slower inside the server than alone, with
    100 ms spikes). Collect the young generation less often and the old one rarely, and
    freeze what start-up created."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def run_step(room: Room, now: int, inbox: list[Input]) -> StepResult:
    started = time.perf_counter()
    out = room.step(now, inbox)
    encode = TickEncoder(out.t, out.n).encode
    packets = [(v.viewer, encode(v.enter, v.leave, v.pos, v.reset)) for v in out.ticks]
    return StepResult(out.replies, out.corrections, packets, room.occupancy, time.perf_counter() - started)


class InlineEngine:
    """The room in this process (tests, tiny deployments): simple, and the tick blocks the loop."""

    def __init__(self, config: RoomConfig, seed: int) -> None:
        self.room = Room(config, rng=random.Random(seed))

    async def step(self, now: int, inbox: list[Input]) -> StepResult:
        result = run_step(self.room, now, inbox)
        self.room.prepare()
        return result

    def close(self) -> None:
        pass


PREPARE_DELAY_S = 0.03  # after sending a tick: let the server deliver it before preparing


def _worker(config: dict[str, Any], seed: int, inputs: Connection, results: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server shuts its workers down itself
    room = Room(RoomConfig.model_validate(config), rng=random.Random(seed))
    tune_gc()
    while True:
        try:
            msg = inputs.recv()
        except (EOFError, OSError):
            return  # the server is gone
        if msg is None:
            return
        now, inbox = msg
        results.send(run_step(room, now, inbox))
        # Get the next tick's view ready between ticks — but not during the delivery burst
        # just after this one (the server's socket loop needs the CPU then), and at once if
        # the next inputs are already here.
        inputs.poll(PREPARE_DELAY_S)
        room.prepare()


class RoomWorkerDied(RuntimeError):
    pass


class ProcessEngine:
    """The room in a spawned worker process, stepped over a pair of pipes."""

    def __init__(self, config: RoomConfig, seed: int) -> None:
        self.config, self.seed = config, seed
        self._start()

    def _start(self) -> None:
        config, seed = self.config, self.seed
        ctx = mp.get_context("spawn")  # no inherited event loop, threads or sockets
        in_r, self._in_w = ctx.Pipe(duplex=False)
        self._out_r, out_w = ctx.Pipe(duplex=False)
        for conn in (self._in_w, self._out_r):
            try:
                fcntl.fcntl(conn.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)
            except OSError:
                pass  # not Linux, or above the system's pipe-max-size: just slower
        self.process = ctx.Process(
            target=_worker, args=(config.model_dump(mode="json"), seed, in_r, out_w),
            name=f"vetrina-room-{config.id}", daemon=True,
        )
        self.process.start()
        in_r.close()
        out_w.close()

    async def step(self, now: int, inbox: list[Input]) -> StepResult:
        try:
            return await self._exchange(now, inbox)
        except (EOFError, OSError) as exc:
            # A crashed worker took the room's state with it: start an empty room so the
            # room keeps serving (visitors join it again), and say so loudly.
            self.process.join(1)
            died = RoomWorkerDied(f"room worker {self.process.name} exited ({self.process.exitcode}); restarted empty")
            self.close()
            self._start()
            raise died from exc

    async def _exchange(self, now: int, inbox: list[Input]) -> StepResult:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = self._out_r.fileno()

        def readable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, readable)  # note: the event loop makes the fd non-blocking
        try:
            self._in_w.send((now, inbox))
            await ready
        finally:
            loop.remove_reader(fd)
        # The result is arriving: read it whole (the pipe is sized for a tick's packets).
        os.set_blocking(fd, True)
        result: StepResult = self._out_r.recv()
        return result

    def close(self) -> None:
        try:
            self._in_w.send(None)
        except OSError:
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2)
        self._in_w.close()
        self._out_r.close()
