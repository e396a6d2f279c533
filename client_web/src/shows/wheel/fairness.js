// The money wheel's fairness check (docs/protocol.md "Money-wheel game show", commit–reveal):
// recompute a settled round from its revealed seed. Pure: no DOM, no three.js, no network, so
// the visitor client, the host console and the tests all run the same code.

// The multiplier segments (part of the draw rule: the last possible spin skips them).
export const MULTIPLIERS = { '2x': 2, '7x': 7 };
const MAX_SPINS = 8; // world/shows/wheel.py: spin 8 is forced onto a number (see verifyRound)

// SHA-256 in plain JS: crypto.subtle exists only in secure contexts (https, localhost), and a
// visitor on a LAN address over http should still be able to verify a round.
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export function sha256js(bytes) {
  const len = bytes.length;
  const total = Math.ceil((len + 9) / 64) * 64;
  const buf = new Uint8Array(total);
  buf.set(bytes);
  buf[len] = 0x80;
  const dv = new DataView(buf.buffer);
  dv.setUint32(total - 8, Math.floor((len * 8) / 2 ** 32));
  dv.setUint32(total - 4, (len * 8) >>> 0);
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = dv.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  const odv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) odv.setUint32(i * 4, h[i]);
  return out;
}

async function sha256(bytes) {
  const subtle = globalThis.crypto?.subtle;
  if (subtle) {
    try { return new Uint8Array(await subtle.digest('SHA-256', bytes)); } catch { /* fall through */ }
  }
  return sha256js(bytes);
}

export const toHex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
export function fromHex(hex) {
  if (typeof hex !== 'string' || hex.length % 2 || !/^[0-9a-f]*$/i.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// Spin i of a round: int(sha256(seed ‖ round id (utf-8) ‖ i as 4 bytes big-endian)) mod n.
export async function spinIndex(seed, roundId, i, n = 54) {
  const rid = new TextEncoder().encode(roundId);
  const msg = new Uint8Array(seed.length + rid.length + 4);
  msg.set(seed);
  msg.set(rid, seed.length);
  new DataView(msg.buffer).setUint32(seed.length + rid.length, i);
  const digest = await sha256(msg);
  return Number(BigInt(`0x${toHex(digest)}`) % BigInt(n));
}

// Recompute a settled round from its revealed seed: {ok, commitOk, spinsOk, message,
// spins: [recomputed]}. The visitor client and the host console both use it.
export async function verifyRound({ seed, commit, round, spins, segments }) {
  const bytes = fromHex(seed);
  if (!bytes || typeof round !== 'string' || !Array.isArray(spins) || !Array.isArray(segments) || !segments.length) {
    return { ok: false, commitOk: false, spinsOk: false, message: 'the round cannot be checked (no hex seed or spins)', spins: [] };
  }
  const commitOk = toHex(await sha256(bytes)) === String(commit).toLowerCase();
  const again = [];
  for (let i = 0; i < spins.length; i++) {
    let index = await spinIndex(bytes, round, i, segments.length);
    // The server keeps a round finite: its last possible spin skips over multiplier segments.
    if (i === MAX_SPINS - 1) while (MULTIPLIERS[segments[index]]) index = (index + 1) % segments.length;
    again.push(index);
  }
  const spinsOk = again.length === spins.length && again.length > 0 && again.every((x, i) => x === spins[i]);
  const message = !commitOk ? 'sha256(seed) does not match the commit'
    : !spinsOk ? 'the spins do not follow from the seed' : 'sha256(seed) = commit; every spin recomputed';
  return { ok: commitOk && spinsOk, commitOk, spinsOk, message, spins: again };
}
