// The light render path for crowds: every avatar that is not drawn in full detail (far ones,
// or all but the nearest few on phones and software WebGL) is drawn through one InstancedMesh
// per figure part — body, head, scarf, visor, arms, blob shadow: six draw calls for hundreds
// of avatars instead of seven or more each. Wear shows as colours only (a jacket recolours the
// body, a scarf the accent); VR heads sit where their pose puts them.
import * as THREE from 'three';
import { avatarParts } from './avatarparts.js';
import { blobTexture } from './textures.js';
import { surface } from './quality.js';

const m4 = () => new THREE.Matrix4();
const base = m4();
const local = m4();
const out = m4();
const q = new THREE.Quaternion();
const e = new THREE.Euler();
const v = new THREE.Vector3();
const one = new THREE.Vector3(1, 1, 1);
const color = new THREE.Color();
const HALF_PI = Math.PI / 2;
const sphere = new THREE.Sphere(new THREE.Vector3(), 1.2); // an avatar's bounds, with margin

function fixed(x, y, z, rx = 0, ry = 0, rz = 0) {
  return m4().compose(new THREE.Vector3(x, y, z), new THREE.Quaternion().setFromEuler(new THREE.Euler(rx, ry, rz)), one);
}
const SCARF = fixed(0, 1.12, 0, HALF_PI);
const HEAD = fixed(0, 1.36, 0);
const VISOR = fixed(0, 1.39, -0.16);
const BLOB = fixed(0, 0.02, 0, -HALF_PI);

export class Crowd {
  constructor(parent) {
    this.parent = parent;
    this.capacity = 0;
    this.meshes = null;
    this.count = 0;
  }

  // Lower-poly copies of the figure's parts: instanced avatars are the far ones (and vertex
  // work is what a phone GPU or software WebGL pays for hundreds of figures).
  static geometry() {
    if (Crowd.geo) return Crowd.geo;
    const { geo } = avatarParts();
    const arm = new THREE.CapsuleGeometry(0.065, 0.42, 2, 6);
    arm.translate(0, -0.21, 0);
    Crowd.geo = {
      body: new THREE.CapsuleGeometry(0.24, 0.6, 3, 10),
      arm,
      head: new THREE.SphereGeometry(0.19, 12, 8),
      scarf: new THREE.TorusGeometry(0.17, 0.055, 5, 14),
      visor: geo.visor,
      blob: geo.blob,
    };
    return Crowd.geo;
  }

  build(capacity) {
    this.dispose();
    const { headMat, darkMat } = avatarParts();
    const geo = Crowd.geometry();
    this.bodyMat = this.bodyMat || surface({ color: '#ffffff', roughness: 0.55 });
    this.accentMat = this.accentMat || surface({ color: '#ffffff', roughness: 0.45 });
    this.blobMat = this.blobMat || new THREE.MeshBasicMaterial({ map: blobTexture(), transparent: true, depthWrite: false });
    const make = (g, mat, n, colored = false) => {
      const mesh = new THREE.InstancedMesh(g, mat, n);
      mesh.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
      mesh.frustumCulled = false; // instances move every frame; the bounds would go stale
      mesh.count = 0;
      if (colored) { // instanceColor must exist before the first render (a shader define)
        for (let i = 0; i < n; i++) mesh.setColorAt(i, color.set('#ffffff'));
        mesh.instanceColor.setUsage(THREE.DynamicDrawUsage);
      }
      this.parent.add(mesh);
      return mesh;
    };
    this.meshes = {
      body: make(geo.body, this.bodyMat, capacity, true),
      arms: make(geo.arm, this.bodyMat, capacity * 2, true),
      scarf: make(geo.scarf, this.accentMat, capacity, true),
      head: make(geo.head, headMat, capacity),
      visor: make(geo.visor, darkMat, capacity),
      blob: make(geo.blob, this.blobMat, capacity),
    };
    this.meshes.blob.renderOrder = 3;
    this.capacity = capacity;
  }

  get drawCalls() { return this.meshes ? Object.values(this.meshes).filter((m) => m.count > 0).length : 0; }

  // avatars: Avatar objects already posed this frame (Avatar.pose) and marked instanced;
  // frustum: the camera's (avatars outside it are left out), or null to draw them all.
  update(all, frustum = null) {
    let avatars = all;
    if (frustum) {
      avatars = [];
      for (const a of all) {
        sphere.center.copy(a.group.position);
        sphere.center.y += 0.9;
        if (frustum.intersectsSphere(sphere)) avatars.push(a);
      }
    }
    const n = avatars.length;
    if (n > this.capacity) this.build(Math.max(64, 2 ** Math.ceil(Math.log2(n))));
    if (!this.meshes) return;
    const M = this.meshes;
    let visors = 0;
    for (let i = 0; i < n; i++) {
      const a = avatars[i];
      const g = a.group;
      base.makeRotationY(g.rotation.y).setPosition(g.position);
      const body = a.body;
      // body: bob and sway as Avatar.pose set them on the (hidden) figure
      e.set(0, 0, body.rotation.z);
      local.compose(v.set(0, 0.57 + body.position.y, 0), q.setFromEuler(e), one);
      M.body.setMatrixAt(i, out.multiplyMatrices(base, local));
      M.scarf.setMatrixAt(i, out.multiplyMatrices(base, SCARF));
      M.blob.setMatrixAt(i, out.multiplyMatrices(base, BLOB));
      const [armL, armR] = body.userData.arms;
      const arms = armL.visible;
      for (const [k, arm] of [[0, armL], [1, armR]]) {
        if (arms) {
          e.set(arm.rotation.x, 0, arm.rotation.z);
          local.compose(arm.position, q.setFromEuler(e), one);
          out.multiplyMatrices(base, local);
        } else out.makeScale(0, 0, 0); // VR hands replace the arms
        M.arms.setMatrixAt(i * 2 + k, out);
      }
      const wear = a.wear;
      M.body.setColorAt(i, color.set(wear?.part === 'jacket' ? wear.hex : a.look.color));
      M.arms.setColorAt(i * 2, color);
      M.arms.setColorAt(i * 2 + 1, color);
      M.scarf.setColorAt(i, color.set(wear?.part === 'scarf' ? wear.hex : a.look.accent));
      const vrHead = a.vr && a.vr.group.visible && a.vr.head.visible ? a.vr.head : null;
      if (vrHead) { // the pose's head; its own mesh is drawn by the avatar (a few, nearby)
        M.head.setMatrixAt(i, out.makeScale(0, 0, 0));
        continue;
      }
      M.head.setMatrixAt(i, out.multiplyMatrices(base, HEAD));
      M.visor.setMatrixAt(visors++, out.multiplyMatrices(base, VISOR));
    }
    for (const key of ['body', 'scarf', 'head', 'blob']) M[key].count = n;
    M.arms.count = n * 2;
    M.visor.count = visors;
    for (const m of Object.values(M)) {
      m.instanceMatrix.needsUpdate = true;
      if (m.instanceColor) m.instanceColor.needsUpdate = true;
    }
    this.count = n;
  }

  dispose() {
    if (!this.meshes) return;
    for (const m of Object.values(this.meshes)) {
      this.parent.remove(m);
      m.dispose();
    }
    this.meshes = null;
    this.capacity = 0;
  }
}
