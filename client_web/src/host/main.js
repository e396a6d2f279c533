// Host console entry: sign in with a staff token, watch one room, wire the panels.
// Protocol: docs/protocol.md, "Host namespace /host" (contract and extension).

import { $, seedClock, serverNow, clockOffset, toast, fmtClock, str } from './dom.js';
import { HostConn } from './conn.js';
import { state, can, resetRoom, peekToken } from './state.js';
import { loadRooms, renderRoomSelect, renderPicker } from './rooms.js';
import { initChat, renderChat, renderRole, renderPin, renderSlow, addMessage, markDeleted, refreshSenders } from './chat.js';
import { initModeration, applyLog, renderPeople, renderLog } from './moderation.js';
import { initQa, setQuestions, renderQa, dropQuestion } from './qa.js';
import { initTickets, upsertTicket, renderTickets } from './tickets.js';
import { applyStats, renderStats } from './stats.js';
import { initShop, loadCatalog, renderShop, applyOffer, syncOffers, noteLog, setSpotlight } from './shop.js';
import { initShows, applyShow, renderShows, onTabShown } from './shows.js';
import { initAnalytics, renderAnalytics, loadReport } from './analytics.js';
import { initTabs, renderTabs } from './tabs.js';
import { initStaff, refreshStaff, renderStaff } from './staff.js';

const TOKEN_KEY = 'vetrina.host.token';
const ROOM_KEY = 'vetrina.host.room';

function store() {
  try { return window.sessionStorage; } catch { return null; }
}

const conn = new HostConn();
let token = ''; // the staff token signed in with (the analytics download sends it as Bearer)
let wantRoom = null; // room asked for in the URL fragment
let watchGen = 0;
let pending = null; // feed updates held back until the host.watch ack

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

const ctx = {
  act,
  toast,
  now: serverNow,
  token: () => token,
  seenServerTime: seedClock,
  changed(what) {
    if (what === 'people') { renderPeople(); refreshSenders(); }
    if (what === 'slow') renderSlow();
  },
};

// ---- sign in / out --------------------------------------------------------------------

function showSignin(reason = '') {
  document.body.classList.add('signed-out');
  $('signin').hidden = false;
  const box = $('signin-error');
  box.hidden = !reason;
  $('signin-reason').textContent = reason;
  $('signin-btn').disabled = false;
  $('signin-btn').textContent = 'Sign in';
  $('token-input').focus();
}

function signIn(raw) {
  const t = String(raw || '').trim();
  if (!t) { showSignin('Paste a token first.'); return; }
  store()?.setItem(TOKEN_KEY, t);
  token = t;
  const claims = peekToken(t);
  state.exp = claims && typeof claims.exp === 'number' ? claims.exp * 1000 : null;
  state.error = '';
  $('signin-error').hidden = true;
  $('signin-btn').disabled = true;
  $('signin-btn').textContent = 'Signing in…';
  conn.connect(t);
}

function signOut() {
  conn.close();
  store()?.removeItem(TOKEN_KEY);
  token = '';
  Object.assign(state, { signedIn: false, name: '', role: '', rooms: [], room: null, watching: null, roomList: [], exp: null });
  resetRoom();
  $('token-input').value = '';
  renderAll();
  showSignin('');
}

conn.on('state', (s, detail) => {
  state.conn = s;
  const el = $('conn');
  el.dataset.state = s;
  $('conn-text').textContent = {
    idle: 'Offline', connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', refused: 'Refused',
  }[s] || s;
  el.title = detail || '';
});

conn.on('refused', (message) => {
  state.signedIn = false;
  state.error = message;
  store()?.removeItem(TOKEN_KEY);
  document.body.classList.add('signed-out');
  $('who').hidden = true;
  $('signout').hidden = true;
  showSignin(explain(message));
});

// "forbidden: token expired" -> shown as is, with a hint of what to do next.
function explain(message) {
  const m = str(message, 'the server refused the connection');
  const hint = /expir|revoked/i.test(m) ? ' Ask for a new token.'
    : /signature|invalid|malformed|decode|forged/i.test(m) ? ' Check that you pasted the whole token, for this server.'
      : '';
  return `${m}.${hint}`.replace(/\.\./g, '.');
}

conn.on('welcome', async (msg) => {
  seedClock(msg.t);
  const first = !state.signedIn;
  Object.assign(state, {
    signedIn: true,
    name: str(msg.name, 'Staff'),
    role: str(msg.role),
    rooms: msg.rooms === '*' ? '*' : (Array.isArray(msg.rooms) ? msg.rooms.map(String) : []),
    jti: str(msg.jti),
    error: '',
  });
  if (typeof msg.exp === 'number') state.exp = msg.exp * 1000; // the server's word on it
  document.body.classList.remove('signed-out');
  document.body.dataset.role = state.role;
  $('signin').hidden = true;
  $('who').hidden = false;
  $('signout').hidden = false;
  $('who-name').textContent = state.name;
  $('who-role').textContent = state.role;
  $('who-role').dataset.role = state.role;
  $('who-exp').textContent = state.exp ? `token until ${fmtClock(state.exp)}` : '';
  if (first) toast(`Signed in as ${state.name} (${state.role})`, { kind: 'ok' });
  await loadRooms();
  renderRooms();
  renderRole();
  refreshStaff();
  // Re-watch after a reconnect; else the room asked for, the last one, or the only one.
  const ids = state.roomList.map((r) => r.id);
  const pick = [state.room, wantRoom, store()?.getItem(ROOM_KEY)].find((r) => r && ids.includes(r))
    || (ids.length === 1 ? ids[0] : null);
  if (pick) watch(pick, { rewatch: true });
  else renderAll();
});

// ---- watching a room ------------------------------------------------------------------

async function watch(room, { rewatch = false } = {}) {
  const gen = ++watchGen;
  const old = state.room;
  state.watching = null;
  if (old && old !== room) conn.call('host.unwatch', { room: old }); // fire and forget
  if (old !== room || !rewatch) resetRoom();
  state.room = room;
  renderRooms();
  pending = [];
  const ack = await conn.call('host.watch', { room });
  if (gen !== watchGen) return;
  const held = pending;
  pending = null;
  if (!ack.ok) {
    reportError('host.watch', `Watching ${room}`, ack.error);
    state.room = null;
    state.watching = null;
    resetRoom();
    renderAll();
    return;
  }
  store()?.setItem(ROOM_KEY, room);
  // A re-watch after a reconnect keeps the sparkline, the drops seen so far and the catalog.
  const keep = old === room
    ? { stats: state.stats, history: state.history, drops: state.drops, catalog: state.catalog, spotlight: state.spotlight,
      setlist: state.setlist, rounds: state.rounds, report: state.report }
    : {};
  resetRoom();
  Object.assign(state, keep);
  state.watching = room;
  state.roomInfo = ack.room || null;
  state.chat = Array.isArray(ack.chat) ? ack.chat.filter((m) => m && m.id !== undefined) : [];
  state.tickets = Array.isArray(ack.tickets) ? ack.tickets : [];
  state.log = (Array.isArray(ack.log) ? [...ack.log] : []).sort((a, b) => (Number(b.t) || 0) - (Number(a.t) || 0));
  state.muted = Array.isArray(ack.muted) ? ack.muted : [];
  state.banned = Array.isArray(ack.banned) ? ack.banned : [];
  state.slow = Number(ack.slow) || 0;
  state.pinned = ack.pinned && ack.pinned.text ? ack.pinned : null;
  state.qa = Array.isArray(ack.qa) ? ack.qa : [];
  // The current spotlight: in the snapshot (newer servers), else the last one in the log.
  const snap = ack.spotlight && typeof ack.spotlight === 'object' ? ack.spotlight : null;
  const spot = state.log.find((e) => e && e.action === 'spotlight');
  if (snap?.product) setSpotlight({ id: snap.product.id, name: snap.product.name, by: snap.by, t: snap.t });
  else if (spot) setSpotlight({ id: spot.id, name: spot.name, by: spot.by, t: spot.t });
  if (Array.isArray(ack.offers)) syncOffers(ack.offers);
  if (ack.show && typeof ack.show === 'object') applyShow(ack.show, { render: false });
  renderAll();
  for (const apply of held) apply();
  // The catalog: the shop's product picker, and product names in the analytics.
  loadCatalog(room);
  loadReport(room); // attendance before the console came, dwell per cell
}

function pickRoom(room) {
  if (room && room !== state.room) watch(room);
}

function renderRooms() {
  renderRoomSelect(pickRoom);
  renderPicker(pickRoom);
  const info = state.roomList.find((r) => r.id === state.room);
  document.title = info ? `${str(info.name, info.id)} · Host console · Vetrina` : 'Host console · Vetrina';
}

function renderAll() {
  renderRooms();
  renderChat();
  renderPeople();
  renderLog();
  renderQa();
  renderTickets();
  renderStats();
  renderShop();
  renderShows();
  renderTabs();
  renderAnalytics();
  renderStaff();
  document.body.classList.toggle('no-room', !state.room);
}

// ---- the room's feed ----------------------------------------------------------------

const mine = (msg) => state.room && (msg.room === undefined || msg.room === state.room);

// Events of the room that arrive before its host.watch ack wait and are applied after it
// (the ack replaces the whole state; updates are idempotent: by id, or a full list).
function feed(event, apply) {
  conn.on(event, (msg) => {
    if (!mine(msg)) return;
    if (state.watching !== state.room) { pending?.push(() => apply(msg)); return; }
    apply(msg);
  });
}

feed('chat', (m) => addMessage(m));
feed('chat.delete', (m) => markDeleted(m.id));
feed('pin', (p) => {
  state.pinned = typeof p.text === 'string' && p.text ? p : null;
  renderPin();
});
feed('qa.queue', (q) => setQuestions(q.questions));
feed('qa.delete', (d) => dropQuestion(d.id));
feed('ticket', (t) => upsertTicket(t));
feed('modlog', (e) => { applyLog(e); noteLog(e); });
feed('offer', (o) => applyOffer(o));
feed('stats', (s) => {
  seedClock(s.t); // a sample for the server clock estimate (there is no `time` on /host)
  applyStats(s);
  syncOffers(s.offers);
  if (!state.show && s.show?.kind) renderShows(); // a show the snapshot did not carry
  renderAnalytics();
});
feed('show', (s) => {
  if (s.kind === 'wheel' && s.phase === 'idle') seedClock(s.t0); // an idle state is stamped now
  applyShow(s);
  renderTabs();
});

// ---- boot -------------------------------------------------------------------------------

function readFragment() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token');
  wantRoom = params.get('room');
  if (token) {
    // Keep the token out of the address bar, history and screenshots.
    history.replaceState(null, '', location.pathname + location.search + (wantRoom ? `#room=${encodeURIComponent(wantRoom)}` : ''));
  }
  return token;
}

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  signIn($('token-input').value);
});
$('token-input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); signIn($('token-input').value); }
});
$('signout').addEventListener('click', signOut);
window.addEventListener('hashchange', () => {
  const token = readFragment();
  if (token) signIn(token);
});
window.addEventListener('resize', () => { renderStats(); renderAnalytics(); renderShows(); });

initChat(ctx);
initModeration(ctx);
initStaff(ctx);
initQa(ctx);
initTickets(ctx);
initShop(ctx);
initShows(ctx);
initAnalytics(ctx);
initTabs((tab) => {
  if (tab === 'analytics') renderAnalytics();
  if (tab === 'show') onTabShown();
});
renderAll();

const initial = readFragment() || store()?.getItem(TOKEN_KEY);
if (initial) signIn(initial); else showSignin('');

// ---- testing / debugging hook ---------------------------------------------------------

const copy = (v) => JSON.parse(JSON.stringify(v ?? null));
window.vetrinaHost = {
  get signedIn() { return state.signedIn; },
  get conn() { return state.conn; },
  get error() { return state.error; },
  get name() { return state.name; },
  get role() { return state.role; },
  get rooms() { return copy(state.roomList.map((r) => r.id)); },
  get room() { return state.room; },
  get watching() { return state.watching; }, // the room whose host.watch ack arrived
  get chat() { return copy(state.chat); },
  get qa() { return copy(state.qa); },
  get tickets() { return copy(state.tickets); },
  get log() { return copy(state.log); },
  get muted() { return copy(state.muted); },
  get banned() { return copy(state.banned); },
  get slow() { return state.slow; },
  get pinned() { return copy(state.pinned); },
  get stats() { return copy(state.stats); },
  get history() { return copy(state.history); },
  get errors() { return copy(state.errors); },
  get catalog() { return copy(state.catalog); },
  get drops() { return copy(state.drops); }, // from the `offer` feed and `stats.offers`
  get spotlight() { return copy(state.spotlight); },
  get show() { return copy(state.show); }, // the room's ShowState (watch ack + `show` feed)
  get setlist() { return copy(state.setlist); },
  get rounds() { return copy(state.rounds); }, // settled wheel rounds checked here: {ok, commit, seed, ...}
  get tab() { return state.tab; },
  get lastExport() { return copy(state.lastExport); },
  get serverNow() { return serverNow(); },
  get clockOffset() { return clockOffset(); },
  can: (what) => can(what),
  watch: (room) => watch(room),
  call: (event, payload) => conn.call(event, payload), // raw ack, nothing shown
  act: (event, payload) => act(event, payload, { label: event }), // as a button does: errors shown
};
