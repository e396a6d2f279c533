"""A concert in a room: the host's ``show.start`` / ``concert.cue`` as inputs, ``show`` events
at the start, at every jump and at every cue boundary (clients can also compute the current
cue from the state alone: every cue carries its server-time start)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from world.replication.mirror import Mirror, Shared
from world.protocol import ErrorCode, WireError, error, ok
from world.shows.concert import CUE_AHEAD_MS, CUE_PAST_MS, Concert, Setlist
from world.social.layer import Event, Staff


@dataclass(slots=True)
class ConcertAct:
    ref: int
    staff: Staff
    action: str  # "show.start" | "concert.cue"
    params: dict[str, Any]


class ConcertShow:
    def __init__(self, room: str, setlist: Setlist) -> None:
        self.room = room
        self.concert = Concert(setlist)
        self.events: list[Event] = []
        self.staff: list[tuple[str, dict[str, Any]]] = []
        self.shared: list[Shared] = []  # the stage, for this room's shards on other nodes
        self._shown: tuple[str | None, str] | None = None  # (cue, phase) last announced

    def join_extras(self, avatar: int, now: int) -> dict[str, Any]:
        return {"show": self.concert.state(now)}

    def apply(self, act: ConcertAct, now: int) -> tuple[int, dict[str, Any]]:
        if act.action == "show.start":
            self.concert.start(now)
            self.shared.append(("stage", {"action": act.action, "t": now}))
        else:
            try:
                at = self._cue_at(act.params.get("at"), now)
                self.concert.cue(act.params["cue"], at)
            except WireError as exc:
                return act.ref, error(exc.code, exc.message)
            except KeyError:
                return act.ref, error(ErrorCode.NOT_FOUND, f"no cue {act.params['cue'][:64]!r} in the set list")
            self.shared.append(("stage", {"action": act.action, "t": now, "params": {"cue": act.params["cue"], "at": at}}))
        self._announce(now, force=True)
        self.staff.append(("modlog", {"t": now, "by": act.staff.name, "role": act.staff.role, "action": act.action,
                                      "room": self.room, "id": act.params.get("cue") or self.concert.setlist.id}))
        state = self.concert.state(now)
        return act.ref, ok(t0=state["t0"], ends_at=state.get("ends_at"))

    def _cue_at(self, at: int | None, now: int) -> int:
        """When a host's cue starts (server ms; None: after the show's lead-in), held to a
        window around the room's clock, so a typo cannot put the show years away."""
        if at is None:
            return now + int(self.concert.setlist.lead_s * 1000)
        if at < now - CUE_PAST_MS:
            raise WireError(ErrorCode.BAD_REQUEST, f"at: {at} is in the past (server time is {now})")
        if at > now + CUE_AHEAD_MS:
            raise WireError(ErrorCode.BAD_REQUEST, f"at: {at} is more than {CUE_AHEAD_MS // 3_600_000} h ahead (server time is {now})")
        return int(at)

    def mirror(self, m: Mirror, now: int) -> None:
        """The show started or cued on another node: the same server-time timeline here."""
        p = m.payload
        try:
            if p["action"] == "show.start":
                self.concert.start(int(p["t"]))
            else:
                self.concert.cue(str(p["params"]["cue"]), int(p["params"]["at"]))
        except (KeyError, TypeError, ValueError):
            return
        self._announce(now, force=True)

    def finish(self, now: int) -> None:
        self._announce(now)

    def _announce(self, now: int, *, force: bool = False) -> None:
        state = self.concert.state(now)
        key = (state.get("cue"), state["phase"])
        if force or (self.concert.running and key != self._shown):
            self._shown = key
            self.events.append(Event(None, "show", state))
            self.staff.append(("show", {"room": self.room, **state}))
