"""Audience shards: a room declared large (``shard_size`` in its room file) is split into
several simulations of at most that many avatars, each in its own worker process.

A visitor joining the room is placed in the fullest shard that has room, so shards fill one
after another and avatars meet the crowd rather than an empty copy; a new shard starts when
every shard is full. Positions stay inside a shard. Everything that makes the shards one event
— the shared items of :mod:`world.replication.mirror`: room chat, reaction counts, the stage, drops and
their stock, Q&A, moderation — is copied to every sibling shard (and, with ``--redis``, to
the other nodes). A shard that starts late first replays what was shared so far (the chat
history, the running show, the drops, the bans: :class:`world.replication.replay.Replay`, compacted to the
latest state per key), so it joins the event where it stands.

The same copy, kept here in the server process, brings back a shard whose worker process
died (:meth:`AudienceShards.restore`): the event so far, then every visitor's latest ``carry``
(cart, orders, balance, open bets), then the orders the ledger granted. Both are updated from
a tick's items before that tick's acks are answered (server/runner.py), so whatever a visitor
was told survives the crash.

Drops are claimed through one ledger outside the room workers (:class:`LocalLedger` on a
single node, the Redis script of :mod:`server.cluster` with several nodes), so stock is never
oversold across shards and an order survives its shard's worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from server.runner import RoomRunner, now_ms
from world.commerce.shop import OfferSettled
from world.replication.mirror import Mirror
from world.replication.replay import Replay
from world.core.room import Input


class LocalLedger:
    """Drop claims for one node's shards of a room, decided one at a time in the event loop:
    the same answers as the cluster's Redis script (never oversold, one order per visitor)."""

    def __init__(self) -> None:
        self._offers: dict[str, dict[str, Any]] = {}

    def know(self, offer: dict[str, Any]) -> None:
        if offer["id"] not in self._offers:
            self._offers[str(offer["id"])] = {"stock": int(offer["initial"]), "initial": int(offer["initial"]),
                                              "ends_at": int(offer["ends_at"]), "orders": {}}

    async def claim(self, offer: str, avatar: int, now: int) -> tuple[str, str, int] | None:
        o = self._offers.get(offer)
        if o is None:
            return None
        mine = o["orders"].get(avatar)
        if mine is not None:
            return "ok", mine, o["stock"]
        if o["stock"] <= 0:
            return "sold_out", "", 0
        if now >= o["ends_at"]:
            return "closed", "", o["stock"]
        o["stock"] -= 1
        order = o["orders"][avatar] = f"{offer}-o{o['initial'] - o['stock']}"
        return "ok", order, o["stock"]

    def granted(self) -> Iterator[OfferSettled]:
        """Every order granted so far, as settlements for a room that lost them (ref 0: nobody
        waits for the answer; a room that has the order already changes nothing)."""
        for offer, o in self._offers.items():
            for avatar, order in o["orders"].items():
                yield OfferSettled(0, avatar, offer, order, o["stock"])


class AudienceShards:
    """The shards of one room on this node; ``runners[0]`` is the room's primary shard (its
    runner id is the room id; staff consoles, the autopilot and analytics talk to it)."""

    def __init__(self, room: str, primary: RoomRunner, size: int | None, spawn: Callable[[int], RoomRunner]) -> None:
        self.room = room
        self.size = size or None
        self.runners = [primary]
        self.ledger = LocalLedger()
        self._spawn = spawn
        self._joining: dict[str, int] = {}  # runner id -> joins placed but not answered yet
        self.replay = Replay()
        self.carried: dict[int, dict[str, Any]] = {}  # avatar -> its latest ``carry`` in this room

    @property
    def occupancy(self) -> int:
        return sum(r.occupancy for r in self.runners)

    def place(self, *, near: RoomRunner | None = None) -> RoomRunner:
        """The shard for one more visitor (call :meth:`placed` when its join is answered);
        ``near``: a friend's shard, chosen when it is one of this room's and has room."""
        chosen = self.runners[0]
        if self.size is not None:
            open_ = [r for r in self.runners if r.occupancy + self._joining.get(r.id, 0) < self.size]
            if near is not None and near in open_:
                chosen = near
            elif open_:
                chosen = max(open_, key=lambda r: r.occupancy + self._joining.get(r.id, 0))
            else:
                chosen = self._spawn(len(self.runners))
                for kind, payload in self.replay.items(now_ms()):  # join the event where it stands
                    chosen.submit(Mirror(kind, payload, history=True))
                self.runners.append(chosen)
        self._joining[chosen.id] = self._joining.get(chosen.id, 0) + 1
        return chosen

    def placed(self, runner: RoomRunner) -> None:
        self._joining[runner.id] = max(0, self._joining.get(runner.id, 0) - 1)

    def share(self, origin: str | None, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Items from shard ``origin`` to the other shards here (None: to every shard); a
        visitor's ``carry`` is kept, not sent (it is for whichever shard restores it)."""
        for kind, payload in items:
            if kind == "carry":
                self.carried[int(payload["avatar"])] = payload
            else:
                self.take(Mirror(kind, payload), skip=origin)

    def take(self, item: Mirror, *, skip: str | None = None) -> None:
        """One item (from a shard here, or from another node) to the shards here."""
        if item.kind == "offer":
            self.ledger.know(item.payload)
        self.replay.add(item.kind, item.payload, now_ms())
        for r in self.runners:
            if r.id != skip:
                r.submit(item)

    def restore(self, runner: RoomRunner) -> list[Input]:
        """Inputs that bring a shard whose worker restarted empty back to where the room
        stood (its visitors are joined again after them): the event so far, every visitor's
        carried state, then the orders the ledger granted (settled once: a room that has one
        changes nothing)."""
        inputs: list[Input] = [Mirror(kind, payload, history=True) for kind, payload in self.replay.items(now_ms())]
        inputs += [Mirror("handover", carry, history=True) for carry in self.carried.values()]
        inputs += self.ledger.granted()
        return inputs
