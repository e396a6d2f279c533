"""What a room shares with the other nodes' instances of the same room, and takes from them.

With several server processes joined by Redis, every node runs its own instance (an audience
shard) of each room for the visitors connected to it; positions never leave the node. What
makes the shards one event crosses between them as *shared items* (kind, payload): a room puts
them in its outbox, the transport carries them, and the other shards apply them as a
:class:`Replicated` input in their own tick, like any other input:

- ``chat``: a room-wide message (never proximity or shadow-muted ones), ChatMsg with ``staff``;
- ``reactions``: ``{"counts": {emoji: n}}``, the tick's local reactions, summed into the next
  ``reactions`` message of every other shard;
- ``offer``: a drop a host started (Offer wire form, with ``initial`` stock);
- ``stock``: ``{"offer": id, "stock": n}``, the drop's stock after a claim on another node;
- ``qa``: ``{"op": "ask", ...Question}`` or ``{"op": "vote", "id", "avatar"}``: one Q&A board
  (votes are per avatar, so a vote counts once whichever node it reaches first);
- ``staff``: ``{"action", "params", "by", "role"}``, a moderation or Q&A staff action
  (mute, shadow-mute, unmute, kick, ban, unban, slow mode, pin, delete, answer, ``qa.delete``),
  applied by every shard, so a ban holds on every node; or ``action`` ``shadow.post``, a
  shadow-muted visitor's chat message or question (``params`` ``{"kind", "item"}``), for the
  other shards' staff only (world/social.py);
- ``handover``: ``{"carts", "wheel"?}``, a draining node's per-visitor state (carts, orders,
  wheel balances and open bets) for the nodes its visitors resume on;
- ``board``: ``{"from": shard tag, "top": [{"id","name","balance"}]}``, a shard's wheel
  leaderboard after a payout; every shard shows the top of all of them;
- ``stage``: ``{"action", "t", "params"?, "round"?, "by"?}``, what staff (or the demo's
  autopilot) did on the stage — ``spotlight``, ``show.start``, ``concert.cue``, ``wheel.open``
  (with its seed and round id), ``wheel.spin`` — replayed at the same server time ``t``, so
  every shard shows the same spotlight, the same concert timeline and the same wheel draw.

One more kind never crosses to other shards: ``carry``, ``{"avatar", "carts", "wheel"?}`` (a
``handover`` payload for one visitor), the visitor's cart, orders, balance and open bets
whenever they change: the transport keeps it where any node can give it back when the visitor
resumes there, and the server keeps the latest of each visitor to restore a room whose worker
process died (server/replication/room.py; the shared kinds are kept for that, compacted, by
world/replay.py).

Each kind's payload is typed in world/replication/items.py: a room parses every item it takes
(``parse``) before a feature sees it, and counts the ones that do not parse (``Outbox.rejected``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Shared = tuple[str, dict[str, Any]]
KINDS = frozenset({"chat", "reactions", "offer", "stock", "stage", "qa", "staff", "handover", "board"})


@dataclass(slots=True)
class Replicated:
    """A shared item from another shard of this room (``history``: old chat for a shard that
    just started: kept for joiners, not announced)."""

    kind: str
    payload: dict[str, Any]
    history: bool = False
