// Avatar meshes (a stylised mannequin: capsule body, head, accent scarf and visor) and the
// registry of remote avatars fed by ticks and rendered through interpolation. A look's `wear`
// (a product variant tried on, docs/protocol.md "Showroom commerce") shows on the figure: the
// digital mirror.
import * as THREE from 'three';
import { CSS2DObject } from 'three/addons/renderers/CSS2DRenderer.js';
import { Track } from './interp.js';
import { blobTexture, hexOr } from './textures.js';
import { quality, surface } from './quality.js';
import { Crowd } from './crowd.js';
import { avatarParts } from './avatarparts.js';

const projScreen = new THREE.Matrix4();
const viewFrustum = new THREE.Frustum();
const POSE_TTL_MS = 2000;
// The mannequin is shorter than people: eye height (~1.6 m) maps onto its head (1.39 m), hands
// keep their place relative to it.
const FIGURE_Y = 1.39 / 1.62; // a VR pose without records for this long is dropped (pose spec)

// Shared geometries (parts().geo) and materials (parts().headMat, parts().darkMat), created lazily.
const parts = avatarParts;
const shared = () => parts().geo;

// Body parts only (used by both visitors and the showroom's decorative mannequins).
// Local frame: feet at y=0, facing -z (yaw 0), as three.js object.rotation.y = yaw expects.
function figure(color, accent, { visor = true } = {}) {
  const g = shared(); // also creates the shared materials
  const root = new THREE.Group();
  const bodyMat = surface({ color, roughness: 0.55 });
  const accentMat = surface({ color: accent, roughness: 0.45 });
  const body = new THREE.Mesh(g.body, bodyMat);
  body.position.y = 0.57;
  const scarf = new THREE.Mesh(g.scarf, accentMat);
  scarf.rotation.x = Math.PI / 2;
  scarf.position.y = 1.12;
  const head = new THREE.Mesh(g.head, parts().headMat);
  head.position.y = 1.36;
  root.add(body, scarf, head);
  const arms = [-1, 1].map((side) => {
    const arm = new THREE.Mesh(g.arm, bodyMat);
    arm.position.set(side * 0.3, 1.02, 0);
    arm.rotation.z = side * 0.12;
    root.add(arm);
    return arm;
  });
  root.userData.arms = arms;
  if (visor) {
    const v = new THREE.Mesh(g.visor, parts().darkMat);
    v.position.set(0, 1.39, -0.16); // on the -z side: shows which way the avatar faces
    root.add(v);
    root.userData.visor = v;
  }
  for (const m of root.children) m.castShadow = true;
  root.userData.materials = [bodyMat, accentMat];
  root.userData.scarf = scarf;
  root.userData.head = head;
  return root;
}

// Decorative showroom mannequin on a small stand (static scenery on large stands).
export function makeMannequin(color, accent) {
  const g = shared();
  const root = new THREE.Group();
  const base = new THREE.Mesh(g.base, parts().darkMat);
  base.position.y = 0.015;
  const pole = new THREE.Mesh(g.stand, parts().darkMat);
  pole.position.y = 0.17;
  const fig = figure(color, accent, { visor: false });
  fig.position.y = 0.3;
  fig.scale.setScalar(0.95);
  root.add(base, pole, fig);
  return root;
}

export function lookColors(look) {
  return {
    color: hexOr(look?.color, '#6d7fa8'),
    accent: hexOr(look?.accent, '#f2c14e'),
  };
}

// Which part of the figure shows a product, from the wear's `kind` (the product's first tag).
const WEAR_PARTS = [
  ['shoes', /^(sneakers?|shoes?|scarpe|sandal[si]?|boots?|stivali)$/],
  ['bag', /^(bags?|borsa|borse|tote|backpack|zaino|clutch)$/],
  ['watch', /^(watch(es)?|orologi?o?|bracelet|bracciale)$/],
  ['glasses', /^(sunglasses|glasses|eyewear|occhiali)$/],
  ['jacket', /^(jackets?|giacca|giacche|coat|cappotto|blazer|shirt|camicia|sweater|maglia|dress|abito)$/],
  ['scarf', /^(scarf|scarves|foulard|sciarpa|sciarpe|stole)$/],
];

// A look's `wear`, validated: {product, variant, name, hex, kind, part} or null.
export function wearOf(look) {
  const w = look && typeof look === 'object' ? look.wear : null;
  if (!w || typeof w !== 'object') return null;
  const kind = typeof w.kind === 'string' ? w.kind.toLowerCase().slice(0, 32) : '';
  const part = (WEAR_PARTS.find(([, re]) => re.test(kind)) || ['band'])[0];
  return {
    product: typeof w.product === 'string' ? w.product.slice(0, 64) : '',
    variant: typeof w.variant === 'string' ? w.variant.slice(0, 64) : '',
    name: typeof w.name === 'string' ? w.name.slice(0, 80) : '',
    hex: hexOr(w.hex, '#b8893b'),
    kind,
    part,
  };
}

// A visitor avatar: figure + blob shadow + name tag (CSS2D, text only — names are untrusted).
export class Avatar {
  constructor(name, look, { self = false } = {}) {
    this.group = new THREE.Group();
    const { color, accent } = lookColors(look);
    this.look = { color, accent };
    this.body = figure(color, accent);
    this.group.add(this.body);
    this.blobMat = new THREE.MeshBasicMaterial({ map: blobTexture(), transparent: true, depthWrite: false });
    const blob = new THREE.Mesh(shared().blob, this.blobMat);
    blob.rotation.x = -Math.PI / 2;
    blob.position.y = 0.02;
    blob.renderOrder = 3;
    this.group.add(blob);
    this.tag = document.createElement('div');
    this.tag.className = self ? 'name-tag self' : 'name-tag';
    this.tag.textContent = name; // textContent, never innerHTML
    this.label = new CSS2DObject(this.tag);
    this.label.position.set(0, 1.85, 0);
    this.group.add(this.label);
    this.name = name;
    this.phase = Math.random() * 10;
    this.speed = 0;
    this.wear = null; // the validated look.wear shown on the figure
    this.wearMeshes = [];
    this.wearMat = null;
    this.setWear(wearOf(look));
  }

  setName(name) {
    this.name = name;
    this.tag.textContent = name;
  }

  setLook(look) {
    const { color, accent } = lookColors(look);
    const wear = wearOf(look);
    const same = (a, b) => (a ? `${a.product}/${a.variant}/${a.hex}/${a.part}` : '') === (b ? `${b.product}/${b.variant}/${b.hex}/${b.part}` : '');
    if (color === this.look.color && accent === this.look.accent && same(wear, this.wear)) return;
    this.look = { color, accent };
    this.setWear(wear);
    if (this.vr?.flags) this.showFigureParts(!this.vr.head.visible, !(this.vr.left.visible || this.vr.right.visible));
  }

  // The digital mirror: the variant tried on, on the matching part of the figure (a recoloured
  // jacket or scarf, shoes, a bag, a watch, sunglasses; a coloured band for anything else).
  setWear(wear) {
    const fig = this.body;
    const [bodyMat, accentMat] = fig.userData.materials;
    for (const m of this.wearMeshes) m.parent?.remove(m);
    this.wearMeshes = [];
    this.wearMat?.dispose();
    this.wearMat = null;
    bodyMat.color.set(this.look.color);
    accentMat.color.set(this.look.accent);
    if (fig.userData.visor) fig.userData.visor.visible = true;
    this.wear = wear;
    if (!wear) return;
    const g = shared();
    const mat = surface({ color: wear.hex, roughness: 0.45 });
    this.wearMat = mat;
    const add = (geometry, parent, x, y, z, setup = null) => {
      const m = new THREE.Mesh(geometry, mat);
      m.position.set(x, y, z);
      m.castShadow = true;
      setup?.(m);
      parent.add(m);
      this.wearMeshes.push(m);
      return m;
    };
    switch (wear.part) {
      case 'shoes':
        for (const side of [-1, 1]) add(g.shoe, fig, side * 0.12, 0.05, -0.05);
        break;
      case 'bag':
        add(g.bag, fig, 0.45, 0.6, 0.02);
        add(g.strap, fig, 0.42, 0.95, 0.02, (m) => { m.rotation.z = 0.1; });
        break;
      case 'watch':
        add(g.watch, fig.userData.arms[0], 0, -0.36, 0);
        break;
      case 'glasses':
        if (fig.userData.visor) fig.userData.visor.visible = false;
        add(g.glasses, fig, 0, 1.4, -0.17);
        break;
      case 'jacket':
        bodyMat.color.set(wear.hex); // body and arms share it
        add(g.collar, fig, 0, 1.07, 0, (m) => { m.rotation.x = Math.PI / 2; });
        break;
      case 'scarf':
        accentMat.color.set(wear.hex);
        add(g.tail, fig, -0.1, 0.92, -0.2, (m) => { m.rotation.x = -0.15; });
        break;
      default:
        add(g.band, fig, 0, 0.62, 0, (m) => { m.rotation.x = Math.PI / 2; });
    }
  }

  // What the figure shows of its wear, read back from the rendered materials (for tests).
  wearShown() {
    if (!this.wear || !this.wearMat) return null;
    return {
      product: this.wear.product, variant: this.wear.variant, name: this.wear.name, kind: this.wear.kind,
      part: this.wear.part, hex: `#${this.wearMat.color.getHexString()}`, meshes: this.wearMeshes.length,
      body: `#${this.body.userData.materials[0].color.getHexString()}`,
      accent: `#${this.body.userData.materials[1].color.getHexString()}`,
    };
  }

  // Place at pose; a little walk bob/sway when moving makes motion readable at a glance.
  pose(x, y, z, yaw, dt) {
    const p = this.group.position;
    const moved = dt > 0 ? Math.hypot(x - p.x, z - p.z) / dt : 0;
    this.speed += (moved - this.speed) * Math.min(1, dt * 10);
    p.set(x, y, z);
    this.group.rotation.y = yaw;
    const walking = Math.min(1, this.speed / 2);
    this.phase += dt * (4 + this.speed * 2);
    this.body.position.y = Math.abs(Math.sin(this.phase)) * 0.05 * walking;
    this.body.rotation.z = Math.sin(this.phase) * 0.04 * walking;
    const [left, right] = this.body.userData.arms;
    left.rotation.x = Math.sin(this.phase) * 0.6 * walking;
    right.rotation.x = -Math.sin(this.phase) * 0.6 * walking;
  }

  setLabelVisible(v) {
    this.label.visible = v;
  }

  // Crowd rendering (Crowd below) draws this avatar's figure and blob through instances.
  setInstanced(v) {
    this.instanced = v;
    this.body.visible = !v;
    this.group.children[1].visible = !v; // the blob shadow
  }

  // A VR visitor's head and hands (pose.js records; null: the plain avatar again). Offsets are
  // in room axes from the avatar's position, so the parts live in a group that undoes the yaw.
  setVr(rec) {
    if (!rec || !rec.flags) {
      if (this.vr) {
        this.vr.group.visible = false;
        this.vr.flags = 0;
        this.showFigureParts(true, true);
      }
      return;
    }
    if (!this.vr) this.vr = this.makeVr();
    const vr = this.vr;
    const fresh = !vr.group.visible;
    vr.group.visible = true;
    vr.flags = rec.flags;
    for (const name of ['head', 'left', 'right']) {
      const part = vr[name];
      const p = rec[name];
      part.visible = !!p;
      if (!p) continue;
      part.userData.to.set(p.x, p.y * FIGURE_Y, p.z);
      part.userData.toQ.set(p.q[0], p.q[1], p.q[2], p.q[3]);
      if (fresh || !part.userData.placed) {
        part.position.copy(part.userData.to);
        part.quaternion.copy(part.userData.toQ);
        part.userData.placed = true;
      }
    }
    this.showFigureParts(!rec.head, !(rec.left || rec.right));
  }

  showFigureParts(head, arms) {
    const u = this.body.userData;
    u.head.visible = head;
    if (u.visor) u.visor.visible = head && !(this.wear && this.wear.part === 'glasses');
    for (const m of this.wearMeshes) if (this.wear?.part === 'glasses') m.visible = head;
    for (const a of u.arms) a.visible = arms;
  }

  makeVr() {
    const g = shared();
    const group = new THREE.Group();
    const [bodyMat, accentMat] = this.body.userData.materials;
    const head = new THREE.Mesh(g.head, parts().headMat);
    const visor = new THREE.Mesh(g.visor, parts().darkMat);
    visor.position.set(0, 0.0, -0.16);
    visor.scale.set(1.1, 1.3, 1);
    head.add(visor);
    const hand = () => {
      const m = new THREE.Mesh(g.hand, bodyMat);
      m.add(new THREE.Mesh(g.cuff, accentMat));
      return m;
    };
    const vr = { group, head, left: hand(), right: hand(), flags: 0 };
    for (const part of [vr.head, vr.left, vr.right]) {
      part.userData.to = new THREE.Vector3();
      part.userData.toQ = new THREE.Quaternion();
      part.visible = false;
      group.add(part);
    }
    this.group.add(group);
    return vr;
  }

  // Ease the VR parts towards their latest record (ticks come at 10-20 Hz, frames faster).
  updateVr(dt) {
    const vr = this.vr;
    if (!vr || !vr.group.visible) return;
    vr.group.rotation.y = -this.group.rotation.y; // room axes, not the avatar's yaw
    const k = 1 - Math.exp(-dt * 18);
    for (const part of [vr.head, vr.left, vr.right]) {
      if (!part.visible) continue;
      part.position.lerp(part.userData.to, k);
      part.quaternion.slerp(part.userData.toQ, k);
    }
  }

  // What is shown of the VR parts: offsets in metres (room axes), for tests.
  vrShown() {
    const vr = this.vr;
    if (!vr || !vr.group.visible || !vr.flags) return null;
    const out = { flags: vr.flags };
    for (const name of ['head', 'left', 'right']) {
      const part = vr[name];
      out[name] = part.visible ? [part.position.x, part.position.y, part.position.z, ...part.quaternion.toArray()] : null;
    }
    return out;
  }

  dispose() {
    this.label.element.remove();
    for (const m of this.body.userData.materials) m.dispose();
    this.wearMat?.dispose();
    this.blobMat.dispose();
  }
}

// Remote avatars in view: enter/leave/records from ticks, poses from interpolation.
export class RemoteAvatars {
  constructor(parent, { tickMs = 100, delayMs = 100, maxDelayMs = 400 } = {}) {
    this.parent = parent;
    this.tickMs = tickMs;
    this.baseDelayMs = delayMs;
    this.maxDelayMs = maxDelayMs;
    this.lateMs = 0; // how long after its server time a tick typically gets processed here
    this.map = new Map(); // id -> {avatar, track, name, poses}
    // Render path: 'auto' draws far avatars through instances (crowd.js) on phones and software
    // WebGL, or anywhere once the crowd is big; 'full' / 'instanced' force one (measurements).
    this.mode = 'auto';
    this.crowd = new Crowd(parent);
    this.detailed = 0; // avatars drawn in full detail in the last frame
    this.instanced = 0; // ... and through instances
  }

  get lite() {
    if (this.mode !== 'auto') return this.mode === 'instanced';
    return quality.lite || this.map.size > 40;
  }

  // Render delay: ~100 ms on a healthy client, more when ticks reach us late (slow main
  // thread, jittery network). Rendering earlier than the newest sample we actually hold would
  // just freeze avatars on it and then make them jump, which looks worse than a bit more delay.
  get delayMs() {
    return Math.min(this.maxDelayMs, this.baseDelayMs + this.lateMs);
  }

  // Called per tick with (serverNow - tick.t): rises quickly, decays slowly (a jitter buffer).
  // One-off stalls (shader compiles, a GC pause) are clipped so they cannot max it out.
  noteLateness(ms) {
    const late = Math.min(300, Math.max(0, ms));
    const k = late > this.lateMs ? 0.25 : 0.03;
    this.lateMs += (late - this.lateMs) * k;
  }

  get size() { return this.map.size; }

  enter(id, name, look) {
    const cur = this.map.get(id);
    if (cur) { // re-enter (e.g. look changed): update in place, keep the track
      cur.avatar.setName(name);
      cur.avatar.setLook(look);
      cur.name = name;
      return;
    }
    const avatar = new Avatar(name, look);
    avatar.group.visible = false; // until its first position record
    this.parent.add(avatar.group);
    this.map.set(id, { id, name, avatar, track: new Track({ tickMs: this.tickMs }), poses: [], poseAt: 0 });
  }

  leave(id) {
    const e = this.map.get(id);
    if (!e) return;
    this.parent.remove(e.avatar.group);
    e.avatar.dispose();
    this.map.delete(id);
  }

  record(t, r) {
    let e = this.map.get(r.id);
    if (!e) { // a record without a prior enter (missed packet): show it rather than drop it
      this.enter(r.id, `#${r.id}`, {});
      e = this.map.get(r.id);
    }
    e.track.push(t, r.x, r.y, r.z, r.yaw);
  }

  // A VR pose record (pose.js) from a tick at server time t: shown when the interpolated
  // position reaches t, so head and hands stay on the body. Flags 0 clears it.
  pose(t, rec, now = performance.now()) {
    const e = this.map.get(rec.id);
    if (!e) return;
    e.poses.push({ t, rec });
    if (e.poses.length > 12) e.poses.splice(0, e.poses.length - 12);
    e.poseAt = now;
  }

  applyPose(e, rt, now) {
    let rec;
    while (e.poses.length && e.poses[0].t <= rt) rec = e.poses.shift().rec;
    if (rec) e.avatar.setVr(rec);
    // Records stopped coming (out of head range, a lost clear): the plain avatar again.
    else if (e.poseAt && now - e.poseAt > POSE_TTL_MS && e.avatar.vr?.flags) {
      e.poses.length = 0;
      e.avatar.setVr(null);
    }
  }

  clear() {
    for (const id of [...this.map.keys()]) this.leave(id);
  }

  // Interpolated pose of every avatar at render time rt (serverNow - delay).
  poses(rt) {
    const out = [];
    for (const e of this.map.values()) {
      const s = e.track.sample(rt);
      if (s) out.push({ id: e.id, name: e.name, x: s.x, y: s.y, z: s.z, yaw: s.yaw, wear: e.avatar.wearShown(), vr: e.avatar.vrShown(), instanced: !!e.avatar.instanced });
    }
    return out;
  }

  update(serverNow, dt, focus, now = performance.now()) {
    const rt = serverNow - this.delayMs;
    const lite = this.lite;
    const shown = [];
    for (const e of this.map.values()) {
      const s = e.track.sample(rt);
      if (!s) continue;
      e.track.trim(rt);
      const g = e.avatar.group;
      if (!g.visible) { g.visible = true; g.position.set(s.x, s.y, s.z); }
      e.avatar.pose(s.x, s.y, s.z, s.yaw, dt);
      this.applyPose(e, rt, now);
      e.avatar.updateVr(dt);
      e.dist = focus ? Math.hypot(s.x - focus.x, s.z - focus.z) : 0;
      shown.push(e);
    }
    // Full detail (figure, wear, name tag) for the nearest few; the rest through instances.
    const maxDetailed = lite ? (quality.lite ? 8 : 16) : Infinity;
    const detailM = lite ? (quality.lite ? 9 : 14) : Infinity;
    if (lite) shown.sort((a, b) => a.dist - b.dist);
    const flat = [];
    let detailed = 0;
    for (const e of shown) {
      const full = this.mode !== 'instanced' && detailed < maxDetailed && e.dist < detailM;
      if (full) detailed += 1;
      else flat.push(e.avatar);
      if (e.avatar.instanced !== !full) e.avatar.setInstanced(!full);
      // Name tags only nearby: a crowd of tags far away is noise and costs DOM work.
      e.avatar.setLabelVisible(full && e.dist < 22);
    }
    // Instanced avatars outside the view are left out (one draw call cannot be culled per
    // avatar by three.js); not in VR, where two eyes see more than the camera's frustum.
    let frustum = null;
    if (this.camera && !this.noCull) {
      const c = this.camera;
      c.updateMatrixWorld();
      projScreen.multiplyMatrices(c.projectionMatrix, c.matrixWorldInverse);
      frustum = viewFrustum.setFromProjectionMatrix(projScreen);
    }
    this.crowd.update(flat, frustum);
    this.detailed = detailed;
    this.instanced = flat.length;
    this.drawnInstanced = this.crowd.count;
  }
}
