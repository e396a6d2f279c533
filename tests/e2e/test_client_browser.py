"""The browser client against a real server: it joins, renders other visitors where the server
says they are (interpolated), and walks its own avatar with the keyboard without corrections."""

from __future__ import annotations

import asyncio
import math
import struct
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.e2e.conftest import ClientPage

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
RECORD = struct.Struct("<Ihhhh")


class Bot:
    """A second visitor from Python: a real socket.io client with the msgpack serializer."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sio = socketio.AsyncClient(serializer="msgpack", reconnection=False)
        self.welcome: dict[str, Any] | None = None
        self.names: dict[int, str] = {}
        self.seen: dict[int, tuple[float, float, float, float]] = {}
        self.corrections: list[dict[str, Any]] = []
        self.seq = 0
        self._welcomed = asyncio.Event()
        self.sio.on("welcome", self._on_welcome)
        self.sio.on("tick", self._on_tick)
        self.sio.on("correct", self._on_correct)

    async def _on_welcome(self, data: dict[str, Any]) -> None:
        self.welcome = data
        self._welcomed.set()

    async def _on_tick(self, data: dict[str, Any]) -> None:
        for entry in data.get("enter", []):
            self.names[entry[0]] = entry[1]
        for gone in data.get("leave", []):
            self.names.pop(gone, None)
            self.seen.pop(gone, None)
        pos = bytes(data.get("pos", b""))
        for off in range(0, len(pos) - len(pos) % RECORD.size, RECORD.size):
            aid, x, y, z, yaw = RECORD.unpack_from(pos, off)
            self.seen[aid] = (x / 100, y / 100, z / 100, yaw * math.pi / 32767)

    async def _on_correct(self, data: dict[str, Any]) -> None:
        self.corrections.append(data)

    async def connect(self, url: str) -> None:
        await self.sio.connect(url, auth={"name": self.name}, transports=["websocket"], wait_timeout=10)
        await asyncio.wait_for(self._welcomed.wait(), 10)

    async def join(self, room: str) -> dict[str, Any]:
        ack: dict[str, Any] = await self.sio.call("join", {"room": room}, timeout=10)
        assert ack["ok"], ack
        return ack

    async def move(self, p: tuple[float, float, float], yaw: float) -> None:
        self.seq += 1
        await self.sio.emit("move", {"p": list(p), "yaw": yaw, "seq": self.seq})

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def wait_joined(cp: ClientPage, url: str) -> None:
    await cp.page.goto(url)
    await cp.page.wait_for_function("window.vetrina && window.vetrina.state === 'joined'", timeout=20_000)


async def walker_pose(cp: ClientPage) -> dict[str, Any] | None:
    avatars: list[dict[str, Any]] = await cp.vetrina("v.avatars()")
    return next((a for a in avatars if a["name"] == "Walker"), None)


async def test_remote_walker_is_rendered_interpolated(live_server: Any, client_page: ClientPage) -> None:
    cp = client_page
    await wait_joined(cp, f"{live_server.url}/?name=Tester&room=showroom")
    bot = Bot("Walker")
    try:
        await bot.connect(live_server.url)
        ack = await bot.join("showroom")
        x0, y0, z0 = ack["you"]["p"]
        # A short legal walk near the entrance spawn area (open floor, no colliders):
        # 20 steps of 0.2 m every 100 ms = 2 m/s, well under max_speed.
        dx = -1.0 if x0 > 0 else 1.0
        yaw = math.atan2(-dx * 0.95, 0.3)  # facing the walking direction (yaw 0 faces -z)
        step_x, step_z = 0.19 * dx, -0.06
        await bot.move((x0, y0, z0), yaw)

        pose = None
        for _ in range(100):  # the page sees Walker enter within a few ticks
            pose = await walker_pose(cp)
            if pose:
                break
            await asyncio.sleep(0.05)
        assert pose is not None, "Walker never appeared in window.vetrina.avatars()"

        samples: list[tuple[float, float]] = []
        p = (x0, y0, z0)

        async def sample_while_walking() -> None:
            while True:
                a = await walker_pose(cp)
                if a:
                    samples.append((a["x"], a["z"]))
                await asyncio.sleep(0.04)

        sampler = asyncio.create_task(sample_while_walking())
        try:
            for _ in range(20):
                p = (p[0] + step_x, y0, p[2] + step_z)
                await bot.move(p, yaw)
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.3)
        finally:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)

        await asyncio.sleep(0.8)  # stopped: the rendered pose settles on the last sample
        final = await walker_pose(cp)
        assert final is not None
        err = math.hypot(final["x"] - p[0], final["z"] - p[2])
        assert err < 0.5, f"Walker rendered at {final}, server has it at {p} ({err:.2f} m off)"
        assert abs(math.remainder(final["yaw"] - yaw, math.tau)) < 0.1

        # The rendered position moved over time, never backwards along the walk, and was
        # interpolated: many rendered poses lie between the discrete positions the bot sent
        # (without interpolation every pose would be one of them). Independent of frame rate.
        distinct = {(round(x, 3), round(z, 3)) for x, z in samples}
        assert len(distinct) >= 8, f"only {len(distinct)} distinct rendered positions in {len(samples)} samples"
        sent = [(x0 + k * step_x, z0 + k * step_z) for k in range(21)]
        between = [s for s in samples if min(math.hypot(s[0] - q[0], s[1] - q[1]) for q in sent) > 0.02]
        assert len(between) >= max(4, len(samples) // 4), f"{len(between)}/{len(samples)} samples interpolated"
        along = [(x - x0) * dx for x, _ in samples]
        assert along[-1] - along[0] > 2.5
        assert all(b >= a - 0.05 for a, b in zip(along, along[1:])), "rendered position jumped backwards"

        in_view = await cp.page.text_content("#in-view")
        assert in_view is not None and int(in_view.split()[0]) >= 1, in_view
        assert await cp.vetrina("v.inView") >= 1
        assert bot.corrections == [], f"the walker's legal moves were corrected: {bot.corrections}"
        assert "Tester" in bot.names.values(), "the page's visitor is not visible to others"

        ARTIFACTS.mkdir(exist_ok=True)
        await cp.page.screenshot(path=str(ARTIFACTS / "client_walker.png"))
    finally:
        await bot.close()
    cp.assert_clean()


async def test_keyboard_walks_own_avatar(live_server: Any, client_page: ClientPage) -> None:
    cp = client_page
    await wait_joined(cp, f"{live_server.url}/?name=Keys&room=showroom")
    observer = Bot("Observer")
    try:
        await observer.connect(live_server.url)
        await observer.join("showroom")
        me: int = await cp.vetrina("v.selfId")
        before: dict[str, float] = await cp.vetrina("v.self()")

        await cp.page.keyboard.down("w")
        await asyncio.sleep(1.0)
        await cp.page.keyboard.up("w")
        after: dict[str, float] = await cp.vetrina("v.self()")
        walked = math.hypot(after["x"] - before["x"], after["z"] - before["z"])
        assert walked > 0.8, f"holding W for 1 s moved the avatar only {walked:.2f} m"

        # No correction put us back: the pose persists and the server agrees with it.
        await asyncio.sleep(1.5)
        later: dict[str, float] = await cp.vetrina("v.self()")
        assert math.hypot(later["x"] - after["x"], later["z"] - after["z"]) < 0.05, (after, later)
        assert await cp.vetrina("v.corrections") == 0
        assert me in observer.seen, "the observer never received the page visitor's position"
        sx, _, sz, _ = observer.seen[me]
        assert math.hypot(sx - later["x"], sz - later["z"]) < 0.1, (observer.seen[me], later)

        ARTIFACTS.mkdir(exist_ok=True)
        await cp.page.screenshot(path=str(ARTIFACTS / "client_keyboard.png"))

        # "Invite a friend": a link to this room that joins next to us (the friend's shard)
        assert await cp.page.is_visible("#invite")
        link = await cp.page.get_attribute("#invite", "data-link")
        assert link is not None and f"with={me}" in link and "room=showroom" in link
        friend = await cp.page.context.new_page()
        await friend.goto(link + "&name=Friend")
        await friend.wait_for_function("window.vetrina && window.vetrina.state === 'joined'", timeout=20_000)
        friend_id = await friend.evaluate("window.vetrina.selfId")
        await asyncio.sleep(0.3)
        assert friend_id in observer.seen  # in the room, where we are
    finally:
        await observer.close()
    cp.assert_clean()


async def test_pure_client_logic_in_browser(live_server: Any, client_page: ClientPage) -> None:
    """The DOM-free modules (tick decoding, interpolation, clock sync, collision sliding),
    exercised in the browser against data packed here with Python's struct, as the server does."""
    cp = client_page
    await cp.page.goto(f"{live_server.url}/")
    records = [(7, 1.5, 0.0, -2.25, 3.0), (4_294_967_295, -327.68, 0.01, 327.67, -math.pi), (42, 0.0, 0.0, 0.0, 0.0)]
    raw = b"".join(RECORD.pack(i, round(x * 100), round(y * 100), round(z * 100), round(yaw / math.pi * 32767)) for i, x, y, z, yaw in records)
    out = await cp.page.evaluate(
        """async (raw) => {
          const tick = await import('/static/core/tick.js');
          const interp = await import('/static/core/interp.js');
          const clock = await import('/static/core/clock.js');
          const collide = await import('/static/core/collide.js');
          // a view into a larger buffer, as msgpack decoders may hand out, plus a torn record
          const big = new Uint8Array(raw.length + 8);
          big.set(raw, 3);
          const view = new Uint8Array(big.buffer, 3, raw.length + 5);
          const fromView = tick.decodePositions(view);
          const fromBuffer = tick.decodePositions(Uint8Array.from(raw).buffer);
          const parsed = tick.parseTick({ t: 5, n: 1, enter: [[7, 'A', {}], 'junk'], leave: [9, 'x'], pos: Uint8Array.from(raw) });

          const tr = new interp.Track({ tickMs: 100 });
          tr.push(1000, 0, 0, 0, 3.0);
          tr.push(1100, 1, 0, 0, -3.0);
          const mid = tr.sample(1050);
          const held = tr.sample(5000);
          tr.push(3000, 5, 0, 0, 0);  // after a silent gap: stays put until one tick before
          const gap = tr.sample(2500);

          const cs = new clock.ClockSync();
          cs.add(1000, 5000, 1100);  // rtt 100
          cs.add(2000, 6100, 2020);  // rtt 20: the better sample wins
          cs.add(3000, 7000, 3300);

          const world = collide.makeWorld({ bounds: [[-10, 0, -10], [10, 5, 10]],
            scene: { colliders: [{ id: 'w', min: [-10, 0, -1], max: [10, 3, 1] }] } }, 0.35);
          const slide = collide.stepMove(world, { x: 0, y: 0, z: 3 }, 1, -4);
          const edge = collide.stepMove(world, { x: 9, y: 0, z: 5 }, 5, 0);
          return { fromView, fromBuffer, parsed, mid, held, gap, offset: cs.offset, rtt: cs.rtt, slide, edge };
        }""",
        list(raw),
    )
    for decoded in (out["fromView"], out["fromBuffer"]):
        assert len(decoded) == 3
        for got, (i, x, y, z, yaw) in zip(decoded, records):
            assert got["id"] == i
            assert (got["x"], got["y"], got["z"]) == pytest.approx((x, y, z), abs=0.006)
            assert got["yaw"] == pytest.approx(yaw, abs=1e-4)
    assert [e["id"] for e in out["parsed"]["enter"]] == [7] and out["parsed"]["leave"] == [9]
    assert out["mid"]["x"] == pytest.approx(0.5)
    assert abs(out["mid"]["yaw"]) == pytest.approx(math.pi, abs=0.01)  # shortest arc through ±pi, not 0
    assert out["held"]["x"] == 1
    assert out["gap"]["x"] == 1
    assert out["offset"] == 6100 - (2000 + 10) and out["rtt"] == 20
    assert out["slide"]["z"] == pytest.approx(1.35, abs=0.01) and out["slide"]["x"] == pytest.approx(1)
    assert out["edge"]["x"] == pytest.approx(9.65)
    cp.assert_clean()
