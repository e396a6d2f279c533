"""``vetrina crowd``: simulated visitors that connect over real sockets and wander a room.

Each one is a real ``socketio.AsyncClient`` speaking msgpack, exactly like an external client:
it joins, takes the scene from the join ack, walks with :class:`world.wander.Wanderer`, sends
``move`` at ``hz``, obeys ``correct``, and resumes its session after a dropped connection.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import socketio

from world.core.scene import Scene
from world.wander import Wanderer

log = logging.getLogger(__name__)

NAMES = (
    "Giulia", "Marco", "Sofia", "Luca", "Aurora", "Matteo", "Alice", "Leonardo", "Emma", "Tommaso",
    "Chiara", "Pietro", "Anna", "Davide", "Greta", "Nina", "Oliver", "Maya", "Samir", "Yuki",
)
COLOURS = ("#e4572e", "#17bebb", "#ffc914", "#2e282a", "#76b041", "#6a4c93", "#1982c4", "#ff595e")


class Bot:
    def __init__(self, url: str, room: str, name: str, rng: random.Random, hz: float) -> None:
        self.url, self.room, self.name, self.rng, self.hz = url, room, name, rng, hz
        self.look = {"color": rng.choice(COLOURS), "accent": rng.choice(COLOURS)}
        self.session: str | None = None
        self.p: tuple[float, float, float] | None = None
        self.seq = 0
        self.legs: Wanderer | None = None
        self.joined = asyncio.Event()
        self.sio = socketio.AsyncClient(serializer="msgpack", reconnection=True, reconnection_delay=0.5)
        self.sio.on("welcome", self._on_welcome)
        self.sio.on("correct", self._on_correct)

    def _auth(self) -> dict[str, Any]:
        auth: dict[str, Any] = {"name": self.name, "look": self.look}
        if self.session:
            auth["resume"] = self.session
        return auth

    async def _on_welcome(self, data: dict[str, Any]) -> None:
        self.session = data["session"]
        # (re)join in a task: a handler awaiting an ack would block the client's reader
        asyncio.get_running_loop().create_task(self._join())

    async def _join(self) -> None:
        ack = await self.sio.call("join", {"room": self.room}, timeout=10)
        if not ack.get("ok"):
            log.warning("%s could not join %s: %s", self.name, self.room, ack.get("error"))
            return
        info = ack["room"]
        self.p = tuple(ack["you"]["p"])
        if self.legs is None:
            self.legs = Wanderer(Scene.model_validate(info["scene"]), info["max_speed"], self.rng)
        self.joined.set()

    async def _on_correct(self, data: dict[str, Any]) -> None:
        self.p = tuple(data["p"])
        if self.legs is not None:
            self.legs.corrected()

    async def run(self) -> None:
        await self.sio.connect(self.url, transports=["websocket"], auth=self._auth, wait_timeout=10)
        await self.joined.wait()
        dt = 1.0 / self.hz
        await asyncio.sleep(self.rng.uniform(0, dt))  # de-phase bots so they do not move in bursts
        while True:
            await asyncio.sleep(dt)
            if self.legs is None or self.p is None or not self.sio.connected:
                continue
            p, yaw = self.legs.step(self.p, dt)
            if p != self.p:
                self.p = p
                self.seq += 1
                await self.sio.emit("move", {"p": list(p), "yaw": yaw, "seq": self.seq})

    async def close(self) -> None:
        await self.sio.disconnect()


class Crowd:
    def __init__(self, url: str, room: str, n: int, *, seed: int = 1, hz: float = 10.0) -> None:
        rng = random.Random(seed)
        self.bots = [
            Bot(url, room, f"{NAMES[i % len(NAMES)]} {i + 1}" if n > len(NAMES) else NAMES[i], random.Random(rng.random()), hz)
            for i in range(n)
        ]

    async def run(self, *, start_delay: float = 0.0, connect_rate: float = 50.0) -> None:
        await asyncio.sleep(start_delay)
        tasks = []
        try:
            for bot in self.bots:
                tasks.append(asyncio.create_task(self._keep(bot)))
                await asyncio.sleep(1.0 / connect_rate)
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(b.close() for b in self.bots), return_exceptions=True)

    @staticmethod
    async def _keep(bot: Bot) -> None:
        while True:
            try:
                await bot.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # server not up yet, or restarted: try again shortly
                log.info("%s: %s; retrying", bot.name, exc)
                await asyncio.sleep(1.0)
