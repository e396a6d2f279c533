// The visitor client's state store and the context every feature is handed: the router of
// server events (features), the link to the network (whether or not a connection exists yet),
// and the visitor's own state (room, position, avatar). Plain data: no DOM, no rendering.
import * as THREE from 'three';
import { Features } from '../shared/features.js';
import { storage } from '../shared/storage.js';

const LOOK_KEY = 'vetrina.look';
const OFFLINE = { ok: false, error: { code: 'not_joined', message: 'Not connected to a room yet.' } };

// A random but stable (per tab) outfit: saturated body colour plus a complementary accent.
function loadLook(store) {
  try {
    const saved = JSON.parse(store?.getItem(LOOK_KEY) || 'null');
    if (saved && /^#[0-9a-f]{6}$/i.test(saved.color) && /^#[0-9a-f]{6}$/i.test(saved.accent)) return saved;
  } catch { /* fall through to a fresh look */ }
  const h = Math.random();
  const look = {
    color: '#' + new THREE.Color().setHSL(h, 0.55, 0.47).getHexString(),
    accent: '#' + new THREE.Color().setHSL((h + 0.42) % 1, 0.75, 0.62).getHexString(),
  };
  store?.setItem(LOOK_KEY, JSON.stringify(look));
  return look;
}

export function createApp() {
  const store = storage();
  const app = {
    store,
    features: new Features(),
    net: null, // core/net.js Net, made on the first start
    name: '',
    look: loadLook(store),
    room: null, // RoomInfo of the current room
    roomChanged: false, // the last join entered another room (not a re-join of the same one)
    built: null, // three.js objects of the current room
    world: null, // collision world of the current room
    self: { x: 0, y: 0, z: 0, yaw: 0 },
    selfAvatar: null,
    remotes: null, // core/avatars.js RemoteAvatars
    everJoined: false,
    removed: false, // kicked or banned by a moderator: do not offer to rejoin
    corrections: 0, // applied `correct` snaps (exposed for tests)
  };
  // What the features need from the network, whether or not a connection exists yet.
  app.link = {
    request: (evt, data) => (app.net ? app.net.request(evt, data) : Promise.resolve(OFFLINE)),
    send: (evt, data) => !!app.net?.send(evt, data),
    get selfId() { return app.net ? app.net.selfId : null; },
    get offset() { return app.net ? app.net.serverOffset : 0; },
    now: () => (app.net ? app.net.serverNow() : Date.now()),
  };
  return app;
}
