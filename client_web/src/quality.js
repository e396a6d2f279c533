// Rendering quality tiers. Software WebGL (SwiftShader, llvmpipe: headless CI, old laptops,
// some VMs) is ~10x slower per pixel than a GPU, so there we render fewer pixels, skip MSAA and
// use Lambert instead of PBR shading. Everything else in the client is identical.
import * as THREE from 'three';

export const quality = {
  tier: 'high',
  antialias: true,
  maxPixelRatio: 2,
  shadows: true,
  shadowMapSize: 2048,
  maxFps: 0, // 0 = display rate; software rendering is capped to leave the CPU some air
};

// Probe the WebGL implementation before creating the real renderer (MSAA is fixed at creation).
export function detectQuality(search = location.search) {
  const forced = new URLSearchParams(search).get('quality');
  let tier = forced === 'low' || forced === 'high' ? forced : null;
  if (!tier) {
    tier = 'high';
    try {
      const gl = document.createElement('canvas').getContext('webgl2') || document.createElement('canvas').getContext('webgl');
      const info = gl && gl.getExtension('WEBGL_debug_renderer_info');
      const name = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
      if (/swiftshader|llvmpipe|softpipe|software|basic render/i.test(name)) tier = 'low';
      gl?.getExtension('WEBGL_lose_context')?.loseContext();
    } catch { /* keep high; the adaptive loop still scales down if frames are slow */ }
  }
  Object.assign(quality, tier === 'low'
    ? { tier, antialias: false, maxPixelRatio: 0.75, shadows: false, shadowMapSize: 1024, maxFps: 20 }
    : { tier, antialias: true, maxPixelRatio: 2, shadows: true, shadowMapSize: 2048, maxFps: 0 });
  return quality;
}

// Lit surface material for the current tier: PBR on GPUs, Lambert in software.
export function surface({ roughness, metalness, ...params } = {}) {
  if (quality.tier === 'low') return new THREE.MeshLambertMaterial(params);
  return new THREE.MeshStandardMaterial({ roughness: roughness ?? 0.6, metalness: metalness ?? 0, ...params });
}
