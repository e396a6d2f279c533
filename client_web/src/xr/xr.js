// WebXR immersive-vr: the "Enter VR" button (only where the browser offers a headset), a
// head-tracked camera rig at the avatar, controller models built in code (no CDN for the
// webxr-input-profiles), teleport with the right controller's ray, smooth locomotion on the
// left stick and snap turn on the right, the wrist menu, and the `pose` messages (head and
// hands, docs/protocol.md "Pose extension (VR)") at up to 20 Hz while presenting.
//
// The server stays authoritative: the avatar moves only through the legal `move` path
// (core/movement.js: collision sliding, speed limits); the rig (the tracking space in the room) moves with it.
import * as THREE from 'three';
import { WristMenu } from './wristmenu.js';
import { wirePart } from '../core/pose.js';

const POSE_MIN_MS = 55; // ≤ 18 pose messages/s (the server allows 20/s)
const POSE_IDLE_MS = 1000; // resend an unchanged pose this often
const SNAP = Math.PI / 6; // 30° snap turns
const DEAD = 0.15; // stick dead zone
const FOLLOW_M = 0.25; // walking physically further than this from the avatar drags it along
const TELEPORT_MAX_M = 14;

function stick(gamepad) {
  const a = gamepad?.axes || [];
  // xr-standard: axes 2, 3 are the thumbstick (0, 1 the touchpad); some runtimes only send 0, 1
  const x = a.length >= 4 ? a[2] : a[0] || 0;
  const y = a.length >= 4 ? a[3] : a[1] || 0;
  return [Number.isFinite(x) ? x : 0, Number.isFinite(y) ? y : 0];
}

// A controller shape: handle, tracking ring, trigger (grip space: -z forward, +y up).
function controllerModel(accent) {
  const root = new THREE.Group();
  const dark = new THREE.MeshStandardMaterial({ color: '#26262b', roughness: 0.4, metalness: 0.2 });
  const light = new THREE.MeshStandardMaterial({ color: accent, roughness: 0.35, emissive: accent, emissiveIntensity: 0.25 });
  const handle = new THREE.Mesh(new THREE.CylinderGeometry(0.017, 0.022, 0.11, 14), dark);
  handle.rotation.x = Math.PI / 2 - 0.35;
  handle.position.set(0, -0.01, 0.03);
  const ring = new THREE.Mesh(new THREE.TorusGeometry(0.042, 0.006, 8, 28), light);
  ring.position.set(0, 0.025, -0.045);
  ring.rotation.x = -0.5;
  const trigger = new THREE.Mesh(new THREE.BoxGeometry(0.012, 0.025, 0.02), dark);
  trigger.position.set(0, -0.025, -0.03);
  const stickTop = new THREE.Mesh(new THREE.CylinderGeometry(0.008, 0.008, 0.008, 10), light);
  stickTop.position.set(0, 0.03, -0.005);
  root.add(handle, ring, trigger, stickTop);
  root.name = 'controller-model';
  return root;
}

function rayLine() {
  const g = new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(0, 0, 0), new THREE.Vector3(0, 0, -1)]);
  const line = new THREE.Line(g, new THREE.LineBasicMaterial({ color: '#f2c14e', transparent: true, opacity: 0.85 }));
  line.name = 'ray';
  return line;
}

export class XRClient {
  // opts: {renderer, scene, camera, app, link, selfAvatar() -> Avatar|null, pickables() -> [Object3D],
  //        walkTo(x, z), menuModel() -> WristMenu model, onStart(), onStop(), onError(text), buttonHost}
  constructor(opts) {
    Object.assign(this, opts);
    this.supported = false;
    this.session = null;
    this.presenting = false;
    this.rig = new THREE.Group();
    this.rig.name = 'xr-rig';
    this.hands = {}; // handedness -> {index, ctrl, grip, source}
    this.snapArmed = true;
    this.poseSent = { time: 0, sig: '' };
    this.posesSent = 0; // pose messages sent (tests)
    this.lastPose = null;
    this.teleportAt = null; // floor point the right ray points at
    this.menu = new WristMenu(() => this.menuModel());
    this.raycaster = new THREE.Raycaster();
    this.tmp = { m: new THREE.Matrix4(), p: new THREE.Vector3(), q: new THREE.Quaternion(), s: new THREE.Vector3(), d: new THREE.Vector3() };
    this.headWorld = { p: new THREE.Vector3(), q: new THREE.Quaternion(), yaw: 0, ok: false };
    this.reticle = new THREE.Mesh(
      new THREE.RingGeometry(0.22, 0.3, 32).rotateX(-Math.PI / 2),
      new THREE.MeshBasicMaterial({ color: '#f2c14e', transparent: true, opacity: 0.9, depthWrite: false }),
    );
    this.reticle.visible = false;
    this.button = null;
  }

  // Shows the button when an immersive-vr session is possible here.
  async init() {
    const xr = navigator.xr;
    if (!xr || typeof xr.isSessionSupported !== 'function' || !this.renderer) return false;
    try {
      this.supported = !!(await xr.isSessionSupported('immersive-vr'));
    } catch { this.supported = false; }
    if (!this.supported) return false;
    this.renderer.xr.enabled = true;
    this.setupControllers();
    const b = document.createElement('button');
    b.id = 'vr-btn';
    b.type = 'button';
    b.className = 'pill vr-btn';
    b.textContent = 'Enter VR';
    b.setAttribute('aria-label', 'Enter VR');
    b.addEventListener('click', () => (this.presenting ? this.exit() : this.enter()));
    this.buttonHost.append(b);
    this.button = b;
    xr.addEventListener?.('devicechange', async () => {
      const ok = await xr.isSessionSupported('immersive-vr').catch(() => false);
      b.hidden = !ok && !this.presenting;
    });
    return true;
  }

  setupControllers() {
    const xr = this.renderer.xr;
    for (const index of [0, 1]) {
      const ctrl = xr.getController(index);
      const grip = xr.getControllerGrip(index);
      const slot = { index, ctrl, grip, source: null, handedness: null, model: null, ray: null };
      ctrl.addEventListener('connected', (ev) => this.connect(slot, ev.data));
      ctrl.addEventListener('disconnected', () => this.disconnect(slot));
      ctrl.addEventListener('select', () => this.onSelect(slot));
      this.rig.add(ctrl, grip);
    }
  }

  connect(slot, source) {
    this.disconnect(slot);
    slot.source = source;
    slot.handedness = source?.handedness === 'left' ? 'left' : 'right';
    if (source?.targetRayMode === 'gaze' || source?.targetRayMode === 'screen') return;
    slot.model = controllerModel(slot.handedness === 'left' ? '#3fb6a8' : '#f2c14e');
    slot.grip.add(slot.model);
    if (slot.handedness === 'right') {
      slot.ray = rayLine();
      slot.ctrl.add(slot.ray);
    } else {
      slot.grip.add(this.menu.mesh);
    }
    this.hands[slot.handedness] = slot;
  }

  disconnect(slot) {
    if (slot.model) slot.grip.remove(slot.model);
    if (slot.ray) slot.ctrl.remove(slot.ray);
    if (this.menu.mesh.parent === slot.grip) slot.grip.remove(this.menu.mesh);
    if (slot.handedness && this.hands[slot.handedness] === slot) delete this.hands[slot.handedness];
    slot.model = null;
    slot.ray = null;
    slot.source = null;
  }

  async enter() {
    if (this.session || !navigator.xr) return false;
    let session;
    try {
      session = await navigator.xr.requestSession('immersive-vr', { optionalFeatures: ['local-floor', 'bounded-floor', 'hand-tracking'] });
    } catch (err) {
      this.onError?.(`Could not start VR: ${err?.message || err}`);
      return false;
    }
    this.session = session;
    const floor = !Array.isArray(session.enabledFeatures) || session.enabledFeatures.includes('local-floor');
    this.renderer.xr.setReferenceSpaceType(floor ? 'local-floor' : 'local');
    this.floorOffset = floor ? 0 : 1.6;
    session.addEventListener('end', () => this.onEnd());
    // The rig stands where the avatar stands, looking where the desktop camera looked.
    const s = this.app.self;
    this.rig.position.set(s.x, s.y + this.floorOffset, s.z);
    this.rig.rotation.set(0, this.startYaw?.() ?? s.yaw, 0);
    this.scene.add(this.rig, this.reticle);
    this.savedCamera = { parent: this.camera.parent, fov: this.camera.fov };
    this.camera.position.set(0, 0, 0);
    this.camera.quaternion.identity();
    this.rig.add(this.camera);
    this.presenting = true;
    this.poseSent = { time: 0, sig: '' };
    document.body.classList.add('in-vr');
    if (this.button) this.button.textContent = 'Exit VR';
    try {
      await this.renderer.xr.setSession(session);
    } catch (err) {
      this.onError?.(`Could not start VR: ${err?.message || err}`);
      session.end().catch(() => {});
      this.onEnd();
      return false;
    }
    this.onStart?.();
    return true;
  }

  exit() {
    if (!this.session) return;
    this.session.end().catch(() => this.onEnd());
  }

  onEnd() {
    if (!this.presenting) return;
    this.presenting = false;
    this.session = null;
    this.reticle.visible = false;
    this.rig.remove(this.camera);
    (this.savedCamera?.parent || this.scene).add(this.camera);
    this.scene.remove(this.rig, this.reticle);
    document.body.classList.remove('in-vr');
    if (this.button) this.button.textContent = 'Enter VR';
    // Viewers show the plain avatar again.
    if (this.link.send('pose', {})) this.posesSent += 1;
    this.lastPose = {};
    this.onStop?.();
  }

  // ------------------------------------------------------------------ per frame
  // Head pose in the room this frame (the viewer pose, between the eyes).
  readHead() {
    const h = this.headWorld;
    h.ok = false;
    const frame = this.renderer.xr.getFrame?.();
    const ref = this.renderer.xr.getReferenceSpace();
    const pose = frame && ref ? frame.getViewerPose(ref) : null;
    if (!pose) return h;
    const { m, s } = this.tmp;
    this.rig.updateMatrixWorld();
    m.fromArray(pose.transform.matrix).premultiply(this.rig.matrixWorld);
    m.decompose(h.p, h.q, s);
    const f = this.tmp.d.set(0, 0, -1).applyQuaternion(h.q);
    h.yaw = Math.atan2(-f.x, -f.z);
    h.ok = true;
    return h;
  }

  // Movement intent from the left stick, camera-relative like the keyboard (core/movement.js).
  input() {
    const left = this.hands.left?.source?.gamepad;
    const [x, y] = stick(left);
    const mag = Math.hypot(x, y);
    if (mag < DEAD) return { forward: 0, right: 0, run: false, active: false, yaw: this.headWorld.yaw };
    const k = Math.min(1, (mag - DEAD) / (1 - DEAD)) / mag;
    return { forward: -y * k, right: x * k, run: mag > 0.95, active: true, yaw: this.headWorld.yaw };
  }

  // Snap turn on the right stick: turn the rig about the head so the view pivots in place.
  snapTurn() {
    const [x] = stick(this.hands.right?.source?.gamepad);
    if (Math.abs(x) < 0.3) { this.snapArmed = true; return; }
    if (!this.snapArmed || Math.abs(x) < 0.7) return;
    this.snapArmed = false;
    const a = x > 0 ? -SNAP : SNAP;
    const h = this.headWorld.ok ? this.headWorld.p : this.rig.position;
    const dx = this.rig.position.x - h.x;
    const dz = this.rig.position.z - h.z;
    const c = Math.cos(a);
    const sn = Math.sin(a);
    this.rig.position.x = h.x + dx * c + dz * sn;
    this.rig.position.z = h.z - dx * sn + dz * c;
    this.rig.rotation.y += a;
  }

  // The avatar moved by (dx, dz) through a legal move: the tracking space goes along.
  shift(dx, dz) {
    this.rig.position.x += dx;
    this.rig.position.z += dz;
  }

  // Where walking physically has taken the head, relative to the avatar (room axes).
  headOffset() {
    const s = this.app.self;
    return this.headWorld.ok ? { x: this.headWorld.p.x - s.x, z: this.headWorld.p.z - s.z } : { x: 0, z: 0 };
  }

  // Before the avatar moves: head pose, snap turn.
  beforeMove() {
    this.readHead();
    this.snapTurn();
    this.readHead();
  }

  // After the avatar moved: rig height, menu and teleport rays, pose messages.
  afterMove(now) {
    this.rig.position.y = this.app.self.y + this.floorOffset;
    this.readHead();
    this.aim();
    this.menu.refresh();
    this.sendPose(now);
  }

  aim() {
    const slot = this.hands.right;
    this.teleportAt = null;
    this.reticle.visible = false;
    if (!slot?.ray) { this.menu.setHover(null); return; }
    const { m, p, d } = this.tmp;
    this.rig.updateMatrixWorld();
    m.multiplyMatrices(this.rig.matrixWorld, slot.ctrl.matrix);
    p.setFromMatrixPosition(m);
    d.set(0, 0, -1).transformDirection(m);
    this.raycaster.set(p, d);
    this.raycaster.far = TELEPORT_MAX_M + 2;
    let len = 5;
    let hover = null;
    if (this.menu.mesh.parent) {
      const hit = this.raycaster.intersectObject(this.menu.mesh, false)[0];
      if (hit) {
        hover = this.menu.buttonAt(hit.uv)?.id || null;
        len = hit.distance;
      }
    }
    this.menu.setHover(hover);
    if (!hover && len === 5) {
      const hit = this.raycaster.intersectObjects(this.pickables(), false)[0];
      const up = hit?.face ? this.tmp.s.copy(hit.face.normal).transformDirection(hit.object.matrixWorld).y : 0;
      if (hit && hit.distance <= TELEPORT_MAX_M && up > 0.5) { // floors, not walls
        this.teleportAt = { x: hit.point.x, z: hit.point.z };
        this.reticle.position.set(hit.point.x, hit.point.y + 0.03, hit.point.z);
        this.reticle.visible = true;
        len = hit.distance;
      } else if (hit) len = hit.distance;
    }
    slot.ray.scale.z = len;
  }

  onSelect(slot) {
    if (!this.presenting || slot.handedness !== 'right') return;
    this.aim();
    if (this.menu.hover) { this.menu.press(this.menu.hover); return; }
    // Teleport: walk there with legal moves (as click-to-walk does), a little faster.
    if (this.teleportAt) this.walkTo(this.teleportAt.x, this.teleportAt.z);
  }

  // `pose {head, left?, right?}`: offsets from the avatar's position, orientations in room axes.
  sendPose(now) {
    if (!this.headWorld.ok) return;
    const s = this.app.self;
    const h = this.headWorld;
    const msg = { head: wirePart('head', [h.p.x - s.x, h.p.y - s.y, h.p.z - s.z], h.q.toArray()) };
    const { m, p, q, s: sc } = this.tmp;
    for (const side of ['left', 'right']) {
      const slot = this.hands[side];
      if (!slot?.source || !slot.grip.visible) continue;
      m.multiplyMatrices(this.rig.matrixWorld, slot.grip.matrix);
      m.decompose(p, q, sc);
      msg[side] = wirePart(side, [p.x - s.x, p.y - s.y, p.z - s.z], q.toArray());
    }
    const sig = JSON.stringify(msg);
    const since = now - this.poseSent.time;
    if (since < POSE_MIN_MS || (sig === this.poseSent.sig && since < POSE_IDLE_MS)) return;
    if (this.link.send('pose', msg)) {
      this.poseSent = { time: now, sig };
      this.posesSent += 1;
      this.lastPose = msg;
    }
  }

  view() {
    const h = this.headWorld;
    return {
      supported: this.supported,
      presenting: this.presenting,
      button: !!this.button && !this.button.hidden,
      hands: Object.keys(this.hands).sort(),
      rig: { x: this.rig.position.x, y: this.rig.position.y, z: this.rig.position.z, yaw: this.rig.rotation.y },
      head: h.ok ? { x: h.p.x, y: h.p.y, z: h.p.z, yaw: h.yaw } : null,
      posesSent: this.posesSent,
      lastPose: this.lastPose,
      teleportAt: this.teleportAt,
      menu: this.menu.view(),
    };
  }
}
