"""Shared fixtures: real servers on free ports (in-process or as a subprocess), real clients."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import web

from server.app import create_app
from server.config import Settings

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


TEST_SECRET = "test-secret-for-vetrina-staff-tokens-0123456789"
# Every Settings() in the tests (and every server subprocess) signs staff tokens with it.
os.environ["VETRINA_SECRET"] = TEST_SECRET


@dataclass
class LiveServer:
    url: str
    port: int
    pid: int
    secret: str = TEST_SECRET  # signs staff tokens: server.auth.mint(live_server.secret, ...)


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not come up")
        time.sleep(0.1)


def start_server_process(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
    except TimeoutError:
        proc.kill()
        raise
    return proc, port


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    if proc.stderr:
        proc.stderr.close()


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    """`vetrina serve --demo` as a real subprocess with the demo rooms."""
    # the demo rooms without the autopilot: tests run the shows themselves
    proc, port = start_server_process("--demo", "--no-autopilot", env={"VETRINA_SECRET": TEST_SECRET})
    yield LiveServer(f"http://127.0.0.1:{port}", port, proc.pid)
    stop_process(proc)


@dataclass
class AppServer:
    url: str
    app: web.Application


@pytest.fixture
def settings() -> Settings:
    # Rooms inline: quicker to start per test. The subprocess `live_server` (and the browser,
    # Node, crowd and load tests on it) runs them in worker processes, the serve default.
    return Settings(port=0, tick_hz=20.0, resume_grace_s=30.0, room_processes=False, secret=TEST_SECRET)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[AppServer]:
    """The app in this test's event loop, listening on a real socket."""
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield AppServer(f"http://127.0.0.1:{port}", app)
    await runner.cleanup()


class Visitor:
    """A real socket.io client with the msgpack parser, recording what it receives."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sio = socketio.AsyncClient(serializer="msgpack", reconnection=False)
        self.welcome: dict[str, Any] | None = None
        self.ticks: list[dict[str, Any]] = []
        self.corrections: list[dict[str, Any]] = []
        self.events: dict[str, list[Any]] = {}
        self.sio.on("welcome", self._on_welcome)
        self.sio.on("tick", self._on_tick)
        self.sio.on("correct", self._on_correct)
        self.sio.on("*", self._on_any)
        self._welcomed = asyncio.Event()

    async def _on_welcome(self, data: dict[str, Any]) -> None:
        self.welcome = data
        self._welcomed.set()

    async def _on_tick(self, data: dict[str, Any]) -> None:
        self.ticks.append(data)

    async def _on_correct(self, data: dict[str, Any]) -> None:
        self.corrections.append(data)

    async def _on_any(self, event: str, *args: Any) -> None:
        self.events.setdefault(event, []).append(args[0] if args else None)

    async def connect(self, url: str, **auth: Any) -> dict[str, Any]:
        await self.sio.connect(url, auth={"name": self.name, **auth}, transports=["websocket"], wait_timeout=5)
        await asyncio.wait_for(self._welcomed.wait(), 5)
        assert self.welcome is not None
        return self.welcome

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data if data is not None else {}, timeout=5)

    async def join(self, room: str = "showroom") -> dict[str, Any]:
        ack = await self.call("join", {"room": room})
        assert ack["ok"], ack
        return ack  # type: ignore[no-any-return]

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


class StaffClient:
    """A real socket.io client on ``/host`` with a staff token, recording what it receives."""

    namespace = "/host"

    def __init__(self, role: str = "host", rooms: list[str] | str = "*", *, name: str = "Sara",
                 ttl_s: float = 3600, secret: str = TEST_SECRET) -> None:
        from server.auth import mint

        self.token = mint(secret, role=role, rooms=rooms, ttl_s=ttl_s, name=name)
        self.sio = socketio.AsyncClient(serializer="msgpack", reconnection=False)
        self.events: dict[str, list[Any]] = {}
        self.refused: Any = None  # the server's CONNECT_ERROR data, if it refused us
        self.sio.on("*", self._on_any, namespace=self.namespace)
        self.sio.on("connect_error", self._on_refused, namespace=self.namespace)

    async def _on_any(self, event: str, *args: Any) -> None:
        self.events.setdefault(event, []).append(args[0] if args else None)

    async def _on_refused(self, data: Any = None) -> None:
        self.refused = data

    def got(self, event: str) -> list[Any]:
        return self.events.get(event, [])

    async def connect(self, url: str, token: str | None = None) -> None:
        await self.sio.connect(url, namespaces=[self.namespace], auth={"token": self.token if token is None else token},
                               transports=["websocket"], wait_timeout=5)

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data if data is not None else {}, namespace=self.namespace, timeout=5)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


@pytest.fixture
async def staff() -> AsyncIterator[list[StaffClient]]:
    made: list[StaffClient] = []
    yield made
    await asyncio.gather(*(s.close() for s in made), return_exceptions=True)


@pytest.fixture
async def visitors() -> AsyncIterator[list[Visitor]]:
    made: list[Visitor] = []
    yield made
    await asyncio.gather(*(v.close() for v in made), return_exceptions=True)


async def eventually(check: Any, timeout: float = 3.0, interval: float = 0.02) -> Any:
    """Poll ``check()`` until it returns something truthy (state arrives by ticks)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


async def chat_marker(sender: Visitor, *watchers: Visitor | StaffClient, text: str = "-- marker --") -> None:
    """Proof that something did NOT arrive, without sleeping: ``sender`` says ``text`` in the
    room and every watcher (and the sender) waits for it. Call it after the ack of whatever must
    have no effect: that tick's events were sent before the ack's tick ended, the marker is
    handled in a later tick, and a room's events reach each client in tick order, so whatever
    was going to arrive has arrived before the marker."""
    assert (await sender.call("chat", {"text": text}))["ok"]
    for w in (sender, *watchers):
        await eventually(lambda w=w: any(m.get("text") == text for m in w.events.get("chat", [])))


def before_marker(events: list[Any], text: str = "-- marker --") -> list[Any]:
    """The chat messages that arrived before the marker ``text``."""
    texts = [m.get("text") for m in events]
    return events[: texts.index(text)]
