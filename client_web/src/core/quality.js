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
  phone: false, // a touch-first small screen (mid-range phone GPU, battery)
  lite: false, // the light path: far avatars instanced, few name tags (avatars.js, crowd.js)
};

// Phones and small tablets: coarse pointer and a small screen (or a mobile UA).
export function isPhone() {
  try {
    const coarse = matchMedia('(pointer: coarse)').matches;
    const small = Math.min(screen.width || innerWidth, screen.height || innerHeight) <= 820;
    return (coarse && small) || /Android.+Mobile|iPhone|iPod/i.test(navigator.userAgent || '');
  } catch { return false; }
}

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
  const phone = isPhone();
  Object.assign(quality, tier === 'low'
    ? { tier, antialias: false, maxPixelRatio: 0.75, shadows: false, shadowMapSize: 1024, maxFps: 20 }
    // Phones: fewer pixels (1.5x is sharp at arm's length), no shadow pass (it doubles draw calls).
    : phone ? { tier, antialias: true, maxPixelRatio: 1.5, shadows: false, shadowMapSize: 1024, maxFps: 0 }
      : { tier, antialias: true, maxPixelRatio: 2, shadows: true, shadowMapSize: 2048, maxFps: 0 });
  const lite = new URLSearchParams(search).get('lite');
  quality.phone = phone;
  quality.lite = lite === '1' ? true : lite === '0' ? false : tier === 'low' || phone;
  return quality;
}

// Lit surface material for the current tier: PBR on GPUs, Lambert in software.
export function surface({ roughness, metalness, ...params } = {}) {
  if (quality.tier === 'low') return new THREE.MeshLambertMaterial(params);
  return new THREE.MeshStandardMaterial({ roughness: roughness ?? 0.6, metalness: metalness ?? 0, ...params });
}
