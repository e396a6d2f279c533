"""What every Locust user of the load test shares, visitor or staff: :class:`ProtocolUser`.

One python-socketio ``Client`` (websocket only, msgpack) on one namespace, wrapped by
``locust.contrib.socketio`` under gevent: reporting to Locust's statistics, requests with an
ack, background loops, a bounded close. Visitors build on it in :mod:`loadtests.visitor_user`,
the staff :class:`~loadtests.host_user.Host` directly.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import gevent
from gevent.event import Event
import socketio
from locust import between
from locust.contrib.socketio import SocketIOUser
from locust.env import Environment

from loadtests.locust_config import (
    ACK_TIMEOUT_S,
    CONCERT_ROOM,
    HOST_CONCERT_EVERY_S,
    HOST_CUE_EVERY_S,
    HOST_TOKEN,
    HOST_WHEEL_EVERY_S,
    ROOM,
    SHOP_ROOM,
    WHEEL_ROOM,
)
from server.auth import DEFAULT_SECRET, mint

log = logging.getLogger(__name__)


class VetrinaFailure(Exception):
    """Something a real visitor would notice; shown in Locust's failures table."""


_serial = itertools.count(1)


def staff_rooms() -> list[str]:
    """The rooms the Host works in: ``ROOM``, ``SHOP_ROOM``, and the show rooms it runs."""
    rooms = [ROOM, SHOP_ROOM]
    if HOST_WHEEL_EVERY_S[1] > 0:
        rooms.append(WHEEL_ROOM)
    if HOST_CONCERT_EVERY_S[1] > 0 or HOST_CUE_EVERY_S[1] > 0:
        rooms.append(CONCERT_ROOM)
    return list(dict.fromkeys(rooms))


def staff_token(name: str) -> str:
    """``VETRINA_HOST_TOKEN`` as is, else a fresh 8 h host token for :func:`staff_rooms`
    signed with ``VETRINA_SECRET`` -- which must be the server's secret (the demo secret for a
    ``vetrina serve --demo`` started without one)."""
    if HOST_TOKEN:
        return HOST_TOKEN
    secret = os.environ.get("VETRINA_SECRET") or DEFAULT_SECRET
    return mint(secret, role="host", rooms=staff_rooms(), ttl_s=8 * 3600, name=name)


Judge = Callable[[dict[str, Any]], bool]  # given a refusal ack: was it expected?


# ---- what every user here shares ------------------------------------------------------------


class ProtocolUser(SocketIOUser):
    """One socket.io client on :attr:`namespace`: reporting, acks, background loops, a bounded close."""

    abstract = True
    host = "http://127.0.0.1:8080"  # --host overrides
    options = {"serializer": "msgpack", "reconnection": False}  # reconnects are ours, with resume
    wait_time = between(1, 2)  # only the pause before a new session after a dropped connection
    persona = "User"
    namespace = "/"

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.serial = next(_serial)
        self.rng = random.Random(f"{self.persona}-{self.serial}-{os.getpid()}")
        self.name = f"{self.persona} {self.serial}"
        self.request = environment.events.request
        self._closing = False  # a disconnect we asked for: not a failure
        self._stopped = False  # Locust is stopping this user
        self._helpers: list[gevent.Greenlet] = []
        self.welcome: dict[str, Any] | None = None
        self._welcomed = Event()
        self._connect_error: Any = None

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
        leaves no sample instead of a bogus success; set ``meta["exception"]`` to fail it, or
        ``meta["name"]`` to record it under another name."""
        meta: dict[str, Any] = {"response_length": 0, "exception": None}
        t0 = time.perf_counter()
        try:
            yield meta
        except Exception as exc:  # noqa: BLE001 - recorded as the failure
            meta["exception"] = exc
        ms = (time.perf_counter() - t0) * 1000
        self.fire(request_type, meta.get("name", name), ms, meta["response_length"], meta["exception"])

    def _guard(self, event: str, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        """A handler that raised would only be logged by python-socketio: make it a failure."""

        def handler(data: Any = None) -> None:
            try:
                fn(data)
            except Exception as exc:  # noqa: BLE001 - reported, not swallowed
                self.fire("WSR", f"{event} (handler error)", exc=exc)

        return handler

    # ---- connection --------------------------------------------------------------------

    disconnect_row = "disconnect"  # the stats row of a connection the server or network dropped

    def _on_welcome(self, data: Any) -> None:
        self.welcome = data
        self._welcomed.set()

    def _on_connect_error(self, data: Any = None) -> None:
        self._connect_error = data.get("message", data) if isinstance(data, dict) else data

    def _on_disconnect(self, reason: Any = None) -> None:
        if self._closing:
            return
        self.fail("WS", self.disconnect_row, f"connection dropped: {reason}")

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected) and not self._closing and not self._stopped

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

    # ---- requests ----------------------------------------------------------------------

    def ack(
        self,
        event: str,
        data: Any,
        name: str | None = None,
        *,
        expected: Judge | None = None,
        timeout_s: float = ACK_TIMEOUT_S,
    ) -> dict[str, Any] | None:
        """Emit with an ack; one ``WSC <name>`` sample. None on timeout, refusal or drop.

        ``expected(reply)`` decides about an ``ok: false`` answer: True records it as a success
        under ``WSC <name> <code> (expected)`` and returns the refusal; False fails as usual."""
        name = name or event
        with self.measure("WSC", name) as meta:
            # socketio.Client.call would go through the contrib's emit() and add a WSE row.
            done = self.sio.eio.create_event()
            got: list[tuple[Any, ...]] = []

            def callback(*args: Any) -> None:
                got.append(args)
                done.set()

            socketio.Client.emit(self.sio, event, data, namespace=self.namespace, callback=callback)
            if not done.wait(timeout_s):
                raise VetrinaFailure(f"{event}: no ack within {timeout_s:g} s")
            reply = got[0][0] if got[0] else None
            if not isinstance(reply, dict):
                raise VetrinaFailure(f"{event}: ack is not a map: {reply!r:.80}")
            meta["response_length"] = len(reply)
            if not reply.get("ok"):
                err = reply.get("error") or {}
                if expected is not None and expected(reply):
                    meta["name"] = f"{name} {err.get('code')} (expected)"
                    return reply
                raise VetrinaFailure(f"{event}: {err.get('code')}: {err.get('message')}")
            return reply
        return None  # measure() recorded the exception

    def every(self, period_s: float | tuple[float, float], fn: Callable[[], None], *, first_s: float | None = None) -> None:
        """Run ``fn`` every ``period_s`` (a number, or a ``(min, max)`` range drawn each time)
        while connected, in its own greenlet."""

        def pause() -> float:
            return self.rng.uniform(*period_s) if isinstance(period_s, tuple) else period_s

        def loop() -> None:
            gevent.sleep(pause() if first_s is None else first_s)
            while self.connected:
                fn()
                gevent.sleep(pause())

        self._helpers.append(gevent.spawn(loop))

    def wait_while_connected(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early when the connection ends; True if still connected."""
        until = time.perf_counter() + seconds
        while self.connected:
            left = until - time.perf_counter()
            if left <= 0:
                return True
            gevent.sleep(min(left, 0.5))
        return False
