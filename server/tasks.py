"""Background tasks of one kind, tracked and bounded: a set that refuses to grow past its
limit instead of growing without end while what the tasks wait on (Redis, a slow socket) is
away. Each owner writes its set's overload policy where it makes the set."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from server.metrics import Metrics


class TaskSet:
    """At most ``limit`` running tasks; ``vetrina_background_tasks{set}`` says how many run,
    ``vetrina_background_tasks_refused_total{set}`` how many were refused."""

    def __init__(self, name: str, limit: int, metrics: Metrics) -> None:
        self.name = name
        self.limit = limit
        self._tasks: set[asyncio.Task[None]] = set()
        self._running = metrics.background_tasks.labels(name)
        self._refused = metrics.background_refused.labels(name)

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def full(self) -> bool:
        return len(self._tasks) >= self.limit

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
        """Run ``coro`` in the background; None (the coroutine closed unrun, counted): the
        set is full."""
        if self.full:
            coro.close()
            self._refused.inc()
            return None
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        self._running.inc()
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._running.dec()

    async def settle(self, timeout_s: float = 2.0) -> None:
        """Wait (up to ``timeout_s``) for the tasks running now."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)
