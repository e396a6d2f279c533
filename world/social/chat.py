"""Room chat: messages, history, the pinned message and slow mode. Time is server ms.

A message is kept once; what each audience sees is a view of it: visitors get ChatMsg
(PROTOCOL.md), staff additionally see shadow-muted and filtered flags. Deleted and shadow
messages never appear in the history a joining visitor gets.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

HISTORY = 50  # what a joining visitor gets
STAFF_HISTORY = 200  # what the host console gets
STAFF_ID = 0  # the "avatar id" of messages from staff: never an avatar's


@dataclass(slots=True)
class ChatMessage:
    id: str
    avatar: int
    name: str
    text: str
    scope: str  # "room" | "near"
    t: int
    staff: bool = False
    shadow: bool = False  # from a shadow-muted visitor: only staff and the sender see it
    filtered: bool = False
    deleted: bool = False

    def wire(self) -> dict[str, Any]:
        sender: dict[str, Any] = {"id": self.avatar, "name": self.name}
        if self.staff:
            sender["staff"] = True
        return {"id": self.id, "from": sender, "text": self.text, "scope": self.scope, "t": self.t}

    def staff_wire(self, room: str) -> dict[str, Any]:
        out = self.wire()
        out["room"] = room
        if self.shadow:
            out["shadow"] = True
        if self.filtered:
            out["filtered"] = True
        return out


class Chat:
    def __init__(self, tag: str = "") -> None:
        self._tag = tag  # the node's id tag: ids unique across nodes
        self._messages: deque[ChatMessage] = deque(maxlen=STAFF_HISTORY)
        self._by_id: dict[str, ChatMessage] = {}
        self._last_sent: dict[int, int] = {}  # avatar -> when its last message was accepted
        self._count = 0
        self.pinned: dict[str, Any] | None = None
        self.slow_s = 0

    def next_id(self, now: int) -> str:
        self._count += 1
        return f"m{self._tag}{now:x}-{self._count}"  # unique across restarts of the room's worker

    def slow_wait(self, avatar: int, now: int) -> float:
        """Seconds this avatar must still wait under slow mode (0: may send now)."""
        if not self.slow_s:
            return 0.0
        last = self._last_sent.get(avatar)
        if last is None:
            return 0.0
        return max(0.0, (last + self.slow_s * 1000 - now) / 1000)

    def add(self, msg: ChatMessage) -> None:
        if len(self._messages) == self._messages.maxlen:
            self._by_id.pop(self._messages[0].id, None)
        self._messages.append(msg)
        self._by_id[msg.id] = msg
        if not msg.staff:
            self._last_sent[msg.avatar] = msg.t

    def has(self, message_id: str) -> bool:
        return message_id in self._by_id

    def delete(self, message_id: str) -> ChatMessage | None:
        msg = self._by_id.get(message_id)
        if msg is None or msg.deleted:
            return None
        msg.deleted = True
        return msg

    def history(self) -> list[dict[str, Any]]:
        """The last ≤50 room messages everyone saw, oldest first."""
        shown = [m for m in self._messages if m.scope == "room" and not m.deleted and not m.shadow]
        return [m.wire() for m in shown[-HISTORY:]]

    def staff_history(self, room: str) -> list[dict[str, Any]]:
        return [m.staff_wire(room) for m in self._messages if not m.deleted]

    def forget(self, avatar: int) -> None:
        self._last_sent.pop(avatar, None)
