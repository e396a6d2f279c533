"""Where a room's simulation runs: inline on the event loop, or in a process of its own.

A runner hands its engine the tick's inputs and gets back a :class:`StepResult`: the replies,
the corrections and every viewer's tick already encoded as a socket.io packet. The engine is
the only thing that touches the :class:`world.core.room.Room`.

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
from collections.abc import Awaitable, Iterator
from typing import Any, NamedTuple, Protocol

from server.packets import TickEncoder, event_packet
from world.protocol import ErrorCode, error
from world.core.room import Input, Room
from world.core.scene import RoomConfig

log = logging.getLogger(__name__)

_F_SETPIPE_SZ = 1031  # Linux: let one tick's packets fit in the pipe without a writer stall
_PIPE_BYTES = 1 << 20


class StepResult(NamedTuple):
    replies: dict[int, dict[str, Any]]
    corrections: list[tuple[int, dict[str, Any]]]
    packets: list[tuple[int, bytes]]  # (viewer avatar id, encoded socket.io tick packet)
    occupancy: int
    compute_s: float  # time spent stepping and encoding, wherever that ran
    events: list[tuple[str, bytes, list[int]]] = []  # (event, encoded packet, avatar ids to send it to)
    staff: list[tuple[str, dict[str, Any]]] = []  # (event, payload) for the room's host consoles
    removed: list[int] = []  # avatars staff removed from the room (kick, ban)
    stats: dict[str, Any] = {}
    more: bool = False  # more of this tick's packets follow, as Parts (see RoomEngine.more)
    shared: list[tuple[str, dict[str, Any]]] = []  # for this room's shards on other nodes (world/replication/shared.py)
    rejected: dict[str, tuple[int, str]] = {}  # items from other shards that did not parse: kind -> (n, first reason)


class Part(NamedTuple):
    """More of a tick's packets, sent while the room builds the rest."""

    packets: list[tuple[int, bytes]]
    last: bool
    compute_s: float  # the tick's compute so far (on the last part: all of it)


class RoomEngine(Protocol):
    async def step(self, now: int, inbox: list[Input]) -> StepResult:
        """Apply the inputs; the result carries the first part of the tick's packets."""
        ...

    async def more(self) -> Part:
        """The next part of the tick's packets, while the last result or part said ``more``."""
        ...

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


VIEWERS_PER_PART = 500  # a big room's tick goes out in parts of about this many viewers
MAX_PARTS = 8


def parts_for(viewers: int, per_part: int = VIEWERS_PER_PART) -> int:
    """How many parts a tick for ``viewers`` goes out in (``per_part`` 0: always whole)."""
    return max(1, min(MAX_PARTS, viewers // per_part)) if per_part > 0 else 1


def run_step(room: Room, now: int, inbox: list[Input], parts: int = 1) -> Iterator[StepResult | Part]:
    """Step the room and encode its packets: a StepResult, then ``parts - 1`` Parts.

    Never raises: a tick that fails (a bug, or input that slipped past validation) is logged
    and costs that tick only — its requests are answered ``unavailable`` (nobody waits for
    the timeout) and the room keeps its state."""
    started = time.perf_counter()
    try:
        out = room.apply(now, inbox)
    except Exception:
        log.exception("room %s: tick at %d failed; its requests are answered unavailable", room.config.id, now)
        yield StepResult(unanswered(inbox), [], [], room.occupancy, time.perf_counter() - started)
        return
    everyone: list[int] = room.viewer_ids() if any(e.to is None for e in out.events) else []
    # each event encoded once, however many receive it (event_packet never raises)
    events = [(e.name, event_packet(e.name, e.payload), everyone if e.to is None else list(e.to)) for e in out.events]
    packets = _tick_packets(room, out.t, out.n, parts)
    yield StepResult(
        out.replies, out.corrections, next(packets), room.occupancy, time.perf_counter() - started,
        events, out.staff, out.removed, out.stats, parts > 1, out.shared, out.rejected,
    )
    for i in range(2, parts + 1):
        yield Part(next(packets), i == parts, time.perf_counter() - started)


def _tick_packets(room: Room, t: int, n: int, parts: int) -> Iterator[list[tuple[int, bytes]]]:
    """Each part's encoded tick packets, endlessly: after a failure (logged), empty parts, so
    the server still gets the ``parts`` it was promised."""
    encode = TickEncoder(t, n).encode
    try:
        for part in room.tick_parts(parts):
            yield [(v.viewer, encode(v.enter, v.leave, v.pos, v.reset, v.pose)) for v in part]
    except Exception:
        log.exception("room %s: tick %d could not be built; its views are skipped", room.config.id, n)
    while True:
        yield []


def unanswered(inbox: list[Input]) -> dict[int, dict[str, Any]]:
    """An ``unavailable`` reply for every request in a tick that could not be run."""
    reply = error(ErrorCode.UNAVAILABLE, "the room could not handle this request: try again")
    refs = (getattr(item, "ref", None) for item in inbox)
    return {ref: reply for ref in refs if isinstance(ref, int) and ref > 0}


def prepare(room: Room) -> None:
    """Room.prepare, which must not take the room down either (the next tick recomputes)."""
    try:
        room.prepare()
    except Exception:
        log.exception("room %s: preparing the next tick failed", room.config.id)


def step_whole(room: Room, now: int, inbox: list[Input]) -> StepResult:
    """The whole tick as one result (no parts)."""
    (result,) = run_step(room, now, inbox)
    assert isinstance(result, StepResult)
    return result


class InlineEngine:
    """The room in this process (tests, tiny deployments): simple, and the tick blocks the loop."""

    def __init__(self, config: RoomConfig, seed: int) -> None:
        self.room = Room(config, rng=random.Random(seed))

    async def step(self, now: int, inbox: list[Input]) -> StepResult:
        result = step_whole(self.room, now, inbox)
        prepare(self.room)
        return result

    async def more(self) -> Part:
        raise RuntimeError("an inline room sends each tick whole")

    def close(self) -> None:
        pass


PREPARE_DELAY_S = 0.03  # after sending a tick: let the server deliver it before preparing


def _worker(config: dict[str, Any], seed: int, per_part: int, inputs: Connection, results: Connection) -> None:
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
        # A big room's tick in parts: the server writes one to the sockets while the next
        # is built here, on the other core.
        try:
            for piece in run_step(room, now, inbox, parts_for(room.occupancy, per_part)):
                _send_piece(results, piece, inbox)
        except OSError:
            return  # the server is gone
        # Get the next tick's view ready between ticks — but not during the delivery burst
        # just after this one (the server's socket loop needs the CPU then), and at once if
        # the next inputs are already here.
        inputs.poll(PREPARE_DELAY_S)
        prepare(room)


def _send_piece(results: Connection, piece: StepResult | Part, inbox: list[Input]) -> None:
    """Pipe a piece of the tick to the server; one that cannot be pickled is replaced by an
    empty one (its requests answered ``unavailable``), so the server never waits in vain."""
    try:
        results.send(piece)
    except OSError:
        raise
    except Exception:
        log.exception("a tick result could not be sent to the server")
        if isinstance(piece, Part):
            results.send(Part([], piece.last, piece.compute_s))
        else:
            results.send(StepResult(unanswered(inbox), [], [], piece.occupancy, piece.compute_s, more=piece.more))


class RoomWorkerDied(RuntimeError):
    pass


class ProcessEngine:
    """The room in a spawned worker process, stepped over a pair of pipes."""

    def __init__(self, config: RoomConfig, seed: int, *, viewers_per_part: int = VIEWERS_PER_PART) -> None:
        self.config, self.seed, self.per_part = config, seed, viewers_per_part
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
            target=_worker, args=(config.model_dump(mode="json"), seed, self.per_part, in_r, out_w),
            name=f"vetrina-room-{config.id}", daemon=True,
        )
        self.process.start()
        in_r.close()
        out_w.close()

    async def step(self, now: int, inbox: list[Input]) -> StepResult:
        result = await self._guarded(self._exchange(now, inbox))
        assert isinstance(result, StepResult)
        return result

    async def more(self) -> Part:
        part = await self._guarded(self._receive())
        assert isinstance(part, Part)
        return part

    async def _guarded(self, exchange: Awaitable[StepResult | Part]) -> StepResult | Part:
        try:
            return await exchange
        except (EOFError, OSError) as exc:
            # A crashed worker took the room's state with it: start an empty room so the
            # room keeps serving (visitors join it again), and say so loudly.
            self.process.join(1)
            died = RoomWorkerDied(f"room worker {self.process.name} exited ({self.process.exitcode}); restarted empty")
            self.close()
            self._start()
            raise died from exc

    async def _exchange(self, now: int, inbox: list[Input]) -> StepResult | Part:
        self._in_w.send((now, inbox))
        return await self._receive()

    async def _receive(self) -> StepResult | Part:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = self._out_r.fileno()

        def readable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, readable)  # note: the event loop makes the fd non-blocking
        try:
            await ready
        finally:
            loop.remove_reader(fd)
        # A message is arriving: read it whole (the pipe is sized for a tick's packets).
        os.set_blocking(fd, True)
        piece: StepResult | Part = self._out_r.recv()
        return piece

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
