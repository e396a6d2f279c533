"""A concert in a room: the host's ``show.start`` / ``concert.cue`` as inputs, ``show`` events
at the start, at every jump and at every cue boundary (clients can also compute the current
cue from the state alone: every cue carries its server-time start). One feature of a room
(world/feature.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from world.core.scene import RoomConfig
from world.feature import Context, FeatureBase, Reply, Staff
from world.protocol import ErrorCode, WireError, error, ok
from world.replication.items import BadReplica, ConcertCue, CueParams, ShowStart
from world.shows.concert import CUE_AHEAD_MS, CUE_PAST_MS, Concert
from world.shows.wheel_show import show_summary


@dataclass(slots=True)
class ConcertAct:
    FEATURE: ClassVar[str] = "concert"  # what a room without one answers it has not

    ref: int
    staff: Staff
    action: str  # "show.start" | "concert.cue"
    params: dict[str, Any]


class ConcertShow(FeatureBase):
    name = "concert"

    def __init__(self, config: RoomConfig, ctx: Context) -> None:
        super().__init__()
        assert config.setlist is not None
        self.room = config.id
        self.ctx = ctx
        self.concert = Concert(config.setlist)
        self._shown: tuple[str | None, str] | None = None  # (cue, phase) last announced
        self.inputs = {ConcertAct: self._act}
        self.replicas = {ShowStart: self._on_start, ConcertCue: self._on_cue}

    def join(self, avatar: int, now: int) -> dict[str, Any]:
        return {"show": self.concert.state(now)}

    def watch(self, now: int) -> dict[str, Any]:
        return {"show": self.concert.state(now)}

    def each_second(self, now: int) -> dict[str, Any]:
        return {"show": show_summary(self.concert.state(now))}

    def _act(self, act: ConcertAct, now: int) -> Reply:
        if act.action == "show.start":
            self.concert.start(now)
            self.feed.share(ShowStart(action="show.start", t=now))
        else:
            try:
                at = self._cue_at(act.params.get("at"), now)
                self.concert.cue(act.params["cue"], at)
            except WireError as exc:
                return error(exc.code, exc.message)
            except KeyError:
                return error(ErrorCode.NOT_FOUND, f"no cue {act.params['cue'][:64]!r} in the set list")
            self.feed.share(ConcertCue(action="concert.cue", t=now, params=CueParams(cue=act.params["cue"], at=at)))
        self._announce(now, force=True)
        self.feed.log(self.ctx, {"t": now, "by": act.staff.name, "role": act.staff.role, "action": act.action,
                                 "room": self.room, "id": act.params.get("cue") or self.concert.setlist.id})
        state = self.concert.state(now)
        return ok(t0=state["t0"], ends_at=state.get("ends_at"))

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

    def _on_start(self, item: ShowStart, history: bool, now: int) -> None:
        """The show started on another node: the same server-time timeline here."""
        self.concert.start(item.t)
        self._announce(now, force=True)

    def _on_cue(self, item: ConcertCue, history: bool, now: int) -> None:
        try:
            self.concert.cue(item.params.cue, item.params.at)
        except KeyError:
            raise BadReplica("stage", f"no cue {item.params.cue[:64]!r} in the set list") from None
        self._announce(now, force=True)

    def finish(self, now: int) -> None:
        self._announce(now)

    def _announce(self, now: int, *, force: bool = False) -> None:
        state = self.concert.state(now)
        key = (state.get("cue"), state["phase"])
        if force or (self.concert.running and key != self._shown):
            self._shown = key
            self.feed.send(None, "show", state)
            self.feed.tell_staff("show", {"room": self.room, **state})
