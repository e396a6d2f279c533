// The 3D view: renderer (or none without WebGL), camera, name-tag layer, the walk-target
// marker, and the adaptive resolution that keeps slow (software) WebGL usable.
import * as THREE from 'three';
import { CSS2DRenderer } from 'three/addons/renderers/CSS2DRenderer.js';
import { detectQuality } from './quality.js';

export function createGraphics(stageEl, { onNoWebGL }) {
  const quality = detectQuality();
  const scene = new THREE.Scene();
  // No scene.background: the sky is a CSS gradient behind a transparent canvas, which costs no
  // fill rate in WebGL (matters for software rendering) and lets the horizon blend into the fog.
  const camera = new THREE.PerspectiveCamera(55, innerWidth / innerHeight, 0.1, 400);
  camera.position.set(0, 6, 10);
  const gfx = { quality, scene, camera, stageEl, renderer: null, pixelRatio: Math.min(window.devicePixelRatio || 1, quality.maxPixelRatio) };
  gfx.renderer = makeRenderer(gfx, onNoWebGL);
  gfx.labels = new CSS2DRenderer();
  gfx.labels.setSize(innerWidth, innerHeight);
  gfx.labels.domElement.className = 'labels';
  stageEl.append(gfx.labels.domElement);
  gfx.surface = gfx.renderer ? gfx.renderer.domElement : stageEl; // what pointer input lands on
  gfx.fitCamera = () => fitCamera(camera);
  gfx.fitCamera();
  addEventListener('resize', () => {
    gfx.fitCamera();
    gfx.renderer?.setSize(innerWidth, innerHeight);
    gfx.labels.setSize(innerWidth, innerHeight);
  });
  gfx.remoteGroup = new THREE.Group();
  scene.add(gfx.remoteGroup);
  gfx.marker = makeMarker();
  scene.add(gfx.marker);
  return gfx;
}

function makeRenderer(gfx, onNoWebGL) {
  const { quality } = gfx;
  try {
    const renderer = new THREE.WebGLRenderer({ antialias: quality.antialias, alpha: true, powerPreference: 'high-performance' });
    renderer.setClearColor(0x000000, 0);
    renderer.setPixelRatio(gfx.pixelRatio);
    renderer.setSize(innerWidth, innerHeight);
    renderer.shadowMap.enabled = quality.shadows;
    renderer.shadowMap.type = THREE.PCFShadowMap;
    renderer.toneMapping = THREE.NeutralToneMapping; // keeps brand colours true, tames highlights
    renderer.toneMappingExposure = 1.0;
    gfx.stageEl.append(renderer.domElement);
    return renderer;
  } catch (err) {
    // No WebGL: the client still connects and works (HUD, presence); only the 3D view is missing.
    onNoWebGL('3D view unavailable in this browser (WebGL is disabled). You are still connected.');
    console.warn('WebGL unavailable', err);
    return null;
  }
}

// Portrait phones: a wider vertical field of view so the room, not just the avatar, is visible.
function fitCamera(camera) {
  camera.aspect = innerWidth / innerHeight;
  camera.fov = camera.aspect < 1 ? 72 : 55;
  camera.updateProjectionMatrix();
}

// The click/tap-to-walk destination ring.
function makeMarker() {
  const marker = new THREE.Mesh(
    new THREE.RingGeometry(0.28, 0.38, 32),
    new THREE.MeshBasicMaterial({ color: '#b8893b', transparent: true, opacity: 0.9, depthWrite: false }),
  );
  marker.rotation.x = -Math.PI / 2;
  marker.visible = false;
  return marker;
}

// Slow frames (weak GPU, software WebGL) are worse than a softer image: step the render
// resolution down while we stay under ~15 fps.
export function adaptResolution(gfx, { fps, now, builtAt, presenting }) {
  const r = gfx.renderer;
  if (!r || document.hidden || now - builtAt < 5000 || presenting) return; // shader compiles are slow
  if (fps >= 15 || gfx.pixelRatio <= 0.5) { gfx.slowSince = 0; return; }
  if (!gfx.slowSince) gfx.slowSince = now;
  else if (now - gfx.slowSince > 2500) {
    gfx.pixelRatio = Math.max(0.5, Math.round((gfx.pixelRatio - 0.15) * 100) / 100);
    r.setPixelRatio(gfx.pixelRatio);
    r.setSize(innerWidth, innerHeight);
    gfx.slowSince = 0;
  }
}
