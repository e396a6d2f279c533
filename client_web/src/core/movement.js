// Our own avatar's motion: keyboard / joystick / VR stick input or a click-to-walk target,
// collision sliding, the moves sent to the server (throttled), and the follow camera.
import * as THREE from 'three';
import { segmentHit, stepMove } from './collide.js';
import { lerpAngle, wrapAngle } from './interp.js';

const SEND_INTERVAL_MS = 75; // ≤ ~13 moves/s while moving (protocol allows 20/s)

export class Motion {
  // xr: set once the VR client exists (xr/index.js)
  constructor({ app, gfx, controls, hud }) {
    Object.assign(this, { app, gfx, controls, hud, xr: null });
    this.target = null; // click/tap-to-walk destination {x, z, run}
    this.stuck = { t: 0, x: 0, z: 0 };
    this.lastSent = { x: NaN, y: NaN, z: NaN, yaw: NaN, time: 0 };
    this.ignoreCorrectUpTo = 0;
    this.snapCamera = true;
    this.raycaster = new THREE.Raycaster();
    this.focus = new THREE.Vector3();
    this.desired = new THREE.Vector3();
  }

  stop() {
    this.target = null;
    this.gfx.marker.visible = false;
  }

  // The server placed us (join, correction): what we sent before `seq` no longer counts.
  placed(seq) {
    this.lastSent = { ...this.app.self, time: performance.now() };
    this.ignoreCorrectUpTo = seq;
    this.stop();
  }

  // Start looking into the room (from the spawn towards the room's centre), whatever the
  // avatar's spawn yaw: the first view should show the showroom, not the entrance wall.
  faceRoom(room, p, yaw) {
    const [lo, hi] = room.bounds || room.scene.bounds;
    const ax = p[0] - (lo[0] + hi[0]) / 2;
    const az = p[2] - (lo[2] + hi[2]) / 2;
    this.controls.camYaw = Math.hypot(ax, az) > 2 ? Math.atan2(ax, az) : yaw;
    this.snapCamera = true;
  }

  // A click or tap on the floor (or a stand: collision sliding stops us at its edge).
  walkToPointer(clientX, clientY) {
    const { app, gfx } = this;
    if (!app.built || !app.net || app.net.state !== 'joined') return;
    const rect = gfx.surface.getBoundingClientRect();
    const ndc = new THREE.Vector2(((clientX - rect.left) / rect.width) * 2 - 1, -((clientY - rect.top) / rect.height) * 2 + 1);
    this.raycaster.setFromCamera(ndc, gfx.camera);
    const hit = this.raycaster.intersectObjects(app.built.pickables, false)[0];
    if (hit) this.walkTo(hit.point.x, hit.point.z);
  }

  // Walk towards (x, z) in a straight line (run: faster).
  walkTo(x, z, { run = false } = {}) {
    if (!Number.isFinite(x) || !Number.isFinite(z)) return false;
    const s = this.app.self;
    this.target = run ? { x, z, run } : { x, z };
    this.stuck = { t: performance.now(), x: s.x, z: s.z };
    this.gfx.marker.position.set(x, 0.03, z);
    this.gfx.marker.visible = true;
    return true;
  }

  speeds() {
    const max = this.app.room?.max_speed || 6;
    return { walk: Math.min(4, max * 0.7), run: max * 0.9 };
  }

  // The direction and speed we want this frame: from input, else towards the target.
  intent(input, dt, now, vr) {
    const { walk, run } = this.speeds();
    const s = this.app.self;
    let speed = input.run || (!input.active && this.target?.run) ? run : walk;
    if (input.active) {
      this.hud.hideHint();
      this.stop();
      const cy = vr ? input.yaw : this.controls.camYaw;
      // Camera-relative: forward is away from the camera, right is the camera's right.
      speed *= Math.min(1, Math.hypot(input.forward, input.right));
      return { dx: -Math.sin(cy) * input.forward + Math.cos(cy) * input.right, dz: -Math.cos(cy) * input.forward - Math.sin(cy) * input.right, speed };
    }
    if (!this.target) return { dx: 0, dz: 0, speed };
    const tx = this.target.x - s.x;
    const tz = this.target.z - s.z;
    const d = Math.hypot(tx, tz);
    if (d < 0.08) { this.stop(); return { dx: 0, dz: 0, speed }; }
    // Blocked (e.g. walked into a stand): give up rather than push against it forever.
    if (now - this.stuck.t > 500) {
      if (Math.hypot(s.x - this.stuck.x, s.z - this.stuck.z) < walk * 0.1) this.stop();
      this.stuck = { t: now, x: s.x, z: s.z };
    }
    return { dx: tx / d, dz: tz / d, speed: Math.min(speed, d / dt) };
  }

  update(dt, now) {
    const { app, xr } = this;
    if (!app.world || app.net?.state !== 'joined') return;
    const vr = xr.presenting;
    const input = vr ? xr.input() : this.controls.read(dt);
    if (vr) this.controls.read(dt); // keeps the keyboard state consistent; VR walks with the stick
    const { dx, dz, speed } = this.intent(input, dt, now, vr);
    const s = app.self;
    const len = Math.hypot(dx, dz);
    let budget = this.speeds().run * dt; // what one frame may move in all, whatever moves us (speed limit)
    if (len > 1e-6) {
      const step = Math.min(speed * dt, budget);
      const next = stepMove(app.world, s, (dx / len) * step, (dz / len) * step);
      if (vr) xr.shift(next.x - s.x, next.z - s.z); // the tracking space comes along
      budget -= Math.hypot(next.x - s.x, next.z - s.z);
      s.x = next.x;
      s.z = next.z;
      s.yaw = lerpAngle(s.yaw, Math.atan2(-dx, -dz), 1 - Math.exp(-dt * 12)); // yaw 0 faces -z
    }
    if (vr) this.followHead(budget);
    this.sendMove(now);
  }

  // Walking around the play space drags the avatar along (legal steps, colliders respected),
  // so the head stays over the body; the avatar faces where the head looks.
  followHead(budget) {
    const { app, xr } = this;
    const off = xr.headOffset();
    const d = Math.hypot(off.x, off.z);
    if (d > 0.25 && budget > 1e-4) {
      const step = Math.min(d - 0.2, budget);
      const next = stepMove(app.world, app.self, (off.x / d) * step, (off.z / d) * step);
      app.self.x = next.x;
      app.self.z = next.z;
    }
    if (xr.headWorld.ok) app.self.yaw = xr.headWorld.yaw;
  }

  // Send when something changed, at most every SEND_INTERVAL_MS; this also sends the final
  // resting pose right after we stop.
  sendMove(now) {
    const s = this.app.self;
    const ls = this.lastSent;
    const changed = !(Math.abs(ls.x - s.x) < 0.005 && Math.abs(ls.z - s.z) < 0.005 && Math.abs(wrapAngle(ls.yaw - s.yaw)) < 0.01);
    if (!changed || now - ls.time < SEND_INTERVAL_MS) return;
    const yaw = wrapAngle(s.yaw);
    if (this.app.net.sendMove([s.x, s.y, s.z], yaw) !== null) this.lastSent = { x: s.x, y: s.y, z: s.z, yaw, time: now };
  }

  // The follow camera; never ends up behind a wall (pulled in front of it).
  updateCamera(dt) {
    const { app, controls, focus, desired } = this;
    const camera = this.gfx.camera;
    focus.set(app.self.x, app.self.y + 1.5, app.self.z);
    const cp = controls.camPitch;
    const cy = controls.camYaw;
    const d = controls.camDist;
    desired.set(focus.x + Math.sin(cy) * Math.cos(cp) * d, focus.y + Math.sin(cp) * d, focus.z + Math.cos(cy) * Math.cos(cp) * d);
    let pulledIn = false;
    if (app.world) {
      const t = segmentHit(app.world, [focus.x, focus.y, focus.z], [desired.x, desired.y, desired.z]);
      if (t < 1) {
        desired.sub(focus).multiplyScalar(Math.max(0.05, t - 0.04)).add(focus);
        pulledIn = true;
      }
    }
    if (this.snapCamera) { camera.position.copy(desired); this.snapCamera = false; }
    else camera.position.lerp(desired, 1 - Math.exp(-dt * 10));
    // While pulled in, do not lag behind the limit (the lag would show the wall's back side).
    if (pulledIn && camera.position.distanceTo(focus) > desired.distanceTo(focus)) camera.position.copy(desired);
    // Aim a little above the head so the room ahead, not the floor, fills the view.
    camera.lookAt(focus.x, focus.y + 0.6, focus.z);
  }

  feature() {
    const motion = this;
    return {
      name: 'movement',
      facade: {
        walkTo: (x, z, opts) => motion.walkTo(x, z, opts),
        get walking() { return !!motion.target; },
      },
    };
  }
}
