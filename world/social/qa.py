"""Live Q&A: visitors ask, vote (once each), staff answer or delete. Time is server ms.

Votes are keyed by avatar id, which a resumed visitor keeps, so voting again after a
reconnect changes nothing. The room sends the top list when it changed, at most once a second.
A *shadow* question (asked while shadow-muted) is in no one's top list but its asker's; staff
see it flagged in their queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TOP = 10
BROADCAST_EVERY_MS = 1000
MAX_QUESTIONS = 1000  # oldest unanswered-and-unvoted ones make room first
STAFF_QUEUE = 200  # what the host console gets (the top list goes to visitors)


@dataclass(slots=True)
class Question:
    id: str
    text: str
    avatar: int
    name: str
    t: int
    voters: set[int] = field(default_factory=set)
    answer: str | None = None
    shadow: bool = False  # asked while shadow-muted: only its asker and staff see it

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "text": self.text, "votes": len(self.voters),
                               "from": {"id": self.avatar, "name": self.name}}
        if self.answer is not None:
            out["answer"] = self.answer
        return out

    def staff_wire(self) -> dict[str, Any]:
        out = self.wire()
        out["t"] = self.t
        if self.shadow:
            out["shadow"] = True
        return out


class QABoard:
    def __init__(self, tag: str = "") -> None:
        self._tag = tag  # the node's id tag: question ids unique across nodes
        self._questions: dict[str, Question] = {}
        self._count = 0
        self.changed = False
        self._sent_at = -BROADCAST_EVERY_MS

    def __len__(self) -> int:
        return len(self._questions)

    def ask(self, avatar: int, name: str, text: str, now: int, *, shadow: bool = False) -> Question:
        self._count += 1
        return self.add(Question(f"q{self._tag}{now:x}-{self._count}", text, avatar, name, now, shadow=shadow))

    def add(self, q: Question) -> Question:
        """A new question (asked here, or on another node's shard of the room)."""
        if len(self._questions) >= MAX_QUESTIONS:
            # unanswered first (answers are what visitors came for), then fewest votes, then oldest
            stale = min(self._questions.values(), key=lambda q: (q.answer is not None, len(q.voters), q.t))
            del self._questions[stale.id]
        self._questions[q.id] = q
        self.changed = True
        return q

    def get(self, qid: str) -> Question | None:
        return self._questions.get(qid)

    def vote(self, q: Question, avatar: int) -> int:
        if avatar not in q.voters:
            q.voters.add(avatar)
            self.changed = True
        return len(q.voters)

    def answer(self, q: Question, text: str) -> None:
        q.answer = text
        self.changed = True

    def delete(self, qid: str) -> Question | None:
        """Take a question off the board (staff)."""
        q = self._questions.pop(qid, None)
        if q is not None:
            self.changed = True
        return q

    def remove_by(self, avatar: int) -> list[Question]:
        """Take every question of ``avatar`` off the board (it was banned)."""
        gone = [q for q in self._questions.values() if q.avatar == avatar]
        for q in gone:
            del self._questions[q.id]
        self.changed = self.changed or bool(gone)
        return gone

    def shadow_by(self, avatar: int) -> list[Question]:
        """Hide every public question of ``avatar`` from everyone but it (it was shadow-muted)."""
        hidden = [q for q in self._questions.values() if q.avatar == avatar and not q.shadow]
        for q in hidden:
            q.shadow = True
        self.changed = self.changed or bool(hidden)
        return hidden

    def shadow_askers(self) -> set[int]:
        return {q.avatar for q in self._questions.values() if q.shadow}

    def top(self, viewer: int | None = None) -> list[dict[str, Any]]:
        """The top list as ``viewer`` sees it: the public questions plus its own shadow ones."""
        shown = [q for q in self._questions.values() if not q.shadow or q.avatar == viewer]
        ranked = sorted(shown, key=lambda q: (-len(q.voters), q.t))
        return [q.wire() for q in ranked[:TOP]]

    def queue(self) -> list[dict[str, Any]]:
        """What staff see: the newest questions (STAFF_QUEUE) and the top-voted, newest first."""
        newest = sorted(self._questions.values(), key=lambda q: -q.t)[:STAFF_QUEUE]
        top = sorted(self._questions.values(), key=lambda q: (-len(q.voters), q.t))[:TOP]
        shown = {q.id: q for q in newest + top}.values()
        return [q.staff_wire() for q in sorted(shown, key=lambda q: -q.t)]

    def due(self, now: int) -> bool:
        """Whether the changed list should go out now (rate-limited to once a second)."""
        if self.changed and now - self._sent_at >= BROADCAST_EVERY_MS:
            self.changed = False
            self._sent_at = now
            return True
        return False
