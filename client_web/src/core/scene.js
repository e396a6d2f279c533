// Builds the three.js scene for a RoomInfo: floor, walls, stands, stage, props, zones, signs, lights.
import * as THREE from 'three';
import { mergeGeometries } from 'three/addons/utils/BufferGeometryUtils.js';
import { aoTexture, hexOr, luminance, shade, textTexture, tileTexture } from './textures.js';
import { makeMannequin } from './avatars.js';
import { surface, quality } from './quality.js';

function hash(str) {
  let h = 2166136261;
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 16777619);
  return h >>> 0;
}

function boxOf(c) {
  const [x0, y0, z0] = c.min;
  const [x1, y1, z1] = c.max;
  return { x0, y0, z0, x1, y1, z1, w: x1 - x0, h: y1 - y0, d: z1 - z0, cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, cz: (z0 + z1) / 2 };
}

// A billboard sign that always faces the camera: readable from any side of a stand.
export function makeSign(text, { bg = '#2b2b2b', color = '#ffffff', height = 0.55 } = {}) {
  const { texture, aspect } = textTexture(text, { bg, color, px: 72 });
  const mat = new THREE.SpriteMaterial({ map: texture, transparent: true, depthWrite: false });
  const sprite = new THREE.Sprite(mat);
  sprite.scale.set(height * aspect, height, 1);
  sprite.renderOrder = 5;
  return sprite;
}

// Flat text lying on the floor (zone names), readable when walking in from +z.
function floorText(text, color, height) {
  const { texture, aspect } = textTexture(text.toUpperCase(), { color, px: 96, weight: 700, padX: 0.2, padY: 0.1 });
  const mat = new THREE.MeshBasicMaterial({ map: texture, transparent: true, depthWrite: false, opacity: 0.55 });
  const mesh = new THREE.Mesh(new THREE.PlaneGeometry(height * aspect, height), mat);
  mesh.rotation.x = -Math.PI / 2;
  return mesh;
}

export function buildRoom(room) {
  const scene = room.scene || {};
  const group = new THREE.Group();
  group.name = `room:${room.id}`;
  const [lo, hi] = scene.bounds || room.bounds;
  const W = hi[0] - lo[0];
  const D = hi[2] - lo[2];
  const cx = (lo[0] + hi[0]) / 2;
  const cz = (lo[2] + hi[2]) / 2;
  const floorHex = hexOr(scene.floor_color, '#d9d4cc');
  const skyHex = hexOr(scene.sky_color, '#f3efe8');
  const dark = luminance(skyHex) < 0.25;
  const animated = [];
  const pickables = []; // what click/tap-to-walk raycasts against

  // --- floor: tiled plane sized to the bounds, plus an outer apron fading into the fog
  const tiles = tileTexture(floorHex, { tiles: 2 });
  tiles.repeat.set(W / 4, D / 4); // 2 m tiles (2 tiles per 4 m texture)
  const floor = new THREE.Mesh(
    new THREE.PlaneGeometry(W, D),
    surface({ map: tiles, roughness: dark ? 0.55 : 0.8, metalness: 0.0 }),
  );
  floor.rotation.x = -Math.PI / 2;
  floor.position.set(cx, 0, cz);
  floor.receiveShadow = true;
  floor.name = 'floor';
  group.add(floor);
  pickables.push(floor);

  // The apron has a hole where the floor is: no overdraw (fill rate is what software GPUs lack).
  const outer = new THREE.Shape();
  outer.moveTo(-W * 2.5, -D * 2.5); outer.lineTo(W * 2.5, -D * 2.5); outer.lineTo(W * 2.5, D * 2.5); outer.lineTo(-W * 2.5, D * 2.5);
  const hole = new THREE.Path();
  hole.moveTo(-W / 2, -D / 2); hole.lineTo(-W / 2, D / 2); hole.lineTo(W / 2, D / 2); hole.lineTo(W / 2, -D / 2);
  outer.holes.push(hole);
  const apron = new THREE.Mesh(new THREE.ShapeGeometry(outer), surface({ color: shade(skyHex, dark ? 0.04 : -0.06), roughness: 1 }));
  apron.rotation.x = -Math.PI / 2;
  apron.position.set(cx, -0.01, cz);
  group.add(apron);

  // --- zones: translucent floor patches with an outline and their name
  (scene.zones || []).forEach((zn, i) => {
    const b = boxOf(zn);
    const col = hexOr(zn.color, dark ? '#8a6cc9' : '#c9a66b');
    const y = 0.012 + i * 0.003;
    const patch = new THREE.Mesh(
      new THREE.PlaneGeometry(b.w, b.d),
      new THREE.MeshBasicMaterial({ color: col, transparent: true, opacity: zn.color ? 0.35 : 0.12, depthWrite: false }),
    );
    patch.rotation.x = -Math.PI / 2;
    patch.position.set(b.cx, y, b.cz);
    patch.renderOrder = 1;
    group.add(patch);
    const edge = new THREE.LineSegments(
      new THREE.EdgesGeometry(new THREE.PlaneGeometry(b.w, b.d)),
      new THREE.LineBasicMaterial({ color: shade(col, dark ? 0.2 : -0.25), transparent: true, opacity: 0.5 }),
    );
    edge.rotation.x = -Math.PI / 2;
    edge.position.set(b.cx, y + 0.001, b.cz);
    group.add(edge);
    if (zn.name) {
      const th = Math.min(0.9, Math.max(0.45, b.w / 18));
      const label = floorText(zn.name, dark ? '#ffffff' : shade(col, -0.55), th);
      label.position.set(b.cx, y + 0.002, b.z1 - Math.min(1.4, b.d * 0.15));
      label.renderOrder = 2;
      group.add(label);
    }
  });

  // --- colliders
  for (const c of scene.colliders || []) {
    const b = boxOf(c);
    const col = hexOr(c.color, '#b8b2a7');
    const kind = c.kind || 'wall';
    let mesh;
    if (kind === 'prop' && b.h > 2 * Math.max(b.w, b.d)) {
      // Tall, thin props (pillars) read better round; the collider stays the box.
      mesh = new THREE.Mesh(
        new THREE.CylinderGeometry(Math.min(b.w, b.d) / 2, Math.min(b.w, b.d) / 2, b.h, 24),
        surface({ color: col, roughness: 0.6 }),
      );
    } else {
      mesh = new THREE.Mesh(
        new THREE.BoxGeometry(b.w, b.h, b.d),
        surface({ color: col, roughness: kind === 'wall' ? 0.9 : 0.55, metalness: kind === 'stage' ? 0.1 : 0 }),
      );
    }
    mesh.position.set(b.cx, b.cy, b.cz);
    mesh.castShadow = true;
    mesh.receiveShadow = true;
    mesh.name = `collider:${c.id}`;
    if (kind === 'wall') mesh.userData.mergeable = true; // plain walls may share a draw call (still pickable)
    group.add(mesh);
    pickables.push(mesh);
    group.add(contactShadow(b, kind === 'wall' ? 0.35 : 0.6));

    if (kind === 'wall') {
      // Slim skirting along the base grounds the walls visually.
      const skirt = new THREE.Mesh(
        new THREE.BoxGeometry(b.w + 0.04, 0.14, b.d + 0.04),
        surface({ color: shade(col, -0.35), roughness: 0.7 }),
      );
      skirt.position.set(b.cx, b.y0 + 0.07, b.cz);
      group.add(skirt);
    }
    if (kind === 'stand') decorateStand(group, c, b, col);
    if (kind === 'stage') decorateStage(group, c, b, col, dark, animated, room);
    if (c.label) {
      const sign = makeSign(c.label, { bg: shade(col, kind === 'stage' ? 0.0 : -0.15), height: kind === 'stage' ? 1.3 : 0.85 });
      sign.position.set(b.cx, b.y1 + (kind === 'stage' ? 3.2 : 2.3), b.cz);
      group.add(sign);
    }
  }

  decorateWalls(group, room, scene, dark);
  // Static dressing that looks alike is drawn in one call (every tier: same materials, same look).
  mergeStatic(group, pickables);

  // --- lights: sky/ground fill + one shadow-casting sun that follows the player (see update)
  const hemi = new THREE.HemisphereLight(dark ? '#6a5a9a' : '#fffaf2', dark ? '#221a2a' : shade(floorHex, -0.3), dark ? 0.9 : 1.25);
  group.add(hemi);
  const sun = new THREE.DirectionalLight(dark ? '#c8b8ff' : '#fff1dc', dark ? 0.8 : 1.5);
  sun.castShadow = quality.shadows;
  sun.shadow.mapSize.set(quality.shadowMapSize, quality.shadowMapSize);
  const sc = sun.shadow.camera;
  sc.left = -30; sc.right = 30; sc.top = 30; sc.bottom = -30; sc.near = 1; sc.far = 120;
  sun.shadow.bias = -0.0008;
  sun.shadow.normalBias = 0.03;
  sun.shadow.radius = 3;
  group.add(sun);
  group.add(sun.target);
  const sunOffset = new THREE.Vector3(-18, 34, 22);

  return {
    group,
    floor,
    pickables,
    // CSS sky: a slightly deeper/warmer zenith fading to the fog colour at the horizon.
    sky: `linear-gradient(to bottom, ${shade(skyHex, dark ? -0.5 : -0.1)} 0%, ${skyHex} 45%, ${skyHex} 100%)`,
    fog: new THREE.Fog(skyHex, dark ? 45 : 60, dark ? 130 : 190),
    // Keep the shadow frustum centred on the player: crisp shadows without a huge shadow map.
    update(focus, t) {
      sun.target.position.copy(focus);
      sun.position.copy(focus).add(sunOffset);
      for (const fn of animated) fn(t);
    },
    dispose() {
      group.traverse((o) => {
        o.geometry?.dispose?.();
        const mats = Array.isArray(o.material) ? o.material : o.material ? [o.material] : [];
        for (const m of mats) { m.map?.dispose?.(); m.dispose(); }
      });
      sun.shadow.map?.dispose?.();
    },
  };
}

// Merge the room's static, non-interactive meshes that look the same (same material settings,
// same shadow flags and render order) into one mesh each, their transforms baked into the
// vertices: a showroom is ~250 meshes but only a few dozen distinct looks, and every mesh is a
// draw call. Kept as they are: the pickables (floor, stands, stage, props: raycast by tap-to-walk
// and VR teleport), anything named (the wheel, which shows/wheel/view3d.js replaces by name), anything
// animated (`userData.keep`: the LED screen), anything hidden and everything that is not a
// plain mesh (sprites, lights, lines).
// Plain walls (`userData.mergeable`) merge among themselves and the merged mesh takes their
// place in `pickables`: a ray hits the same surface at the same point.
// Transparent floor decals merge too: they share the colour and opacity of their group, so the
// blending order within a group does not change the picture.
function mergeStatic(group, pickables) {
  const picked = new Set(pickables);
  group.updateMatrixWorld(true);
  const toGroup = new THREE.Matrix4().copy(group.matrixWorld).invert();
  const buckets = new Map();
  const hex = (c) => (c ? c.getHexString() : '');
  group.traverse((o) => {
    const pick = picked.has(o);
    if (!o.isMesh || o.isInstancedMesh || o.isSkinnedMesh || o.userData.keep || !o.visible) return;
    if ((pick || o.name) && !o.userData.mergeable) return;
    for (let p = o.parent; p && p !== group; p = p.parent) if (picked.has(p) || p.name || !p.visible) return;
    const m = o.material, g = o.geometry;
    // (geometry groups only matter with an array of materials: one material draws them all)
    if (!m || Array.isArray(m) || Object.keys(g.morphAttributes).length) return;
    const attrs = Object.entries(g.attributes).map(([k, a]) => `${k}:${a.itemSize}:${a.normalized}:${a.array.constructor.name}`).sort().join(',');
    const key = [m.type, hex(m.color), hex(m.emissive), m.emissiveIntensity, m.roughness, m.metalness, m.map?.uuid, m.opacity, m.transparent,
      m.depthWrite, m.depthTest, m.side, m.fog, m.toneMapped, m.vertexColors, m.blending, o.castShadow, o.receiveShadow, o.renderOrder,
      o.frustumCulled, !!g.index, attrs, pick].join('|');
    if (!buckets.has(key)) buckets.set(key, []);
    buckets.get(key).push(o);
  });
  const m4 = new THREE.Matrix4();
  for (const meshes of buckets.values()) {
    if (meshes.length < 2) continue;
    const geos = meshes.map((o) => {
      const g = o.geometry.clone().applyMatrix4(m4.multiplyMatrices(toGroup, o.matrixWorld));
      g.clearGroups();
      return g;
    });
    const merged = mergeGeometries(geos, false);
    geos.forEach((g2) => g2.dispose());
    if (!merged) continue;
    const first = meshes[0];
    const mesh = new THREE.Mesh(merged, first.material);
    mesh.castShadow = first.castShadow;
    mesh.receiveShadow = first.receiveShadow;
    mesh.renderOrder = first.renderOrder;
    mesh.userData.merged = meshes.length;
    // The originals were never drawn (nothing on the GPU to free); mannequins share their
    // geometries and some materials with the avatars, so nothing is disposed here.
    for (const o of meshes) o.removeFromParent();
    if (picked.has(first)) {
      mesh.name = 'colliders:walls';
      pickables.splice(0, pickables.length, ...pickables.filter((o) => !meshes.includes(o)), mesh);
    }
    group.add(mesh);
  }
  // Mannequin roots left empty.
  for (const c of [...group.children]) if (c.isGroup && !c.children.length && !c.name) c.removeFromParent();
}

// Soft darkening on the floor around a box: grounds it even without shadow maps.
function contactShadow(b, margin) {
  const mesh = new THREE.Mesh(
    new THREE.PlaneGeometry(b.w + margin * 2.4, b.d + margin * 2.4),
    new THREE.MeshBasicMaterial({ map: aoTexture(), transparent: true, depthWrite: false, opacity: 0.8 }),
  );
  mesh.rotation.x = -Math.PI / 2;
  mesh.position.set(b.cx, 0.02, b.cz);
  mesh.renderOrder = 2;
  return mesh;
}

// Counter top plus products: mannequins on big islands, objects on plinths on small stands.
function decorateStand(group, c, b, col) {
  const h = hash(c.id);
  const top = new THREE.Mesh(
    new THREE.BoxGeometry(b.w + 0.08, 0.05, b.d + 0.08),
    surface({ color: '#f7f4ef', roughness: 0.35 }),
  );
  top.position.set(b.cx, b.y1 + 0.025, b.cz);
  top.castShadow = true;
  top.receiveShadow = true;
  group.add(top);
  const y = b.y1 + 0.05;
  if (b.w * b.d >= 60) {
    const palette = [col, shade(col, 0.35), shade(col, -0.3), '#e8d9c4', '#3b3b3b'];
    const n = Math.max(2, Math.floor(Math.min(b.w, b.d) / 4));
    let k = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const m = makeMannequin(palette[(k + h) % palette.length], palette[(k + h + 2) % palette.length]);
        m.position.set(b.x0 + (b.w * (i + 0.5)) / n, y, b.z0 + (b.d * (j + 0.5)) / n);
        m.rotation.y = Math.atan2(m.position.x - b.cx, m.position.z - b.cz) + Math.PI; // face outwards
        group.add(m);
        k++;
      }
    }
    return;
  }
  const long = b.w >= b.d ? 'x' : 'z';
  const len = long === 'x' ? b.w : b.d;
  const n = Math.max(2, Math.floor(len / 2));
  const plinthMat = surface({ color: '#ffffff', roughness: 0.4 });
  for (let i = 0; i < n; i++) {
    const t = (i + 0.5) / n - 0.5;
    const px = long === 'x' ? b.cx + t * b.w : b.cx;
    const pz = long === 'z' ? b.cz + t * b.d : b.cz;
    const plinth = new THREE.Mesh(new THREE.CylinderGeometry(0.28, 0.32, 0.22, 20), plinthMat);
    plinth.position.set(px, y + 0.11, pz);
    plinth.castShadow = true;
    group.add(plinth);
    const tone = shade(col, ((i + h) % 3) * 0.25 - 0.2);
    const mat = surface({ color: tone, roughness: 0.35, metalness: 0.15 });
    let geo;
    switch ((h + i) % 4) {
      case 0: geo = new THREE.SphereGeometry(0.2, 20, 14); break;
      case 1: geo = new THREE.TorusGeometry(0.17, 0.06, 12, 28); break;
      case 2: geo = new THREE.BoxGeometry(0.34, 0.26, 0.22); break;
      default: geo = new THREE.ConeGeometry(0.18, 0.4, 20); break;
    }
    const item = new THREE.Mesh(geo, mat);
    item.position.set(px, y + 0.22 + 0.22, pz);
    item.rotation.y = (h % 7) * 0.4 + i;
    item.castShadow = true;
    group.add(item);
  }
}

// A glowing front edge and a few coloured lights make a stage read as the focal point.
function decorateStage(group, c, b, col, dark, animated, room) {
  const strip = new THREE.Mesh(
    new THREE.BoxGeometry(b.w, 0.05, 0.06),
    new THREE.MeshBasicMaterial({ color: dark ? '#ff5fd2' : '#ffd9a0' }),
  );
  strip.position.set(b.cx, b.y1 + 0.03, b.z1 + 0.02);
  group.add(strip);
  if (room.kind === 'concert') {
    // An LED wall behind the stage: the brightest thing in a dark arena, slowly shifting colour.
    const [lo, hi] = room.scene.bounds;
    const back = Math.abs(b.z0 - lo[2]) < Math.abs(hi[2] - b.z1) ? b.z0 : b.z1; // stage edge nearest the wall
    const screen = new THREE.Mesh(new THREE.PlaneGeometry(b.w * 0.8, Math.min(6, b.w * 0.15)), new THREE.MeshBasicMaterial({ map: ledTexture(), toneMapped: false, fog: false }));
    screen.position.set(b.cx, b.y1 + 1 + screen.geometry.parameters.height / 2, back + (back === b.z0 ? 0.5 : -0.5));
    if (back !== b.z0) screen.rotation.y = Math.PI;
    screen.userData.keep = true; // animated: never merged (mergeStatic)
    group.add(screen);
    animated.push((t) => { screen.material.map.offset.x = (t * 0.00003) % 1; });
  }
  if (room.kind === 'wheel' && b.h > 4) {
    // The game-show wheel: a segmented disc on the stage's front face that slowly idles.
    const wheel = makeWheel(Math.min(b.w, b.h) * 0.45);
    wheel.name = 'stage-wheel'; // shows/wheel/view3d.js puts the live, in-sync wheel in its place
    wheel.position.set(b.cx, b.cy + b.h * 0.05, b.z1 + 0.05);
    group.add(wheel);
    animated.push((t) => { wheel.rotation.z = t * 0.0002; });
  } else if (b.w > 8 && b.d > 3) {
    // A runway / stage floor line down the middle.
    const line = new THREE.Mesh(
      new THREE.BoxGeometry(0.12, 0.01, b.d * 0.9),
      new THREE.MeshBasicMaterial({ color: dark ? '#8fd9ff' : '#f2e6d0' }),
    );
    line.position.set(b.cx, b.y1 + 0.006, b.cz);
    group.add(line);
  }
  if (dark) {
    const colors = ['#ff4fd8', '#4fd0ff', '#ffd24f'];
    colors.forEach((hex, i) => {
      const light = new THREE.PointLight(hex, 40, 40, 1.6);
      light.position.set(b.x0 + (b.w * (i + 0.5)) / colors.length, b.y1 + 5, b.z1 + 2);
      group.add(light);
      animated.push((t) => { light.intensity = 30 + 20 * Math.sin(t * 0.0015 + i * 2.1); });
    });
  }
}

function makeWheel(radius) {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 512;
  const ctx = canvas.getContext('2d');
  const seg = 24;
  const cols = ['#d4a017', '#7a1f3d', '#1f5f7a', '#2f7a3a', '#f4efe6'];
  for (let i = 0; i < seg; i++) {
    ctx.beginPath();
    ctx.moveTo(256, 256);
    ctx.arc(256, 256, 250, (i / seg) * Math.PI * 2, ((i + 1) / seg) * Math.PI * 2);
    ctx.closePath();
    ctx.fillStyle = cols[i % cols.length];
    ctx.fill();
    ctx.strokeStyle = '#f8e7b0';
    ctx.lineWidth = 3;
    ctx.stroke();
  }
  ctx.beginPath();
  ctx.arc(256, 256, 40, 0, Math.PI * 2);
  ctx.fillStyle = '#f8e7b0';
  ctx.fill();
  const tex = new THREE.CanvasTexture(canvas);
  tex.colorSpace = THREE.SRGBColorSpace;
  return new THREE.Mesh(new THREE.CircleGeometry(radius, 64), surface({ map: tex, roughness: 0.4, emissive: '#222222' }));
}

// Brand dressing on the walls (purely visual, flush with the wall so collisions are unchanged):
// the room's name on the wall facing the entrance and colour banners taken from the stands.
function decorateWalls(group, room, scene, dark) {
  const walls = (scene.colliders || []).filter((c) => (c.kind || 'wall') === 'wall').map((c) => ({ c, b: boxOf(c) }));
  if (!walls.length) return;
  const spawn = scene.spawn || [[0, 0, 0]];
  const sx = spawn.reduce((a, p) => a + p[0], 0) / spawn.length;
  const sz = spawn.reduce((a, p) => a + p[2], 0) / spawn.length;
  const [lo, hi] = scene.bounds;
  const rcx = (lo[0] + hi[0]) / 2;
  const rcz = (lo[2] + hi[2]) / 2;
  const palette = (scene.colliders || []).filter((c) => c.kind === 'stand').map((c) => hexOr(c.color, '#b8893b'));
  if (!palette.length) palette.push(dark ? '#7a3cff' : '#b8893b');

  // Each long wall face that looks into the room: {b, axis, normal sign, face coordinate}.
  const faces = [];
  for (const { c, b } of walls) {
    const alongX = b.w >= b.d;
    const len = alongX ? b.w : b.d;
    if (len < 8 || b.h < 3) continue;
    const outer = alongX ? Math.abs(b.cz - lo[2]) < 1 || Math.abs(b.cz - hi[2]) < 1 : Math.abs(b.cx - lo[0]) < 1 || Math.abs(b.cx - hi[0]) < 1;
    const toCentre = alongX ? Math.sign(rcz - b.cz) || 1 : Math.sign(rcx - b.cx) || 1;
    for (const n of outer ? [toCentre] : [1, -1]) faces.push({ c, b, alongX, len, n });
  }

  // Wordmark: on the face farthest from the spawn points, facing them.
  let best = null;
  for (const f of faces) {
    const d = Math.hypot(f.b.cx - sx, f.b.cz - sz);
    const facing = f.alongX ? Math.sign(sz - f.b.cz) === f.n : Math.sign(sx - f.b.cx) === f.n;
    if (facing && f.len >= 20 && (!best || d > best.d)) best = { ...f, d };
  }
  if (best) {
    const title = String(room.name || 'Vetrina').split(/\s[—–-]\s/)[0];
    const { texture, aspect } = textTexture(title.toUpperCase(), { color: dark ? '#f3e6ff' : '#7a5a2a', px: 120, weight: 700, padX: 0.15, padY: 0.05 });
    const h = Math.min(1.2, best.b.h * 0.28);
    const w = Math.min(h * aspect, best.len * 0.6);
    const mesh = new THREE.Mesh(new THREE.PlaneGeometry(w, w / aspect), new THREE.MeshBasicMaterial({ map: texture, transparent: true, depthWrite: false }));
    placeOnFace(mesh, best, best.alongX ? best.b.cx : best.b.cz, best.b.y0 + best.b.h * 0.7);
    group.add(mesh);
    best.skip = best.alongX ? [best.b.cx - w / 2 - 1, best.b.cx + w / 2 + 1] : [best.b.cz - w / 2 - 1, best.b.cz + w / 2 + 1];
    faces.forEach((f) => { if (f.c === best.c && f.n === best.n) f.skip = best.skip; });
  }

  // Banners every ~10 m along each face.
  const bw = 1.3;
  const bh = Math.min(2.6, 0.65 * faces[0]?.b.h || 2.6);
  let k = 0;
  for (const f of faces) {
    const start = f.alongX ? f.b.x0 : f.b.z0;
    const n = Math.floor(f.len / 10);
    for (let i = 0; i < n; i++) {
      const along = start + (f.len * (i + 0.5)) / n;
      if (f.skip && along > f.skip[0] && along < f.skip[1]) continue;
      const col = palette[k++ % palette.length];
      const mesh = new THREE.Mesh(new THREE.PlaneGeometry(bw, bh), surface({ map: bannerTexture(col), roughness: 0.8 }));
      placeOnFace(mesh, f, along, f.b.y0 + f.b.h - 0.35 - bh / 2);
      group.add(mesh);
    }
  }
}

function placeOnFace(mesh, f, along, y) {
  const off = 0.03;
  if (f.alongX) {
    mesh.position.set(along, y, f.n > 0 ? f.b.z1 + off : f.b.z0 - off);
    mesh.rotation.y = f.n > 0 ? 0 : Math.PI;
  } else {
    mesh.position.set(f.n > 0 ? f.b.x1 + off : f.b.x0 - off, y, along);
    mesh.rotation.y = f.n > 0 ? Math.PI / 2 : -Math.PI / 2;
  }
}

const bannerCache = new Map();
function bannerTexture(hex) {
  if (bannerCache.has(hex)) return bannerCache.get(hex);
  const canvas = document.createElement('canvas');
  canvas.width = 128;
  canvas.height = 256;
  const ctx = canvas.getContext('2d');
  const g = ctx.createLinearGradient(0, 0, 0, 256);
  g.addColorStop(0, shade(hex, 0.12));
  g.addColorStop(1, shade(hex, -0.18));
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, 128, 256);
  ctx.strokeStyle = 'rgba(255,255,255,0.55)';
  ctx.lineWidth = 3;
  ctx.strokeRect(10, 10, 108, 236);
  ctx.fillStyle = 'rgba(255,255,255,0.85)';
  ctx.font = '700 64px "DejaVu Serif", Georgia, serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText('V', 64, 110);
  ctx.fillRect(44, 160, 40, 3);
  const tex = new THREE.CanvasTexture(canvas);
  tex.colorSpace = THREE.SRGBColorSpace;
  bannerCache.set(hex, tex);
  return tex;
}

function ledTexture() {
  const canvas = document.createElement('canvas');
  canvas.width = 512;
  canvas.height = 64;
  const ctx = canvas.getContext('2d');
  const g = ctx.createLinearGradient(0, 0, 512, 0);
  ['#ff2fb4', '#7a3cff', '#1fb8ff', '#7a3cff', '#ff2fb4'].forEach((c, i, a) => g.addColorStop(i / (a.length - 1), c));
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, 512, 64);
  ctx.fillStyle = 'rgba(0,0,0,0.35)'; // LED pixel grid
  for (let x = 0; x < 512; x += 4) ctx.fillRect(x, 0, 1, 64);
  for (let y = 0; y < 64; y += 4) ctx.fillRect(0, y, 512, 1);
  const tex = new THREE.CanvasTexture(canvas);
  tex.colorSpace = THREE.SRGBColorSpace;
  tex.wrapS = THREE.RepeatWrapping;
  return tex;
}
