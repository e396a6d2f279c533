"""One task per room: wait for the next tick, step the room, send what it produced.

Handlers never touch room state; they append to the room's inbox (bounded) and, for
requests that need an answer (``join``, ``leave``), wait on a future the tick resolves.
The room's engine (``server/engines.py``: a worker process by default) steps the room and
returns every viewer's packet ready to send; the runner resolves the waiting requests and
writes the packets. After each tick the load governor (``server/load.py``) may change the
room's detail level or tick rate.

Overload policy: a full inbox drops moves and VR poses and refuses other inputs (counted; a
request is answered ``unavailable``) but still accepts joins and leaves; a tick that runs late
skips the ticks it missed (counted) instead of running them back to back. The runner hands
what it produces to one :class:`RoomOutlet` (server/outlet.py).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from array import array
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from server.engines import RoomEngine, RoomWorkerDied, StepResult
from server.metrics import Metrics
from server.packets import event_packet
from world.commerce.shop import DropSettled
from server.load import LoadGovernor
from world.protocol import ErrorCode, error
from world.core.room import Attach, Detach, Detail, Input, Join, Leave, Move, Moves, Poses, SetPose
from world.core.scene import RoomConfig

log = logging.getLogger(__name__)


class RoomOutlet(Protocol):
    """Everything a room's runner hands to the rest of the node (server/outlet.py)."""

    async def send(self, avatar: int, pkt: bytes) -> bool:
        """An encoded socket.io packet to one avatar; False: its client is too far behind."""
        ...

    def send_now(self, avatar: int, pkt: bytes) -> bool | None:
        """The same without awaiting; None: it cannot be done that way now, use :meth:`send`."""
        ...

    async def staff(self, runner: RoomRunner, event: str, payload: dict[str, Any]) -> None:
        """A staff-feed message to the host consoles watching the room."""
        ...

    def removed(self, runner: RoomRunner, avatar: int) -> None:
        """Staff removed the avatar from the shard (kick, ban)."""
        ...

    def rejoin(self, runner: RoomRunner) -> list[Input]:
        """Inputs that bring the shard's visitors back after its worker restarted empty."""
        ...

    def restore(self, runner: RoomRunner) -> list[Input]:
        """Inputs that restore the shard's state (kept outside the worker) into a new worker."""
        ...

    def share(self, runner: RoomRunner, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Shared items to the room's other shards, here and on other nodes."""
        ...


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# Inputs that always get into a room's inbox, whatever it holds: joins, leaves, attaches and
# detaches (connections bound them: a visitor has at most PENDING_LIMIT requests waiting,
# server/visitor/session.py; refusing one would strand a visitor between rooms), and the
# settlement of an order the ledger granted (one per visitor per drop; refusing it would
# lose a sold order).
ALWAYS = (Join, Leave, Attach, Detach, DropSettled)


class RoomRunner:
    def __init__(
        self,
        config: RoomConfig,
        engine: RoomEngine,
        *,
        outlet: RoomOutlet,
        metrics: Metrics,
        inbox_limit: int = 50_000,
        tick_hz: float | None = None,
        request_timeout_s: float = 5.0,
        shard: int = 0,
    ) -> None:
        self.config = config
        self.ready = False  # the room has ticked once (a spawned worker takes a while to start)
        self.engine = engine
        self.room_id = config.id
        self.shard = shard  # 0: the room's primary shard
        # a big room's extra audience shards (server/shards.py) are "<room>~2", "<room>~3" ...
        self.id = config.id if shard == 0 else f"{config.id}~{shard + 1}"
        self.occupancy = 0
        self.base_period = 1.0 / (tick_hz or config.tick_hz)
        self.period = self.base_period
        self.governor = LoadGovernor()
        self._outlet = outlet
        self.stats: dict[str, Any] = {}  # the social layer's numbers as of the last tick
        self._metrics = metrics
        # Overload policy of the inbox (swapped out every tick): moves and VR poses beyond
        # ``inbox_limit`` per tick are dropped; any other input beyond ``inbox_limit`` queued
        # items is refused (a request is answered ``unavailable`` at once), but lifecycle
        # inputs and settlements (ALWAYS) always get in. Each refusal is counted in
        # vetrina_dropped_inputs_total{reason="inbox_full"}.
        self._inbox: list[Input] = []
        self._inbox_limit = inbox_limit
        self._moves = array("d")  # this tick's moves, 7 numbers each (see world.core.room.Moves)
        self._moves_limit = 7 * inbox_limit
        self._poses = array("d")  # this tick's VR poses, 23 numbers each (see world.core.room.Poses)
        self._poses_limit = 23 * inbox_limit
        self._dropped_full = metrics.dropped.labels(self.id, "inbox_full")
        self._rejected_kinds: set[str] = set()  # kinds of bad shared items logged already
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._refs = itertools.count(1)
        self._timeout = request_timeout_s

    def info(self, *, full: bool = True) -> dict[str, Any]:
        """RoomInfo as of the last tick."""
        return self.config.info(self.occupancy, full=full)

    # ---- called by handlers ----------------------------------------------------------

    def submit(self, item: Input) -> bool:
        """Queue an input for the next tick; False: refused, the inbox is full (counted)."""
        if isinstance(item, Move):
            return self.submit_move(item.avatar, *item.p, item.yaw, item.seq, item.t)
        if isinstance(item, SetPose):  # columnar too: one array crosses to the room worker
            if len(self._poses) >= self._poses_limit:
                self._dropped_full.inc()
                return False
            self._poses.extend((item.avatar, item.flags))
            self._poses.extend(np.asarray(item.values, np.float64).reshape(21).tolist())
            return True
        if not self._admits(item):
            return False
        self._inbox.append(item)
        return True

    def _admits(self, item: Input) -> bool:
        """The inbox's overload policy (see __init__); counts a refusal."""
        if len(self._inbox) < self._inbox_limit or isinstance(item, ALWAYS):
            return True
        self._dropped_full.inc()
        return False

    def submit_move(self, avatar: int, x: float, y: float, z: float, yaw: float, seq: int, t: int) -> bool:
        """Queue a move (the hot path: one flat array per tick, no object per move)."""
        if len(self._moves) >= self._moves_limit:
            self._dropped_full.inc()
            return False
        self._moves.extend((avatar, x, y, z, yaw, seq, t))
        return True

    async def request(self, make: Callable[[int], Input]) -> dict[str, Any]:
        """Queue an input that expects a reply and wait for the tick that answers it."""
        ref = next(self._refs)
        item = make(ref)
        if not self._admits(item):
            return error(ErrorCode.UNAVAILABLE, f"room {self.id!r} is busy: try again")
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = fut
        self._inbox.append(item)
        try:
            return await asyncio.wait_for(fut, self._timeout)
        except asyncio.TimeoutError:
            return error(ErrorCode.UNAVAILABLE, f"room {self.id!r} did not answer in time")
        finally:
            self._waiting.pop(ref, None)

    # ---- the loop --------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        m = self._metrics
        tick_hist, send_hist = m.tick_seconds.labels(self.id), m.tick_send_seconds.labels(self.id)
        lag, slow = m.tick_lag_seconds.labels(self.id), m.slow_ticks.labels(self.id)
        while True:
            next_at += self.period
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay >= self.period:
                missed = int(-delay // self.period)
                next_at += missed * self.period
                m.skipped_ticks.labels(self.id).inc(missed)
            late = max(0.0, loop.time() - next_at)
            lag.observe(late)
            inbox, self._inbox = self._inbox, []
            if self._moves:
                inbox.append(Moves(np.frombuffer(self._moves, np.float64).reshape(-1, 7)))
                self._moves = array("d")
            if self._poses:
                inbox.append(Poses(np.frombuffer(self._poses, np.float64).reshape(-1, 23)))
                self._poses = array("d")
            started = time.perf_counter()
            try:
                result = await self.engine.step(now_ms(), inbox)
            except RoomWorkerDied:
                log.exception("room %s: worker died", self.id)
                await self._recover(inbox)
                continue
            except Exception:  # a bug in one tick must not kill the room
                log.exception("room %s: tick failed", self.id)
                continue
            sent_s = await self._deliver(result)
            self.ready = True  # its engine answers: joins will too
            compute_s, parts_s = await self._send_parts(result)
            sent_s += parts_s
            sent_at = time.perf_counter()
            await self._deliver_events(result)
            sent_s += time.perf_counter() - sent_at
            busy = time.perf_counter() - started
            tick_hist.observe(compute_s)
            send_hist.observe(sent_s)
            if busy > self.period:
                slow.inc()
            # the work this tick needed (not wall time, which also counts waiting for a CPU)
            self._adapt((compute_s + sent_s) / self.period, late / self.period, loop.time())

    async def _send_parts(self, result: StepResult) -> tuple[float, float]:
        """The rest of a big room's tick, sent part by part as each arrives; returns the
        tick's compute time and the seconds spent sending the parts."""
        compute_s, more, sent_s = result.compute_s, result.more, 0.0
        while more:
            try:
                part = await self.engine.more()
            except RoomWorkerDied:  # after its tick was answered: nothing of it is lost
                log.exception("room %s: worker died while sending", self.id)
                await self._recover([])
                break
            except Exception:
                log.exception("room %s: tick failed while sending", self.id)
                break
            sent_at = time.perf_counter()
            await self._send_ticks(part.packets)
            sent_s += time.perf_counter() - sent_at
            compute_s, more = part.compute_s, not part.last
        return compute_s, sent_s

    async def _recover(self, lost: list[Input]) -> None:
        """The worker restarted empty: restore the room's state (kept in this process: see
        server/replication/room.py) in a tick of its own, whose output is the room's past, not
        news (nothing is sent or shared but visitors' carried state), then put the visitors
        back in (at spawn points; their clients get a full `reset` view and `correct` on their
        next move)."""
        # The inputs the dead worker took with it (one may be what killed it): their senders
        # are told to retry, except settlements of orders the ledger granted: they are settled.
        settle: list[Input] = [item for item in lost if isinstance(item, DropSettled)]
        for item in lost:
            fut = self._waiting.get(getattr(item, "ref", 0) or 0)
            if fut is not None and not fut.done() and not isinstance(item, DropSettled):
                fut.set_result(error(ErrorCode.UNAVAILABLE, f"room {self.id!r} restarted: try again"))
        restore = self._outlet.restore(self)
        if restore:
            try:
                result = await self.engine.step(now_ms(), restore)
                while result.more:  # (an empty room sends its tick whole; never leave parts unread)
                    result = result._replace(more=not (await self.engine.more()).last)
                # of its output only what a visitor carries is kept (e.g. an order settled again)
                carried = [item for item in result.shared if item[0] == "carry"]
                if carried:
                    self._outlet.share(self, carried)
                log.warning("room %s: restored from %d items", self.id, len(restore))
            except Exception:  # something in the copy kills it: better empty than down
                log.exception("room %s: restoring failed; the room restarted empty", self.id)
        self._inbox[:0] = self._outlet.rejoin(self) + settle  # bounded by the shard's visitors

    def _adapt(self, utilisation: float, lag_periods: float, now_s: float) -> None:
        """Degrade (or restore) detail when the room runs hot (or cool): see server.load."""
        before = self.governor.level
        level = self.governor.update(utilisation, lag_periods, now_s)
        if level != before:
            log.warning(
                "room %s: load level %d -> %d (utilisation %.2f, lag %.2f periods)",
                self.id, before, level, self.governor.utilisation, self.governor.lag,
            )
            self._inbox.append(Detail(self.governor.far_stride))  # one per level change
            self.period = self.base_period * self.governor.rate_divisor
            self._metrics.load_level.labels(self.id).set(level)
            self._metrics.level_changes.labels(self.id).inc()

    async def _deliver(self, out: StepResult) -> float:
        """Resolve the requests, send corrections and the first ticks; returns the seconds
        spent sending."""
        m = self._metrics
        self.occupancy = out.occupancy
        for kind, (n, reason) in out.rejected.items():  # bad items from other shards: counted, logged once per kind
            m.rejected.labels(ErrorCode.BAD_REQUEST.value, "replica").inc(n)
            if kind not in self._rejected_kinds:
                self._rejected_kinds.add(kind)
                log.warning("room %s: a %s item from another shard was refused (%s); later ones are only counted",
                            self.id, kind, reason)
        # What the tick shared (a drop, its stock, a visitor's carried orders) is kept outside
        # the worker before any of the tick's acks is answered: an acked order survives a crash.
        if out.shared:
            self._outlet.share(self, out.shared)
        for ref, reply in out.replies.items():
            fut = self._waiting.get(ref)
            if fut is not None and not fut.done():
                fut.set_result(reply)
        if out.replies:
            # Let the handlers waiting on these replies send their acks first: a joiner's ack
            # must reach it before any tick of its new view, even when this loop runs late.
            await asyncio.sleep(0)
        m.avatars.labels(self.id).set(out.occupancy)
        if out.stats:  # rooms send their numbers about once a second
            self.stats = out.stats
        for avatar in out.removed:
            self._outlet.removed(self, avatar)
        sent_at = time.perf_counter()
        if out.corrections:
            m.corrections.labels(self.id).inc(len(out.corrections))
            for avatar, body in out.corrections:
                await self._outlet.send(avatar, event_packet("correct", body))
            m.messages_out.labels("correct").inc(len(out.corrections))
        await self._send_ticks(out.packets)
        return time.perf_counter() - sent_at

    async def _send_ticks(self, packets: list[tuple[int, bytes]]) -> None:
        m = self._metrics
        sent = 0
        behind = []
        send_now = self._outlet.send_now
        for avatar, pkt in packets:
            done = send_now(avatar, pkt)
            if done is None:
                done = await self._outlet.send(avatar, pkt)
            if done:
                sent += len(pkt)
            else:
                behind.append(avatar)
        m.messages_out.labels("tick").inc(len(packets) - len(behind))
        if behind:
            # Overload policy for a client that does not read: skip its ticks (never wait for
            # it) and resync it: its view is sent again in full once it has caught up.
            m.dropped.labels(self.id, "slow_client").inc(len(behind))
            self._inbox.extend(Attach(a) for a in behind)  # ALWAYS: bounded by the viewers
        m.bytes_out.inc(sent)

    async def _deliver_events(self, out: StepResult) -> None:
        """Chat, reactions, moderation ... after the ticks (positions are the most urgent),
        then the staff feed."""
        m = self._metrics
        send_now = self._outlet.send_now
        for event, pkt, avatars in out.events:
            for avatar in avatars:  # a client too far behind misses it (as with ticks)
                if send_now(avatar, pkt) is None:
                    await self._outlet.send(avatar, pkt)
            m.messages_out.labels(event).inc(len(avatars))
            m.bytes_out.inc(len(pkt) * len(avatars))
        for event, payload in out.staff:
            await self._outlet.staff(self, event, payload)
