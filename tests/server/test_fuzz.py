"""Random msgpack values at every event of both namespaces (issue 12 D), against `vetrina serve`
with its rooms in worker processes: every ack is `ok` or a typed error, no room worker dies or
is replaced, a well-behaved visitor stays connected and keeps getting ticks, and the rooms keep
their state (the running concert, a visitor's drop order).

Hypothesis drives it, bounded for CI: a fixed number of examples, derandomized, no database.
The socket.io clients live on an event loop in a thread of their own, so they keep answering
pings between examples.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import msgpack
import psutil
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from server.app import GATEWAY, HOST, create_app
from server.config import ASSETS, Settings
from server.visitor.namespace import HOST_EVENTS
from tests.conftest import ROOT, TEST_SECRET, LiveServer, StaffClient, Visitor, eventually, free_port, stop_process, wait_http
from world.core.interest import decode_records
from world.protocol import ErrorCode

T = TypeVar("T")
EXAMPLES = 60  # rounds: each sends every event of both namespaces once
# Clients sending the fuzz: each socket's events are handled one after the other (and many
# wait for a tick), so a round spreads over several; rate limits are per visitor too.
FUZZERS = 8
HOSTS = 6
CALL_TIMEOUT_S = 8.0  # longer than the server's own request timeout (5 s): a hang shows as one
CODES = {c.value for c in ErrorCode}
ROOMS = ["concert", "showroom", "studio"]


def _tables(tmp: Path) -> tuple[dict[str, type[BaseModel]], dict[str, type[BaseModel]]]:
    """Every event of both namespaces with its model, read from the server's own tables."""
    app = create_app(Settings(port=0, room_processes=False, secret=TEST_SECRET, data_dir=tmp))
    visitor = {event: model for event, (model, _) in app[GATEWAY].handlers.items()}
    host = {event: model for event, (model, _) in app[HOST].handlers.items()}
    return visitor, host


def _catalog_ids() -> tuple[list[str], list[str]]:
    products, variants = [], []
    for f in sorted((ASSETS / "catalogs").glob("*.json")):
        for p in json.loads(f.read_text()).get("products", []):
            products.append(p["id"])
            variants += [v["id"] for v in p.get("variants", [])]
    return products, variants


PRODUCTS, VARIANTS = _catalog_ids()
CUES = [c["id"] for c in json.loads((ASSETS / "shows" / "concert.json").read_text())["cues"]]

# ---- values -------------------------------------------------------------------------------

INTS = st.integers(-(2**63), 2**64 - 1)  # everything msgpack carries
FLOATS = st.floats() | st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324])
SCALARS = st.none() | st.booleans() | INTS | FLOATS | st.text(max_size=40) | st.binary(max_size=64)
JUNK = st.recursive(
    SCALARS,
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=10) | INTS, kids, max_size=5),
    max_leaves=12,
)
# 10k-40k characters of 1 to 4 bytes: some over the 64 KiB payload limit, all under engine.io's 1 MiB
LONG_TEXT = st.builds(lambda ch, n: ch * n, st.sampled_from(["x", "é", "😀", "\u0000", "<"]), st.integers(10_000, 40_000))
EXTREMES = st.sampled_from([2**64 - 1, 2**63, 2**63 - 1, -(2**63), 2**53, 2**53 + 1, -1, 0, 10**15,
                             math.nan, math.inf, -math.inf, -0.0, 1e308, -1e308, 5e-324])
ODD = st.one_of(EXTREMES, JUNK, LONG_TEXT, INTS)
PLAUSIBLE_NUMBERS = st.integers(1, 60) | st.floats(5.0, 60.0)


@dataclass
class Known:
    """Ids only known once the server runs (filled by the fixture, drawn lazily)."""

    offers: list[str] = field(default_factory=lambda: ["none"])
    targets: list[int] = field(default_factory=lambda: [1])  # avatars staff may act on
    protected: set[int] = field(default_factory=set)  # avatars the checks rely on


KNOWN = Known()


def _valid(name: str) -> st.SearchStrategy[Any]:
    """A plausible value for a field (the fuzz then gets past validation into the rooms)."""
    now = time.time_ns() // 1_000_000
    plausible: dict[str, st.SearchStrategy[Any]] = {
        "room": st.sampled_from(ROOMS),
        "product": st.sampled_from(PRODUCTS),
        "variant": st.sampled_from(VARIANTS),
        "offer": st.deferred(lambda: st.sampled_from(KNOWN.offers)),
        "avatar": st.deferred(lambda: st.sampled_from(KNOWN.targets)) | st.integers(1, 300),
        "cue": st.sampled_from(CUES),
        "kind": st.sampled_from(["concert", "wheel", "showcase"]),
        "scope": st.sampled_from(["room", "near", "event"]),
        "emoji": st.sampled_from(["❤️", "👏", "🔥", "🎉"]),
        "at": st.integers(-10_000, 90_000_000).map(lambda d: now + d) | EXTREMES | st.integers(now, 2**64 - 1),
        "p": st.lists(st.floats(-60, 60), min_size=3, max_size=3),
        "head": st.lists(st.floats(-1, 1), min_size=7, max_size=7),
        "segment": st.sampled_from(["1", "2", "5", "10", "20", "40", "x2", "x7"]),
    }
    numbers = {"seconds", "minutes", "price", "stock", "amount", "qty", "c", "seq", "yaw", "with"}
    if name in numbers:
        return PLAUSIBLE_NUMBERS | EXTREMES
    return plausible.get(name, st.text(min_size=1, max_size=24))


def _payload(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    """The event's fields: all plausible (so the fuzz gets into the rooms), or one of them odd
    (junk, an extreme number, a long string), or with unknown keys added; or a payload of the
    wrong type altogether."""
    keys = {(f.alias or name): (name, f.is_required()) for name, f in model.model_fields.items()}
    plausible = st.fixed_dictionaries(
        {key: _valid(name) for key, (name, required) in keys.items() if required},
        optional={key: _valid(name) for key, (name, required) in keys.items() if not required},
    )
    one_odd = plausible.flatmap(
        lambda d: st.builds(lambda key, odd: {**d, key: odd}, st.sampled_from(sorted(keys) or ["x"]), ODD)
    )
    unknown_keys = st.builds(lambda d, extra: {**extra, **d}, plausible, st.dictionaries(st.text(max_size=12), JUNK, max_size=2))
    return st.one_of(plausible, one_odd, one_odd, unknown_keys, JUNK, LONG_TEXT)


class Action:
    """One thing to send: ``to`` "visitor", "host" or "raw" (bytes on a raw websocket), by
    fuzzing client number ``who``."""

    __slots__ = ("to", "event", "payload", "who")

    def __init__(self, to: str, event: str, payload: Any, who: int = 0) -> None:
        self.to, self.event, self.payload, self.who = to, event, payload, who

    def __repr__(self) -> str:  # payloads can be 100 kB long: a failure report shows their start
        return f"Action({self.to!r}, {self.event!r}, {repr(self.payload)[:300]}, {self.who})"


def _rounds(visitor: dict[str, type[BaseModel]], host: dict[str, type[BaseModel]]) -> st.SearchStrategy[list[Action]]:
    """One round: every event of both namespaces once (and a few that are not theirs), each
    with a drawn payload and fuzzing visitor, plus a few raw frames; all sent at once."""

    def send(to: str, table: dict[str, type[BaseModel]], event: str, i: int) -> st.SearchStrategy[Action]:
        who = i % (FUZZERS if to == "visitor" else HOSTS)  # spread evenly: a round is over sooner
        return st.builds(Action, st.just(to), st.just(event), _payload(table.get(event, BaseModel)), st.just(who))

    visitor_events = sorted(visitor) + sorted(HOST_EVENTS - visitor.keys()) + ["teleport", ""]
    host_events = sorted(host) + ["mod.nuke", "join"]
    raw_packets = st.builds(
        lambda t, nsp, data, ack: msgpack.packb({"type": t, "nsp": nsp, "data": data, "id": ack}),
        st.integers(-1, 7) | JUNK, st.sampled_from(["/", "/host", "/x"]) | JUNK,
        JUNK | st.tuples(st.sampled_from(sorted(visitor)), JUNK).map(list), st.integers(0, 2**32) | JUNK,
    )
    raw = st.builds(Action, st.just("raw"), st.just(""), st.binary(max_size=300) | raw_packets)
    everything = [send("visitor", visitor, e, i) for i, e in enumerate(visitor_events)]
    everything += [send("host", host, e, i) for i, e in enumerate(host_events)]
    return st.builds(lambda sent, frames: [*sent, *frames], st.tuples(*everything).map(list), st.lists(raw, max_size=4))


# ---- the clients, on a loop of their own --------------------------------------------------


class Loop:
    """An event loop in a thread: the clients keep reading (and answering pings) between examples."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-clients", daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[T], timeout: float = 30.0) -> T:
        async def wrapped() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class RawSocket:
    """A visitor speaking raw engine.io over a websocket, to send frames no client library would."""

    def __init__(self) -> None:
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.acks: list[Any] = []
        self.reader: asyncio.Task[None] | None = None

    async def open(self, url: str) -> None:
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket")
        assert (await self.ws.receive_str()).startswith("0")
        await self.ws.send_bytes(msgpack.packb({"type": 0, "nsp": "/", "data": {"name": "Raw"}}))
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "2":
                await self.ws.send_str("3")  # engine.io ping
            elif msg.type == aiohttp.WSMsgType.BINARY:
                pkt = msgpack.unpackb(msg.data, strict_map_key=False)
                if isinstance(pkt, dict) and pkt.get("type") == 3:
                    self.acks.append(pkt["data"][0] if pkt.get("data") else None)

    async def time(self) -> Any:
        """A well-formed request on the raw socket; its answer (it must still be served).
        Connects to ``/`` again first: the fuzz may have sent a DISCONNECT of its own (and a
        CONNECT while connected is only refused)."""
        assert self.ws is not None
        await self.ws.send_bytes(msgpack.packb({"type": 0, "nsp": "/", "data": {"name": "Raw"}}))
        before = len(self.acks)
        await self.ws.send_bytes(msgpack.packb({"type": 2, "nsp": "/", "data": ["time", {"c": 1}], "id": 4_000_000_000}))
        await eventually(lambda: len(self.acks) > before and self.acks[-1].get("c") == 1, timeout=5)
        return self.acks[-1]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)
        if self.session is not None:
            await self.session.close()


@dataclass
class Scene:
    """What runs during the fuzz, and what it must not change."""

    server: LiveServer
    watcher: Visitor
    keeper: Visitor  # near the watcher, with a drop order
    order: str
    t0: int
    fuzzers: list[Visitor]
    hosts: list[StaffClient]
    raw: RawSocket
    others: list[Visitor]  # staff may act on them
    workers: dict[int, float]


def room_workers(server_pid: int) -> dict[int, float]:
    return {p.pid: p.create_time() for p in psutil.Process(server_pid).children() if p.is_running()}


async def _near_each_other(watcher: Visitor, keeper: Visitor) -> None:
    """Both in the concert, within each other's view (spawn points are spread over 40 m)."""
    wx = (await watcher.join("concert"))["you"]["p"][0]
    for _ in range(40):
        kx = (await keeper.join("concert"))["you"]["p"][0]
        if abs(kx - wx) <= 16:
            return
        assert (await keeper.call("leave"))["ok"]
    raise AssertionError("could not place the keeper near the watcher")


async def _set_up(server: LiveServer) -> Scene:
    watcher, keeper = Visitor("Watcher"), Visitor("Keeper")
    fuzzers = [Visitor(f"Fuzz{i}") for i in range(FUZZERS)]
    others = [Visitor("Vic"), Visitor("Val")]
    host, *hosts = [StaffClient("host", "*", name=f"Fuzzy{i}") for i in range(HOSTS + 1)]
    for v in (watcher, keeper, *fuzzers, *others):
        await v.connect(server.url)
    for h in (host, *hosts):
        await h.connect(server.url)
    await _near_each_other(watcher, keeper)
    for v, room in zip([*others, *fuzzers], ["concert", "showroom", *ROOMS * 3]):
        await v.join(room)
    started = await host.call("show.start", {"room": "concert", "kind": "concert"})
    drop = await host.call("offer.start", {"room": "concert", "product": "tour-tee", "price": 20, "stock": 50, "seconds": 600})
    order = (await keeper.call("offer.claim", {"offer": drop["offer"]}))["order"]
    raw = RawSocket()
    await raw.open(server.url)
    KNOWN.offers = [drop["offer"]]
    KNOWN.targets = [v.welcome["id"] for v in others]  # type: ignore[index]
    KNOWN.protected = {v.welcome["id"] for v in (watcher, keeper, *fuzzers)}  # type: ignore[index]
    await host.close()
    return Scene(server, watcher, keeper, order, started["t0"], fuzzers, hosts, raw, others, room_workers(server.pid))


async def _tear_down(scene: Scene) -> None:
    clients: list[Visitor | StaffClient] = [scene.watcher, scene.keeper, *scene.fuzzers, *scene.others, *scene.hosts]
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    await scene.raw.close()


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, type[BaseModel]], dict[str, type[BaseModel]]]:
    return _tables(tmp_path_factory.mktemp("fuzz-data"))


@dataclass
class LoggedServer(LiveServer):
    log: Path = Path()  # its stderr: where a failed tick or handler would be logged


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedServer]:
    """`vetrina serve --demo` (rooms in worker processes), its log kept to check afterwards."""
    log = tmp_path_factory.mktemp("fuzz-server") / "stderr.log"
    port = free_port()
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--demo", "--no-autopilot",
             "--data-dir", str(log.parent)],  # the fuzz revokes staff tokens: keep them out of ./data
            cwd=ROOT, env={**os.environ, "VETRINA_SECRET": TEST_SECRET}, stdout=subprocess.DEVNULL, stderr=stderr,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield LoggedServer(f"http://127.0.0.1:{port}", port, proc.pid, log=log)
    finally:
        stop_process(proc)


@pytest.fixture
def scene(fuzzed_server: LoggedServer) -> Iterator[tuple[Loop, Scene]]:
    loop = Loop()
    made = loop.run(_set_up(fuzzed_server))
    try:
        yield loop, made
    finally:
        loop.run(_tear_down(made))
        loop.stop()


# ---- sending --------------------------------------------------------------------------------


def _tame(action: Action) -> Action:
    """Keep the fuzz off what the final checks rely on: staff never act on the watcher, the
    keeper or the fuzzers themselves, and never restart the concert (a new `t0` is the
    point of `show.start`, not a defect)."""
    p = action.payload
    if action.to != "host" or not isinstance(p, dict):
        return action
    if isinstance(p.get("avatar"), int) and p["avatar"] in KNOWN.protected:
        p = {**p, "avatar": KNOWN.targets[0]}
    if action.event == "show.start" and p.get("room") == "concert":
        p = {**p, "room": "studio"}
    return Action(action.to, action.event, p, action.who)


async def _send(scene: Scene, action: Action) -> Any:
    """Send one action; the ack (None for what is never acked)."""
    if action.to == "raw":
        assert scene.raw.ws is not None
        await scene.raw.ws.send_bytes(action.payload)
        return None
    if action.to == "host":
        return await scene.hosts[action.who].sio.call(action.event, action.payload, namespace="/host", timeout=CALL_TIMEOUT_S)
    client = scene.fuzzers[action.who].sio
    if action.event == "move":  # never acked
        await client.emit("move", action.payload)
        return None
    return await client.call(action.event, action.payload, timeout=CALL_TIMEOUT_S)


def _well_formed(ack: Any) -> bool:
    if not isinstance(ack, dict):
        return False
    if ack.get("ok") is True:
        return True
    err = ack.get("error")
    return ack.get("ok") is False and isinstance(err, dict) and err.get("code") in CODES and err.get("code") != "unavailable"


async def _batch(scene: Scene, actions: list[Action]) -> None:
    acks = await asyncio.gather(*(_send(scene, _tame(a)) for a in actions))
    for action, ack in zip(actions, acks):
        if ack is not None or (action.to != "raw" and action.event != "move"):
            assert _well_formed(ack), (action.to, action.event, repr(action.payload)[:300], ack)


# ---- the test -------------------------------------------------------------------------------

# The reported case (issue 12 D) and its kind, always sent first, whatever the draws.
REPORTED = [
    Action("host", "concert.cue", {"room": "concert", "cue": "song-1", "at": 2**64 - 1}, 0),
    Action("host", "concert.cue", {"room": "concert", "cue": "song-1", "at": time.time_ns() // 1_000_000 + 10**12}, 1),
    Action("host", "offer.start", {"room": "concert", "product": "tour-tee", "price": 1e308, "stock": 2**64 - 1, "seconds": 2**63}, 2),
    Action("host", "mod.mute", {"room": "concert", "avatar": 2**64 - 1, "minutes": 2**64 - 1}, 3),
    Action("visitor", "move", {"p": [0.0, 0.0, 42.0], "yaw": 1e300, "seq": 2**64 - 1}, 0),
    Action("visitor", "cart.add", {"product": "tour-tee", "variant": "black-m", "qty": 2**64 - 1}, 1),
    Action("visitor", "bet", {"round": "r", "segment": "1", "amount": -(2**63)}, 2),
    Action("visitor", "time", {"c": 2**64 - 1}, 3),
]


def test_random_values_at_every_event_never_hurt_a_room(
    scene: tuple[Loop, Scene], tables: tuple[dict[str, type[BaseModel]], dict[str, type[BaseModel]]]
) -> None:
    loop, s = scene
    sent: list[int] = []

    # no shrinking (each try is a round on a live server): a failure shows its round whole
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(_rounds(*tables))
    @example(REPORTED)
    def fuzz(actions: list[Action]) -> None:
        sent.append(len(actions))
        loop.run(_batch(s, actions))

    started = time.monotonic()
    fuzz()
    assert len(sent) == EXAMPLES + 1 and sorted(sent)[1] > len(tables[0]) + len(tables[1])  # every event, every round
    loop.run(_after(s), timeout=60)
    assert time.monotonic() - started < 60


async def _after(s: Scene) -> None:
    """Nothing the fuzz sent hurt anyone else."""
    assert room_workers(s.server.pid) == s.workers  # no room worker died or was replaced
    assert isinstance(s.server, LoggedServer)
    logged = s.server.log.read_text(errors="replace")
    assert "Traceback" not in logged, logged[-3000:]  # no tick, handler or encoding failed, even quietly
    assert all(isinstance(a, dict) and (a.get("ok") or a["error"]["code"] in CODES) for a in s.raw.acks)
    assert (await s.raw.time())["ok"]  # the raw socket that sent garbage is still served
    assert s.watcher.sio.connected and s.keeper.sio.connected
    # the watcher still gets ticks: the keeper, next to it, takes a step
    you = (await s.keeper.call("join", {"room": "concert"}))["you"]
    x, y, z = you["p"]
    step_cm = round((x + 0.5) * 100)
    await s.keeper.sio.emit("move", {"p": [x + 0.5, y, z], "yaw": 0, "seq": 10**6})
    keeper_id = s.keeper.welcome["id"]  # type: ignore[index]

    def sees_the_step() -> bool:
        for tick in s.watcher.ticks:
            records = decode_records(tick["pos"])
            if (abs(records["x"][records["id"] == keeper_id].astype(int) - step_cm) <= 1).any():
                return True
        return False

    await eventually(sees_the_step, timeout=5)
    # the rooms kept their state: the concert's timeline and the keeper's order
    late = Visitor("Late")
    try:
        await late.connect(s.server.url)
        show = (await late.join("concert"))["show"]
        assert show["t0"] == s.t0 and show["phase"] != "idle"
    finally:
        await late.close()
    cart = (await s.keeper.call("cart.get"))["cart"]
    assert s.order in [o["order"] for o in cart["orders"]]
