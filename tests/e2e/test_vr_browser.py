"""The web client as a VR client, in headless Chromium with a mocked WebXR device.

`navigator.xr` is replaced (add_init_script) by a fake XRSystem whose immersive-vr session
drives frames from the page's requestAnimationFrame, with a head and two controllers the test
moves (grip and target-ray poses, thumbstick axes, `select` events). three.js's WebXRManager runs
for real on it and renders into the page's canvas (the fake XRWebGLLayer's framebuffer is the
default one), so the VR view can be screenshotted. What the VR visitor sends is checked where it
matters: a Python visitor decodes the head and hands records in its ticks (docs/protocol.md "Pose extension (VR)").
"""

from __future__ import annotations

import asyncio
import math
import struct
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.conftest import StaffClient, Visitor
from tests.e2e.conftest import ClientPage, open_client, visitor, wait_page

pytestmark = pytest.mark.browser

SHOTS = {"menu": "/tmp/vetrina-vr-menu.png", "desktop": "/tmp/vetrina-vr-avatar-desktop.png"}

# A WebXR device good enough for three.js's WebXRManager (XRWebGLLayer path, no layers API).
XR_MOCK = r"""
(() => {
  const S = { head: { p: [0, 1.6, 0], q: [0, 0, 0, 1] }, mono: false, session: null, frames: 0,
    hands: {
      left: { grip: { p: [-0.18, 1.2, -0.32], q: [0, 0, 0, 1] }, ray: { p: [-0.18, 1.2, -0.32], q: [0, 0, 0, 1] }, axes: [0, 0, 0, 0] },
      right: { grip: { p: [0.2, 1.15, -0.3], q: [0, 0, 0, 1] }, ray: { p: [0.2, 1.15, -0.3], q: [0, 0, 0, 1] }, axes: [0, 0, 0, 0] },
    } };
  window.__xr = S;
  const compose = (p, q) => {
    const [x, y, z, w] = q;
    const x2 = x + x, y2 = y + y, z2 = z + z;
    const xx = x * x2, xy = x * y2, xz = x * z2, yy = y * y2, yz = y * z2, zz = z * z2, wx = w * x2, wy = w * y2, wz = w * z2;
    return new Float32Array([1 - (yy + zz), xy + wz, xz - wy, 0, xy - wz, 1 - (xx + zz), yz + wx, 0,
      xz + wy, yz - wx, 1 - (xx + yy), 0, p[0], p[1], p[2], 1]);
  };
  const rotate = (q, v) => { // v by unit quaternion q
    const [x, y, z, w] = q;
    const ix = w * v[0] + y * v[2] - z * v[1], iy = w * v[1] + z * v[0] - x * v[2], iz = w * v[2] + x * v[1] - y * v[0], iw = -x * v[0] - y * v[1] - z * v[2];
    return [ix * w + iw * -x + iy * -z - iz * -y, iy * w + iw * -y + iz * -x - ix * -z, iz * w + iw * -z + ix * -y - iy * -x];
  };
  const transform = (p, q) => ({ matrix: compose(p, q), position: { x: p[0], y: p[1], z: p[2], w: 1 }, orientation: { x: q[0], y: q[1], z: q[2], w: q[3] } });
  // The quaternion turning -z towards `to` from `from` (no roll).
  S.look = (from, to) => {
    const d = [to[0] - from[0], to[1] - from[1], to[2] - from[2]];
    const n = Math.hypot(...d);
    const yaw = Math.atan2(-d[0], -d[2]), pitch = Math.asin(d[1] / n);
    const cy = Math.cos(yaw / 2), sy = Math.sin(yaw / 2), cp = Math.cos(pitch / 2), sp = Math.sin(pitch / 2);
    return [cy * sp, sy * cp, -sy * sp, cy * cp]; // yaw about y, then pitch about x (YXZ)
  };
  S.aim = (side, to) => { const r = S.hands[side].ray; r.q = S.look(r.p, to); };
  class Space { constructor(kind) { this.kind = kind; } getOffsetReferenceSpace() { return this; } }
  window.XRRigidTransform = class { constructor(p = {}, o = {}) {
    this.position = { x: p.x || 0, y: p.y || 0, z: p.z || 0, w: 1 }; this.orientation = { x: o.x || 0, y: o.y || 0, z: o.z || 0, w: o.w ?? 1 };
    this.matrix = compose([this.position.x, this.position.y, this.position.z], [this.orientation.x, this.orientation.y, this.orientation.z, this.orientation.w]);
  } };
  window.XRWebGLLayer = class {
    constructor(session, gl) { this.framebuffer = null; this.framebufferWidth = gl.canvas.width; this.framebufferHeight = gl.canvas.height; this.ignoreDepthValues = true; this.antialias = false; }
    getViewport(view) {
      const w = this.framebufferWidth, h = this.framebufferHeight;
      if (S.mono) return { x: 0, y: 0, width: w, height: h };
      return view.eye === 'right' ? { x: w / 2, y: 0, width: w / 2, height: h } : { x: 0, y: 0, width: w / 2, height: h };
    }
    static getNativeFramebufferScaleFactor() { return 1; }
  };
  delete window.XRWebGLBinding; // no layers API: three uses the XRWebGLLayer path
  for (const C of [window.WebGL2RenderingContext, window.WebGLRenderingContext]) if (C) C.prototype.makeXRCompatible = () => Promise.resolve();
  const projection = (aspect) => {
    const f = 1 / Math.tan(Math.PI / 4), near = 0.05, far = 1000;
    return new Float32Array([f / aspect, 0, 0, 0, 0, f, 0, 0, 0, 0, (far + near) / (near - far), -1, 0, 0, (2 * far * near) / (near - far), 0]);
  };
  const source = (side) => ({ handedness: side, targetRayMode: 'tracked-pointer', profiles: ['generic-trigger-squeeze-thumbstick'],
    gripSpace: new Space(`grip:${side}`), targetRaySpace: new Space(`ray:${side}`), hand: null,
    gamepad: { mapping: 'xr-standard', get axes() { return S.hands[side].axes; }, buttons: [0, 1, 2, 3].map(() => ({ pressed: false, touched: false, value: 0 })) } });
  class Frame {
    constructor(session) { this.session = session; }
    getViewerPose() {
      const h = S.head;
      const canvas = document.querySelector('#stage canvas');
      const eyes = S.mono ? [['none', 0]] : [['left', -0.032], ['right', 0.032]];
      const aspect = (canvas.width / (S.mono ? 1 : 2)) / canvas.height;
      return { transform: transform(h.p, h.q), emulatedPosition: false,
        views: eyes.map(([eye, dx]) => { const o = rotate(h.q, [dx, 0, 0]); return { eye, projectionMatrix: projection(aspect), transform: transform([h.p[0] + o[0], h.p[1] + o[1], h.p[2] + o[2]], h.q) }; }) };
    }
    getPose(space) {
      const [part, side] = space.kind.split(':');
      const pose = S.hands[side]?.[part];
      return pose ? { transform: transform(pose.p, pose.q), emulatedPosition: false } : null;
    }
  }
  class Session extends EventTarget {
    constructor() { super(); this.renderState = { baseLayer: null, depthNear: 0.1, depthFar: 1000 }; this.inputSources = [];
      this.enabledFeatures = ['local-floor']; this.visibilityState = 'visible'; this.environmentBlendMode = 'opaque';
      this.callbacks = new Map(); this.nextId = 1; this.ended = false; this.lastFrame = new Frame(this); }
    updateRenderState(s) { Object.assign(this.renderState, s); }
    async requestReferenceSpace(type) { return new Space(type); }
    requestAnimationFrame(cb) {
      const id = this.nextId++;
      this.callbacks.set(id, cb);
      if (!this.pumping) { this.pumping = true; requestAnimationFrame((t) => this.pump(t)); }
      if (!this.inputSources.length) { // controllers connect once the session runs
        this.inputSources = [source('left'), source('right')];
        setTimeout(() => { const ev = new Event('inputsourceschange'); ev.added = this.inputSources; ev.removed = []; ev.session = this; this.dispatchEvent(ev); }, 0);
      }
      return id;
    }
    cancelAnimationFrame(id) { this.callbacks.delete(id); }
    pump(t) {
      this.pumping = false;
      if (this.ended) return;
      const cbs = [...this.callbacks.values()];
      this.callbacks.clear();
      const frame = new Frame(this);
      this.lastFrame = frame;
      S.frames += 1;
      for (const cb of cbs) cb(t, frame);
    }
    async end() { if (this.ended) return; this.ended = true; S.session = null; this.dispatchEvent(new Event('end')); }
  }
  S.select = (side) => {
    const s = S.session; if (!s) return false;
    const src = s.inputSources.find((x) => x.handedness === side);
    for (const type of ['selectstart', 'select', 'selectend']) { const ev = new Event(type); ev.inputSource = src; ev.frame = s.lastFrame; s.dispatchEvent(ev); }
    return true;
  };
  const xr = new EventTarget();
  xr.isSessionSupported = async (mode) => mode === 'immersive-vr';
  xr.requestSession = async (mode, init) => { S.requested = { mode, init }; S.session = new Session(); return S.session; };
  Object.defineProperty(navigator, 'xr', { value: xr, configurable: true });
})();
"""

POSE_HEAD = struct.Struct("<IB")
PART = struct.Struct("<hhhI")


def unpack_quat(u: int) -> tuple[float, float, float, float]:
    big = u >> 30
    q = [0.0, 0.0, 0.0, 0.0]
    rest = [i for i in range(4) if i != big]
    for i, shift in zip(rest, (20, 10, 0)):
        q[i] = ((u >> shift) & 1023) / 1023 * math.sqrt(2) - 1 / math.sqrt(2)
    q[big] = math.sqrt(max(0.0, 1 - sum(c * c for c in q)))
    return (q[0], q[1], q[2], q[3])


def decode_poses(raw: bytes) -> dict[int, dict[str, Any]]:
    """The tick's `pose` field (pose spec) -> {avatar id: {flags, head?, left?, right?}}."""
    out: dict[int, dict[str, Any]] = {}
    off = 0
    while off + POSE_HEAD.size <= len(raw):
        aid, flags = POSE_HEAD.unpack_from(raw, off)
        off += POSE_HEAD.size
        rec: dict[str, Any] = {"flags": flags}
        for name, bit in (("head", 1), ("left", 2), ("right", 4)):
            if flags & bit:
                x, y, z, q = PART.unpack_from(raw, off)
                off += PART.size
                rec[name] = (x / 100, y / 100, z / 100, unpack_quat(q))
        out[aid] = rec
    return out


def pose_records(v: Visitor, aid: int, since: int = 0) -> list[dict[str, Any]]:
    """Every pose record for avatar ``aid`` in ``v``'s ticks from index ``since``."""
    found = []
    for tick in v.ticks[since:]:
        raw = tick.get("pose")
        if raw:
            rec = decode_poses(bytes(raw)).get(aid)
            if rec is not None:
                found.append(rec)
    return found


async def vr_page(browser: Browser) -> ClientPage:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    await context.add_init_script(XR_MOCK)
    page = await context.new_page()
    cp = ClientPage(page)
    page.on("pageerror", lambda exc: cp.errors.append(f"{exc.name}: {exc.message}\n{exc.stack}"))
    page.on("console", lambda msg: cp.console.append(msg.text) if msg.type == "error" else None)
    return cp


async def walk_to(v: Visitor, start: list[float], goal: tuple[float, float], yaw: float = 0.0) -> list[float]:
    """Legal moves (≤ 4 m/s) from ``start`` to ``goal`` (x, z) for a Python visitor."""
    x, y, z = start
    steps = max(1, math.ceil(math.hypot(goal[0] - x, goal[1] - z) / 0.35))
    for k in range(1, steps + 1):
        px, pz = x + (goal[0] - x) * k / steps, z + (goal[1] - z) * k / steps
        await v.sio.emit("move", {"p": [px, y, pz], "yaw": yaw, "seq": k})
        await asyncio.sleep(0.09)
    return [goal[0], y, goal[1]]


def pose_landed() -> bool:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    return (root / "world" / "pose.py").exists() and "pose" in (root / "server" / "gateway.py").read_text()


async def aim_menu(cp: ClientPage, button: str) -> list[float]:
    """Point the right controller's ray at a wrist-menu button (tracking-space target)."""
    target: list[float] = await cp.page.evaluate(
        """(id) => {
          const xr = window.vetrina._debug.xr;
          const b = xr.menu.buttons.find((x) => x.id === id);
          const mesh = xr.menu.mesh, W = xr.menu.canvas.width, H = xr.menu.canvas.height;
          const w = mesh.geometry.parameters.width, h = mesh.geometry.parameters.height;
          const p = mesh.position.clone().set(((b.x + b.w / 2) / W - 0.5) * w, (0.5 - (b.y + b.h / 2) / H) * h, 0);
          mesh.localToWorld(p);
          xr.rig.worldToLocal(p);
          return [p.x, p.y, p.z];
        }""",
        button,
    )
    await cp.page.evaluate("(t) => window.__xr.aim('right', t)", target)
    await wait_page(cp, "v.vr.menu.hover === arg", button, timeout=3000)
    return target


async def test_vr_session_poses_locomotion_menu(live_server: Any, browser: Browser, visitors: list[Visitor], staff: list[StaffClient]) -> None:
    cp = await vr_page(browser)
    host = StaffClient("host", ["showroom"], name="Sara")
    staff.append(host)
    await host.connect(live_server.url)
    try:
        await open_client(cp, live_server.url, "Headset")
        await cp.page.wait_for_selector("#vr-btn", state="visible", timeout=10_000)
        me: int = await cp.vetrina("v.selfId")
        start = await cp.vetrina("v.self()")

        # A second visitor right next to the VR visitor (within the hands radius).
        watcher, ack = await visitor(live_server.url, "Watcher", visitors)
        wp = await walk_to(watcher, ack["you"]["p"], (start["x"] + 1.5, start["z"] + 0.5))

        await cp.page.click("#vr-btn")
        await wait_page(cp, "v.vr.presenting && v.vr.hands.length === 2 && v.vr.head", timeout=8000)
        assert await cp.page.evaluate("window.__xr.requested.init.optionalFeatures") == ["local-floor", "bounded-floor", "hand-tracking"]
        assert await cp.page.text_content("#vr-btn") == "Exit VR"
        # Head over the avatar at standing height; the desktop self avatar is hidden.
        vr = await cp.vetrina("v.vr")
        me_now = await cp.vetrina("v.self()")
        assert abs(vr["head"]["y"] - 1.6) < 0.05 and math.hypot(vr["head"]["x"] - me_now["x"], vr["head"]["z"] - me_now["z"]) < 0.3, vr

        # Poses go out at ≤ 20 Hz while presenting: wave the right hand, they follow.
        await cp.page.evaluate("window.__xr.hands.right.grip.p = [0.35, 1.7, -0.2]")
        await wait_page(cp, "v.vr.posesSent >= 5 && v.vr.lastPose && v.vr.lastPose.right && v.vr.lastPose.right[1] > 1.65", timeout=5000)
        sent = await cp.vetrina("v.vr.lastPose")
        assert sent["head"][1] == pytest.approx(1.6, abs=0.02) and len(sent["head"]) == 7 and "left" in sent
        n0 = await cp.vetrina("v.vr.posesSent")
        await asyncio.sleep(1.0)
        rate = await cp.vetrina("v.vr.posesSent") - n0
        assert rate <= 20, f"{rate} pose messages in 1 s"

        if pose_landed():  # the server relays them: the watcher decodes head and both hands
            async def seen() -> dict[str, Any] | None:
                for _ in range(60):
                    recs = [r for r in pose_records(watcher, me) if r["flags"] == 7]
                    if recs:
                        return recs[-1]
                    await asyncio.sleep(0.05)
                return None
            rec = await seen()
            assert rec is not None, "the watcher got no head+hands record for the VR visitor"
            assert rec["head"][1] == pytest.approx(1.6, abs=0.03)
            assert rec["right"][1] == pytest.approx(1.7, abs=0.03)
            assert abs(rec["head"][0]) < 0.3 and abs(rec["head"][2]) < 0.3

        # Smooth locomotion on the left stick (forward), legal: no correction.
        before = await cp.vetrina("v.self()")
        await cp.page.evaluate("window.__xr.hands.left.axes = [0, 0, 0, -1]")
        await asyncio.sleep(1.0)
        await cp.page.evaluate("window.__xr.hands.left.axes = [0, 0, 0, 0]")
        after = await cp.vetrina("v.self()")
        walked = math.hypot(after["x"] - before["x"], after["z"] - before["z"])
        assert walked > 0.8, f"the stick moved the avatar only {walked:.2f} m"
        assert await cp.vetrina("v.corrections") == 0
        vr = await cp.vetrina("v.vr")  # the head came along with the avatar
        assert math.hypot(vr["head"]["x"] - after["x"], vr["head"]["z"] - after["z"]) < 0.3

        # Snap turn on the right stick: 30° per flick.
        yaw0 = (await cp.vetrina("v.vr.rig"))["yaw"]
        await cp.page.evaluate("window.__xr.hands.right.axes = [0, 0, 1, 0]")
        await wait_page(cp, "Math.abs(v.vr.rig.yaw - arg) > 0.4", yaw0, timeout=3000)
        await cp.page.evaluate("window.__xr.hands.right.axes = [0, 0, 0, 0]")
        assert (await cp.vetrina("v.vr.rig"))["yaw"] == pytest.approx(yaw0 - math.pi / 6, abs=0.01)

        # The wrist menu: point the right ray at a reaction button and pull the trigger.
        # (the host's spotlight shows there too, as "On stage" with an add-to-cart button)
        emoji = (await cp.vetrina("v.reactions"))[0]
        await cp.page.evaluate("window.__xr.hands.left.grip.p = [-0.02, 1.22, -0.3]")  # wrist raised in front
        assert (await host.call("spotlight", {"room": "showroom", "product": "orbita-watch"}))["ok"]
        await wait_page(cp, "v.vr.menu.buttons.some((b) => b.id === 'spot:orbita-watch')", timeout=3000)
        target = await aim_menu(cp, f"react:{emoji}")
        # the VR view with the wrist menu (head tilted down to it), one eye full-frame, for a look
        await cp.page.evaluate(
            "(t) => { const x = window.__xr; x.mono = true; x.hands.right.grip.p = [0.2, 1.15, -0.3]; x.head.q = x.look(x.head.p, t); }", target
        )
        await asyncio.sleep(0.6)
        await cp.page.screenshot(path=SHOTS["menu"])
        await cp.page.evaluate("() => { const x = window.__xr; x.mono = false; x.head.q = [0, 0, 0, 1]; }")
        assert await cp.page.evaluate("window.__xr.select('right')")
        await wait_page(cp, "v.vr.menu.pressed.includes(arg)", f"react:{emoji}", timeout=3000)

        async def reacted() -> bool:
            for _ in range(60):
                for msg in watcher.events.get("reactions", []):
                    if (msg.get("counts") or {}).get(emoji):
                        return True
                await asyncio.sleep(0.05)
            return False
        assert await reacted(), "the wrist-menu reaction never reached the room"
        # The show's action from the wrist: the spotlighted product goes into the cart.
        await aim_menu(cp, "spot:orbita-watch")
        assert await cp.page.evaluate("window.__xr.select('right')")
        cart = await wait_page(cp, "v.cart.count >= 1 && v.cart", timeout=5000)
        assert any(i["product"] == "orbita-watch" for i in cart["items"]), cart

        # Teleport: point at the floor two metres ahead and select; the avatar walks there.
        await cp.page.evaluate("window.__xr.aim('right', [0.2, 0, -2.2])")
        await wait_page(cp, "v.vr.teleportAt", timeout=3000)
        goal = await cp.vetrina("v.vr.teleportAt")
        await cp.page.evaluate("window.__xr.select('right')")
        await wait_page(cp, "Math.hypot(v.self().x - arg.x, v.self().z - arg.z) < 0.3", goal, timeout=5000)
        assert await cp.vetrina("v.corrections") == 0

        # Leaving VR clears the pose: `{}` goes out and viewers show the plain avatar.
        mark = len(watcher.ticks)
        await cp.page.click("#vr-btn")
        await wait_page(cp, "!v.vr.presenting", timeout=3000)
        assert await cp.vetrina("v.vr.lastPose") == {}
        assert await cp.page.text_content("#vr-btn") == "Enter VR"
        if pose_landed():
            await asyncio.sleep(1.2)
            recs = pose_records(watcher, me, mark)
            assert recs and recs[-1]["flags"] == 0, recs[-3:]
        assert wp  # the watcher stood by
        assert watcher.corrections == []
        cp.assert_clean()
    finally:
        await cp.page.context.close()


async def test_desktop_sees_vr_head_and_hands(live_server: Any, client_page: ClientPage, visitors: list[Visitor]) -> None:
    cp = client_page
    await open_client(cp, live_server.url, "Desk")
    me = await cp.vetrina("v.self()")
    yaw = await cp.page.evaluate("window.vetrina._debug.controls.camYaw")
    # A VR visitor 2.5 m in front of the page's camera, facing it, waving both hands.
    vrv, ack = await visitor(live_server.url, "Quest", visitors)
    spot = (me["x"] - math.sin(yaw) * 2.5 + math.cos(yaw) * 1.1, me["z"] - math.cos(yaw) * 2.5 - math.sin(yaw) * 1.1)
    await walk_to(vrv, ack["you"]["p"], spot, yaw=yaw + math.pi)
    if not pose_landed():
        pytest.skip("the server does not relay `pose` yet (world/pose.py)")
    facing = [0.0, math.sin((yaw + math.pi) / 2), 0.0, math.cos((yaw + math.pi) / 2)]
    for k in range(16):
        lift = 0.15 * math.sin(k / 2)
        await vrv.sio.emit("pose", {
            "head": [0.0, 1.62, 0.0, *facing],
            "left": [-0.35, 1.45 + lift, 0.1, *facing],
            "right": [0.35, 1.75 - lift, 0.1, *facing],
        })
        await asyncio.sleep(0.06)
    aid = vrv.welcome["id"] if vrv.welcome else ack["you"]["id"]
    shown = await wait_page(cp, "(v.avatars().find((a) => a.id === arg) || {}).vr", aid, timeout=5000)
    assert shown["flags"] == 7 and shown["head"][1] == pytest.approx(1.39, abs=0.05)  # eye height on the figure's head
    assert shown["left"] is not None and shown["right"] is not None
    await cp.page.evaluate("() => { const c = window.vetrina._debug.controls; c.camDist = 3.2; c.camPitch = 0.2; }")
    await asyncio.sleep(0.6)
    await cp.page.screenshot(path=SHOTS["desktop"])
    # Cleared: the plain avatar again.
    await vrv.sio.emit("pose", {})
    await wait_page(cp, "!(v.avatars().find((a) => a.id === arg) || {}).vr", aid, timeout=3000)
    cp.assert_clean()


def pack_quat(q: tuple[float, float, float, float]) -> int:
    """Smallest three, as the pose spec packs it (the server's encoder is tested server side)."""
    n = math.sqrt(sum(c * c for c in q))
    c = [x / n for x in q]
    big = max(range(4), key=lambda i: abs(c[i]))
    sign = -1.0 if c[big] < 0 else 1.0
    out = big << 30
    for i, shift in zip([i for i in range(4) if i != big], (20, 10, 0)):
        out |= round((c[i] * sign + 1 / math.sqrt(2)) / math.sqrt(2) * 1023) << shift
    return out


async def test_pose_codec_in_browser(live_server: Any, client_page: ClientPage) -> None:
    """pose.js decodes records packed here by the spec, encodes them back byte for byte, and
    clamps what it sends into the ranges the server accepts."""
    cp = client_page
    await cp.page.goto(f"{live_server.url}/")
    half = math.sqrt(0.5)
    records = [
        (7, 7, [(0.1, 1.6, -0.05, (0.0, half, 0.0, half)), (-0.3, 1.2, -0.2, (0.2, 0.1, -0.3, 0.927)), (0.3, 1.3, -0.2, (0.0, 0.0, 0.0, 1.0))]),
        (4_000_000_000, 1, [(0.0, 1.7, 0.0, (0.0, 0.0, -0.6, -0.8))]),
        (9, 0, []),
        (12, 5, [(0.0, 1.5, 0.1, (1.0, 0.0, 0.0, 0.0)), (0.5, 1.0, -1.2, (0.5, 0.5, 0.5, 0.5))]),
    ]
    raw = b"".join(
        POSE_HEAD.pack(aid, flags) + b"".join(PART.pack(round(x * 100), round(y * 100), round(z * 100), pack_quat(q)) for x, y, z, q in parts)
        for aid, flags, parts in records
    )
    out = await cp.page.evaluate(
        """async (raw) => {
          const pose = await import('/static/core/pose.js');
          const tick = await import('/static/core/tick.js');
          const bytes = Uint8Array.from(raw);
          const recs = pose.decodePoses(bytes);
          // re-encoding what was decoded gives the same poses (to a quantisation step)
          const back = pose.decodePoses(pose.encodePoses(recs));
          let drift = back.length === recs.length ? 0 : Infinity;
          back.forEach((r, i) => { for (const n of ['head', 'left', 'right']) if (r[n] || recs[i][n]) {
            const a = r[n], b = recs[i][n];
            drift = Math.max(drift, ...[a.x - b.x, a.y - b.y, a.z - b.z, ...a.q.map((c, k) => c - b.q[k])].map(Math.abs));
          } });
          const again = pose.encodePoses(recs).length;
          const torn = pose.decodePoses(bytes.slice(0, bytes.length - 3)).length;
          const parsed = tick.parseTick({ t: 1, pos: new Uint8Array(0), pose: bytes }).pose.length;
          const sent = pose.wirePart('head', [2.0, 3.1, -0.4], [0, 0, 0, 2]);
          return { recs, again, drift, torn, parsed, sent };
        }""",
        list(raw),
    )
    recs = out["recs"]
    assert [(r["id"], r["flags"]) for r in recs] == [(a, f) for a, f, _ in records]
    for r, (_, flags, parts) in zip(recs, records):
        got = [r[name] for name, bit in (("head", 1), ("left", 2), ("right", 4)) if flags & bit]
        assert [name for name, bit in (("head", 1), ("left", 2), ("right", 4)) if not flags & bit] == [n for n in ("head", "left", "right") if r[n] is None]
        for g, (x, y, z, q) in zip(got, parts):
            assert (g["x"], g["y"], g["z"]) == pytest.approx((x, y, z), abs=0.006)
            qn = math.sqrt(sum(c * c for c in q))
            dot = abs(sum(a * b / qn for a, b in zip(g["q"], q)))  # q and -q are one rotation
            assert dot == pytest.approx(1.0, abs=2e-3), (g["q"], q)
    assert out["again"] == len(raw) and out["drift"] < 0.003, out["drift"]
    assert out["torn"] == 3 and out["parsed"] == 4
    assert out["sent"] == [1.0, 2.6, -0.4, 0, 0, 0, 1]
    cp.assert_clean()
