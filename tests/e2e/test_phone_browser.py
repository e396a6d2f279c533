"""The web client on a phone: a 390x844 portrait viewport with touch (has_touch/is_mobile).
The joystick walks, a finger dragged on the scene turns the view (also while the other thumb is
on the joystick), nothing overlaps, the room itself stays within a draw-call budget (its static
meshes merged), and a crowd of 200 avatars is drawn through instances (a handful of draw calls)
instead of seven-plus meshes each."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from playwright.async_api import Browser, CDPSession

from tests.conftest import Visitor
from tests.e2e.conftest import ClientPage, assert_apart, open_client, visible_boxes, wait_page

pytestmark = pytest.mark.browser

W, H = 390, 844
SHOT = "/tmp/vetrina-phone.png"
PHONE_UI = ["#hud .brand", "#hud .hud-right", "#chat", "#reactions", "#dock", "#joystick", "#drops .drop-card", "#spotlight", "#booth-card", "#notices .notice-card"]

# 200 fake avatars through the client's own registry (as ticks would add them), in a block in
# front of the camera; then frames rendered the full way and the light way, timed with a
# readPixels so the (software) GPU work is included.
CROWD_JS = """async ([n, frames]) => {
  const v = window.vetrina, { app, camera, scene, labels } = v._debug, r = v._debug.renderer;
  const s = app.self, cy = window.vetrina._debug.controls.camYaw;
  const fx = -Math.sin(cy), fz = -Math.cos(cy), rx = Math.cos(cy), rz = -Math.sin(cy);
  const t = v.serverNow() - 50;
  const gl = r.getContext(), px = new Uint8Array(4);
  const base = await measure('auto'); // the room alone
  for (let i = 0; i < n; i++) { // a wedge that fits the (portrait) view: all of them visible
    const row = Math.floor(i / 10), col = (i % 10) / 9 - 0.5;
    const d = 3 + row * 1.1, x = s.x + fx * d + rx * col * d * 0.55, z = s.z + fz * d + rz * col * d * 0.55;
    const id = 900000 + i;
    const palette = ['#6d7fa8', '#a8506d', '#3f8f6b', '#c07a2c', '#7a5ab0', '#2f7fa8', '#b0463c', '#4c6b2f'];
    app.remotes.enter(id, `Crowd ${i}`, { color: palette[i % 8], accent: palette[(i * 3 + 5) % 8] });
    app.remotes.record(t, { id, x, y: 0, z, yaw: Math.atan2(-fx, -fz) + Math.PI });
  }
  async function measure(mode) {
    v.renderMode = mode;
    await new Promise((res) => setTimeout(res, 300));
    const times = [];
    let calls = 0;
    for (let i = 0; i < frames; i++) {
      const t0 = performance.now();
      app.remotes.update(v.serverNow(), 1 / 30, app.self);
      r.render(scene, camera);
      calls = r.info.render.calls;
      labels.render(scene, camera);
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
      times.push(performance.now() - t0);
      await new Promise((res) => setTimeout(res, 0));
    }
    times.sort((a, b) => a - b);
    return { mode, calls, ms: times[Math.floor(times.length / 2)], detailed: app.remotes.detailed, instanced: app.remotes.instanced,
      labels: [...app.remotes.map.values()].filter((e) => e.avatar.label.visible).length };
  }
  const full = await measure('full');
  const lite = await measure('auto');
  const shown = v.avatars().filter((a) => a.id >= 900000).length;
  return { base, full, lite, shown, canvas: [r.domElement.width, r.domElement.height] };
}"""


async def touch(cdp: CDPSession, kind: str, points: list[tuple[int, float, float]]) -> None:
    await cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"id": i, "x": x, "y": y} for i, x, y in points]})


async def test_phone_touch_layout_and_crowd(live_server: Any, browser: Browser, visitors: list[Visitor]) -> None:
    context = await browser.new_context(viewport={"width": W, "height": H}, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        page = await context.new_page()
        cp = ClientPage(page)
        page.on("pageerror", lambda exc: cp.errors.append(f"{exc.name}: {exc.message}\n{exc.stack}"))
        page.on("console", lambda msg: cp.console.append(msg.text) if msg.type == "error" else None)
        await open_client(cp, live_server.url, "Pia")
        render = await cp.vetrina("v.render")
        assert render["phone"] and render["lite"], render
        assert await page.is_visible("#joystick") and not await page.is_visible("#vr-btn")
        cdp = await context.new_cdp_session(page)

        # The joystick: thumb down on it, pushed up (forward) for a second.
        joy = (await visible_boxes(page, ["#joystick"]))["#joystick"]
        jx, jy = joy["x"] + joy["width"] / 2, joy["y"] + joy["height"] / 2
        before = await cp.vetrina("v.self()")
        yaw0 = await page.evaluate("window.vetrina._debug.controls.camYaw")
        await touch(cdp, "touchStart", [(1, jx, jy)])
        for k in range(1, 6):
            await touch(cdp, "touchMove", [(1, jx, jy - 9 * k)])
        await asyncio.sleep(0.6)
        # ... and a second finger drags across the scene meanwhile: the view turns.
        sx, sy = W * 0.62, H * 0.42
        await touch(cdp, "touchStart", [(1, jx, jy - 45), (2, sx, sy)])
        for k in range(1, 9):
            await touch(cdp, "touchMove", [(1, jx, jy - 45), (2, sx - 12 * k, sy)])
            await asyncio.sleep(0.03)
        await touch(cdp, "touchEnd", [(1, jx, jy - 45)])
        await asyncio.sleep(0.3)
        await touch(cdp, "touchEnd", [])
        after = await cp.vetrina("v.self()")
        yaw1 = await page.evaluate("window.vetrina._debug.controls.camYaw")
        walked = math.hypot(after["x"] - before["x"], after["z"] - before["z"])
        assert walked > 0.8, f"the joystick moved the avatar only {walked:.2f} m"
        assert yaw1 - yaw0 > 0.3, f"dragging on the scene turned the view only {yaw1 - yaw0:.2f} rad"
        assert await cp.vetrina("v.corrections") == 0
        await wait_page(cp, "!v.walking")  # no tap-to-walk from the drag

        # One finger alone on the scene turns the view too (and a tap still walks).
        await touch(cdp, "touchStart", [(3, sx, sy)])
        for k in range(1, 7):
            await touch(cdp, "touchMove", [(3, sx + 14 * k, sy + 2 * k)])
        await touch(cdp, "touchEnd", [])
        yaw2 = await page.evaluate("window.vetrina._debug.controls.camYaw")
        assert yaw1 - yaw2 > 0.3, (yaw1, yaw2)

        # Portrait layout: every control inside the screen, none over another (the joystick
        # included), with a few visitors around.
        found = await visible_boxes(page, PHONE_UI)
        assert {"#hud .brand", "#chat", "#reactions", "#dock", "#joystick"} <= set(found), found
        assert_apart(found, W, H)

        # A crowd of 200 in view: the light path draws it in a handful of calls.
        stats = await page.evaluate(CROWD_JS, [200, 5])
        print(f"\ncrowd of 200 at {W}x{H} (canvas {stats['canvas']}): room alone {stats['base']} / full {stats['full']} / light {stats['lite']}")
        assert stats["shown"] == 200
        assert stats["full"]["calls"] > 1000, stats
        assert stats["lite"]["instanced"] >= 180 and stats["lite"]["detailed"] <= 8, stats
        base = stats["base"]["calls"]  # the room itself
        # Static dressing that looks alike is merged (scene.js mergeStatic): the showroom was
        # ~132 draw calls from the entrance before, ~50 now.
        assert base < 80, f"the showroom alone takes {base} draw calls on a phone"
        assert stats["lite"]["calls"] - base < (stats["full"]["calls"] - base) / 10, stats
        assert stats["lite"]["ms"] < stats["full"]["ms"], stats
        assert stats["lite"]["labels"] <= 8, stats
        await asyncio.sleep(0.3)
        await page.screenshot(path=SHOT)
        await page.evaluate("() => { for (let i = 0; i < 200; i++) window.vetrina._debug.app.remotes.leave(900000 + i); }")
        cp.assert_clean()
    finally:
        await context.close()
