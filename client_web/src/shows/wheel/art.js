// The wheel's face as 2D canvas art, used by the panel (the top of the wheel under the pointer)
// and the 3D stage (a texture on the studio's wheel).
import { MULTIPLIERS, segmentStyle } from '../showmath.js';

export const label = (seg) => String(seg).replace(/x$/, '×');

// The wheel's face: segment i spans [i, i+1) × 2π/n clockwise from 12 o'clock (rotation 0).
// Numbers stand upright when their segment is at the top. Drawn once per size; spins rotate it.
export function drawWheelArt(ctx, cx, cy, R, segments, { font = 0.075, ring = 0.05 } = {}) {
  const n = segments.length;
  const step = (Math.PI * 2) / n;
  const hub = R * (1 - ring);
  ctx.save();
  ctx.translate(cx, cy);
  // rim
  ctx.beginPath();
  ctx.arc(0, 0, R, 0, Math.PI * 2);
  ctx.fillStyle = '#2a1a3a';
  ctx.fill();
  for (let i = 0; i < n; i++) {
    const seg = segments[i];
    const st = segmentStyle(seg);
    const a0 = -Math.PI / 2 + i * step;
    const a1 = a0 + step;
    ctx.beginPath();
    ctx.moveTo(0, 0);
    ctx.arc(0, 0, hub, a0, a1);
    ctx.closePath();
    if (st.multiplier) {
      const g = ctx.createRadialGradient(0, 0, hub * 0.4, 0, 0, hub);
      g.addColorStop(0, '#ffffff');
      g.addColorStop(0.55, st.fill);
      g.addColorStop(1, seg === '7x' ? '#9a6a00' : '#7d8494');
      ctx.fillStyle = g;
    } else {
      const g = ctx.createRadialGradient(0, 0, hub * 0.5, 0, 0, hub);
      g.addColorStop(0, st.fill);
      g.addColorStop(1, shadeHex(st.fill, -0.18));
      ctx.fillStyle = g;
    }
    ctx.fill();
    ctx.strokeStyle = 'rgba(255, 244, 214, 0.85)';
    ctx.lineWidth = Math.max(1, R * 0.006);
    ctx.stroke();
    // the number, upright when its segment is at the top
    ctx.save();
    ctx.rotate(a0 + step / 2 + Math.PI / 2);
    ctx.fillStyle = st.ink;
    const size = R * font * (st.multiplier ? 1.15 : seg.length > 1 ? 0.9 : 1);
    ctx.font = `800 ${size}px "Inter", "Helvetica Neue", "DejaVu Sans", Arial, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(label(seg), 0, -hub * 0.86);
    if (st.multiplier) { // a star under multipliers: they are the big moments
      ctx.font = `700 ${size * 0.8}px "DejaVu Sans", Arial, sans-serif`;
      ctx.fillText('★', 0, -hub * 0.74);
    }
    ctx.restore();
  }
  // rim studs: gold on the two multipliers
  for (let i = 0; i < n; i++) {
    const a = -Math.PI / 2 + i * step;
    ctx.beginPath();
    ctx.arc(Math.cos(a) * (R + hub) / 2, Math.sin(a) * (R + hub) / 2, Math.max(1.2, R * ring * 0.22), 0, Math.PI * 2);
    ctx.fillStyle = '#f8e7b0';
    ctx.fill();
    if (MULTIPLIERS[segments[i]]) {
      ctx.beginPath();
      ctx.arc(0, 0, (R + hub) / 2, a, a + step);
      ctx.strokeStyle = '#ffd54a';
      ctx.lineWidth = R * ring * 0.7;
      ctx.stroke();
    }
  }
  // hub
  ctx.beginPath();
  ctx.arc(0, 0, R * 0.16, 0, Math.PI * 2);
  ctx.fillStyle = '#f8e7b0';
  ctx.fill();
  ctx.beginPath();
  ctx.arc(0, 0, R * 0.12, 0, Math.PI * 2);
  ctx.fillStyle = '#d4a017';
  ctx.fill();
  ctx.restore();
}

function shadeHex(hex, amount) {
  const n = parseInt(hex.slice(1), 16);
  const f = (c) => Math.round(amount < 0 ? c * (1 + amount) : c + (255 - c) * amount);
  const r = f(n >> 16), g = f((n >> 8) & 255), b = f(n & 255);
  return `#${((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1)}`;
}
