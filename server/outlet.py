"""The node's side of a room runner's outlet (server/runner.py ``RoomOutlet``): packets to
the visitors' sockets, the staff feed to the host consoles, shared items to the room's other
shards and nodes, and what a restarted worker needs back."""

from __future__ import annotations

from typing import Any

from server.directory import RoomDirectory
from server.host import HostGateway
from server.runner import RoomRunner
from server.visitor.namespace import VisitorGateway
from world.core.room import Input


class NodeOutlet:
    """One for the whole node: every runner hands its output here."""

    def __init__(self, directory: RoomDirectory, gateway: VisitorGateway, host: HostGateway) -> None:
        self.directory = directory
        self.gateway = gateway
        self.host = host
        self.send = gateway.send_to_avatar  # the tick's hot path: no extra call in between
        self.send_now = gateway.send_now

    async def staff(self, runner: RoomRunner, event: str, payload: dict[str, Any]) -> None:
        # the primary shard has everything the consoles need (the rest is replicated into
        # it); the others add only what exists nowhere else: their visitors' tickets
        if runner.shard == 0 or event == "ticket":
            await self.host.feed(runner.room_id, event, payload)

    def removed(self, runner: RoomRunner, avatar: int) -> None:
        self.gateway.removed(runner, avatar)

    def rejoin(self, runner: RoomRunner) -> list[Input]:
        return self.gateway.rejoin(runner)

    def restore(self, runner: RoomRunner) -> list[Input]:
        shards = self.directory.audience(runner.room_id)
        return shards.restore(runner) if shards is not None else []

    def share(self, runner: RoomRunner, items: list[tuple[str, dict[str, Any]]]) -> None:
        room = runner.room_id
        # to the sibling shards on this node and the other nodes, and kept (carry included)
        # to restore a shard whose worker dies (server/replication/room.py)
        shards = self.directory.audience(room)
        assert shards is not None
        shards.share(runner.id, items)
