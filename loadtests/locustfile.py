"""Locust load test for Vetrina: visitors speaking the real protocol (Socket.IO v5, msgpack).

    locust -f loadtests/locustfile.py --headless -u 50 -r 10 -t 60s --host http://127.0.0.1:8080

See ``loadtests/README.md`` for personas, environment variables and what every stats row means.

Every persona is a :class:`VetrinaUser`: one python-socketio ``Client`` (websocket only,
msgpack) wrapped by ``locust.contrib.socketio``, under gevent. A persona's whole life is one
Locust task (:meth:`VetrinaUser.session`): connect, wait for ``welcome``, ``join`` the room,
then :meth:`VetrinaUser.live` until the connection ends; Locust's ``wait_time`` is only the
pause before the next session after a dropped connection. Periodic behaviour (10 Hz walking,
clock sync) runs in plain gevent loops inside the user, never through ``wait_time``.

Adding a persona: subclass :class:`VetrinaUser`, give it a ``weight`` and a ``persona`` name,
override :meth:`~VetrinaUser.on_joined` (state from the join ack) and :meth:`~VetrinaUser.live`
(what it does while connected; return when ``self.connected`` goes false). Use
:meth:`~VetrinaUser.ack` for every request with an ack (a ``WSC`` row per event, ``ok: false``
and timeouts count as failures), :meth:`~VetrinaUser.every` for background loops, and
:meth:`~VetrinaUser.fail` for anything else a real visitor would notice.

What lands in Locust's statistics:

* ``WS connect`` -- engine.io handshake + Socket.IO CONNECT (failure: refused / timed out).
* ``WS welcome`` -- CONNECT until ``welcome`` arrived; ``WS resume`` the same for a resume,
  failed when the avatar id or room differs from before the drop.
* ``WS disconnect`` -- only failures: the server or the network dropped a connection.
* ``WSC <event>`` -- ack round trip per event (``join``, ``time``, ...); ``ok: false`` fails.
* ``WSE move`` -- moves sent (response time 0; the row's rate is moves/s).
* ``TICK move→seen`` -- a Wanderer's move until another visitor receives it in a ``tick``.
* ``TICK age`` -- per received tick: its server timestamp ``t`` until it was handled here,
  on the clock synced with ``time``; response length is the size of ``pos`` in bytes.
* ``WSR correct`` -- corrections received; ``WSR correct storm`` fails when a legal walker
  gets more than VETRINA_MAX_CORRECTIONS_PER_MIN in a minute.
* ``WSR <event>`` -- any other server event (chat, show, ...), counted by the contrib handler.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import random
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import gevent
import socketio
from gevent.event import Event
from locust import between, task
from locust.exception import StopUser
from locust.contrib.socketio import SocketIOUser
from locust.env import Environment

from world.interest import decode_records
from world.scene import Scene
from world.wander import Wanderer as Legs

log = logging.getLogger(__name__)

# ---- configuration (environment variables) --------------------------------------------------


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _env_range(name: str, default: tuple[float, float]) -> tuple[float, float]:
    """``"20-60"`` or ``"20,60"`` is a range of seconds; a single number is exactly that."""
    raw = os.environ.get(name)
    if not raw:
        return default
    parts = [float(p) for p in raw.replace(",", "-").split("-") if p.strip()]
    return (parts[0], parts[-1])


ROOM = os.environ.get("VETRINA_ROOM", "concert")
ACK_TIMEOUT_S = _env_float("VETRINA_ACK_TIMEOUT_S", 5.0)
MOVE_HZ = _env_float("VETRINA_MOVE_HZ", 10.0)
CLOCK_SYNC_S = _env_float("VETRINA_CLOCK_SYNC_S", 10.0)
LURKER_RECONNECT_S = _env_range("VETRINA_LURKER_RECONNECT_S", (20.0, 60.0))
LURKER_OFFLINE_S = _env_range("VETRINA_LURKER_OFFLINE_S", (0.2, 3.0))  # well inside the 30 s grace
MAX_CORRECTIONS_PER_MIN = int(_env_float("VETRINA_MAX_CORRECTIONS_PER_MIN", 5))


class VetrinaFailure(Exception):
    """Something a real visitor would notice; shown in Locust's failures table."""


# ---- move -> seen latency, shared by every user of this Locust process (gevent) ------------


class MoveProbe:
    """Positions Wanderers sent, keyed ``(avatar id, x cm, z cm)`` -> ``perf_counter()``.

    A tick record with the same key is that move as another visitor sees it; the first
    observer pops the key and reports the elapsed time. Moves nobody saw (no one in view, or
    two moves landing in one server tick so only the later position went out) age out of the
    bounded table. Only users of this process are matched: with ``--processes`` every worker
    measures its own users, which is plenty of samples.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self.sent: dict[tuple[int, int, int], float] = {}
        self.order: deque[tuple[int, int, int]] = deque()
        self.senders: set[int] = set()
        self.fire: Callable[..., Any] | None = None

    def remember(self, avatar: int, p: tuple[float, float, float], t: float) -> None:
        # Positions are sent rounded to the centimetre, so the server's float32 copy quantises
        # back to exactly these integers (no half-way cases).
        key = (avatar, round(p[0] * 100), round(p[2] * 100))
        if key in self.sent:
            return  # walked back onto an unseen earlier spot: keep the older send time
        self.sent[key] = t
        self.order.append(key)
        while len(self.order) > self.capacity:
            self.sent.pop(self.order.popleft(), None)

    def seen(self, pos: bytes, now: float) -> None:
        if not self.sent or not pos:
            return
        senders, sent = self.senders, self.sent
        for aid, x, _y, z, _yaw in decode_records(pos).tolist():
            if aid in senders:
                t0 = sent.pop((aid, x, z), None)
                if t0 is not None and self.fire is not None:
                    self.fire(
                        request_type="TICK",
                        name="move→seen",
                        response_time=(now - t0) * 1000.0,
                        response_length=0,
                        exception=None,
                        context={},
                    )


PROBE = MoveProbe()
_SCENES: dict[str, Scene] = {}
_serial = itertools.count(1)


def scene_of(room: dict[str, Any]) -> Scene:
    """The room's scene from a join ack, parsed once per process."""
    scene = _SCENES.get(room["id"])
    if scene is None:
        scene = _SCENES[room["id"]] = Scene.model_validate(room["scene"])
    return scene


def wall_ms() -> float:
    return time.time() * 1000.0


# ---- the shared base ------------------------------------------------------------------------


class VetrinaUser(SocketIOUser):
    """A visitor: connect (resuming when it can), welcome, join ``ROOM``, then :meth:`live`."""

    abstract = True
    host = "http://127.0.0.1:8080"  # --host overrides
    options = {"serializer": "msgpack", "reconnection": False}  # reconnects are ours, with resume
    wait_time = between(1, 2)  # only the pause before a new session after a dropped connection
    persona = "Visitor"

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.serial = next(_serial)
        self.rng = random.Random(f"{self.persona}-{self.serial}-{os.getpid()}")
        self.name = f"{self.persona} {self.serial}"
        self.look = {"color": "#%06x" % self.rng.randrange(1 << 24)}
        self.request = environment.events.request
        PROBE.fire = environment.events.request.fire
        self.avatar_id: int | None = None
        self.session_token: str | None = None
        self.welcome: dict[str, Any] | None = None
        self.room: dict[str, Any] | None = None
        self.clock_offset_ms = 0.0  # server wall clock minus ours
        self._welcomed = Event()
        self._connect_error: Any = None
        self._closing = False  # a disconnect we asked for: not a failure
        self._stopped = False  # Locust is stopping this user
        self._helpers: list[gevent.Greenlet] = []
        self._corrections: deque[float] = deque()
        self._storm_reported_at = -math.inf
        self.sio.on("welcome", self._guard("welcome", self._on_welcome))
        self.sio.on("tick", self._guard("tick", self._on_tick))
        self.sio.on("correct", self._guard("correct", self._on_correct))
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("connect_error", self._on_connect_error)

    # ---- reporting ---------------------------------------------------------------------

    def fire(self, request_type: str, name: str, ms: float = 0.0, length: int = 0, exc: Exception | None = None) -> None:
        self.request.fire(
            request_type=request_type,
            name=name,
            response_time=ms,
            response_length=length,
            exception=exc,
            context={},
        )

    def fail(self, request_type: str, name: str, message: str, ms: float = 0.0) -> None:
        self.fire(request_type, name, ms, exc=VetrinaFailure(message))

    @contextmanager
    def measure(self, request_type: str, name: str) -> Iterator[dict[str, Any]]:
        """Like ``events.request.measure``, but a user stopped by Locust mid-request (GreenletExit)
        leaves no sample instead of a bogus success; set ``meta["exception"]`` to fail it."""
        meta: dict[str, Any] = {"response_length": 0, "exception": None}
        t0 = time.perf_counter()
        try:
            yield meta
        except Exception as exc:  # noqa: BLE001 - recorded as the failure
            meta["exception"] = exc
        self.fire(request_type, name, (time.perf_counter() - t0) * 1000, meta["response_length"], meta["exception"])

    def _guard(self, event: str, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        """A handler that raised would only be logged by python-socketio: make it a failure."""

        def handler(data: Any = None) -> None:
            try:
                fn(data)
            except Exception as exc:  # noqa: BLE001 - reported, not swallowed
                self.fire("WSR", f"{event} (handler error)", exc=exc)

        return handler

    # ---- connection --------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected) and not self._closing and not self._stopped

    def auth(self) -> dict[str, Any]:
        """Evaluated by python-socketio at every CONNECT, so a resume carries the last token."""
        a: dict[str, Any] = {"name": self.name, "look": self.look}
        if self.session_token:
            a["resume"] = self.session_token
        return a

    def connect(self) -> dict[str, Any] | None:
        """Connect (resuming if we hold a session) and wait for ``welcome``; None on failure."""
        if self._stopped:
            return None
        resuming = self.session_token is not None
        previous = (self.avatar_id, self.room["id"] if self.room else None)
        self._welcomed.clear()
        self._connect_error = None
        self._closing = False
        t0 = time.perf_counter()
        with self.measure("WS", "connect") as meta:
            try:
                socketio.Client.connect(
                    self.sio,
                    self.host,
                    auth=self.auth,
                    transports=["websocket"],
                    wait_timeout=ACK_TIMEOUT_S,
                )
            except socketio.exceptions.ConnectionError as exc:
                detail = self._connect_error
                meta["exception"] = VetrinaFailure(f"connect refused: {detail or exc}")
        if not self.sio.connected:
            return None
        name = "resume" if resuming else "welcome"
        if not self._welcomed.wait(ACK_TIMEOUT_S) or self.welcome is None:
            self.fail("WS", name, f"no welcome within {ACK_TIMEOUT_S:g} s", (time.perf_counter() - t0) * 1000)
            self.disconnect()
            return None
        w = self.welcome
        ms = (time.perf_counter() - t0) * 1000
        if resuming and previous[0] is not None:
            if w.get("id") != previous[0]:
                self.fail("WS", name, f"resume landed on avatar {w.get('id')}, was {previous[0]}", ms)
            elif previous[1] is not None and w.get("room") != previous[1]:
                self.fail("WS", name, f"resume landed in room {w.get('room')!r}, was {previous[1]!r}", ms)
            else:
                self.fire("WS", name, ms)
        else:
            self.fire("WS", name, ms)
        self.avatar_id = int(w["id"])
        self.session_token = str(w["session"])
        return w

    def disconnect(self, timeout_s: float = 3.0) -> None:
        """Close our side on purpose (not reported as a failure).

        The close runs in a greenlet of its own: websocket-client's ``close()`` swallows every
        exception with a bare ``except``, so a Locust kill (GreenletExit) landing inside it
        would be lost and the user would live on, hanging Locust's shutdown. Bounded in time
        too, since Locust waits for every user's ``on_stop``."""
        self._closing = True
        for g in self._helpers:
            g.kill(block=False)
        self._helpers.clear()
        if not self.sio.connected:
            return
        closer = gevent.spawn(self.sio.disconnect)
        closer.join(timeout_s)
        if not closer.dead:
            log.warning("%s: disconnect did not finish in %g s; dropping the socket", self.name, timeout_s)
            closer.kill(block=False)
            ws = getattr(self.sio.eio, "ws", None)
            if ws is not None:
                ws.shutdown()  # the client's read loop ends on the error

    def stop(self, force: bool = False) -> bool:
        # Locust stops a user by killing its greenlet; remember it too, so the user's loops end
        # even if the kill was swallowed somewhere in a client library (see disconnect()).
        self._stopped = True
        return bool(super().stop(force))

    def _on_welcome(self, data: Any) -> None:
        self.welcome = data
        self._welcomed.set()

    def _on_connect_error(self, data: Any = None) -> None:
        self._connect_error = data.get("message", data) if isinstance(data, dict) else data

    def _on_disconnect(self, reason: Any = None) -> None:
        if self._closing:
            return
        self.fail("WS", "disconnect", f"connection dropped: {reason}")

    # ---- requests ----------------------------------------------------------------------

    def ack(self, event: str, data: Any, name: str | None = None) -> dict[str, Any] | None:
        """Emit with an ack; one ``WSC <event>`` sample. None on timeout, refusal or drop."""
        with self.measure("WSC", name or event) as meta:
            # socketio.Client.call would go through the contrib's emit() and add a WSE row.
            done = self.sio.eio.create_event()
            got: list[tuple[Any, ...]] = []

            def callback(*args: Any) -> None:
                got.append(args)
                done.set()

            socketio.Client.emit(self.sio, event, data, callback=callback)
            if not done.wait(ACK_TIMEOUT_S):
                raise VetrinaFailure(f"{event}: no ack within {ACK_TIMEOUT_S:g} s")
            reply = got[0][0] if got[0] else None
            if not isinstance(reply, dict):
                raise VetrinaFailure(f"{event}: ack is not a map: {reply!r:.80}")
            if not reply.get("ok"):
                err = reply.get("error") or {}
                raise VetrinaFailure(f"{event}: {err.get('code')}: {err.get('message')}")
            meta["response_length"] = len(reply)
            return reply
        return None  # measure() recorded the exception

    def join(self) -> dict[str, Any] | None:
        ack = self.ack("join", {"room": ROOM})
        if ack is not None:
            self.room = ack["room"]
        return ack

    def sync_clock(self, samples: int = 1) -> None:
        """NTP-style: keep the offset of the sample with the shortest round trip."""
        best: tuple[float, float] | None = None
        for _ in range(samples):
            c = wall_ms()
            ack = self.ack("time", {"c": c})
            if ack is None:
                return
            rtt = wall_ms() - c
            offset = float(ack["t"]) - (c + rtt / 2)
            if best is None or rtt < best[0]:
                best = (rtt, offset)
        if best is not None:
            self.clock_offset_ms = best[1]

    def every(self, period_s: float, fn: Callable[[], None], *, first_s: float | None = None) -> None:
        """Run ``fn`` every ``period_s`` while connected, in its own greenlet."""

        def loop() -> None:
            gevent.sleep(period_s if first_s is None else first_s)
            while self.connected:
                fn()
                gevent.sleep(period_s)

        self._helpers.append(gevent.spawn(loop))

    # ---- server events -----------------------------------------------------------------

    def _on_tick(self, data: Any) -> None:
        now = time.perf_counter()
        pos = data.get("pos") or b""
        if pos:
            PROBE.seen(pos, now)
        age = wall_ms() + self.clock_offset_ms - data.get("t", 0)
        self.fire("TICK", "age", max(0.0, age), len(pos))

    def _on_correct(self, data: Any) -> None:
        self.fire("WSR", "correct", length=len(data))
        now = time.perf_counter()
        c = self._corrections
        c.append(now)
        while c and now - c[0] > 60.0:
            c.popleft()
        if len(c) > MAX_CORRECTIONS_PER_MIN and now - self._storm_reported_at > 60.0:
            self._storm_reported_at = now
            self.fail("WSR", "correct storm", f"{len(c)} corrections within a minute (last {data!r:.120})")
        self.corrected(data)

    def corrected(self, data: dict[str, Any]) -> None:
        """A persona that moves adopts the server's position here."""

    # ---- life --------------------------------------------------------------------------

    @task
    def session(self) -> None:
        if self._stopped:
            raise StopUser()
        if not self.connected:
            if self.connect() is None:
                return  # wait_time, then try again
            ack = self.join()
            if ack is None:
                self.disconnect()
                return
            self.on_joined(ack)
        self.live()
        for g in self._helpers:
            g.kill(block=False)
        self._helpers.clear()

    def on_joined(self, ack: dict[str, Any]) -> None:
        """State from the join ack (position, scene, ...)."""

    def live(self) -> None:
        """What the persona does while connected; return when ``self.connected`` is false."""
        while self.connected:
            gevent.sleep(0.5)

    def on_stop(self) -> None:
        if self.avatar_id is not None:
            PROBE.senders.discard(self.avatar_id)
        self.disconnect()


# ---- personas -------------------------------------------------------------------------------


class Wanderer(VetrinaUser):
    """Walks the room at 10 Hz with :class:`world.wander.Wanderer` legs; syncs its clock."""

    weight = 8
    persona = "Wanderer"

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.p: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.legs: Legs | None = None
        self.seq = 0

    def on_joined(self, ack: dict[str, Any]) -> None:
        room = ack["room"]
        self.p = tuple(float(v) for v in ack["you"]["p"])  # type: ignore[assignment]
        if self.legs is None:
            self.legs = Legs(scene_of(room), float(room["max_speed"]), self.rng)
        else:
            self.legs.corrected()  # resumed: choose a new target from where the server has us
        assert self.avatar_id is not None
        PROBE.senders.add(self.avatar_id)

    def corrected(self, data: dict[str, Any]) -> None:
        self.p = tuple(float(v) for v in data["p"])  # type: ignore[assignment]
        if self.legs is not None:
            self.legs.corrected()

    def live(self) -> None:
        self.sync_clock(3)
        self.every(CLOCK_SYNC_S, self.sync_clock, first_s=self.rng.uniform(0.5, 1.0) * CLOCK_SYNC_S)
        assert self.legs is not None and self.avatar_id is not None
        dt = 1.0 / MOVE_HZ
        next_at = time.perf_counter() + self.rng.uniform(0.0, dt)  # de-phased: no bursts
        while self.connected:
            delay = next_at - time.perf_counter()
            if delay > 0:
                gevent.sleep(delay)
            elif delay < -0.5:  # starved of CPU: skip ahead instead of bursting moves
                next_at = time.perf_counter()
            next_at += dt
            p, yaw = self.legs.step(self.p, dt)
            if p == self.p:
                continue  # pausing at a stand: nothing to send
            p = (round(p[0], 2), round(p[1], 2), round(p[2], 2))
            self.p = p
            self.seq += 1
            if not self.connected:
                break
            PROBE.remember(self.avatar_id, p, time.perf_counter())
            self.sio.emit("move", {"p": list(p), "yaw": yaw, "seq": self.seq})


class Lurker(VetrinaUser):
    """Stands and watches; every 20-60 s drops the connection and resumes its session."""

    weight = 2
    persona = "Lurker"

    def live(self) -> None:
        self.sync_clock(2)
        while self.connected:
            until = time.perf_counter() + self.rng.uniform(*LURKER_RECONNECT_S)
            while self.connected and time.perf_counter() < until:
                gevent.sleep(0.5)
            if not self.connected:
                return  # dropped by the server: session() reports and resumes
            self.disconnect()
            gevent.sleep(self.rng.uniform(*LURKER_OFFLINE_S))
            if self.connect() is None:
                return
            ack = self.join()  # idempotent for a resumed visitor
            if ack is None:
                self.disconnect()
                return
            self.on_joined(ack)
