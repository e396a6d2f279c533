"""The staff persona: :class:`Host`, brand staff moderating the room on namespace ``/host``,
running the showroom's drops and spotlights, the studio's money wheel and the concert."""

from __future__ import annotations

import time
from typing import Any

import gevent
import requests
import socketio
from locust import task
from locust.env import Environment
from locust.exception import StopUser

from loadtests.locust_config import (
    ACK_TIMEOUT_S,
    CONCERT_ROOM,
    HOST_ANSWER_EVERY_S,
    HOST_CONCERT_EVERY_S,
    HOST_CUE_EVERY_S,
    HOST_DROP_DISCOUNT,
    HOST_DROP_EVERY_S,
    HOST_DROP_SECONDS,
    HOST_DROP_STOCK,
    HOST_MUTE_EVERY_S,
    HOST_MUTED_FOR_S,
    HOST_NAMESPACE,
    HOST_PIN_EVERY_S,
    HOST_SLOW_EVERY_S,
    HOST_SLOW_FOR_S,
    HOST_SLOW_SECONDS,
    HOST_SPOTLIGHT_EVERY_S,
    HOST_WHEEL_EVERY_S,
    HOST_WHEEL_SECONDS,
    ROOM,
    SHOP_ROOM,
    WHEEL_ROOM,
)
from loadtests.protocol_user import ProtocolUser, VetrinaFailure, staff_token

ANSWERS = (
    "Yes, right after the show.", "Stay tuned!", "At the merch stand by the east gate.",
    "Ships everywhere in Europe.", "Next Friday at 21:00.",
)
PINS = (
    "Encore at 22:00 — stay close to the stage", "Merch: 20 % off tonight at the east gate",
    "Be kind in chat, our moderators are here", "Next live stream: Friday 21:00",
)


class Host(ProtocolUser):
    """Brand staff on ``/host``: watches ``ROOM``, answers questions, pins, mutes, slow mode;
    in ``SHOP_ROOM`` it starts small drops (``offer.start``) and spotlights products.

    Not a visitor: it has no avatar and never joins. Its token is ``VETRINA_HOST_TOKEN``, or a
    host token for ``ROOM`` minted with ``VETRINA_SECRET`` (the server's secret). Every
    action is a ``WSC host:<event>`` row; the staff feed it receives (chat, qa.queue, modlog,
    stats, ...) are ``WSR host:<event>`` rows. Exactly one per run (``fixed_count``, set in
    ``loadtests/locustfile.py``).

    The shop room's products come from ``GET /api/rooms/{SHOP_ROOM}`` (an ``HTTP`` row); a drop
    is ``VETRINA_HOST_DROP_STOCK`` of a random product for ``VETRINA_HOST_DROP_SECONDS`` at the list
    price less ``VETRINA_HOST_DROP_DISCOUNT``, every ``VETRINA_HOST_DROP_EVERY_S`` (0: never).

    The shows: it also watches ``WHEEL_ROOM`` and ``CONCERT_ROOM`` (``host.watch``: their
    ``show`` feed). Every ``VETRINA_HOST_WHEEL_EVERY_S`` it opens a wheel round for
    ``VETRINA_HOST_WHEEL_SECONDS`` (``wheel.open``) if none is running, and lets it spin by itself
    when betting closes; every ``VETRINA_HOST_CONCERT_EVERY_S`` it starts the concert
    (``show.start``) if it is not playing, and every ``VETRINA_HOST_CUE_EVERY_S`` it jumps to a
    random cue of the set (``concert.cue``) while it plays. ``wheel.open`` answered ``conflict``
    (someone else -- the demo's autopilot, a person at a console -- opened a round just before)
    is expected: ``WSC host:wheel.open conflict (expected)``.

    Slow mode is off except for a few seconds now and then (Fans expect and handle it), and
    every mute (1 minute) is lifted after a few seconds; whatever is still on when the Host
    stops is switched off in :meth:`on_stop`, and again by the next Host that finds it.
    """

    persona = "Host"
    namespace = HOST_NAMESPACE
    disconnect_row = "host:disconnect"

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.name = f"Locust Host {self.serial}"
        self.questions: dict[str, dict[str, Any]] = {}  # id -> Question, from host.watch and qa.queue
        self.chatters: dict[int, float] = {}  # avatar id -> perf_counter() of its last message
        self.muted: set[int] = set()  # avatars we muted and have not unmuted yet
        self.slow_on = False
        self.answered = 0
        self.products: list[dict[str, Any]] = []  # SHOP_ROOM's catalog
        self.drops = 0
        self.shows: dict[str, dict[str, Any]] = {}  # room -> its last ShowState (watch ack, `show` feed)
        self.cues: list[str] = []  # the concert's cue ids seen so far (after a jump `cues` is the rest only)
        self.unwatched: set[str] = set()  # show rooms whose host.watch was refused: their shows are left alone
        ns = HOST_NAMESPACE
        self.sio.on("welcome", self._guard("host:welcome", self._on_welcome), namespace=ns)
        self.sio.on("chat", self._guard("host:chat", self._on_chat), namespace=ns)
        self.sio.on("qa.queue", self._guard("host:qa.queue", self._on_queue), namespace=ns)
        self.sio.on("show", self._guard("host:show", self._on_show), namespace=ns)
        self.sio.on("*", self._on_feed, namespace=ns)
        self.sio.on("disconnect", self._on_disconnect, namespace=ns)
        self.sio.on("connect_error", self._on_connect_error, namespace=ns)

    def act(self, event: str, data: dict[str, Any], *, timeout_s: float = ACK_TIMEOUT_S) -> dict[str, Any] | None:
        return self.ack(event, data, f"host:{event}", timeout_s=timeout_s)

    # ---- connection --------------------------------------------------------------------

    def connect(self) -> bool:
        if self._stopped:
            return False
        self._welcomed.clear()
        self._connect_error = None
        self._closing = False
        t0 = time.perf_counter()
        with self.measure("WS", "host:connect") as meta:
            try:
                socketio.Client.connect(
                    self.sio,
                    self.host,
                    auth={"token": staff_token(self.name)},
                    namespaces=[HOST_NAMESPACE],
                    transports=["websocket"],
                    wait_timeout=ACK_TIMEOUT_S,
                )
            except socketio.exceptions.ConnectionError as exc:
                meta["exception"] = VetrinaFailure(f"connect refused: {self._connect_error or exc}")
        if not self.sio.connected:
            return False
        ms = (time.perf_counter() - t0) * 1000
        if not self._welcomed.wait(ACK_TIMEOUT_S) or self.welcome is None:
            self.fail("WS", "host:welcome", f"no welcome within {ACK_TIMEOUT_S:g} s", ms)
            self.disconnect()
            return False
        self.fire("WS", "host:welcome", (time.perf_counter() - t0) * 1000)
        return True

    # ---- the staff feed ----------------------------------------------------------------

    def _on_feed(self, event: str, data: Any = None) -> None:
        self.fire("WSR", f"host:{event}", length=len(data) if isinstance(data, (dict, list)) else 0)

    def _on_chat(self, msg: Any) -> None:
        self.fire("WSR", "host:chat", length=len(str(msg.get("text", ""))))
        sender = msg.get("from") or {}
        if sender.get("id") and not sender.get("staff") and not msg.get("shadow"):
            now = time.perf_counter()
            self.chatters[int(sender["id"])] = now
            if len(self.chatters) > 2000:
                self.chatters = {a: t for a, t in self.chatters.items() if now - t < 60.0}

    def _on_show(self, data: Any) -> None:
        self.fire("WSR", "host:show", length=len(data))
        self.learn_show(str(data.get("room") or ""), data)

    def learn_show(self, room: str, state: Any) -> None:
        if not isinstance(state, dict) or not room:
            return
        self.shows[room] = state
        for c in state.get("cues") or []:
            if isinstance(c, dict) and c.get("id") and c["id"] not in self.cues:
                self.cues.append(str(c["id"]))

    def _on_queue(self, data: Any) -> None:
        questions = data.get("questions") or []
        self.fire("WSR", "host:qa.queue", length=len(questions))
        self.questions = {str(q["id"]): q for q in questions}

    # ---- actions -----------------------------------------------------------------------

    def watch(self) -> bool:
        snap = self.act("host.watch", {"room": ROOM})
        if snap is None:
            return False
        self.questions = {str(q["id"]): q for q in snap.get("qa") or []}
        if snap.get("slow"):  # left on by an earlier run: Fans expect it off
            self.slow_on = True
            self.slow(0)
        self.learn_show(ROOM, snap.get("show"))
        self.unwatched.clear()
        for room in self.show_rooms():
            if room != ROOM:
                other = self.act("host.watch", {"room": room})  # refused (a token without it): failed once,
                if other is None:  # and the Host goes on without that room's show
                    self.unwatched.add(room)
                    continue
                self.learn_show(room, other.get("show"))
        return True

    def show_rooms(self) -> list[str]:
        rooms = []
        if HOST_WHEEL_EVERY_S[1] > 0:
            rooms.append(WHEEL_ROOM)
        if HOST_CONCERT_EVERY_S[1] > 0 or HOST_CUE_EVERY_S[1] > 0:
            rooms.append(CONCERT_ROOM)
        return list(dict.fromkeys(rooms))

    def answer(self) -> None:
        open_ = [q for q in self.questions.values() if q.get("answer") is None]
        if not open_:
            return
        q = max(open_, key=lambda q: (int(q.get("votes", 0)), -int(q.get("t", 0))))
        text = self.rng.choice(ANSWERS)
        if self.act("qa.answer", {"room": ROOM, "id": q["id"], "text": text}) is not None:
            q["answer"] = text  # until the next qa.queue says so
            self.answered += 1

    def pin(self) -> None:
        self.act("chat.pin", {"room": ROOM, "text": self.rng.choice(PINS)})

    def mute_briefly(self) -> None:
        now = time.perf_counter()
        recent = [a for a, t in self.chatters.items() if now - t < 60.0 and a not in self.muted]
        if not recent:
            return
        avatar = self.rng.choice(recent)
        if self.act("mod.mute", {"room": ROOM, "avatar": avatar, "minutes": 1}) is None:
            return
        self.muted.add(avatar)
        self.wait_while_connected(self.rng.uniform(*HOST_MUTED_FOR_S))
        self.unmute(avatar)

    def unmute(self, avatar: int, timeout_s: float = ACK_TIMEOUT_S) -> None:
        if avatar not in self.muted:
            return
        # off the list before asking: on_stop's clean-up runs in another greenlet and must not
        # unmute the same avatar a second time while this request is in flight
        self.muted.discard(avatar)
        if self.act("mod.unmute", {"room": ROOM, "avatar": avatar}, timeout_s=timeout_s) is None:
            self.muted.add(avatar)

    def slow(self, seconds: int, timeout_s: float = ACK_TIMEOUT_S) -> None:
        if self.act("mod.slow", {"room": ROOM, "seconds": seconds}, timeout_s=timeout_s) is not None:
            self.slow_on = seconds > 0

    def slow_briefly(self) -> None:
        self.slow(HOST_SLOW_SECONDS)
        if self.slow_on:
            self.wait_while_connected(self.rng.uniform(*HOST_SLOW_FOR_S))
            self.slow(0)

    # ---- the shop ----------------------------------------------------------------------

    def load_catalog(self) -> None:
        """SHOP_ROOM's catalog over HTTP (the host console's product picker does the same)."""
        url = f"{self.host.rstrip('/')}/api/rooms/{SHOP_ROOM}"
        with self.measure("HTTP", "GET /api/rooms/{room}") as meta:
            res = requests.get(url, timeout=ACK_TIMEOUT_S)
            res.raise_for_status()
            info = res.json()
            self.products = [p for p in info.get("catalog") or [] if p.get("id")]
            meta["response_length"] = len(res.content)
            if not self.products:
                raise VetrinaFailure(f"room {SHOP_ROOM!r} has no catalog: no drops or spotlights")

    def drop(self) -> None:
        if not self.products:
            return
        p = self.rng.choice(self.products)
        price = round(float(p.get("price") or 0) * (1.0 - HOST_DROP_DISCOUNT), 2)
        reply = self.act("offer.start", {"room": SHOP_ROOM, "product": p["id"], "price": max(0.0, price),
                                         "stock": HOST_DROP_STOCK, "seconds": HOST_DROP_SECONDS})
        if reply is not None:
            self.drops += 1

    def spotlight(self) -> None:
        if self.products:
            self.act("spotlight", {"room": SHOP_ROOM, "product": self.rng.choice(self.products)["id"]})

    # ---- the shows ---------------------------------------------------------------------

    def run_wheel(self) -> None:
        """A new round when none is running; it spins by itself when betting closes."""
        state = self.shows.get(WHEEL_ROOM) or {}
        if WHEEL_ROOM in self.unwatched or state.get("phase") not in (None, "idle", "result"):
            return
        reply = self.ack("wheel.open", {"room": WHEEL_ROOM, "seconds": HOST_WHEEL_SECONDS}, "host:wheel.open",
                         expected=lambda r: (r.get("error") or {}).get("code") == "conflict")
        if reply is not None and reply.get("ok"):
            # until the feed's `show` says more: betting, so the next tick does not open again
            self.shows[WHEEL_ROOM] = {**state, "phase": "betting", "round": reply.get("round")}

    def run_concert(self) -> None:
        """Start the concert unless it is playing."""
        state = self.shows.get(CONCERT_ROOM) or {}
        if CONCERT_ROOM in self.unwatched or state.get("phase") in ("starting", "playing"):
            return
        reply = self.act("show.start", {"room": CONCERT_ROOM, "kind": "concert"})
        if reply is not None:
            self.shows[CONCERT_ROOM] = {**state, "phase": "starting"}

    def cue(self) -> None:
        """Jump to a random cue of the set while the concert plays."""
        state = self.shows.get(CONCERT_ROOM) or {}
        if CONCERT_ROOM in self.unwatched or state.get("phase") not in ("starting", "playing") or not self.cues:
            return
        self.act("concert.cue", {"room": CONCERT_ROOM, "cue": self.rng.choice(self.cues)})

    def tidy_up(self, timeout_s: float) -> None:
        """Leave the room as we found it: slow mode off, our mutes lifted."""
        if self.slow_on:
            self.slow(0, timeout_s)
        for avatar in list(self.muted):
            self.unmute(avatar, timeout_s)

    # ---- life --------------------------------------------------------------------------

    @task
    def session(self) -> None:
        if self._stopped:
            raise StopUser()
        if not self.connected:
            if not self.connect():
                return
            if not self.watch():
                self.disconnect()
                return
        self.tidy_up(ACK_TIMEOUT_S)  # a reconnect: what the last connection left on
        shop = HOST_DROP_EVERY_S[1] > 0 or HOST_SPOTLIGHT_EVERY_S[1] > 0
        if shop and not self.products:
            self.load_catalog()
        for period, action in (
            (HOST_ANSWER_EVERY_S, self.answer),
            (HOST_PIN_EVERY_S, self.pin),
            (HOST_MUTE_EVERY_S, self.mute_briefly),
            (HOST_SLOW_EVERY_S, self.slow_briefly),
            (HOST_DROP_EVERY_S, self.drop),
            (HOST_SPOTLIGHT_EVERY_S, self.spotlight),
            (HOST_WHEEL_EVERY_S, self.run_wheel),
            (HOST_CONCERT_EVERY_S, self.run_concert),
            (HOST_CUE_EVERY_S, self.cue),
        ):
            if period[1] > 0:
                self.every(period, action, first_s=self.rng.uniform(*period))
        while self.connected:
            gevent.sleep(0.5)
        for g in self._helpers:
            g.kill(block=False)
        self._helpers.clear()

    def on_stop(self) -> None:
        for g in self._helpers:
            g.kill(block=False)
        self._helpers.clear()
        if self.sio.connected and not self._closing:
            self.tidy_up(timeout_s=2.0)
        self.disconnect()
