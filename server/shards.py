"""Audience shards: a room declared large (``shard_size`` in its room file) is split into
several simulations of at most that many avatars, each in its own worker process.

A visitor joining the room is placed in the fullest shard that has room, so shards fill one
after another and avatars meet the crowd rather than an empty copy; a new shard starts when
every shard is full. Positions stay inside a shard. Everything that makes the shards one event
goes through the room's replication component (server/replication/room.py): shared items to
the sibling shards (and, with ``--redis``, the other nodes), the replay a late shard starts
from, each visitor's latest ``carry``, and drop claims through one ledger. This module only
decides placement.
"""

from __future__ import annotations

from collections.abc import Callable

from server.metrics import Metrics
from server.replication.ledger import LocalLedger
from server.replication.room import Remote, Replication
from server.runner import RoomRunner
from world.commerce.ledger import Claim
from world.core.room import Input
from world.replication.shared import Replicated, Shared


class AudienceShards:
    """The shards of one room on this node; ``runners[0]`` is the room's primary shard (its
    runner id is the room id; staff consoles, the autopilot and analytics talk to it)."""

    def __init__(self, room: str, primary: RoomRunner, size: int | None, spawn: Callable[[int], RoomRunner], *,
                 remote: Remote | None = None, metrics: Metrics | None = None) -> None:
        self.room = room
        self.size = size or None
        self.runners = [primary]
        self._spawn = spawn
        self._joining: dict[str, int] = {}  # runner id -> joins placed but not answered yet
        ledger = remote.ledger if remote is not None else LocalLedger(metrics)
        self.replication = Replication(room, self.runners, ledger, remote=remote, metrics=metrics)

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
                for item in self.replication.history():  # join the event where it stands
                    chosen.submit(item)
                self.runners.append(chosen)
        self._joining[chosen.id] = self._joining.get(chosen.id, 0) + 1
        return chosen

    def placed(self, runner: RoomRunner) -> None:
        self._joining[runner.id] = max(0, self._joining.get(runner.id, 0) - 1)

    # ---- the room's replication component, for the callers that hold the shards ------------

    def share(self, origin: str | None, items: list[Shared]) -> None:
        """Items from shard ``origin`` (None: made by the server) to every other shard and node."""
        self.replication.share(origin, items)

    def take(self, item: Replicated) -> bool:
        """One item from another node to the shards here."""
        return self.replication.take(item)

    def restore(self, runner: RoomRunner) -> list[Input]:
        """Inputs that bring a shard whose worker restarted empty back (its own visitors' state)."""
        return self.replication.restore(runner.id)

    async def claim(self, offer: str, avatar: int, now: int, *, shard: str | None = None) -> Claim:
        """A drop claim, decided by the room's one ledger (raises LedgerUnavailable)."""
        return await self.replication.claim(offer, avatar, now, shard=shard)

    def forget(self, avatar: int) -> None:
        self.replication.forget(avatar)
