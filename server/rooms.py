"""Builds this node's rooms: each room's engine and runner, its audience shards (extra
shards start when the room fills up), and their tick loops; closes them all at the end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from server.config import Settings
from server.directory import RoomDirectory
from server.engines import InlineEngine, ProcessEngine, RoomEngine
from server.metrics import Metrics
from server.replication.room import Remote
from server.runner import RoomOutlet, RoomRunner
from server.shards import AudienceShards
from world.core.scene import RoomConfig

log = logging.getLogger(__name__)


class RoomFactory:
    def __init__(self, settings: Settings, metrics: Metrics, outlet: RoomOutlet, *, remote: Remote | None = None) -> None:
        self.settings = settings
        self.remote = remote  # the other nodes (server/cluster/), for each room's replication
        self.metrics = metrics
        self.outlet = outlet
        self.engines: list[RoomEngine] = []
        # extra shards' tick loops, started when needed (one per shard: bounded by the
        # room's visitors over its shard size)
        self.running: list[asyncio.Task[None]] = []

    def fill(self, directory: RoomDirectory, configs: list[RoomConfig]) -> None:
        """Every room of ``configs`` (with its primary shard) into the directory."""
        for i, cfg in enumerate(configs):
            if self.settings.shard_size is not None:
                cfg = cfg.model_copy(update={"shard_size": self.settings.shard_size or None if cfg.shard_size else None})
            primary = self.make_runner(cfg, i, 0)
            directory.add(AudienceShards(cfg.id, primary, cfg.shard_size, self._spawner(cfg, i), remote=self.remote,
                                         metrics=self.metrics))
        self.metrics.rooms.set(len(directory))

    def make_runner(self, cfg: RoomConfig, seed: int, shard: int) -> RoomRunner:
        s = self.settings
        if shard:  # ids the shard mints (messages, drops, questions, tickets) unique among its siblings
            cfg = cfg.model_copy(update={"tag": f"{cfg.tag}s{shard + 1}"})
        engine: RoomEngine = (
            ProcessEngine(cfg, seed=seed, viewers_per_part=s.tick_part_viewers)
            if s.room_processes else InlineEngine(cfg, seed=seed)
        )
        self.engines.append(engine)
        return RoomRunner(
            cfg, engine, outlet=self.outlet, metrics=self.metrics, inbox_limit=s.inbox_limit, tick_hz=s.tick_hz,
            request_timeout_s=s.request_timeout_s, shard=shard,
        )

    def _spawner(self, cfg: RoomConfig, seed: int) -> Callable[[int], RoomRunner]:
        def start(shard: int) -> RoomRunner:
            runner = self.make_runner(cfg, seed + 1000 * shard, shard)
            self.running.append(asyncio.get_running_loop().create_task(runner.run(), name=f"room:{runner.id}"))
            log.info("room %s: audience shard %s started", cfg.id, runner.id)
            return runner

        return start

    def start(self, directory: RoomDirectory) -> list[asyncio.Task[None]]:
        """The tick loops of the rooms' primary shards."""
        return [asyncio.create_task(r.run(), name=f"room:{r.id}") for r in directory.values()]

    async def stop(self, tasks: list[asyncio.Task[None]]) -> None:
        """Stop ``tasks`` and every shard's tick loop, then the engines (worker processes)."""
        for t in [*tasks, *self.running]:
            t.cancel()
        await asyncio.gather(*tasks, *self.running, return_exceptions=True)
        for e in self.engines:
            e.close()
