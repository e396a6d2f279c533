"""The contract every feature of a room implements (chat, shop, shows, analytics ...).

In the spirit of a Nakama match handler or a Colyseus room: the room (world/core/room.py)
keeps the avatar core — who is here, where, how they look — and hands everything else to its
features through a handful of hooks, one batch of inputs per tick. A feature never sees the
Room: it gets a :class:`Context` (the room's members and a few hooks between features) and
writes into its one :class:`Feed` (events for visitors, the staff feed, shared items).

A tick, for every feature in the order the room lists them (world/features.py):

1. ``inputs[type(item)](item, now)`` for each of the tick's inputs it declared: the reply
   (sent to ``item.ref``) or None;
2. ``replicas[type(item)](item, history, now)`` for each typed item (world/replication/items.py)
   that another shard of the room shared;
3. ``finish(now)``; then, about once a second, ``each_second(now)``: its live numbers for staff.

A joining visitor's ack carries ``join(avatar, now)`` of each feature (``admit`` may refuse it
first), a host console starting to watch gets ``watch(now)``, a visitor moving to another node
takes ``export_each`` with it and the node it resumes on ``adopt``\\ s it. Time is server ms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

from world.replication.items import HandoverItem, Replica
from world.replication.shared import Shared

Recipients = tuple[int, ...] | None  # None: every avatar in the room


class Event(NamedTuple):
    """A message to visitors: ``to`` (None: everyone in the room), the event name, its payload."""

    to: Recipients
    name: str
    payload: dict[str, Any]


class Staff(NamedTuple):
    """Who did a staff action (checked against their role by the transport)."""

    name: str
    role: str


Reply = dict[str, Any]
InputHandler = Callable[[Any, int], Reply | None]  # (input, now) -> the reply to input.ref, or None
ReplicaHandler = Callable[[Any, bool, int], None]  # (typed item, history, now)


def _nothing(*_: Any) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Who:
    """Who an avatar is beyond its session (issue 14): the visitor, stable across reconnects,
    tabs, devices (a brand's signed-in customer) and restarts, while the avatar id is per
    session. Per-visitor state (carts, orders, claims, balances, votes, tickets, mutes, bans)
    is keyed on ``key``, never on the avatar id: two tabs of one visitor are two avatars."""

    key: str  # "d_…" a device, "c_…" a brand's signed-in customer, "a<id>" unknown (tests, bots)
    addr: str | None = None  # keyed hash of its network address (mutes and bans hold on it too)
    customer: str | None = None  # the brand's customer id (signed-in visitors): orders carry it

    @staticmethod
    def of_avatar(avatar: int) -> Who:
        """The identity of an avatar whose visitor is unknown (world tests, bots)."""
        return Who(f"a{avatar}")


@dataclass(slots=True)
class Hooks:
    """How features hear of each other without knowing each other: wired once, where the room's
    features are listed (world/features.py); each does nothing until wired."""

    shopped: Callable[[str, int, str, int], None] = _nothing  # a funnel step: (stage, avatar, product, now)
    activity: Callable[[str, int, int], None] = _nothing  # chat sent, reactions sent: (kind, now, n)
    running_drop: Callable[[str], dict[str, Any] | None] = _nothing  # a product's running drop


class Context(Protocol):
    """What a feature may know of (and do to) the room's avatars, and the room's staff log."""

    hooks: Hooks

    def name_of(self, avatar: int) -> str | None: ...

    def who_of(self, avatar: int) -> Who | None:
        """The visitor behind the avatar (None: not in the room)."""
        ...

    def avatars_of(self, key: str) -> list[int]:
        """The avatars in the room of the visitor ``key`` (a visitor may have several tabs open)."""
        ...

    def is_viewing(self, avatar: int) -> bool: ...

    def near(self, avatar: int) -> list[int]:
        """Viewing avatars within the view radius of ``avatar`` (itself included)."""
        ...

    def viewer_ids(self) -> list[int]: ...

    def occupancy(self) -> int: ...

    def positions(self) -> tuple[Any, Any]:
        """Every avatar's id and position: (int64 ids, float64 (n, 3))."""
        ...

    def remove(self, avatar: int) -> bool:
        """Take the avatar out of the room (staff removed it); False if it was not here."""
        ...

    def wear(self, avatar: int, wear: dict[str, Any]) -> None:
        """The avatar tries a product variant on: everyone who sees it sees it."""
        ...

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Keep a staff action in the room's one moderation log; returns the entry."""
        ...

    def modlog(self) -> list[dict[str, Any]]: ...

    def watching(self, now: int) -> dict[str, Any]:
        """What every feature gives a host console that starts watching (their ``watch``)."""
        ...


@dataclass(slots=True)
class Feed:
    """A feature's one outbox for the tick; the room drains it into its Outbox."""

    events: list[Event] = field(default_factory=list)
    staff: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # the host consoles' feed
    shared: list[Shared] = field(default_factory=list)  # for this room's shards on other nodes
    removed: list[int] = field(default_factory=list)  # avatars staff removed (kick, ban)
    carried: set[int] = field(default_factory=set)  # avatars whose carried state changed

    def send(self, to: Recipients, name: str, payload: dict[str, Any]) -> None:
        self.events.append(Event(to, name, payload))

    def tell_staff(self, name: str, payload: dict[str, Any]) -> None:
        self.staff.append((name, payload))

    def share(self, item: Replica) -> None:
        self.shared.append((item.KIND, item.wire()))

    def share_wire(self, model: type[Replica], payload: dict[str, Any]) -> None:
        """A payload already in ``model``'s wire form, shared as it is: for the items of every
        tick (chat, reactions), where building the model costs more than the tick can spare
        (tests/world/replication/test_items.py checks that each producer's payload parses)."""
        self.shared.append((model.KIND, payload))

    def log(self, ctx: Context, entry: dict[str, Any]) -> None:
        """A staff action: in the room's moderation log and the consoles' feed."""
        self.staff.append(("modlog", ctx.record(entry)))


@runtime_checkable
class Feature(Protocol):
    """One feature of a room. Subclass :class:`FeatureBase` for the hooks' defaults."""

    name: str  # e.g. "social": how tests and tools find it (Room.feature)
    feed: Feed
    inputs: Mapping[type, InputHandler]  # the inputs it accepts
    replicas: Mapping[type[Replica], ReplicaHandler]  # the shared items it takes from other shards

    def admit(self, avatar: int, who: Who) -> Reply | None:
        """None, or the refusal of a joining visitor (e.g. banned)."""
        ...

    def join(self, avatar: int, now: int) -> dict[str, Any]:
        """What the join ack carries for this feature."""
        ...

    def attached(self, avatar: int) -> None:
        """The avatar's visitor is connected again."""
        ...

    def watch(self, now: int) -> dict[str, Any]:
        """What a host console gets from this feature when it starts watching the room."""
        ...

    def each_second(self, now: int) -> dict[str, Any]:
        """About once a second: its live numbers for staff (and any sampling it does)."""
        ...

    def export(self, avatars: set[int] | None) -> dict[str, Any]:
        """What visitors carry between nodes (all, or ``avatars``): its keys of a ``handover``."""
        ...

    def export_each(self, avatars: set[int]) -> dict[int, dict[str, Any]]:
        """The same, split per avatar (its keys of each ``carry``)."""
        ...

    def adopt(self, item: HandoverItem) -> set[int]:
        """Visitors' state from another node; the avatars it took state for."""
        ...

    def finish(self, now: int) -> None:
        """The end of the tick's inputs: per-tick aggregates into the feed."""
        ...

    def forget(self, key: str) -> None:
        """Erase the personal data the feature keeps of visitor ``key`` (privacy erasure)."""
        ...


class FeatureBase:
    """Defaults for every hook: a feature overrides what it needs."""

    name = "feature"

    def __init__(self) -> None:
        self.feed = Feed()
        self.inputs: Mapping[type, InputHandler] = {}
        self.replicas: Mapping[type[Replica], ReplicaHandler] = {}

    def admit(self, avatar: int, who: Who) -> Reply | None:
        return None

    def join(self, avatar: int, now: int) -> dict[str, Any]:
        return {}

    def attached(self, avatar: int) -> None:
        return None

    def watch(self, now: int) -> dict[str, Any]:
        return {}

    def each_second(self, now: int) -> dict[str, Any]:
        return {}

    def export(self, avatars: set[int] | None) -> dict[str, Any]:
        return {}

    def export_each(self, avatars: set[int]) -> dict[int, dict[str, Any]]:
        return {}

    def adopt(self, item: HandoverItem) -> set[int]:
        return set()

    def finish(self, now: int) -> None:
        return None

    def forget(self, key: str) -> None:
        return None
