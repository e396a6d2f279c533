// Interop check: the JS socket.io-client with socket.io-msgpack-parser against the Python server.
// Usage: node interop.mjs URL  -> prints one JSON line with what it observed, exits 0 on success.
import { io } from "socket.io-client";
import parser from "socket.io-msgpack-parser";

const url = process.argv[2];
const result = {};
const fail = (why) => { console.log(JSON.stringify({ ok: false, why, result })); process.exit(1); };
setTimeout(() => fail("timeout"), 15000);

function connect(name, resume) {
  const auth = resume ? { name, resume } : { name };
  const socket = io(url, { parser, transports: ["websocket"], auth, reconnection: false, forceNew: true });
  const welcome = new Promise((resolve) => socket.once("welcome", resolve));
  return { socket, welcome };
}

function records(pos) {
  // pos arrives as a Buffer/Uint8Array (msgpack bin): little-endian <I h h h h> records
  const bytes = pos instanceof Uint8Array ? pos : new Uint8Array(pos);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  for (let o = 0; o + 12 <= bytes.byteLength; o += 12) {
    out.push({ id: view.getUint32(o, true), x: view.getInt16(o + 4, true), y: view.getInt16(o + 6, true),
               z: view.getInt16(o + 8, true), yaw: view.getInt16(o + 10, true) });
  }
  return out;
}

const a = connect("Node A");
const b = connect("Node B");
const [wa, wb] = await Promise.all([a.welcome, b.welcome]);
result.welcome = { id: typeof wa.id, session: typeof wa.session, t: typeof wa.t };

const seen = [];
a.socket.on("tick", (t) => { for (const r of records(t.pos)) if (r.id === wb.id) seen.push(r); });
const ja = await a.socket.emitWithAck("join", { room: "showroom" });
const jb = await b.socket.emitWithAck("join", { room: "showroom" });
if (!ja.ok || !jb.ok) throw new Error(`join refused: ${JSON.stringify([ja, jb])}`);
result.join = { ok: ja.ok && jb.ok, kind: ja.room.kind, hasScene: !!ja.room.scene };

const [x, y, z] = jb.you.p;
for (let i = 1; i <= 4; i++) {
  b.socket.emit("move", { p: [x + 0.3 * i, y, z], yaw: 0.5, seq: i });
  await new Promise((r) => setTimeout(r, 100));
}
await new Promise((r) => setTimeout(r, 400));
const last = seen[seen.length - 1];
result.tick = { records: seen.length, lastX: last && last.x, expectedX: Math.round((x + 1.2) * 100) };

const clock = await a.socket.emitWithAck("time", { c: Date.now() });
result.time = { ok: clock.ok, serverT: typeof clock.t };
// a JS typed array travels as msgpack ext type 0; the server must read it as bytes, not choke
const typed = await a.socket.emitWithAck("join", { room: new Uint8Array([115, 104]) });
result.typedArray = typed.error && `${typed.error.code}: ${typed.error.message}`;
const bad = await a.socket.emitWithAck("join", { room: "nowhere" });
result.notFound = bad.error && bad.error.code;

// Taking over A's session makes the server disconnect A: its DISCONNECT packet must parse in JS.
const gone = new Promise((resolve) => a.socket.once("disconnect", resolve));
const a2 = connect("Node A again", wa.session);
const wa2 = await a2.welcome;
result.takeover = { reason: await gone, sameId: wa2.id === wa.id, room: wa2.room };

a2.socket.close();
b.socket.close();
console.log(JSON.stringify({ ok: true, result }));
process.exit(0);
