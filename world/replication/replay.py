"""The event so far, compacted: what a room's shared items (world/replication/shared.py) add up to.

A shard that starts late, and a shard whose worker process died and restarts empty, replay it
as ``Replicated(history=True)`` inputs to stand where the event stands. Only the latest state per
key is kept, so a long event (thousands of chat messages) never pushes the running show or a
drop out of it:

- ``chat``: the last :data:`CHAT` room messages (a deleted one is dropped);
- ``offer``: each drop (the last :data:`OFFERS`), and its lowest ``stock`` seen;
- ``stage``: the latest spotlight; the latest ``show.start`` and the cues after it; the
  current wheel round's ``wheel.open`` (it carries the seed: a replayed round draws the same
  result) and its ``wheel.spin``;
- ``qa``: questions (the last :data:`QUESTIONS`) and every vote on them;
- ``staff``: the latest moderation per target (mute / shadow / unmute, ban / unban, ...),
  slow mode, the pin; a kick is not kept (it is over once done); a mute replays for the minutes
  it has left;
- ``board``: each shard's latest leaderboard.

Reaction counts, hand-overs and ``carry`` items are not kept here (per-visitor state is kept
by whoever restores it). Replay order is the order of the latest update of each key, so a
drop comes before its stock, a question before its votes, a show's start before its cues.
Time is server ms, passed in.
"""

from __future__ import annotations

from typing import Any

from world.replication.shared import Shared

CHAT = 50
OFFERS = 64
QUESTIONS = 1000
CUES = 200
STAFF = 5000
BOARDS = 64
MINUTE_MS = 60_000
# the social layer's default mute lengths (world/social.py), for mutes replayed without minutes
DEFAULT_MINUTES = {"mod.mute": 10.0, "mod.shadow": 60.0}
# moderation actions that overwrite each other per target
FAMILY = {"mod.mute": "mute", "mod.shadow": "mute", "mod.unmute": "mute", "mod.ban": "ban", "mod.unban": "ban"}
TRANSIENT = frozenset({"mod.kick"})  # done once, nothing to restore

Key = tuple[Any, ...]


class Replay:
    """Latest shared state per key, in the order of the latest updates, with bounded groups."""

    def __init__(self) -> None:
        self._items: dict[Key, tuple[str, dict[str, Any], int]] = {}  # key -> (kind, payload, t added)
        self._groups: dict[str, dict[Key, None]] = {}  # group -> its keys, oldest first
        self._deps: dict[Key, set[Key]] = {}  # key -> keys that go when it goes (stock, votes)
        self._cues = 0

    def __len__(self) -> int:
        return len(self._items)

    def add(self, kind: str, payload: dict[str, Any], now: int) -> None:
        """Take one shared item; a malformed one is not kept (the rooms refuse it too)."""
        add = {"chat": self._add_chat, "offer": self._add_offer, "stock": self._add_stock, "stage": self._add_stage,
               "qa": self._add_qa, "staff": self._add_staff, "board": self._add_board}.get(kind, _ignore)
        try:
            add(payload, now)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass

    def items(self, now: int) -> list[Shared]:
        """The items to replay at ``now``, oldest first (a mute with its minutes left)."""
        out: list[Shared] = []
        for kind, payload, added in self._items.values():
            if kind == "staff" and payload.get("action") in DEFAULT_MINUTES:
                left = _mute_left(payload, now - added)
                if left is not None:  # (else it ran out meanwhile)
                    out.append((kind, left))
            else:
                out.append((kind, payload))
        return out

    # ---- per kind ---------------------------------------------------------------------------

    def _add_chat(self, p: dict[str, Any], now: int) -> None:
        self._put(("chat", str(p["id"])), "chat", CHAT, ("chat", p, now))

    def _add_offer(self, p: dict[str, Any], now: int) -> None:
        key = ("offer", str(p["id"]))
        if key not in self._items:  # a drop is started once; its stock changes apart
            self._put(key, "offer", OFFERS, ("offer", p, now))

    def _add_stock(self, p: dict[str, Any], now: int) -> None:
        offer, key, stock = str(p["offer"]), ("stock", str(p["offer"])), int(p["stock"])
        known = self._items.get(key)
        if known is not None and int(known[1]["stock"]) <= stock:
            return  # stock only goes down: a late update changes nothing
        self._put(key, "stock", OFFERS, ("stock", p, now), owner=("offer", offer))

    def _add_stage(self, p: dict[str, Any], now: int) -> None:
        action = str(p["action"])
        item = ("stage", p, now)
        if action == "show.start":
            self._drop_group("cue")
        elif action == "wheel.open":
            self._drop(("stage", "wheel.spin"))
        if action == "concert.cue":
            self._cues += 1
            self._put(("stage", action, self._cues), "cue", CUES, item)
        else:
            self._put(("stage", action), "stage", 16, item)

    def _add_qa(self, p: dict[str, Any], now: int) -> None:
        op, qid = str(p["op"]), str(p["id"])
        if op == "ask":
            self._put(("qa", qid), "qa", QUESTIONS, ("qa", p, now))
        elif op == "vote":
            if ("qa", qid) in self._items:
                self._put(("qa.vote", qid, int(p["avatar"])), "", 0, ("qa", p, now), owner=("qa", qid))
        else:  # another operation on a question: the latest per question
            self._put(("qa", op, qid), "qa", QUESTIONS, ("qa", p, now), owner=("qa", qid))

    def _add_staff(self, p: dict[str, Any], now: int) -> None:
        action, params = str(p["action"]), dict(p.get("params") or {})
        if action in TRANSIENT:
            return
        if action == "chat.delete":
            self._drop(("chat", str(params.get("id"))))
        elif action == "qa.delete":
            self._drop(("qa", str(params.get("id"))))
        item = params.get("item")  # a post that names no target: keyed by its own id
        target = params.get("avatar", params.get("id", item.get("id") if isinstance(item, dict) else None))
        self._put(("staff", FAMILY.get(action, action), None if target is None else str(target)), "staff", STAFF,
                  ("staff", p, now))

    def _add_board(self, p: dict[str, Any], now: int) -> None:
        self._put(("board", str(p["from"])), "board", BOARDS, ("board", p, now))

    # ---- bookkeeping ------------------------------------------------------------------------

    def _put(self, key: Key, group: str, limit: int, item: tuple[str, dict[str, Any], int],
             owner: Key | None = None) -> None:
        """``key`` now holds ``item``, as the newest; the oldest of its group goes beyond
        ``limit``; ``owner``: a key whose removal takes this one with it."""
        self._items.pop(key, None)
        self._items[key] = item
        if owner is not None:
            self._deps.setdefault(owner, set()).add(key)
        # what depends on this key replays after it: a drop's stock learned before the drop
        # itself (a live item that beat a late node's read of Redis) must not come first
        for dep in self._deps.get(key, ()):
            if dep in self._items:
                self._items[dep] = self._items.pop(dep)
        if not group:
            return
        keys = self._groups.setdefault(group, {})
        keys.pop(key, None)
        keys[key] = None
        while len(keys) > limit:
            self._drop(next(iter(keys)))

    def _drop(self, key: Key) -> None:
        self._items.pop(key, None)
        for keys in self._groups.values():
            keys.pop(key, None)
        for dep in self._deps.pop(key, ()):
            self._drop(dep)

    def _drop_group(self, group: str) -> None:
        for key in list(self._groups.get(group, {})):
            self._drop(key)


def _ignore(payload: dict[str, Any], now: int) -> None:
    """Kinds not replayed: reactions (counts of a moment), handover and carry (per visitor)."""


def _mute_left(p: dict[str, Any], elapsed_ms: int) -> dict[str, Any] | None:
    params = dict(p.get("params") or {})
    minutes = float(params.get("minutes") or DEFAULT_MINUTES[str(p["action"])]) - elapsed_ms / MINUTE_MS
    if minutes <= 0:
        return None
    return {**p, "params": {**params, "minutes": minutes}}
