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
        self._remote: Counter[str] = Counter()
        self._recent: deque[tuple[int, int]] = deque()  # (tick time, reactions in it)
        self._recent_total = 0

    def add(self, avatar: int, emoji: str) -> None:
        self._pending.append((avatar, emoji))

    def add_counts(self, counts: dict[str, Any]) -> None:
        """Reactions pressed in this room's shards on other nodes: counted, never sampled
        (their avatars are not in anyone's view here)."""
        for emoji, n in counts.items():
            if isinstance(emoji, str) and isinstance(n, int) and 0 < n <= 1_000_000:
                self._remote[emoji] += n

    def pending_counts(self) -> dict[str, int]:
        """This tick's local reactions per emoji (what the other shards are told)."""
        return dict(Counter(emoji for _, emoji in self._pending))

    def drain(self, now: int, rng: random.Random) -> dict[str, Any] | None:
        """This tick's ``reactions`` message, or None when nobody reacted."""
        pending, self._pending = self._pending, []
        remote, self._remote = self._remote, Counter()
        if not pending and not remote:
            return None
        counts = Counter(emoji for _, emoji in pending) + remote
        total = sum(counts.values())
        self._recent.append((now, total))
        self._recent_total += total
        sample = pending if len(pending) <= SAMPLE else rng.sample(pending, SAMPLE)
        return {"t": now, "counts": dict(counts), "near": [[a, e] for a, e in sample]}

    def per_minute(self, now: int) -> int:
        while self._recent and self._recent[0][0] <= now - WINDOW_MS:
            self._recent_total -= self._recent.popleft()[1]
        return self._recent_total
