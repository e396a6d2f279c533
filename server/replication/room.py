"""A room's replication component: the one place that shares, replays, keeps and claims.

Every shard of a room (its audience shards on this node, server/shards.py) and, with
``--redis``, its instances on the other nodes (server/cluster/) are one event because of the
shared items of world/replication/shared.py. :class:`Replication` is what they go through,
whatever the topology:

- **share**: a shard's items to its sibling shards here and to the other nodes (the
  :class:`Remote`, the cluster's relay); items from other nodes to every shard here;
- **replay**: everything shared is kept compacted (world/replication/replay.py, the kinds of
  :data:`REPLAYED`), and a shard that starts late or restarts empty replays it; a node that
  starts mid-event reads what Redis kept back through the same compaction (:meth:`seed`);
- **carry**: each visitor's latest ``carry`` is kept here (and stored in Redis by the relay),
  to restore a shard whose worker died — only that shard's own visitors;
- **claim**: drop claims are decided by the room's :class:`~server.replication.ledger.DropLedger`
  (in this process, or Redis), then the new stock is shared.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from server.metrics import Metrics
from server.replication.ledger import DropLedger, LedgerUnavailable
from server.runner import now_ms
from world.commerce.ledger import Claim
from world.commerce.shop import DropSettled
from world.core.room import Input
from world.replication.shared import Replicated, Shared
from world.replication.replay import Replay

log = logging.getLogger(__name__)

__all__ = ["LedgerUnavailable", "Remote", "Replication", "REPLAYED", "Shard"]

# What a late or restarted shard replays, here and from Redis: the kinds world/replication/replay.py
# keeps (reactions, hand-overs and carries are never replayed: a moment's counts, per visitor).
REPLAYED = frozenset({"chat", "offer", "stock", "stage", "qa", "staff", "board"})
# Latest carry per visitor kept to restore a shard. Overload policy: past it the visitor whose
# carry changed longest ago is forgotten (counted, `reason="carry_evicted"`); its state is still
# in its shard (and, with --redis, in Redis): only a restore of that shard would miss it.
CARRIED_LIMIT = 50_000


class Shard(Protocol):
    """A room shard on this node (server/runner.py RoomRunner)."""

    id: str

    def submit(self, item: Input) -> bool: ...


class Remote(Protocol):
    """The other nodes (server/cluster/): where shared items go, and the ledger they agree on."""

    @property
    def ledger(self) -> DropLedger: ...

    def attach(self, room: str, sink: Replication) -> None: ...

    def share(self, room: str, items: list[Shared]) -> None: ...


class Replication:
    """The shards of one room on this node, as one event with its other nodes."""

    def __init__(self, room: str, shards: Sequence[Shard], ledger: DropLedger, *, remote: Remote | None = None,
                 metrics: Metrics | None = None, carried_limit: int = CARRIED_LIMIT) -> None:
        self.room = room
        self.ledger = ledger
        self.replay = Replay()
        self._shards = shards  # the room's shards on this node (the list grows as shards start)
        self._remote = remote
        self._carried: OrderedDict[int, tuple[str | None, dict[str, Any]]] = OrderedDict()  # avatar -> (shard, carry)
        self._homes: dict[int, str] = {}  # avatar -> the shard a claim of its was settled in
        self._limit = carried_limit
        metrics = metrics or Metrics()
        self._refused = metrics.replication_dropped.labels("shard_inbox_full")
        self._evicted = metrics.replication_dropped.labels("carry_evicted")
        self._carried_size = metrics.replication_size.labels("carried")
        if remote is not None:
            remote.attach(room, self)

    # ---- share -------------------------------------------------------------------------------

    def share(self, origin: str | None, items: list[Shared]) -> None:
        """Items made by shard ``origin`` (None: by the server itself) to the other shards here
        and to the other nodes; a ``carry`` is kept (and stored remotely), not sent to shards."""
        out: list[Shared] = []
        for kind, payload in items:
            if kind == "carry":
                self._keep_carry(origin, payload)
            elif not self._learn(kind, payload):
                continue  # a malformed drop stays where it was made
            else:
                self._pass(Replicated(kind, payload), skip=origin)
            out.append((kind, payload))
        if self._remote is not None and out:
            self._remote.share(self.room, out)

    def take(self, item: Replicated) -> bool:
        """One item from another node, to every shard here; False: no shard took it."""
        return self._learn(item.kind, item.payload) and self._pass(item, skip=None)

    def seed(self, items: Iterable[Shared]) -> None:
        """What another node kept for late nodes (from Redis, oldest first): compacted with what
        this node knows, then replayed to every shard here as history."""
        now = now_ms()
        for kind, payload in items:
            if kind in REPLAYED and self._learn(kind, payload):
                self.replay.add(kind, payload, now)
        for item in self.history():
            self._submit(item, skip=None)

    def history(self) -> list[Replicated]:
        """The event so far, for a shard that starts late (it joins the event where it stands)."""
        return [Replicated(kind, payload, history=True) for kind, payload in self.replay.items(now_ms())]

    def _pass(self, item: Replicated, *, skip: str | None) -> bool:
        """Kept for replay, and to the shards here but ``skip``; False: none took it."""
        self.replay.add(item.kind, item.payload, now_ms())
        return self._submit(item, skip=skip)

    def _learn(self, kind: str, payload: dict[str, Any]) -> bool:
        """What the ledger keeps of a drop item; False: a malformed drop (not passed on)."""
        if kind == "offer":
            return self.ledger.open(self.room, payload)
        if kind == "stock" and isinstance(payload.get("stock"), int):
            self.ledger.seen(str(payload.get("offer")), payload["stock"])
        return True

    def _submit(self, item: Replicated, *, skip: str | None) -> bool:
        """To the shards here. Overload policy: a shard whose inbox is full refuses the item
        (server/runner.py bounds it); it is counted (``reason="shard_inbox_full"``), and the
        item stays in the replay for a restore."""
        taken = False
        for shard in self._shards:
            if shard.id == skip:
                continue
            if shard.submit(item):
                taken = True
            else:
                self._refused.inc()
        return taken

    # ---- carry -------------------------------------------------------------------------------

    def _keep_carry(self, origin: str | None, payload: dict[str, Any]) -> None:
        try:
            avatar = int(payload["avatar"])
        except (KeyError, TypeError, ValueError):
            return
        if avatar not in self._carried:
            self._carried_size.inc()
        self._carried[avatar] = (origin, payload)
        self._carried.move_to_end(avatar)
        while len(self._carried) > self._limit:
            gone, _ = self._carried.popitem(last=False)
            self._homes.pop(gone, None)
            self._evicted.inc()
            self._carried_size.dec()

    def carried(self, avatar: int) -> dict[str, Any] | None:
        kept = self._carried.get(avatar)
        return None if kept is None else kept[1]

    def forget(self, avatar: int) -> None:
        """A visitor left for good: nothing of it is restored any more."""
        if self._carried.pop(avatar, None) is not None:
            self._carried_size.dec()
        self._homes.pop(avatar, None)

    # ---- restore -----------------------------------------------------------------------------

    def restore(self, shard: str) -> list[Input]:
        """Inputs that bring shard ``shard``, whose worker restarted empty, back to where the room
        stood (its visitors are joined again after them): the event so far, then the carried
        state and the granted orders of its own visitors (settled once: a room that has an
        order already changes nothing)."""
        inputs: list[Input] = list(self.history())
        inputs += [Replicated("handover", carry, history=True) for home, carry in self._carried.values() if home == shard]
        inputs += [DropSettled(0, avatar, offer, order, stock) for offer, avatar, order, stock in self.ledger.granted()
                   if self._home(avatar) == shard]
        return inputs

    def _home(self, avatar: int) -> str | None:
        kept = self._carried.get(avatar)
        return self._homes.get(avatar, kept[0] if kept is not None else None)

    # ---- claim -------------------------------------------------------------------------------

    async def claim(self, offer: str, avatar: int, now: int, *, shard: str | None = None) -> Claim:
        """A visitor's claim on a drop, decided once by the ledger (raises
        :class:`LedgerUnavailable`); a granted unit's new stock goes to every shard and node.
        ``shard``: where the order will be settled (a restore of that shard settles it again)."""
        claim = await self.ledger.claim(offer, avatar, now)
        if claim.outcome == "ok":
            if shard is not None:
                self._homes[avatar] = shard
            self.share(None, [("stock", {"offer": offer, "stock": claim.stock})])
        return claim
