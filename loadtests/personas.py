"""The visitor personas: :class:`Wanderer`, :class:`Lurker`, :class:`Fan`, :class:`Shopper` and
:class:`Player`.

Their weights (the mix of a run) are set in ``loadtests/locustfile.py``, the entry point.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust.env import Environment

from loadtests.locust_config import (
    CHAT_BURST,
    CHAT_RATE,
    CHAT_SEEN_TIMEOUT_S,
    CLOCK_SYNC_S,
    FAN_ASK_EVERY_S,
    FAN_CHAT_BURST,
    FAN_CHAT_EVERY_S,
    FAN_REACT_BURST,
    FAN_REACT_EVERY_S,
    FAN_VOTE_EVERY_S,
    LURKER_OFFLINE_S,
    LURKER_RECONNECT_S,
    MOVE_HZ,
    PLAYER_BET_DELAY_S,
    PLAYER_BETS,
    PLAYER_CLOSE_MARGIN_S,
    PLAYER_PAYOUT_TIMEOUT_S,
    PLAYER_STAKE,
    SHOP_ROOM,
    SHOPPER_CART_EVERY_S,
    SHOPPER_CHECK_EVERY_S,
    SHOPPER_CLAIM_DELAY_S,
    SHOPPER_TRY_EVERY_S,
    SHOPPER_VIEW_EVERY_S,
    WHEEL_ROOM,
)
from loadtests.protocol_user import Judge
from loadtests.visitor_user import PROBE, VetrinaUser, scene_of, wall_ms
from world.shows.wheel import MAX_BET, MAX_SPINS, MULTIPLIERS, NUMBERS, SEGMENTS, spin_index
from world.wander import Wanderer as Legs

CHEERS = (
    "What a show!", "Encore!", "Best night ever", "Ciao da Milano", "Anyone near the stage?",
    "The lights are amazing", "Che spettacolo!", "Bravi!", "Here from Torino", "This song 🔥",
    "Volume up please", "Who else is here from Roma?", "That drop though", "Love this crowd",
)
QUESTIONS = (
    "Will the setlist be online after the show?", "Is there an encore tonight?",
    "Where can I buy the tour t-shirt?", "Will you play the new single?",
    "Is the merch shipped to Switzerland?", "When is the next live stream?",
    "Can we request a song?", "Is the show recorded?",
)


class Wanderer(VetrinaUser):
    """Walks the room at 10 Hz with :class:`world.wander.Wanderer` legs; syncs its clock."""

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


class Fan(VetrinaUser):
    """A crowd member at a live event: chats in bursts, reacts, asks and votes in the Q&A.

    It stands where it joined. Chat keeps inside the server's allowance (a local mirror of the
    token bucket with a margin; ``qa.ask`` takes from it too), waits out slow mode and stays
    quiet while muted. A refusal is a failure only when the Fan could not have caused it
    innocently: ``rate_limited`` for slow mode is expected when slow mode had just started (or
    the Fan had not been told yet), ``muted`` is always the Host's doing. Its own messages
    come back to it as ``chat`` events: ``CHAT sent→seen``.
    """

    persona = "Fan"

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.reactions: list[str] = []
        self.top: list[dict[str, Any]] = []
        self.voted: set[str] = set()
        self.asked: set[str] = set()
        # the local mirror of the server's chat allowance
        self._burst = max(1.0, CHAT_BURST - 1.0)
        self._rate = 0.8 * CHAT_RATE
        self._tokens = self._burst
        self._refilled_at = time.perf_counter()
        self.slow_s = 0
        self.slow_since = -math.inf  # perf_counter() when we learnt the current slow mode
        self.last_ok_at: float | None = None  # our last chat message the server accepted
        self.muted_until: float | None = None  # perf_counter() deadline
        self._chat_sent: dict[str, float] = {}  # message id -> emit time, until it is seen
        self._chat_early: dict[str, float] = {}  # message id -> arrival, seen before its ack

    def on_joined(self, ack: dict[str, Any]) -> None:
        self.reactions = list(ack["room"].get("reactions") or [])
        slow = int(ack.get("slow") or 0)
        if slow != self.slow_s:
            self.slow_s, self.slow_since = slow, time.perf_counter()
        self.top = list((ack.get("qa") or {}).get("top") or [])

    def live(self) -> None:
        self.sync_clock(2)
        chat_quiet, ask_every = FAN_CHAT_EVERY_S, FAN_ASK_EVERY_S
        self.every(chat_quiet, self.chat_burst, first_s=self.rng.uniform(0.5, chat_quiet[1]))
        if self.reactions:
            self.every(FAN_REACT_EVERY_S, self.react_burst, first_s=self.rng.uniform(0.2, FAN_REACT_EVERY_S[1]))
        self.every(ask_every, self.ask, first_s=self.rng.uniform(2.0, max(2.0, ask_every[0])))
        self.every(FAN_VOTE_EVERY_S, self.vote)
        while self.connected:
            gevent.sleep(1.0)
            self._expire_unseen()

    def ended(self) -> None:
        # messages in flight when the connection went are not redelivered: not a failure
        self._chat_sent.clear()
        self._chat_early.clear()

    # ---- chat ----------------------------------------------------------------------------

    def _refill(self) -> float:
        now = time.perf_counter()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled_at) * self._rate)
        self._refilled_at = now
        return now

    def may_speak(self) -> bool:
        """Wait until the allowance, slow mode and any mute let us send one message, and take
        it; False when muted or disconnected (skip this burst)."""
        while self.connected:
            now = self._refill()
            if self.muted_until is not None:
                if now < self.muted_until:
                    return False
                self.muted_until = None
            wait = 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self._rate
            if self.slow_s and self.last_ok_at is not None:
                wait = max(wait, self.last_ok_at + self.slow_s + 0.25 - now)
            if wait <= 0:
                self._tokens -= 1.0
                return True
            gevent.sleep(min(wait, 0.5))  # slow mode may end meanwhile
        return False

    def _refusal_judge(self) -> Judge:
        """Whether a refusal of a message sent now was expected (decided on what we knew now)."""
        sent_at = time.perf_counter()
        slow_s, slow_since, last_ok = self.slow_s, self.slow_since, self.last_ok_at

        def judge(reply: dict[str, Any]) -> bool:
            err = reply.get("error") or {}
            code, message = err.get("code"), str(err.get("message") or "")
            if code == "muted":  # only staff mute: the notice may still be on its way
                until = err.get("until")
                self.muted_until = self.server_ms_to_local(float(until)) if until else time.perf_counter() + 60.0
                return True
            if code == "rate_limited" and message.startswith("slow mode"):
                knew = slow_s > 0 and sent_at - slow_since > 1.0
                waited = last_ok is None or sent_at - last_ok >= slow_s
                return not (knew and waited)  # we had been told and waited: the server is wrong
            return False  # the token bucket: our mirror kept a margin, so this is unexpected

        return judge

    def chat_burst(self) -> None:
        for i in range(self.rng.randint(int(FAN_CHAT_BURST[0]), int(FAN_CHAT_BURST[1]))):
            if i:
                gevent.sleep(self.rng.uniform(0.3, 1.0))
            if not self.may_speak():
                return
            self.say(f"{self.rng.choice(CHEERS)} #{self.serial}")

    def say(self, text: str) -> None:
        t0 = time.perf_counter()
        reply = self.ack("chat", {"text": text}, expected=self._refusal_judge())
        if reply is None or not reply.get("ok"):
            return
        self.last_ok_at = time.perf_counter()
        mid = str(reply["id"])
        seen = self._chat_early.pop(mid, None)
        if seen is not None:  # the room's chat event overtook our ack
            self.fire("CHAT", "sent→seen", (seen - t0) * 1000)
        elif self.connected:
            self._chat_sent[mid] = t0

    def chat_seen(self, msg: dict[str, Any], now: float) -> None:
        if (msg.get("from") or {}).get("id") != self.avatar_id:
            return
        mid = str(msg.get("id"))
        t0 = self._chat_sent.pop(mid, None)
        if t0 is not None:
            self.fire("CHAT", "sent→seen", (now - t0) * 1000)
        else:
            self._chat_early[mid] = now

    def _expire_unseen(self) -> None:
        now = time.perf_counter()
        for mid, t0 in list(self._chat_sent.items()):
            if now - t0 > CHAT_SEEN_TIMEOUT_S:
                del self._chat_sent[mid]
                self.fail("CHAT", "sent→seen", f"own message {mid} not received within {CHAT_SEEN_TIMEOUT_S:g} s")
        for mid, seen in list(self._chat_early.items()):
            if now - seen > 60.0:
                del self._chat_early[mid]

    def moderated(self, data: dict[str, Any]) -> None:
        action = data.get("action")
        if action == "slow":
            seconds = int(data.get("seconds") or 0)
            if seconds != self.slow_s:
                self.slow_s, self.slow_since = seconds, time.perf_counter()
        elif action == "muted":
            until = data.get("until")
            self.muted_until = self.server_ms_to_local(float(until)) if until else time.perf_counter() + 60.0
        elif action == "unmuted":
            self.muted_until = None

    # ---- reactions -----------------------------------------------------------------------

    def react_burst(self) -> None:
        emoji = self.rng.choice(self.reactions)  # a burst mostly repeats one emoji
        for i in range(self.rng.randint(int(FAN_REACT_BURST[0]), int(FAN_REACT_BURST[1]))):
            if not self.connected:
                return
            if i and self.rng.random() < 0.2:
                emoji = self.rng.choice(self.reactions)
            self.sio.emit("react", {"emoji": emoji})  # no ack: a WSE react row
            gevent.sleep(self.rng.uniform(0.15, 0.35))  # ~4/s, inside the server's 10/s

    # ---- Q&A -----------------------------------------------------------------------------

    def qa_top(self, top: list[dict[str, Any]]) -> None:
        self.top = top

    def ask(self) -> None:
        if not self.may_speak():
            return
        reply = self.ack("qa.ask", {"text": self.rng.choice(QUESTIONS)}, expected=self._refusal_judge())
        if reply is not None and reply.get("ok"):
            self.asked.add(str(reply["id"]))

    def vote(self) -> None:
        choices = [q for q in self.top if q.get("id") not in self.voted and q.get("id") not in self.asked
                   and (q.get("from") or {}).get("id") != self.avatar_id]
        if not choices:
            return
        q = self.rng.choice(choices)
        qid = str(q["id"])
        self.voted.add(qid)  # at most once, even if this vote fails
        reply = self.ack("qa.vote", {"id": qid})
        if reply is not None and not int(reply.get("votes", 0)) >= 1:
            self.fail("WSC", "qa.vote", f"question {qid} has {reply.get('votes')!r} votes after ours")


class Shopper(VetrinaUser):
    """A visitor of the showroom (``VETRINA_SHOP_ROOM``): looks at products, tries variants on,
    fills a cart and races for the Host's drops.

    Every few seconds it views a product of the room's catalog (``product.view``), now and then
    tries a variant on (``product.try``: the others near it see it on its avatar), adds one of a
    variant to its cart (``cart.add``, only while the line stays inside the server's limits:
    at most 10 and at most the variant's stock) and checks the cart (``cart.get``: every order it
    won must be there). On an ``offer`` that is live with stock left (or one in the join ack) it
    claims once, after a short human reaction time (``offer.claim``). Losing the race is part of
    a drop: ``sold_out`` and ``closed`` are expected refusals, counted apart as
    ``WSC offer.claim sold_out (expected)`` / ``... closed (expected)``; anything else fails.
    """

    persona = "Shopper"
    room_id = SHOP_ROOM

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.catalog: list[dict[str, Any]] = []
        self.cart: dict[tuple[str, str], int] = {}  # (product, variant) -> qty, as the server said
        self.claimed: set[str] = set()  # offers we claimed (at most once each)
        self.won: dict[str, int] = {}  # order id -> cart sequence after it was won, to find in cart.get
        self._cart_of: int | None = None  # avatar id the cart above belongs to
        self._cart_sent = 0  # cart requests sent / the newest one whose answer we adopted
        self._cart_seen = 0
        self.sio.on("offer", self._guard("offer", self._on_offer))
        self.sio.on("spotlight", self._guard("spotlight", self._on_spotlight))

    def on_joined(self, ack: dict[str, Any]) -> None:
        self.catalog = [p for p in ack["room"].get("catalog") or [] if p.get("id")]
        if self._cart_of != self.avatar_id:  # a new avatar (not a resume): a new, empty cart
            self._cart_of = self.avatar_id
            self.cart.clear()
            self.claimed.clear()
            self.won.clear()
        for offer in ack.get("offers") or []:
            self.race(offer)

    def live(self) -> None:
        if not self.catalog:
            self.fail("SHOP", "catalog", f"room {self.room_id!r} has no catalog: nothing to shop for")
            while self.connected:
                gevent.sleep(1.0)
            return
        self.check_cart()
        for period, action in (
            (SHOPPER_VIEW_EVERY_S, self.view),
            (SHOPPER_TRY_EVERY_S, self.try_on),
            (SHOPPER_CART_EVERY_S, self.add_to_cart),
            (SHOPPER_CHECK_EVERY_S, self.check_cart),
        ):
            if period[1] > 0:  # "0" turns an action off
                self.every(period, action, first_s=self.rng.uniform(0.2, period[1]))
        while self.connected:
            gevent.sleep(1.0)

    # ---- browsing ------------------------------------------------------------------------

    def view(self) -> None:
        product = self.rng.choice(self.catalog)
        reply = self.ack("product.view", {"product": product["id"]})
        if reply is not None and (reply.get("product") or {}).get("id") != product["id"]:
            self.fail("WSC", "product.view", f"asked for {product['id']!r}, got {reply.get('product')!r:.80}")

    def try_on(self) -> None:
        product = self.rng.choice(self.catalog)
        variants = product.get("variants") or []
        if not variants:
            return
        variant = self.rng.choice(variants)
        reply = self.ack("product.try", {"product": product["id"], "variant": variant["id"]})
        if reply is not None and (reply.get("wear") or {}).get("variant") != variant["id"]:
            self.fail("WSC", "product.try", f"wearing {reply.get('wear')!r:.80}, not {variant['id']!r}")

    def add_to_cart(self) -> None:
        # Only what the server accepts: a variant in stock, at most min(10, stock) per line.
        choices = [
            (p["id"], v["id"])
            for p in self.catalog
            for v in p.get("variants") or []
            if self.cart.get((p["id"], v["id"]), 0) + 1 <= min(10, int(v.get("stock") or 0))
        ]
        if len(self.cart) >= 50:  # the server's limit of lines per cart
            choices = [c for c in choices if c in self.cart]
        if not choices:
            return
        product, variant = self.rng.choice(choices)
        self._cart_sent += 1
        seq = self._cart_sent
        reply = self.ack("cart.add", {"product": product, "variant": variant, "qty": 1})
        if reply is not None:
            self._adopt(reply["cart"], seq)

    def check_cart(self) -> None:
        self._cart_sent += 1
        seq = self._cart_sent
        reply = self.ack("cart.get", {})
        if reply is None:
            return
        cart = reply["cart"]
        self._adopt(cart, seq)
        orders = {str(o.get("order")) for o in cart.get("orders") or []}
        missing = [o for o, at in self.won.items() if o not in orders and at < seq]
        if missing:
            self.fail("WSC", "cart.get", f"orders {missing} won but not in the cart's orders")
            for o in missing:
                del self.won[o]

    def _adopt(self, cart: dict[str, Any], seq: int) -> None:
        """The server's cart, unless an answer to a later request came first (the room answers
        a connection's requests in order, so a later request saw a newer cart)."""
        if seq < self._cart_seen:
            return
        self._cart_seen = seq
        self.cart = {(str(i["product"]), str(i["variant"])): int(i["qty"]) for i in cart.get("items") or []}

    # ---- the drop race -------------------------------------------------------------------

    def _on_offer(self, offer: dict[str, Any]) -> None:
        self.fire("WSR", "offer", length=int(offer.get("stock") or 0))
        self.race(offer)

    def _on_spotlight(self, data: dict[str, Any]) -> None:
        self.fire("WSR", "spotlight", length=len(data.get("product") or {}))

    def race(self, offer: dict[str, Any]) -> None:
        """Claim a live drop with stock left, once, after a short reaction time."""
        oid = offer.get("id")
        if not isinstance(oid, str) or offer.get("ended") or int(offer.get("stock") or 0) <= 0:
            return
        if oid in self.claimed or not self.connected:
            return
        self.claimed.add(oid)
        self._helpers = [g for g in self._helpers if not g.dead]
        self._helpers.append(gevent.spawn(self._claim, oid, self.rng.uniform(*SHOPPER_CLAIM_DELAY_S)))

    def _claim(self, oid: str, delay_s: float) -> None:
        gevent.sleep(delay_s)
        if not self.connected:
            return
        lost = {"sold_out", "closed"}  # the race was lost, or the drop ended meanwhile
        reply = self.ack("offer.claim", {"offer": oid}, expected=lambda r: (r.get("error") or {}).get("code") in lost)
        if reply is not None and reply.get("ok"):
            self._cart_sent += 1  # a cart request sent after this has the order
            self.won[str(reply["order"])] = self._cart_sent


@dataclass
class Round:
    """One wheel round as a :class:`Player` saw it."""

    id: str
    commit: str = ""
    ends_at: float = 0.0  # server ms: betting closes
    phase: str = "betting"
    bets: list[tuple[str, int]] = field(default_factory=list)  # (segment, amount) the server accepted
    result: dict[str, Any] | None = None  # the `result` ShowState
    payout: dict[str, Any] | None = None
    settled: bool = False
    playing: bool = False  # a betting greenlet is on it


class Player(VetrinaUser):
    """A visitor of the money-wheel game show (``VETRINA_WHEEL_ROOM``, the ``studio``).

    Whenever a round takes bets (a ``show`` of kind ``wheel`` in phase ``betting``, or the join
    ack's state) it places 1-3 bets on random numbers (``bet`` with a unique ``id`` each), never
    more than its balance and never in the window's last second. It keeps its own books: the
    balance each ``bet`` ack reports must be the last one less the stake, and after the result
    its ``payout`` must pay exactly ``stake x number x multiplier + stake`` per winning bet
    (``WHEEL payout``); the revealed seed must hash to the round's commit and give its spins
    (``WHEEL verify``). Once per session it sends a bet twice with the same ``id``: the second
    must answer the same balance, charged once (``WSC bet (same id)``), and once it bets one
    credit more than it has (``WSC bet insufficient_funds (expected)``).

    ``closed`` is expected for a bet that reached the room after the window (the ack came back
    at or after ``ends_at`` on the synced clock, or the host spun early); a ``closed`` answered
    well before ``ends_at`` while the round was still betting fails as ``WHEEL closed early``.
    A bet whose ack timed out is sent again with the same ``id``, which says whether it counted.
    """

    persona = "Player"
    room_id = WHEEL_ROOM

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.balance: int | None = None  # as our books say
        self.uncertain = False  # a bet's outcome is unknown: adopt the server's next balance
        self.rounds: dict[str, Round] = {}
        self.bet_serial = 0
        self.checked_retry = False  # once per session
        self.probed_funds = False
        self.sio.on("show", self._guard("show", self._on_show))
        self.sio.on("payout", self._guard("payout", self._on_payout))
        self.sio.on("leaderboard", self._guard("leaderboard", self._on_leaderboard))

    def on_joined(self, ack: dict[str, Any]) -> None:
        # A new connection (or a resume): the server's balance is the truth from here on.
        if "balance" not in ack:
            self.fail("WHEEL", "join", f"room {self.room_id!r} has no wheel (no balance in the join ack)")
        self.balance = int(ack.get("balance") or 0)
        self.uncertain = False
        self.rounds.clear()
        self.checked_retry = False
        self.probed_funds = False
        show = ack.get("show")
        if isinstance(show, dict):
            self.follow(show)

    def live(self) -> None:
        self.sync_clock(3)
        self.every(CLOCK_SYNC_S, self.sync_clock, first_s=self.rng.uniform(0.5, 1.0) * CLOCK_SYNC_S)
        while self.connected:
            gevent.sleep(1.0)

    def ended(self) -> None:
        self.rounds.clear()  # payouts of a dropped connection are not redelivered

    def server_now(self) -> float:
        return wall_ms() + self.clock_offset_ms

    # ---- the show ------------------------------------------------------------------------

    def _on_show(self, state: dict[str, Any]) -> None:
        self.fire("WSR", "show", length=len(state))
        self.follow(state)

    def follow(self, state: dict[str, Any]) -> None:
        if state.get("kind") != "wheel" or not isinstance(state.get("round"), str):
            return
        rid = state["round"]
        r = self.rounds.get(rid)
        if r is None:
            if state.get("phase") != "betting":
                return  # a round we never saw taking bets: not ours
            r = self.rounds[rid] = Round(rid, str(state.get("commit") or ""), float(state.get("ends_at") or 0))
            for old in [k for k, v in self.rounds.items() if v.settled and k != rid]:
                del self.rounds[old]  # keep the books small
        r.phase = str(state.get("phase"))
        if r.phase == "betting" and not r.playing and self.connected:
            r.playing = True
            self._helpers = [g for g in self._helpers if not g.dead]
            self._helpers.append(gevent.spawn(self.play, r))
        if r.phase == "result" and r.result is None:
            r.result = state
            self.verify(r)
            if r.bets:
                self._helpers.append(gevent.spawn(self.await_payout, r))
            self.settle(r)

    def verify(self, r: Round) -> None:
        """Commit–reveal: sha256(seed) is the commit published when betting opened, and every
        spin follows from the seed."""
        state = r.result or {}
        try:
            seed = bytes.fromhex(str(state.get("seed")))
        except ValueError:
            self.fail("WHEEL", "verify", f"round {r.id}: the seed {state.get('seed')!r:.80} is not hex")
            return
        segments = list(state.get("segments") or SEGMENTS)
        spins = list(state.get("spins") or [])

        def drawn(i: int) -> int:  # as the server draws spin i (the last possible one lands on a number)
            index = spin_index(seed, r.id, i)
            while i == MAX_SPINS - 1 and SEGMENTS[index] in MULTIPLIERS:
                index = (index + 1) % len(SEGMENTS)
            return index

        if hashlib.sha256(seed).hexdigest() != r.commit:
            self.fail("WHEEL", "verify", f"round {r.id}: sha256(seed) is not the commit {r.commit[:16]}...")
        elif not spins or any(drawn(i) != s for i, s in enumerate(spins)):
            self.fail("WHEEL", "verify", f"round {r.id}: the spins {spins} do not follow from the seed")
        elif segments and segments[spins[-1]] != state.get("result"):
            self.fail("WHEEL", "verify", f"round {r.id}: landed on {segments[spins[-1]]!r}, result {state.get('result')!r}")
        else:
            self.fire("WHEEL", "verify", length=len(spins))

    # ---- betting ------------------------------------------------------------------------

    def play(self, r: Round) -> None:
        for i in range(self.rng.randint(int(PLAYER_BETS[0]), int(PLAYER_BETS[1]))):
            gevent.sleep(self.rng.uniform(*PLAYER_BET_DELAY_S))
            if not self.connected or r.phase != "betting" or self.balance is None:
                return
            if self.server_now() > r.ends_at - PLAYER_CLOSE_MARGIN_S * 1000:
                return  # too close to the end of the window
            amount = min(self.rng.randint(int(PLAYER_STAKE[0]), int(PLAYER_STAKE[1])), self.balance)
            if amount < 1:
                break  # broke: nothing to bet
            self.place(r, self.rng.choice(list(NUMBERS)), amount)
        if not self.probed_funds and self.connected and r.phase == "betting" and self.balance is not None:
            self.probed_funds = True
            self.probe_funds(r)

    def _closed_judge(self, r: Round) -> Any:
        def judge(reply: dict[str, Any]) -> bool:
            if (reply.get("error") or {}).get("code") != "closed":
                return False
            # Expected when the ack came back at the end of the window, or someone spun early
            # (the `show` saying so may arrive just after the ack): looked at again in 2 s.
            answered_at = self.server_now()
            if answered_at < r.ends_at - 250:
                self._helpers.append(gevent.spawn(self._check_closed, r, answered_at))
            return True

        return judge

    def _check_closed(self, r: Round, answered_at: float) -> None:
        gevent.sleep(2.0)
        if self.connected and r.phase == "betting" and self.server_now() < r.ends_at:
            self.fail("WHEEL", "closed early", f"round {r.id}: `closed` {(r.ends_at - answered_at) / 1000:.1f} s "
                      "before the window ends, and the round is still taking bets")

    def place(self, r: Round, segment: str, amount: int) -> None:
        assert self.balance is not None
        self.bet_serial += 1
        bet = {"round": r.id, "segment": segment, "amount": amount, "id": f"{self.name}-{self.avatar_id}-{self.bet_serial}"}
        before = self.balance
        closed = self._closed_judge(r)
        refused: list[str] = []

        def judge(rep: dict[str, Any]) -> bool:
            refused.append(str((rep.get("error") or {}).get("code")))
            return bool(closed(rep))

        reply = self.ack("bet", bet, expected=judge)
        if reply is None and not refused and self.connected:
            # No ack in time: the same id again tells whether it counted (charged once either way).
            reply = self.ack("bet", bet, "bet (same id after no answer)", expected=closed)
            if reply is None:
                self.uncertain = True
                return
        if reply is None or not reply.get("ok"):
            return
        balance = int(reply["balance"])
        r.bets.append((segment, amount))
        if not self.uncertain and balance != before - amount:
            self.fail("WHEEL", "balance", f"bet of {amount}: balance {balance}, our books say {before - amount}")
        self.balance = balance
        if not self.checked_retry and self.connected:
            self.checked_retry = True
            again = self.ack("bet", bet, "bet (same id)")  # a retry: charged once, the same answer
            if again is not None and int(again.get("balance", -1)) != balance:
                self.fail("WHEEL", "bet (same id)", f"the same bet again answered balance {again.get('balance')}, "
                          f"first {balance}: charged twice?")
                self.uncertain = True

    def probe_funds(self, r: Round) -> None:
        """One credit more than we have must be refused with insufficient_funds."""
        assert self.balance is not None
        amount = self.balance + 1
        if amount > MAX_BET:
            return
        self.bet_serial += 1
        bet = {"round": r.id, "segment": "1", "amount": amount, "id": f"{self.name}-{self.avatar_id}-{self.bet_serial}"}
        closed = self._closed_judge(r)
        reply = self.ack("bet", bet, expected=lambda rep: (rep.get("error") or {}).get("code") == "insufficient_funds"
                         or closed(rep))
        if reply is not None and reply.get("ok"):
            self.fail("WHEEL", "insufficient_funds", f"a bet of {amount} with a balance of {self.balance} was accepted")
            r.bets.append(("1", amount))
            self.balance = int(reply["balance"])

    # ---- payouts -------------------------------------------------------------------------

    def _on_payout(self, data: dict[str, Any]) -> None:
        self.fire("WSR", "payout", length=int(data.get("won") or 0))
        r = self.rounds.get(str(data.get("round")))
        if r is None:
            self.balance = int(data.get("balance") or 0)  # a round we did not follow: adopt
            self.uncertain = False
            return
        r.payout = data
        self.settle(r)

    def _on_leaderboard(self, data: dict[str, Any]) -> None:
        self.fire("WSR", "leaderboard", length=len(data.get("top") or []))

    def settle(self, r: Round) -> None:
        """With the result and our payout both in: the payout is what our bets won."""
        if r.settled or r.result is None or r.payout is None:
            return
        r.settled = True
        number = str(r.result.get("result"))
        multiplier = int(r.result.get("multiplier") or 1)
        won = sum(a * int(number) * multiplier + a for seg, a in r.bets if seg == number) if number in NUMBERS else 0
        got_won, got_balance = int(r.payout.get("won", -1)), int(r.payout.get("balance", -1))
        if self.uncertain or self.balance is None:
            self.uncertain = False  # adopt the server's balance from here
        elif got_won != won:
            self.fail("WHEEL", "payout", f"round {r.id} ({number} x{multiplier}): won {got_won}, our bets {r.bets} "
                      f"should win {won}")
        elif got_balance != self.balance + won:
            self.fail("WHEEL", "payout", f"round {r.id}: balance {got_balance}, our books say {self.balance + won}")
        else:
            self.fire("WHEEL", "payout", length=won)
        self.balance = got_balance

    def await_payout(self, r: Round) -> None:
        gevent.sleep(PLAYER_PAYOUT_TIMEOUT_S)
        if self.connected and r.payout is None and self.rounds.get(r.id) is r:
            self.fail("WHEEL", "payout", f"round {r.id}: no payout {PLAYER_PAYOUT_TIMEOUT_S:g} s after the result")
            r.settled = True
