// Procedural canvas textures (tiles, text, soft shadows): no image assets to ship or load.
import * as THREE from 'three';
import { quality } from './quality.js';

// Anisotropic filtering is nearly free on GPUs and very expensive in software rendering.
const aniso = (n) => (quality.tier === 'low' ? 1 : n);

export function hexOr(value, fallback) {
  return typeof value === 'string' && /^#[0-9a-fA-F]{6}$/.test(value) ? value : fallback;
}

export function luminance(hex) {
  const c = new THREE.Color(hex);
  return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
}

export function shade(hex, amount) {
  // amount > 0 lightens towards white, < 0 darkens towards black.
  const c = new THREE.Color(hex);
  const target = amount > 0 ? new THREE.Color('#ffffff') : new THREE.Color('#000000');
  return '#' + c.lerp(target, Math.abs(amount)).getHexString();
}

export function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

// Text on an optional rounded pill. Returns the texture and its aspect (w/h) for sizing.
export function textTexture(text, { color = '#ffffff', bg = null, px = 64, weight = 600, padX = 0.6, padY = 0.35, border = null } = {}) {
  const font = `${weight} ${px}px "Inter", "Helvetica Neue", "DejaVu Sans", Arial, sans-serif`;
  const probe = document.createElement('canvas').getContext('2d');
  probe.font = font;
  const tw = Math.ceil(probe.measureText(text).width);
  const w = tw + Math.round(px * padX * 2);
  const h = Math.round(px * (1 + padY * 2));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (bg) {
    ctx.fillStyle = bg;
    roundRect(ctx, 2, 2, w - 4, h - 4, (h - 4) / 2);
    ctx.fill();
    if (border) {
      ctx.strokeStyle = border;
      ctx.lineWidth = 3;
      ctx.stroke();
    }
  }
  ctx.font = font;
  ctx.fillStyle = color;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, w / 2, h / 2 + px * 0.04);
  const tex = new THREE.CanvasTexture(canvas);
  tex.colorSpace = THREE.SRGBColorSpace;
  tex.anisotropy = aniso(4);
  return { texture: tex, aspect: w / h };
}

// Large stone-like floor tiles with a faint grout line and a little tonal variation.
export function tileTexture(baseHex, { size = 512, tiles = 2 } = {}) {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext('2d');
  const base = new THREE.Color(baseHex);
  const cell = size / tiles;
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < tiles; i++) {
    for (let j = 0; j < tiles; j++) {
      // Variation relative to the base lightness: dark floors must not turn into a checkerboard.
      const c = base.clone().offsetHSL(0, 0, (rnd() - 0.5) * 0.035 * Math.min(1, luminance(baseHex) * 2.5));
      ctx.fillStyle = '#' + c.getHexString();
      ctx.fillRect(i * cell, j * cell, cell, cell);
      // soft veining so large floors don't look flat
      for (let k = 0; k < 40; k++) {
        ctx.fillStyle = `rgba(255,255,255,${rnd() * 0.05})`;
        ctx.fillRect(i * cell + rnd() * cell, j * cell + rnd() * cell, rnd() * 30 + 4, rnd() * 3 + 1);
      }
    }
  }
  const grout = base.clone().offsetHSL(0, 0, luminance(baseHex) > 0.35 ? -0.09 : 0.03);
  ctx.strokeStyle = '#' + grout.getHexString();
  ctx.lineWidth = 2;
  for (let i = 0; i <= tiles; i++) {
    ctx.beginPath(); ctx.moveTo(i * cell, 0); ctx.lineTo(i * cell, size); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(0, i * cell); ctx.lineTo(size, i * cell); ctx.stroke();
  }
  const tex = new THREE.CanvasTexture(canvas);
  tex.colorSpace = THREE.SRGBColorSpace;
  tex.wrapS = tex.wrapT = THREE.RepeatWrapping;
  tex.anisotropy = aniso(8);
  return tex;
}

// A 128 px radial gradient, centre to edge: stops [[offset, css colour], ...].
export function radialTexture(stops) {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 128;
  const ctx = canvas.getContext('2d');
  const g = ctx.createRadialGradient(64, 64, 0, 64, 64, 64);
  for (const [at, color] of stops) g.addColorStop(at, color);
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, 128, 128);
  return new THREE.CanvasTexture(canvas);
}

// Radial blob used as a cheap contact shadow under avatars (no shadow-map cost per avatar).
let blob = null;
export function blobTexture() {
  blob ||= radialTexture([[0, 'rgba(0,0,0,0.45)'], [0.6, 'rgba(0,0,0,0.18)'], [1, 'rgba(0,0,0,0)']]);
  return blob;
}

// Soft dark rounded footprint, stretched under boxes as a contact shadow / ambient occlusion.
// Drawn with shadowBlur (an offscreen rect casting its shadow in view): works in every browser.
let ao = null;
export function aoTexture() {
  if (ao) return ao;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 128;
  const ctx = canvas.getContext('2d');
  ctx.shadowColor = 'rgba(0,0,0,0.55)';
  ctx.shadowBlur = 22;
  ctx.shadowOffsetX = 1000;
  ctx.fillStyle = '#000';
  ctx.fillRect(28 - 1000, 28, 72, 72);
  ao = new THREE.CanvasTexture(canvas);
  return ao;
}
