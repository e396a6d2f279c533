// The avatar figure's shared geometries and materials: hundreds of avatars, a handful of
// buffers. Its own module so the single-avatar path (avatars.js) and the instanced crowd
// (crowd.js) both use them without importing each other.
import * as THREE from 'three';
import { surface } from './quality.js';

const geo = {}; // shared geometries: hundreds of avatars, a handful of buffers
let headMat = null; // shared materials, created lazily: the quality tier is known only at runtime
let darkMat = null;
export function avatarParts() { const g = shared(); return { geo: g, headMat, darkMat }; }

function shared() {
  if (geo.body) return geo;
  headMat = surface({ color: '#f3ede4', roughness: 0.5 });
  darkMat = surface({ color: '#1d1d22', roughness: 0.3, metalness: 0.3 });
  geo.body = new THREE.CapsuleGeometry(0.24, 0.6, 6, 16);
  geo.arm = new THREE.CapsuleGeometry(0.065, 0.42, 4, 8);
  geo.arm.translate(0, -0.21, 0); // pivot at the shoulder, so arms can swing
  geo.head = new THREE.SphereGeometry(0.19, 20, 16);
  geo.scarf = new THREE.TorusGeometry(0.17, 0.055, 10, 24);
  geo.visor = new THREE.BoxGeometry(0.24, 0.07, 0.08);
  geo.blob = new THREE.PlaneGeometry(1.1, 1.1);
  geo.stand = new THREE.CylinderGeometry(0.02, 0.02, 0.35, 8);
  geo.base = new THREE.CylinderGeometry(0.18, 0.2, 0.03, 20);
  // worn items (the digital mirror)
  geo.shoe = new THREE.BoxGeometry(0.15, 0.1, 0.3);
  geo.bag = new THREE.BoxGeometry(0.12, 0.3, 0.34);
  geo.strap = new THREE.BoxGeometry(0.03, 0.5, 0.03);
  geo.watch = new THREE.CylinderGeometry(0.085, 0.085, 0.09, 16);
  geo.glasses = new THREE.BoxGeometry(0.34, 0.09, 0.06);
  geo.tail = new THREE.BoxGeometry(0.11, 0.36, 0.03);
  geo.band = new THREE.TorusGeometry(0.25, 0.04, 8, 28);
  geo.collar = new THREE.TorusGeometry(0.2, 0.045, 8, 24);
  // VR hands (a mitten along the grip's -z, as a controller is held) and their cuff
  geo.hand = new THREE.CapsuleGeometry(0.048, 0.1, 4, 10);
  geo.hand.rotateX(Math.PI / 2);
  geo.hand.scale(1, 0.7, 1); // flatter than wide, like a hand
  geo.hand.translate(0, 0, -0.04);
  geo.cuff = new THREE.TorusGeometry(0.055, 0.016, 6, 16);
  geo.cuff.translate(0, 0, 0.04);
  return geo;
}
