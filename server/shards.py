"""Audience shards: a room declared large (``shard_size`` in its room file) is split into
several simulations of at most that many avatars, each in its own worker process.

A visitor joining the room is placed in the fullest shard that has room, so shards fill one
after another and avatars meet the crowd rather than an empty copy; a new shard starts when
every shard is full. Positions stay inside a shard. Everything that makes the shards one event
— the shared items of :mod:`world.mirror`: room chat, reaction counts, the stage, drops and
their stock, Q&A, moderation — is copied to every sibling shard (and, with ``--redis``, to
the other nodes). A shard that starts late first replays what was shared so far (the chat
history, the running show, the drops, the bans), so it joins the event where it stands.

Drops in a shardable room are claimed through one ledger (:class:`LocalLedger` on a single
node, the Redis script of :mod:`server.cluster` with several nodes), so stock is never oversold
across shards.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from server.runner import RoomRunner
from world.mirror import Mirror

REPLAY = 500  # shared items a late shard replays (reaction counts are not kept)


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
        self._replay: deque[tuple[str, dict[str, Any]]] = deque(maxlen=REPLAY)

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
                for kind, payload in self._replay:  # join the event where it stands
                    chosen.submit(Mirror(kind, payload, history=True))
                self.runners.append(chosen)
        self._joining[chosen.id] = self._joining.get(chosen.id, 0) + 1
        return chosen

    def placed(self, runner: RoomRunner) -> None:
        self._joining[runner.id] = max(0, self._joining.get(runner.id, 0) - 1)

    def share(self, origin: str | None, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Items from shard ``origin`` to the other shards here (None: to every shard)."""
        for kind, payload in items:
            self.take(Mirror(kind, payload), skip=origin)

    def take(self, item: Mirror, *, skip: str | None = None) -> None:
        """One item (from a shard here, or from another node) to the shards here."""
        if item.kind == "offer":
            self.ledger.know(item.payload)
        if item.kind != "reactions":
            self._replay.append((item.kind, item.payload))
        for r in self.runners:
            if r.id != skip:
                r.submit(item)
