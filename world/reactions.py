"""Reactions: every emoji pressed in a tick becomes one ``reactions`` message for the room.

5,000 visitors pressing ♥ in the same tick cost each client one small message: the tick's
counts per emoji plus a sample of individual reactions (who reacted with what), which a client
floats over the avatars it has in view. Time is server ms; the sample uses the room's seeded rng.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from typing import Any

SAMPLE = 20  # individual reactions per message: enough to float some over a crowd
WINDOW_MS = 60_000  # for reactions per minute


class Reactions:
    def __init__(self) -> None:
        self._pending: list[tuple[int, str]] = []
        self._recent: deque[tuple[int, int]] = deque()  # (tick time, reactions in it)
        self._recent_total = 0

    def add(self, avatar: int, emoji: str) -> None:
        self._pending.append((avatar, emoji))

    def drain(self, now: int, rng: random.Random) -> dict[str, Any] | None:
        """This tick's ``reactions`` message, or None when nobody reacted."""
        pending, self._pending = self._pending, []
        if not pending:
            return None
        self._recent.append((now, len(pending)))
        self._recent_total += len(pending)
        counts = Counter(emoji for _, emoji in pending)
        sample = pending if len(pending) <= SAMPLE else rng.sample(pending, SAMPLE)
        return {"t": now, "counts": dict(counts), "near": [[a, e] for a, e in sample]}

    def per_minute(self, now: int) -> int:
        while self._recent and self._recent[0][0] <= now - WINDOW_MS:
            self._recent_total -= self._recent.popleft()[1]
        return self._recent_total
