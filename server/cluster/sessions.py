"""What follows a visitor across nodes (its resume session, its carried state), kept alive
while this node holds it, and what adds up across nodes (analytics tallies)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import msgpack
from redis.asyncio.client import Pipeline

from server.cluster.link import DOWN, ClusterUnavailable, Link
from server.visitors import Visitor

ANALYTICS_TTL_S = 7 * 24 * 3600
ORDERS_TTL_MS = 24 * 3600 * 1000  # a drop's order book (server/cluster/ledger.py)
KEEPALIVE_BATCH = 500  # sessions per pipeline when they are refreshed

Held = Callable[[], Iterable[Visitor]]  # the visitors this node holds (connected or in grace)


def split_carry(snapshot: dict[str, Any], avatars: set[int]) -> list[dict[str, Any]]:
    """A room's hand-over snapshot as one ``carry`` payload per avatar of ``avatars`` that has
    anything to carry (what a room writes when it changes)."""
    carts = {int(row[0]): row for row in snapshot.get("carts", [])}
    wheel = snapshot.get("wheel")
    balances: dict[int, list[Any]] = {}
    bets: dict[int, list[Any]] = {}
    if wheel is not None:
        for row in wheel["balances"]:
            balances.setdefault(int(row[0]), []).append(row)
        for row in wheel["bets"]:
            bets.setdefault(int(row[0]), []).append(row)
    out: list[dict[str, Any]] = []
    for a in sorted((set(carts) | set(balances) | set(bets)) & avatars):
        carry: dict[str, Any] = {"avatar": a, "carts": [carts.get(a, [a, [], []])]}
        if wheel is not None:
            carry["wheel"] = {"balances": balances.get(a, []), "round": wheel["round"], "bets": bets.get(a, [])}
        out.append(carry)
    return out


def _session_body(v: Visitor) -> bytes:
    i = v.identity
    who = {"key": i.key, "brand": i.brand, "customer": i.customer, "name": i.name, "email": i.email, "addr": v.addr}
    return msgpack.packb({"id": v.id, "name": v.name, "look": v.look, "room": v.room, "who": who})


class Sessions:
    """``vetrina:session:<token>``, ``vetrina:carry:<avatar>``, ``vetrina:analytics:<room>``."""

    def __init__(self, link: Link, ttl_ms: int) -> None:
        self._link = link
        self.ttl_ms = ttl_ms
        self.held: Held = lambda: ()

    def store_carry(self, pipe: Pipeline, carry: dict[str, Any]) -> None:
        pipe.set(f"vetrina:carry:{carry['avatar']}", msgpack.packb(carry), px=self.ttl_ms)

    async def save_session(self, v: Visitor) -> None:
        """Best effort: without Redis the visitor can still resume on this node (and the
        keep-alive writes it again once Redis is back)."""
        if not self._link.up:
            return
        try:
            await self._link.redis.set(f"vetrina:session:{v.session}", _session_body(v), px=self.ttl_ms)
        except DOWN:
            self._link.lost()

    async def load_session(self, token: str) -> dict[str, Any] | None:
        return await self._load_map(f"vetrina:session:{token}")

    async def load_carry(self, avatar: int) -> dict[str, Any] | None:
        """The visitor's last carried state (a ``handover`` payload for one avatar), if any."""
        return await self._load_map(f"vetrina:carry:{avatar}")

    async def _load_map(self, key: str) -> dict[str, Any] | None:
        """A msgpack map kept for a visitor, best effort: None when absent or Redis is down."""
        if not self._link.up:
            return None
        try:
            raw = await self._link.redis.get(key)
        except DOWN:
            self._link.lost()
            return None
        body = msgpack.unpackb(raw) if raw is not None else None
        return body if isinstance(body, dict) else None

    # ---- kept alive ------------------------------------------------------------------------

    async def keepalive(self) -> None:
        """Every third of the TTL: rewrite the sessions this node holds (a rewrite also heals
        a lost key) and re-arm their carried state, so neither expires while held."""
        while True:
            await asyncio.sleep(self.ttl_ms / 3000)
            if not self._link.up:
                continue
            try:
                await self.refresh()
            except DOWN:
                self._link.lost()

    async def refresh(self) -> None:
        held = list(self.held())
        for i in range(0, len(held), KEEPALIVE_BATCH):
            async with self._link.redis.pipeline(transaction=False) as pipe:
                for v in held[i:i + KEEPALIVE_BATCH]:
                    pipe.set(f"vetrina:session:{v.session}", _session_body(v), px=self.ttl_ms)
                    pipe.pexpire(f"vetrina:carry:{v.id}", self.ttl_ms)
                await pipe.execute()

    async def restore_carry(self, snapshot: dict[str, Any], avatars: set[int]) -> None:
        """A room's hand-over snapshot, after Redis came back: each held visitor's carried
        state again, and its orders back in the drops' order books (one order per visitor
        holds across a Redis restart). Raises the Redis errors (the heal tries again)."""
        async with self._link.redis.pipeline(transaction=False) as pipe:
            for carry in split_carry(snapshot, avatars):
                self.store_carry(pipe, carry)
                for order in carry["carts"][0][2]:
                    key = f"vetrina:orders:{order.get('offer')}"
                    pipe.hsetnx(key, str(carry["avatar"]), str(order.get("order")))
                    pipe.pexpire(key, ORDERS_TTL_MS)
            await pipe.execute()

    # ---- analytics -------------------------------------------------------------------------

    async def save_tally(self, room: str, tally: dict[str, Any]) -> None:
        """This node's analytics tally of ``room`` (every shard here, added up)."""
        if not self._link.up:
            return
        key = f"vetrina:analytics:{room}"
        try:
            async with self._link.redis.pipeline(transaction=False) as pipe:
                pipe.hset(key, self._link.node, msgpack.packb(tally))
                pipe.expire(key, ANALYTICS_TTL_S)
                await pipe.execute()
        except DOWN:
            self._link.lost()

    async def tallies(self, room: str) -> list[dict[str, Any]]:
        """The other nodes' last analytics tallies of ``room`` (nodes that went away included:
        their visitors were part of the event). Raises ClusterUnavailable without Redis."""
        try:
            raw = await self._link.redis.hgetall(f"vetrina:analytics:{room}")
        except DOWN as exc:
            self._link.lost()
            raise ClusterUnavailable(str(exc)) from None
        return [t for node, body in raw.items() if node != self._link.node.encode()
                for t in [msgpack.unpackb(body)] if isinstance(t, dict)]
