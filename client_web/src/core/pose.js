// VR head-and-hands poses (docs/protocol.md "Pose extension (VR)"): the tick's `pose`
// field decoder, its encoder (tests, tools) and the `pose` message a VR client sends.
// Pure functions: no DOM, no three.js.

export const HEAD = 1;
export const LEFT = 2;
export const RIGHT = 4;
export const PARTS = [['head', HEAD], ['left', LEFT], ['right', RIGHT]];
const SQRT2 = Math.SQRT2;
const INV_SQRT2 = Math.SQRT1_2;

// Limits of the offsets the server accepts (metres, relative to the avatar's position `p`).
export const LIMITS = {
  head: { xz: 1.0, y0: 0.2, y1: 2.6 },
  left: { xz: 1.5, y0: -0.2, y1: 2.8 },
  right: { xz: 1.5, y0: -0.2, y1: 2.8 },
};

// "Smallest three": the largest-magnitude component is dropped (its index in bits 30-31) and the
// other three are stored as 10-bit values in index order, after negating q if that component is
// negative (q and -q are the same rotation).
export function packQuat(q) {
  let [x, y, z, w] = q;
  const n = Math.hypot(x, y, z, w) || 1;
  const c = [x / n, y / n, z / n, w / n];
  let big = 0;
  for (let i = 1; i < 4; i++) if (Math.abs(c[i]) > Math.abs(c[big])) big = i;
  const sign = c[big] < 0 ? -1 : 1;
  let out = big << 30;
  let shift = 20;
  for (let i = 0; i < 4; i++) {
    if (i === big) continue;
    const v = Math.round(((c[i] * sign + INV_SQRT2) / SQRT2) * 1023);
    out |= Math.max(0, Math.min(1023, v)) << shift;
    shift -= 10;
  }
  return out >>> 0;
}

export function unpackQuat(u) {
  const big = u >>> 30;
  const q = [0, 0, 0, 0];
  let shift = 20;
  let sum = 0;
  for (let i = 0; i < 4; i++) {
    if (i === big) continue;
    const c = (((u >>> shift) & 1023) / 1023) * SQRT2 - INV_SQRT2;
    q[i] = c;
    sum += c * c;
    shift -= 10;
  }
  q[big] = Math.sqrt(Math.max(0, 1 - sum));
  return q; // [x, y, z, w]
}

// The tick's `pose` bytes -> [{id, flags, head, left, right}], each part {x, y, z, q: [x,y,z,w]}
// in metres (offsets from the avatar's position) or null when not flagged. A truncated record
// (a malformed packet) ends the decoding rather than throwing.
export function decodePoses(raw) {
  const bytes = raw instanceof Uint8Array ? raw
    : raw instanceof ArrayBuffer ? new Uint8Array(raw)
      : ArrayBuffer.isView(raw) ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)
        : new Uint8Array(0); // (tick.js's asBytes normalises the other shapes first)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  let o = 0;
  while (o + 5 <= bytes.byteLength) {
    const id = view.getUint32(o, true);
    const flags = view.getUint8(o + 4) & 7;
    let n = 0;
    for (const [, bit] of PARTS) if (flags & bit) n += 1;
    if (o + 5 + n * 10 > bytes.byteLength) break;
    o += 5;
    const rec = { id, flags, head: null, left: null, right: null };
    for (const [name, bit] of PARTS) {
      if (!(flags & bit)) continue;
      rec[name] = {
        x: view.getInt16(o, true) / 100,
        y: view.getInt16(o + 2, true) / 100,
        z: view.getInt16(o + 4, true) / 100,
        q: unpackQuat(view.getUint32(o + 6, true)),
      };
      o += 10;
    }
    out.push(rec);
  }
  return out;
}

// Inverse of decodePoses (records as decodePoses returns them, q optional = identity).
export function encodePoses(records) {
  const chunks = [];
  let size = 0;
  for (const r of records) {
    let flags = 0;
    for (const [name, bit] of PARTS) if (r[name]) flags |= bit;
    const buf = new ArrayBuffer(5 + 10 * ((flags & 1) + ((flags >> 1) & 1) + ((flags >> 2) & 1)));
    const v = new DataView(buf);
    v.setUint32(0, r.id >>> 0, true);
    v.setUint8(4, flags);
    let o = 5;
    const i16 = (m) => Math.max(-32768, Math.min(32767, Math.round(m * 100)));
    for (const [name] of PARTS) {
      const p = r[name];
      if (!p) continue;
      v.setInt16(o, i16(p.x), true);
      v.setInt16(o + 2, i16(p.y), true);
      v.setInt16(o + 4, i16(p.z), true);
      v.setUint32(o + 6, packQuat(p.q || [0, 0, 0, 1]), true);
      o += 10;
    }
    chunks.push(new Uint8Array(buf));
    size += buf.byteLength;
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const r3 = (v) => Math.round(v * 1000) / 1000;
const r4 = (v) => Math.round(v * 10000) / 10000;

// One part for the `pose` message: [x, y, z, qx, qy, qz, qw] with the offset clamped into what
// the server accepts (a head leaning past a wall, an arm stretched far) and a unit quaternion.
export function wirePart(name, offset, q) {
  const lim = LIMITS[name];
  const n = Math.hypot(q[0], q[1], q[2], q[3]) || 1;
  return [
    r3(clamp(offset[0], -lim.xz, lim.xz)), r3(clamp(offset[1], lim.y0, lim.y1)), r3(clamp(offset[2], -lim.xz, lim.xz)),
    r4(q[0] / n), r4(q[1] / n), r4(q[2] / n), r4(q[3] / n),
  ];
}
