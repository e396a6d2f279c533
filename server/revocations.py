"""Revoked staff tokens: which token ids (``jti``) no longer sign anyone in.

A revocation is moderation, so it is never best effort: it is written to a file under
``--data-dir`` (``revoked-tokens.json``, replaced atomically and fsynced) before it is
acknowledged, so it survives a restart or a kill -9 of the node. With ``--redis`` it is also
kept in the hash ``vetrina:revoked`` (jti -> expiry) and announced on ``vetrina:revoke``:
every node drops the revoked token's sessions at once. A node that was away from Redis
(outage, start-up) merges the hash with its file every few seconds, both ways, so a Redis
that restarted empty learns the revocations again from the nodes.

Entries are kept until the token would have expired anyway (plus a minute), then forgotten.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from server.cluster.link import DOWN, listen

log = logging.getLogger(__name__)

FILE = "revoked-tokens.json"
KEY = "vetrina:revoked"
CHANNEL = "vetrina:revoke"
SYNC_EVERY_S = 2.0
KEEP_AFTER_EXP_S = 60  # clocks differ a little between nodes

# jti -> called when a token is revoked (here or on another node)
OnRevoke = Callable[[str], None]


class Revocations:
    """The revoked token ids this node knows, persisted in ``data_dir`` and shared by Redis."""

    def __init__(self, data_dir: Path, *, redis_url: str | None = None) -> None:
        self.path = data_dir / FILE
        self._revoked: dict[str, int] = self._read()  # jti -> the token's exp (unix s)
        self._listeners: list[OnRevoke] = []
        # no read timeout: the listener waits on pub/sub for hours; commands are bounded by wait_for
        self._redis = aioredis.Redis.from_url(redis_url, socket_connect_timeout=1.0) if redis_url else None
        self._tasks: list[asyncio.Task[None]] = []
        self._write_lock = asyncio.Lock()

    def is_revoked(self, jti: str | None) -> bool:
        return jti is not None and jti in self._revoked

    def on_revoke(self, listener: OnRevoke) -> None:
        self._listeners.append(listener)

    async def revoke(self, jti: str, exp: int) -> bool:
        """Revoke ``jti`` (a token valid until ``exp``): persisted here before this returns,
        then announced to the other nodes. False: Redis could not be told now (the node keeps
        it and the sync tells Redis when it is back)."""
        if jti not in self._revoked:
            self._revoked[jti] = max(int(exp), self._revoked.get(jti, 0))
            await self._save()
        self._apply(jti)
        if self._redis is None:
            return True
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hset(KEY, jti, self._revoked[jti])
                pipe.publish(CHANNEL, f"{jti} {self._revoked[jti]}")
                await asyncio.wait_for(pipe.execute(), 2.0)
            return True
        except DOWN:
            return False

    # ---- life --------------------------------------------------------------------------

    def start(self) -> None:
        if self._redis is not None:
            self._tasks = [asyncio.create_task(self._listen(), name="revocations:listen"),
                           asyncio.create_task(self._sync_loop(), name="revocations:sync")]

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.wait(self._tasks, timeout=1.0) if self._tasks else None
        if self._redis is not None:
            try:
                await asyncio.wait_for(self._redis.aclose(), 2.0)
            except DOWN:
                pass

    # ---- what the other nodes say ------------------------------------------------------

    def _apply(self, jti: str) -> None:
        for listener in self._listeners:
            listener(jti)

    async def _listen(self) -> None:
        assert self._redis is not None

        async def subscribe(pubsub: PubSub) -> None:
            await pubsub.subscribe(CHANNEL)

        await listen(self._redis, subscribe, self._heard)

    async def _heard(self, msg: dict[str, Any]) -> None:
        """``"<jti> <exp>"`` from another node; anything else is ignored."""
        if msg.get("type") != "message":
            return
        jti, _, exp = msg["data"].decode(errors="replace").partition(" ")
        if jti and len(jti) <= 128 and exp.isdigit():
            await self._learn({jti: int(exp)})

    async def _sync_loop(self) -> None:
        while True:
            try:
                await self.sync()
            except DOWN:
                pass  # Redis is away: this node still refuses what it knows of
            await asyncio.sleep(SYNC_EVERY_S)

    async def sync(self) -> None:
        """Merge with Redis both ways (a node that was away, a Redis that restarted empty)."""
        assert self._redis is not None
        raw = await asyncio.wait_for(self._redis.hgetall(KEY), 2.0)
        theirs = {(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in raw.items()}
        await self._learn(theirs)
        missing = {j: e for j, e in self._revoked.items() if j not in theirs}
        if missing:
            await asyncio.wait_for(self._redis.hset(KEY, mapping=missing), 2.0)  # type: ignore[arg-type]

    async def _learn(self, revoked: dict[str, int]) -> None:
        new = [j for j in revoked if j not in self._revoked]
        for jti in new:
            self._revoked[jti] = revoked[jti]
        if new:
            await self._save()
            for jti in new:
                self._apply(jti)

    # ---- the file ----------------------------------------------------------------------

    def _read(self) -> dict[str, int]:
        try:
            body = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"{self.path}: unreadable revocation list ({exc}); fix or remove it") from None
        now = time.time()
        return {str(j): int(e) for j, e in body.get("revoked", {}).items() if int(e) + KEEP_AFTER_EXP_S > now}

    async def _save(self) -> None:
        now = time.time()
        self._revoked = {j: e for j, e in self._revoked.items() if e + KEEP_AFTER_EXP_S > now}
        body = json.dumps({"revoked": self._revoked}, sort_keys=True)
        async with self._write_lock:  # one writer at a time: the last state wins, whole
            await asyncio.to_thread(_write_atomically, self.path, body)


def _write_atomically(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
