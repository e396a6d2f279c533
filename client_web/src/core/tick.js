// Binary tick decoding (PROTOCOL.md "Binary tick"). Pure functions: no DOM, no three.js,
// so they can be unit-tested in node and reused by other JS clients.

import { decodePoses } from './pose.js';

export const RECORD_SIZE = 12; // <I h h h h> little-endian
export const YAW_SCALE = 32767 / Math.PI;

// The msgpack parser hands `bin` fields over as ArrayBuffer in browsers, but Buffer /
// Uint8Array views (possibly into a larger buffer) elsewhere: normalise to a Uint8Array
// that respects byteOffset, so a view into a shared buffer is read from the right place.
export function asBytes(pos) {
  if (pos == null) return new Uint8Array(0);
  if (pos instanceof Uint8Array) return pos;
  if (pos instanceof ArrayBuffer) return new Uint8Array(pos);
  if (ArrayBuffer.isView(pos)) return new Uint8Array(pos.buffer, pos.byteOffset, pos.byteLength);
  if (Array.isArray(pos)) return Uint8Array.from(pos);
  // JSON-ified Buffer ({type:'Buffer', data:[...]}) from some node encoders.
  if (typeof pos === 'object' && Array.isArray(pos.data)) return Uint8Array.from(pos.data);
  return new Uint8Array(0);
}

// Decode the run of 12-byte records into {id, x, y, z, yaw} in metres / radians.
// A trailing partial record (a malformed packet) is ignored rather than thrown on.
export function decodePositions(pos) {
  const bytes = asBytes(pos);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Math.floor(bytes.byteLength / RECORD_SIZE);
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * RECORD_SIZE;
    out[i] = {
      id: view.getUint32(o, true),
      x: view.getInt16(o + 4, true) / 100,
      y: view.getInt16(o + 6, true) / 100,
      z: view.getInt16(o + 8, true) / 100,
      yaw: view.getInt16(o + 10, true) / YAW_SCALE,
    };
  }
  return out;
}

// Inverse of decodePositions; used by tests and tools, handy for a local replay.
export function encodePositions(records) {
  const buf = new ArrayBuffer(records.length * RECORD_SIZE);
  const view = new DataView(buf);
  const i16 = (v) => Math.max(-32768, Math.min(32767, Math.round(v)));
  records.forEach((r, i) => {
    const o = i * RECORD_SIZE;
    view.setUint32(o, r.id >>> 0, true);
    view.setInt16(o + 4, i16(r.x * 100), true);
    view.setInt16(o + 6, i16(r.y * 100), true);
    view.setInt16(o + 8, i16(r.z * 100), true);
    view.setInt16(o + 10, i16(r.yaw * YAW_SCALE), true);
  });
  return new Uint8Array(buf);
}

// Validate the whole tick map defensively: a bad field drops just that field, never the tick.
export function parseTick(msg) {
  const m = msg && typeof msg === 'object' ? msg : {};
  const enter = [];
  for (const e of Array.isArray(m.enter) ? m.enter : []) {
    if (!Array.isArray(e) || typeof e[0] !== 'number') continue;
    enter.push({ id: e[0], name: typeof e[1] === 'string' ? e[1] : `#${e[0]}`, look: e[2] && typeof e[2] === 'object' ? e[2] : {} });
  }
  const leave = (Array.isArray(m.leave) ? m.leave : []).filter((id) => typeof id === 'number');
  return {
    t: typeof m.t === 'number' ? m.t : null,
    n: typeof m.n === 'number' ? m.n : null,
    enter,
    leave,
    records: decodePositions(m.pos),
    pose: m.pose == null ? [] : decodePoses(asBytes(m.pose)), // VR heads and hands (pose.js)
    reset: m.reset === true, // the server resends the whole view: forget anyone not entered
  };
}
