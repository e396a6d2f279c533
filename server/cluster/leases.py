"""Room owners: each room has one owner node, a lease in ``vetrina:owner:<room>`` renewed every
second; the owner runs what must happen once per event (the demo's autopilot shows)."""

from __future__ import annotations

import asyncio
import logging

from server.cluster.link import DOWN, Link

log = logging.getLogger(__name__)

LEASE_MS = 3000  # a dead owner's rooms are taken over within this (plus one renewal)
RENEW_EVERY_S = 1.0
RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class Leases:
    def __init__(self, link: Link) -> None:
        self._link = link
        self.rooms: list[str] = []
        self.owned: set[str] = set()  # rooms whose lease this node holds
        self._renew = link.redis.register_script(RENEW)
        self._release = link.redis.register_script(RELEASE)

    async def hold(self) -> None:
        """Hold (or take over) room leases. While Redis is down nobody can take a room over,
        so the owner keeps on; when it is back, the leases settle again."""
        node = self._link.node
        while True:
            for room in self.rooms:
                key = f"vetrina:owner:{room}"
                try:
                    if room in self.owned:
                        held = bool(await self._renew(keys=[key], args=[node, LEASE_MS]))
                    else:
                        held = bool(await self._link.redis.set(key, node, nx=True, px=LEASE_MS))
                except DOWN:
                    break
                if held and room not in self.owned:
                    log.info("cluster: this node (%s) now runs room %s", node, room)
                (self.owned.add if held else self.owned.discard)(room)
            await asyncio.sleep(RENEW_EVERY_S)

    async def release(self) -> None:
        """Hand the rooms over now rather than when the lease ends (a drained node)."""
        for room in sorted(self.owned):
            try:
                await asyncio.wait_for(self._release(keys=[f"vetrina:owner:{room}"], args=[self._link.node]), 1.0)
            except DOWN:
                break
        self.owned.clear()
