// Host console: the composition root. Sign in with a staff token (session.js), watch one room
// (watch.js), and the panels as features registered with one router (shared/features.js):
// each says which server events it handles (`feed`: the watched room's, held until the watch
// ack), what it reads from the watch ack, what it draws, and its part of the test hook.
// Protocol: docs/protocol.md, "Host namespace /host" (contract and extension).

import { serverNow, clockOffset, toast, seedClock, str } from './dom.js';
import { HostConn } from './conn.js';
import { state, can, copy } from './state.js';
import { Features } from '../shared/features.js';
import { Watcher } from './watch.js';
import { HostSession } from './session.js';
import { chatFeature } from './chat.js';
import { moderationFeature } from './moderation.js';
import { qaFeature } from './qa.js';
import { ticketsFeature } from './tickets.js';
import { statsFeature } from './stats.js';
import { shopFeature } from './shop.js';
import { showsFeature } from './shows.js';
import { tabsFeature, initTabs } from './tabs.js';
import { analyticsFeature } from './analytics.js';
import { staffFeature } from './staff.js';

const features = new Features({ gate: (msg, apply) => watcher.gate(msg, apply) });
const conn = new HostConn(features);
const watcher = new Watcher({ features, conn, reportError });
const session = new HostSession({ conn, watcher });
features.register(session.feature());

// ---- actions: every ack is checked, every error shown ----------------------------------

async function act(event, payload, { label = event, ok = '' } = {}) {
  const ack = await conn.call(event, payload);
  if (ack.ok) {
    if (ok) toast(ok, { kind: 'ok' });
  } else {
    reportError(event, label, ack.error);
  }
  return ack;
}

function reportError(event, label, error) {
  const code = str(error?.code, 'error');
  const message = str(error?.message);
  state.errors.push({ event, code, message });
  if (state.errors.length > 50) state.errors.shift();
  toast(`${label} failed — ${code}${message ? `: ${message}` : ''}`, { kind: 'error' });
}

// What the features' init gets: acting on the server, the clock, the token, and a way to tell
// the others that shared state changed ('people': muted / banned lists, 'slow': slow mode).
const ctx = {
  act,
  toast,
  now: serverNow,
  token: () => session.token,
  seenServerTime: seedClock,
  changed: (what) => features.each('changed', what),
};

// ---- the panels, in the order they read the watch ack and draw --------------------------
for (const f of [chatFeature, moderationFeature, qaFeature, ticketsFeature, statsFeature, shopFeature,
  showsFeature, tabsFeature, analyticsFeature, staffFeature]) {
  features.register(f);
  f.init?.(ctx);
}
initTabs((tab) => features.each('tabShown', tab));
window.addEventListener('resize', () => features.each('resize'));
watcher.renderAll();
session.boot();

// ---- testing / debugging hook: the session's and the watcher's, then every feature's ----
window.vetrinaHost = features.facade({
  get signedIn() { return state.signedIn; },
  get conn() { return state.conn; },
  get error() { return state.error; },
  get name() { return state.name; },
  get role() { return state.role; },
  get rooms() { return copy(state.roomList.map((r) => r.id)); },
  get room() { return state.room; },
  get watching() { return state.watching; }, // the room whose host.watch ack arrived
  get errors() { return copy(state.errors); },
  get serverNow() { return serverNow(); },
  get clockOffset() { return clockOffset(); },
  get events() { return features.events; },
  can: (what) => can(what),
  watch: (room) => watcher.watch(room),
  call: (event, payload) => conn.call(event, payload), // raw ack, nothing shown
  act: (event, payload) => act(event, payload, { label: event }), // as a button does: errors shown
});
