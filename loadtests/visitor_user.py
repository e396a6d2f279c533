"""The visitor side of the load test: :class:`VetrinaUser`, the base of every visitor persona.

A visitor connects to namespace ``/`` (resuming its session after a drop), waits for
``welcome``, ``join``s ``ROOM`` and then lives there until the connection ends; it reports
every server event it receives. :class:`MoveProbe` (one per process, :data:`PROBE`) matches
the moves Wanderers send with the ticks other visitors receive: ``TICK move→seen``.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
import socketio
from locust import task
from locust.env import Environment
from locust.exception import StopUser

from loadtests.locust_config import ACK_TIMEOUT_S, MAX_CORRECTIONS_PER_MIN, ROOM
from loadtests.protocol_user import ProtocolUser, VetrinaFailure
from world.core.interest import decode_records
from world.core.scene import Scene


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


def scene_of(room: dict[str, Any]) -> Scene:
    """The room's scene from a join ack, parsed once per process."""
    scene = _SCENES.get(room["id"])
    if scene is None:
        scene = _SCENES[room["id"]] = Scene.model_validate(room["scene"])
    return scene


def wall_ms() -> float:
    return time.time() * 1000.0


# ---- visitors ---------------------------------------------------------------------------------


class VetrinaUser(ProtocolUser):
    """A visitor: connect (resuming when it can), welcome, join :attr:`room_id`, then :meth:`live`."""

    abstract = True
    persona = "Visitor"
    room_id = ROOM  # the room it joins (VETRINA_ROOM; a Shopper joins VETRINA_SHOP_ROOM)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.look = {"color": "#%06x" % self.rng.randrange(1 << 24)}
        PROBE.fire = environment.events.request.fire
        self.avatar_id: int | None = None
        self.session_token: str | None = None
        self.room: dict[str, Any] | None = None
        self.clock_offset_ms = 0.0  # server wall clock minus ours
        self._corrections: deque[float] = deque()
        self._storm_reported_at = -math.inf
        self.sio.on("welcome", self._guard("welcome", self._on_welcome))
        self.sio.on("tick", self._guard("tick", self._on_tick))
        self.sio.on("correct", self._guard("correct", self._on_correct))
        self.sio.on("chat", self._guard("chat", self._on_chat))
        self.sio.on("reactions", self._guard("reactions", self._on_reactions))
        self.sio.on("qa", self._guard("qa", self._on_qa))
        self.sio.on("moderation", self._guard("moderation", self._on_moderation))
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("connect_error", self._on_connect_error)

    # ---- connection --------------------------------------------------------------------

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

    # ---- requests ----------------------------------------------------------------------

    def join(self) -> dict[str, Any] | None:
        ack = self.ack("join", {"room": self.room_id})
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

    def server_ms_to_local(self, server_ms: float) -> float:
        """A server timestamp as a ``perf_counter()`` time of this process."""
        return time.perf_counter() + (server_ms - (wall_ms() + self.clock_offset_ms)) / 1000.0

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

    def _on_chat(self, data: Any) -> None:
        now = time.perf_counter()
        self.fire("WSR", "chat", length=len(str(data.get("text", ""))))
        self.chat_seen(data, now)

    def _on_reactions(self, data: Any) -> None:
        counts = data.get("counts") or {}
        self.fire("WSR", "reactions", length=int(sum(counts.values())))

    def _on_qa(self, data: Any) -> None:
        top = data.get("top") or []
        self.fire("WSR", "qa", length=len(top))
        self.qa_top(top)

    def _on_moderation(self, data: Any) -> None:
        self.fire("WSR", "moderation", length=len(data))
        self.moderated(data)

    def corrected(self, data: dict[str, Any]) -> None:
        """A persona that moves adopts the server's position here."""

    def chat_seen(self, msg: dict[str, Any], now: float) -> None:
        """A ``chat`` message arrived (``now`` is ``perf_counter()`` at arrival)."""

    def qa_top(self, top: list[dict[str, Any]]) -> None:
        """The room's Q&A top list (from ``qa`` and the join ack)."""

    def moderated(self, data: dict[str, Any]) -> None:
        """A ``moderation`` notice (muted, unmuted, slow, kicked, banned)."""

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
        self.ended()

    def on_joined(self, ack: dict[str, Any]) -> None:
        """State from the join ack (position, scene, ...)."""

    def live(self) -> None:
        """What the persona does while connected; return when ``self.connected`` is false."""
        while self.connected:
            gevent.sleep(0.5)

    def ended(self) -> None:
        """The connection is gone (dropped, or closed by us): forget what only it could answer."""

    def on_stop(self) -> None:
        if self.avatar_id is not None:
            PROBE.senders.discard(self.avatar_id)
        self.disconnect()
