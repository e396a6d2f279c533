// The avatar core as a feature: the room's 3D build and collision world on join, our own
// avatar, remote avatars from `tick`, server `correct`ions of our position.
import * as THREE from 'three';
import { parseTick } from './tick.js';
import { buildRoom } from './scene.js';
import { Avatar, RemoteAvatars } from './avatars.js';
import { makeWorld } from './collide.js';

const INTERP_DELAY_MS = 100; // render remote avatars this far behind server time (at least)

export function registerWorld({ app, gfx, hud, motion }) {
  app.remotes = new RemoteAvatars(gfx.remoteGroup, { delayMs: INTERP_DELAY_MS });
  app.remotes.camera = gfx.camera;
  const serverNow = () => app.link.now();
  return app.features.register({
    name: 'world',
    events: {
      tick: (msg) => onTick(app, hud, msg),
      correct: (msg) => onCorrect(app, hud, motion, msg),
    },
    join: (ack) => onJoined(app, gfx, hud, motion, ack),
    leave: () => {
      app.remotes.clear();
      hud.setInView(0);
      motion.stop();
    },
    facade: {
      get state() { return app.net ? app.net.state : 'connecting'; },
      get selfId() { return app.link.selfId; },
      get roomId() { return app.room ? app.room.id : null; },
      get serverOffset() { return app.link.offset; },
      get inView() { return app.remotes.size; },
      get corrections() { return app.corrections; },
      get removed() { return app.removed; },
      serverNow,
      // Remote avatars at their rendered (interpolated) pose.
      get renderDelay() { return app.remotes.delayMs; },
      avatars() { return app.remotes.poses(serverNow() - app.remotes.delayMs); },
      self() { const s = app.self; return { x: s.x, y: s.y, z: s.z, yaw: s.yaw }; },
      get wear() { return app.selfAvatar ? app.selfAvatar.wearShown() : null; },
    },
  });
}

// A new room is built; a re-join of the same room (after a reconnect) keeps what is built.
function buildIfNew(app, gfx, room) {
  const newRoom = !app.room || app.room.id !== room.id || !app.built;
  app.roomChanged = newRoom;
  if (!newRoom) return false;
  app.built?.dispose();
  if (app.built) gfx.scene.remove(app.built.group);
  app.built = buildRoom(room);
  gfx.scene.add(app.built.group);
  gfx.scene.fog = app.built.fog;
  gfx.stageEl.style.background = app.built.sky;
  app.world = makeWorld(room);
  app.builtAt = performance.now();
  app.remotes.tickMs = 1000 / (room.tick_hz || 10);
  return true;
}

function onJoined(app, gfx, hud, motion, ack) {
  const room = ack.room;
  app.everJoined = true;
  const newRoom = buildIfNew(app, gfx, room);
  app.room = room;
  app.removed = false;
  hud.setRoom(room.name);
  hud.setInvite(room.id, ack.you?.id);
  hud.setInView(app.remotes.size);
  if (!app.selfAvatar) {
    app.selfAvatar = new Avatar(app.name, app.look, { self: true });
    gfx.scene.add(app.selfAvatar.group);
  }
  const p = ack.you?.p || room.scene?.spawn?.[0] || [0, 0, 0];
  const yaw = typeof ack.you?.yaw === 'number' ? ack.you.yaw : 0;
  app.self = { x: p[0], y: p[1], z: p[2], yaw };
  motion.placed(app.net.seq);
  if (newRoom) motion.faceRoom(room, p, yaw); // a re-join keeps the camera where the user left it
}

function onTick(app, hud, msg) {
  if (!app.net || app.net.state === 'disconnected') return;
  const tick = parseTick(msg);
  const t = tick.t ?? app.net.serverNow();
  if (tick.t !== null) app.remotes.noteLateness(app.net.serverNow() - tick.t);
  const me = app.net.selfId;
  // A reset tick (after a resume, or when this client fell behind) carries the whole view:
  // whoever it does not enter is gone, even if we missed their leave.
  if (tick.reset) {
    const keep = new Set(tick.enter.map((e) => e.id));
    for (const id of [...app.remotes.map.keys()]) if (!keep.has(id)) app.remotes.leave(id);
  }
  // Order matters (PROTOCOL.md): enter, then leave, then position records.
  for (const e of tick.enter) if (e.id !== me) app.remotes.enter(e.id, e.name, e.look);
  for (const id of tick.leave) app.remotes.leave(id);
  for (const r of tick.records) if (r.id !== me) app.remotes.record(t, r);
  // VR heads and hands: shown when the interpolated body reaches the tick's time.
  for (const rec of tick.pose) if (rec.id !== me) app.remotes.pose(t, rec);
  hud.setInView(app.remotes.size);
}

function onCorrect(app, hud, motion, msg) {
  if (!Array.isArray(msg.p) || msg.p.length < 3) return;
  // Corrections for moves sent before our last snap are stale: we already moved back.
  if (typeof msg.seq === 'number' && msg.seq <= motion.ignoreCorrectUpTo) return;
  app.self.x = msg.p[0];
  app.self.y = msg.p[1];
  app.self.z = msg.p[2];
  app.corrections += 1;
  motion.placed(app.net.seq);
  hud.toast('Position corrected by the server', { kind: 'subtle', ms: 1500 });
}

// Where a floating reaction starts: over an avatar only when it is on screen and not far away.
export function reactionAnchor(app, camera) {
  const projected = new THREE.Vector3();
  return (id) => {
    let group = null;
    if (id === app.net?.selfId) group = app.selfAvatar?.group || null;
    else {
      const e = app.remotes.map.get(id);
      if (e && e.avatar.group.visible) group = e.avatar.group;
    }
    if (!group || Math.hypot(group.position.x - app.self.x, group.position.z - app.self.z) > 25) return null;
    projected.copy(group.position);
    projected.y += 2;
    projected.project(camera);
    if (projected.z > 1 || Math.abs(projected.x) > 1.05 || Math.abs(projected.y) > 1.05) return null;
    return group;
  };
}
