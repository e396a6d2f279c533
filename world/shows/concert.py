"""Concerts: a set list of cues on one shared timeline. Time is server ms.

The host starts the show (it begins ``lead_s`` later, so every client has the state before
the first cue) and may jump to any cue; the timeline is then recomputed from that cue on.
Every cue carries its absolute start ``at`` (server ms), so each client plays the same cue at
the same server time, and a late joiner computes where the show is from the state alone.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

CUE_PAST_MS = 1000  # a cue may start this long before the room's clock (the host's network delay)
CUE_AHEAD_MS = 24 * 3600 * 1000  # ... and at most this long after it: a show is tonight, not in 2 billion years
MAX_AT_MS = 2**53 - 1  # whatever the path (a replicated cue too): a JS number, far below int64


class Cue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")
    name: str = Field(min_length=1, max_length=80)
    duration_s: float = Field(gt=0, le=3600)
    effects: dict[str, Any] = {}  # stage effects for the client: lights, bpm, fog, lasers, screen ...


class Setlist(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")
    title: str = Field(min_length=1, max_length=120)
    lead_s: float = Field(default=3.0, ge=0, le=60)
    cues: list[Cue] = Field(min_length=1)


class Concert:
    def __init__(self, setlist: Setlist) -> None:
        self.setlist = setlist
        self._plan: list[tuple[Cue, int]] = []  # (cue, starts at) from the current cue on
        self._history: list[tuple[Cue, int]] = []  # cues already played before a jump
        self.t0: int | None = None

    @property
    def running(self) -> bool:
        return self.t0 is not None

    def start(self, now: int) -> None:
        if not 0 <= now <= MAX_AT_MS:
            raise ValueError(f"start time {now} is out of range")
        self.t0 = now + int(self.setlist.lead_s * 1000)
        self._history = []
        self._plan = self._from(0, self.t0)

    def cue(self, cue_id: str, at: int) -> None:
        """Jump to ``cue_id`` at server time ``at``; the rest of the set follows it."""
        index = next((i for i, c in enumerate(self.setlist.cues) if c.id == cue_id), None)
        if index is None:
            raise KeyError(cue_id)
        if not 0 <= at <= MAX_AT_MS:  # its timeline is sent to everyone: it must stay encodable
            raise ValueError(f"cue time {at} is out of range")
        if self.t0 is None:
            self.t0 = at
        self._history += [(c, t) for c, t in self._plan if t < at]
        self._plan = self._from(index, at)

    def _from(self, index: int, at: int) -> list[tuple[Cue, int]]:
        plan, t = [], at
        for c in self.setlist.cues[index:]:
            plan.append((c, t))
            t += int(c.duration_s * 1000)
        return plan

    @property
    def ends_at(self) -> int | None:
        if not self._plan:
            return None
        last, at = self._plan[-1]
        return at + int(last.duration_s * 1000)

    def current(self, now: int) -> Cue | None:
        # before a jump's `at`, the cue that was playing goes on
        playing = [c for c, t in self._history + self._plan if t <= now]
        return playing[-1] if playing and (self.ends_at or 0) > now else None

    def state(self, now: int) -> dict[str, Any]:
        """ShowState of kind ``concert``."""
        out: dict[str, Any] = {
            "kind": "concert", "show": self.setlist.id, "title": self.setlist.title,
            # the whole set, for consoles (Cue buttons before the start or after a jump)
            "setlist": [{"id": c.id, "name": c.name, "duration": int(c.duration_s * 1000)} for c in self.setlist.cues],
        }
        if self.t0 is None:
            return {**out, "phase": "idle", "t0": now}
        ends_at = self.ends_at or now
        phase = "ended" if now >= ends_at else "playing" if now >= self._plan[0][1] else "starting"
        cue = self.current(now)
        out.update(
            phase=phase, t0=self.t0, ends_at=ends_at, cue=cue.id if cue else None,
            cues=[{"id": c.id, "name": c.name, "at": t, "duration": int(c.duration_s * 1000), "effects": c.effects}
                  for c, t in self._plan],
        )
        return out
