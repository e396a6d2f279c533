"""What a room shares with the other nodes' instances of the same room, and takes from them.

With several server processes joined by Redis, every node runs its own instance (an audience
shard) of each room for the visitors connected to it; positions never leave the node. What
makes the shards one event crosses between them as *shared items* (kind, payload): a room puts
them in its outbox, the transport carries them, and the other shards apply them as a
:class:`Mirror` input in their own tick, like any other input:

- ``chat``: a room-wide message (never proximity or shadow-muted ones), ChatMsg with ``staff``;
- ``reactions``: ``{"counts": {emoji: n}}``, the tick's local reactions, summed into the next
  ``reactions`` message of every other shard;
- ``offer``: a drop a host started (Offer wire form, with ``initial`` stock);
- ``stock``: ``{"offer": id, "stock": n}``, the drop's stock after a claim on another node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Shared = tuple[str, dict[str, Any]]
KINDS = frozenset({"chat", "reactions", "offer", "stock"})


@dataclass(slots=True)
class Mirror:
    """A shared item from another shard of this room (``history``: old chat for a shard that
    just started: kept for joiners, not announced)."""

    kind: str
    payload: dict[str, Any]
    history: bool = False
