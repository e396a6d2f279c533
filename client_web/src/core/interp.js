// Snapshot interpolation for remote avatars. Pure maths, no DOM.

const TAU = Math.PI * 2;

// Wrap an angle into (-PI, PI].
export function wrapAngle(a) {
  a = ((a + Math.PI) % TAU + TAU) % TAU - Math.PI;
  return a === -Math.PI ? Math.PI : a;
}

// Interpolate yaw along the shortest arc, so 179° → -179° turns 2°, not 358°.
export function lerpAngle(a, b, f) {
  return wrapAngle(a + wrapAngle(b - a) * f);
}

// Buffer of (t, x, y, z, yaw) samples for one avatar, sampled ~100 ms in the past.
export class Track {
  constructor({ tickMs = 100, keepMs = 2000, maxSamples = 40 } = {}) {
    this.tickMs = tickMs;
    this.keepMs = keepMs;
    this.maxSamples = maxSamples;
    this.samples = [];
  }

  push(t, x, y, z, yaw) {
    const s = this.samples;
    const last = s[s.length - 1];
    if (last && t < last.t) return; // out-of-order packet: keep the timeline monotonic
    if (last && t === last.t) {
      Object.assign(last, { x, y, z, yaw });
      return;
    }
    // The server only resends avatars that moved. If this avatar was silent for longer than
    // a tick it stood still meanwhile: pin the old pose one tick before the new sample, so
    // we do not show a slow glide across the whole silent gap.
    if (last && t - last.t > this.tickMs * 1.5) {
      s.push({ t: t - this.tickMs, x: last.x, y: last.y, z: last.z, yaw: last.yaw });
    }
    s.push({ t, x, y, z, yaw });
    // Keep the recent window, but never drop the newest two (needed to hold/interpolate).
    const cutoff = t - this.keepMs;
    while (s.length > 2 && (s[0].t < cutoff || s.length > this.maxSamples)) s.shift();
  }

  // Pose at render time rt: linear between the samples around rt, hold at the ends.
  sample(rt) {
    const s = this.samples;
    if (s.length === 0) return null;
    if (rt <= s[0].t) return { ...s[0] };
    const last = s[s.length - 1];
    if (rt >= last.t) return { ...last };
    let i = s.length - 2;
    while (i > 0 && s[i].t > rt) i--;
    const a = s[i];
    const b = s[i + 1];
    const f = (rt - a.t) / (b.t - a.t || 1);
    return {
      t: rt,
      x: a.x + (b.x - a.x) * f,
      y: a.y + (b.y - a.y) * f,
      z: a.z + (b.z - a.z) * f,
      yaw: lerpAngle(a.yaw, b.yaw, f),
    };
  }

  // Drop samples that are no longer needed for render time rt (keep the one just before rt).
  trim(rt) {
    const s = this.samples;
    while (s.length > 2 && s[1].t <= rt) s.shift();
  }
}
