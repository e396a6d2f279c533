"""The rooms this node serves, by id: each room's audience shards (server/shards.py) and its
primary runner. Filled once at start-up by the app; the gateways and routes only look up."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from server.runner import RoomRunner
from server.shards import AudienceShards


class RoomDirectory(Mapping[str, RoomRunner]):
    """As a mapping: room id -> its primary runner (staff act there, analytics and the
    autopilot talk to it). :meth:`audience` has all of a room's shards."""

    def __init__(self) -> None:
        self._rooms: dict[str, AudienceShards] = {}

    def add(self, shards: AudienceShards) -> None:
        if shards.room in self._rooms:
            raise ValueError(f"room {shards.room!r} is served twice")
        self._rooms[shards.room] = shards

    def __getitem__(self, room: str) -> RoomRunner:
        return self._rooms[room].runners[0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rooms)

    def __len__(self) -> int:
        return len(self._rooms)

    def audience(self, room: str) -> AudienceShards | None:
        """Every shard of the room on this node (None: no such room)."""
        return self._rooms.get(room)

    def audiences(self) -> Iterator[tuple[str, AudienceShards]]:
        return iter(self._rooms.items())

    def runners(self) -> Iterator[RoomRunner]:
        """Every shard of every room."""
        for shards in self._rooms.values():
            yield from shards.runners

    @property
    def occupancy(self) -> int:
        """Avatars in every shard of every room."""
        return sum(s.occupancy for s in self._rooms.values())

    def shard_for(self, room: str | None, placed: RoomRunner | None) -> RoomRunner | None:
        """The shard a visitor in ``room`` is in: the one it was ``placed`` in while that is
        one of the room's, else the room's primary (None: in no room, or no such room)."""
        if room is None:
            return None
        if placed is not None and placed.room_id == room:
            return placed
        shards = self._rooms.get(room)
        return shards.runners[0] if shards is not None else None
