// Vetrina web client entry point: wires network, scene, avatars, controls and HUD together.
import * as THREE from 'three';
import { CSS2DRenderer } from 'three/addons/renderers/CSS2DRenderer.js';
import { Net } from './net.js';
import { parseTick } from './tick.js';
import { buildRoom } from './scene.js';
import { Avatar, RemoteAvatars } from './avatars.js';
import { Controls } from './controls.js';
import { makeWorld, segmentHit, stepMove } from './collide.js';
import { lerpAngle, wrapAngle } from './interp.js';
import * as hud from './hud.js';
import { detectQuality } from './quality.js';
import { Panels } from './panels.js';
import { Chat } from './chat.js';
import { Reactions } from './reactions.js';
import { QA } from './qa.js';
import { Assist } from './assist.js';
import { applyModeration } from './moderation.js';
import { Shop, money } from './shop.js';
import { Booths } from './booth.js';
import { Drops, Spotlight } from './offer.js';
import { Shows } from './shows.js';
import { XRClient } from './xr.js';

const INTERP_DELAY_MS = 100; // render remote avatars this far behind server time (at least)
const SEND_INTERVAL_MS = 75; // ≤ ~13 moves/s while moving (protocol allows 20/s)
const LOOK_KEY = 'vetrina.look';
const NAME_KEY = 'vetrina.name';
const WEAR_KEY = 'vetrina.wear'; // {id, wear}: what our avatar wears (the server keeps it on resume)

const store = (() => { try { return window.sessionStorage; } catch { return null; } })();

// A random but stable (per tab) outfit: saturated body colour plus a complementary accent.
function loadLook() {
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

// ---------------------------------------------------------------- graphics
const stageEl = document.getElementById('stage');
const scene = new THREE.Scene();
// No scene.background: the sky is a CSS gradient behind a transparent canvas, which costs no
// fill rate in WebGL (matters for software rendering) and lets the horizon blend into the fog.
const camera = new THREE.PerspectiveCamera(55, innerWidth / innerHeight, 0.1, 400);
camera.position.set(0, 6, 10);
let renderer = null;
let labels = null;
const quality = detectQuality();
let pixelRatio = Math.min(window.devicePixelRatio || 1, quality.maxPixelRatio);
try {
  renderer = new THREE.WebGLRenderer({ antialias: quality.antialias, alpha: true, powerPreference: 'high-performance' });
  renderer.setClearColor(0x000000, 0);
  renderer.setPixelRatio(pixelRatio);
  renderer.setSize(innerWidth, innerHeight);
  renderer.shadowMap.enabled = quality.shadows;
  renderer.shadowMap.type = THREE.PCFShadowMap;
  renderer.toneMapping = THREE.NeutralToneMapping; // keeps brand colours true, tames highlights
  renderer.toneMappingExposure = 1.0;
  stageEl.append(renderer.domElement);
} catch (err) {
  // No WebGL: the client still connects and works (HUD, presence); only the 3D view is missing.
  renderer = null;
  hud.showFatal('3D view unavailable in this browser (WebGL is disabled). You are still connected.');
  console.warn('WebGL unavailable', err);
}
labels = new CSS2DRenderer();
labels.setSize(innerWidth, innerHeight);
labels.domElement.className = 'labels';
stageEl.append(labels.domElement);

// Portrait phones: a wider vertical field of view so the room, not just the avatar, is visible.
function fitCamera() {
  camera.aspect = innerWidth / innerHeight;
  camera.fov = camera.aspect < 1 ? 72 : 55;
  camera.updateProjectionMatrix();
}
fitCamera();
addEventListener('resize', () => {
  fitCamera();
  renderer?.setSize(innerWidth, innerHeight);
  labels.setSize(innerWidth, innerHeight);
});

const remoteGroup = new THREE.Group();
scene.add(remoteGroup);
const marker = new THREE.Mesh(
  new THREE.RingGeometry(0.28, 0.38, 32),
  new THREE.MeshBasicMaterial({ color: '#b8893b', transparent: true, opacity: 0.9, depthWrite: false }),
);
marker.rotation.x = -Math.PI / 2;
marker.visible = false;
scene.add(marker);

// ---------------------------------------------------------------- state
const app = {
  net: null,
  name: '',
  look: loadLook(),
  room: null, // RoomInfo of the current room
  built: null, // three.js objects of the current room
  world: null, // collision world of the current room
  self: { x: 0, y: 0, z: 0, yaw: 0 },
  selfAvatar: null,
  remotes: new RemoteAvatars(remoteGroup, { delayMs: INTERP_DELAY_MS }),
  target: null, // click/tap-to-walk destination {x, z}
  stuck: { t: 0, x: 0, z: 0 },
  lastSent: { x: NaN, y: NaN, z: NaN, yaw: NaN, time: 0 },
  ignoreCorrectUpTo: 0,
  everJoined: false,
  removed: false, // kicked or banned by a moderator: do not offer to rejoin
  builtAt: 0,
  corrections: 0, // applied `correct` snaps (exposed for tests)
  fps: 0,
  snapCamera: true,
};

app.remotes.camera = camera;
const controls = new Controls(renderer ? renderer.domElement : stageEl, document.getElementById('joystick'), {
  onTap: (x, y) => walkTo(x, y),
});

// ---------------------------------------------------------------- social layer
// What the panels need from the network, whether or not a connection exists yet.
const offline = { ok: false, error: { code: 'not_joined', message: 'Not connected to a room yet.' } };
const link = {
  request: (evt, data) => (app.net ? app.net.request(evt, data) : Promise.resolve(offline)),
  send: (evt, data) => !!app.net?.send(evt, data),
  get selfId() { return app.net ? app.net.selfId : null; },
  get offset() { return app.net ? app.net.serverOffset : 0; },
  now: () => (app.net ? app.net.serverNow() : Date.now()),
};

// Floating reactions start over an avatar only when it is on screen and not far away.
const projected = new THREE.Vector3();
function reactionAnchor(id) {
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
}

const panels = new Panels();
const $id = (id) => document.getElementById(id);
const chat = new Chat(link, { isOpen: () => panels.isOpen('chat') });
const reactions = new Reactions(link, { anchorFor: reactionAnchor });
const qa = new QA(link, {
  onActivity: (kind, q) => {
    if (panels.isOpen('qa')) return;
    $id('qa-tab').classList.add('fresh');
    if (kind === 'answer') hud.toast(`The host answered: “${q.text.slice(0, 60)}”`, { ms: 5000 });
  },
});
const assist = new Assist(link, {
  onReply: (m) => {
    if (panels.isOpen('assist')) return;
    $id('assist-badge').hidden = false;
    hud.toast(m.from === 'staff' ? `${m.name || 'Staff'} replied in Help` : 'The assistant replied in Help', { ms: 5000 });
  },
});
// Chat starts open on desktop, folded on phones and touch screens (it would cover the view).
const roomy = !matchMedia('(max-width: 760px), (pointer: coarse)').matches;
panels.add('chat', { root: $id('chat'), toggle: $id('chat-toggle'), side: 'left', open: roomy, onChange: (open) => chat.onOpenChange(open) });
panels.add('qa', { root: $id('qa'), toggle: $id('qa-tab'), side: 'right', onChange: (open) => { if (open) $id('qa-tab').classList.remove('fresh'); } });
panels.add('assist', { root: $id('assist'), toggle: $id('assist-tab'), side: 'right', onChange: (open) => { if (open) $id('assist-badge').hidden = true; } });

// ---------------------------------------------------------------- live shopping
// Our own avatar shows what we try on (others see it through their ticks).
function wearOnSelf(wear) {
  app.selfAvatar?.setLook({ ...app.look, wear });
}
const shop = new Shop(link, {
  openPanel: (name, open) => panels.set(name, open),
  isOpen: (name) => panels.isOpen(name),
  onWear: (wear) => {
    wearOnSelf(wear);
    store?.setItem(WEAR_KEY, JSON.stringify({ id: link.selfId, wear }));
  },
  onCart: (cart) => drops.markOrders(cart.orders),
});
const viewProduct = (id) => shop.view(id);
const booths = new Booths({ onView: viewProduct });
const drops = new Drops(link, {
  product: (id) => shop.byId.get(id) || null,
  view: viewProduct,
  onOrder: () => shop.refreshCart(), // the drop's card shows the order; the cart lists it
});
const spotlight = new Spotlight(link, { view: viewProduct });
// Live shows: the money wheel, concert effects and "For you" notices (shows.js).
const shows = new Shows(link, { toast: hud.toast, view: viewProduct, product: (id) => shop.byId.get(id) || null });
panels.add('shop', { root: $id('shop'), toggle: $id('shop-tab'), side: 'right', onChange: (open) => booths.setSuppressed(open) });
panels.add('cart', { root: $id('cart'), toggle: $id('cart-tab'), side: 'right', onChange: (open) => { if (open && !shop.cartKnown) shop.refreshCart(); } });
// The live-shopping cards sit at the top; panels below them must not grow underneath them.
const promoEl = $id('promo');
function notePromo() {
  const visible = [...promoEl.children].some((c) => !c.hidden);
  const bottom = visible ? Math.ceil(promoEl.getBoundingClientRect().bottom) : 0;
  document.documentElement.style.setProperty('--promo-bottom', `${bottom}px`);
  document.body.classList.toggle('has-promo', visible);
}
// On phones and mid widths the cards stand under the top row (brand card, status pills).
function noteTopRow() {
  const bottom = Math.max(...['#hud .brand', '#hud .hud-right'].map((sel) => document.querySelector(sel)?.getBoundingClientRect().bottom || 0));
  document.documentElement.style.setProperty('--top-row', `${Math.ceil(bottom) + 8}px`);
  notePromo();
}
const topRow = new ResizeObserver(noteTopRow);
for (const sel of ['#hud .brand', '#hud .hud-right']) topRow.observe(document.querySelector(sel));
new ResizeObserver(notePromo).observe(promoEl);
new MutationObserver(notePromo).observe(promoEl, { subtree: true, childList: true, attributes: true, attributeFilter: ['hidden'] });
addEventListener('resize', noteTopRow);

// Clicking into the 3D view leaves any text field, so the keyboard walks again.
stageEl.addEventListener('pointerdown', () => {
  const a = document.activeElement;
  if (a instanceof HTMLElement && a !== document.body && !a.closest('#overlay')) a.blur();
});

// Enter in the 3D view opens the chat and puts the cursor in it (as in most games).
addEventListener('keydown', (e) => {
  if (e.key !== 'Enter' || e.repeat || e.isComposing || app.net?.state !== 'joined' || !$id('overlay').hidden) return;
  const t = e.target;
  if (t instanceof HTMLElement && t !== document.body && t.closest('input, textarea, select, button, a, [contenteditable]')) return;
  e.preventDefault();
  panels.set('chat', true);
  $id('chat-input').focus();
});

// Kicked or banned: out of the room, back to the room picker (joining again is allowed).
function removedFromRoom(text) {
  app.removed = true;
  app.net?.leftRoom();
  shows.onLeft();
  app.remotes.clear();
  hud.setInView(0);
  app.target = null;
  marker.visible = false;
  showOverlay(text);
}

// ---------------------------------------------------------------- VR (xr.js)
// The wrist menu offers what the flat UI does, from the same modules' state and actions.
const QUICK_CHAT = ['Hello everyone! 👋', 'Love this!', 'Where is this from?', 'See you at the show'];
function menuStatus(ack, done) {
  xr.menu.setStatus(ack?.ok ? done : ack?.error?.message || 'That did not go through.');
  return !!ack?.ok;
}
function addFirstVariant(productId) {
  const p = shop.byId.get(productId);
  const v = p?.variants.find((x) => x.stock > 0) || p?.variants[0];
  if (!v) return Promise.resolve({ ok: false, error: { message: 'Not available right now.' } });
  return shop.addToCart(productId, v.id, 1);
}
function menuModel() {
  const sections = [];
  const emoji = reactions.emoji.slice(0, 14);
  if (emoji.length) {
    sections.push({ title: 'React', buttons: emoji.map((e) => ({ id: `react:${e}`, label: e, size: 'emoji',
      run: () => { const ok = reactions.press(e); xr.menu.setStatus(ok ? `Sent ${e}` : 'Slow down a little'); return ok; } })) });
  }
  sections.push({ title: 'Say to the room', buttons: QUICK_CHAT.map((t, i) => ({ id: `say:${i}`, label: t, size: 'half',
    run: async () => menuStatus(await chat.send(t, 'room'), 'Sent to the room') })) });
  const live = [];
  for (const o of drops.view().filter((d) => d.status === 'live').slice(0, 2)) {
    live.push({ id: `claim:${o.id}`, label: `Claim · ${o.name}`, sub: `${money(o.price, o.currency)}${o.stock != null ? ` · ${o.stock} left` : ''}`, size: 'full', kind: 'primary',
      run: async () => menuStatus(await drops.claim(o.id), 'Claimed — it is in your orders') });
  }
  const sp = spotlight.view();
  if (sp) {
    live.push({ id: `spot:${sp.product.id}`, label: `On stage · ${sp.product.name}`, sub: `${money(sp.product.price, sp.product.currency)} · add to cart`, size: 'full',
      run: async () => menuStatus(await addFirstVariant(sp.product.id), 'Added to your cart') });
  }
  const near = booths.view();
  for (const id of near?.products.slice(0, 2) || []) {
    const p = shop.byId.get(id);
    if (!p || live.some((b) => b.id === `spot:${id}`)) continue;
    live.push({ id: `booth:${id}`, label: p.name, sub: `${money(p.price, p.currency)} · ${near.label} · add to cart`, size: 'full',
      run: async () => menuStatus(await addFirstVariant(id), 'Added to your cart') });
  }
  const wheel = shows.wheel.view();
  if (wheel.active && wheel.phase === 'betting') {
    for (const seg of [...shows.wheel.betBtns.keys()].slice(0, 14)) {
      live.push({ id: `bet:${seg}`, label: seg.replace(/x$/, '×'), size: 'emoji',
        run: async () => menuStatus(await shows.wheel.bet(seg, shows.wheel.amount), `Bet ${wheel.amount} on ${seg}`) });
    }
  }
  if (live.length) sections.push({ title: wheel.active && wheel.phase === 'betting' ? `Live · wheel: bet ${wheel.amount}` : 'Live now', buttons: live });
  sections.push({ title: 'Headset', buttons: [{ id: 'exit', label: 'Exit VR', size: 'full', kind: 'quiet', run: () => { xr.exit(); return true; } }] });
  const n = app.remotes.size;
  return { title: app.room?.name || 'Vetrina', sub: `${n} visitor${n === 1 ? '' : 's'} in view`, sections };
}
const xr = new XRClient({
  renderer, scene, camera, app, link,
  pickables: () => app.built?.pickables || [],
  walkTo: (x, z) => window.vetrina.walkTo(x, z, { run: true }),
  startYaw: () => controls.camYaw,
  menuModel,
  buttonHost: document.querySelector('#hud .hud-right'),
  onStart: () => { controls.enabled = false; },
  onStop: () => { controls.enabled = true; fitCamera(); app.snapCamera = true; },
  onError: (text) => hud.toast(text, { kind: 'error' }),
});
xr.init();

// ---------------------------------------------------------------- testing/debug hook
window.vetrina = {
  get state() { return app.net ? app.net.state : 'connecting'; },
  get selfId() { return app.net ? app.net.selfId : null; },
  get roomId() { return app.room ? app.room.id : null; },
  get serverOffset() { return app.net ? app.net.serverOffset : 0; },
  get inView() { return app.remotes.size; },
  get corrections() { return app.corrections; },
  get fps() { return app.fps; },
  get quality() { return { tier: quality.tier, pixelRatio }; },
  serverNow() { return app.net ? app.net.serverNow() : Date.now(); },
  // Remote avatars at their rendered (interpolated) pose.
  get renderDelay() { return app.remotes.delayMs; },
  avatars() { return app.remotes.poses(window.vetrina.serverNow() - app.remotes.delayMs); },
  self() { const s = app.self; return { x: s.x, y: s.y, z: s.z, yaw: s.yaw }; },
  // Social layer, read-only views of what is shown.
  get chat() { return chat.view(); },
  get pinned() { return chat.pinned ? { ...chat.pinned } : null; },
  get slowMode() { return chat.slow; },
  get mutedUntil() { return chat.mutedUntil; },
  get chatNotice() { return chat.muteNotice.text || chat.notice.text; },
  get qa() { return qa.view(); },
  get assist() { return assist.view(); },
  get reactions() { return [...reactions.emoji]; },
  get reactionsShown() { return reactions.spawned; },
  get reactionsFloating() { return reactions.floating; },
  get reactionBursts() { return reactions.bursts(); },
  get removed() { return app.removed; },
  // Helpers that go through the same code as the UI; each resolves with the server's ack.
  say: (text, scope = 'room') => chat.send(String(text), scope),
  react: (emoji) => reactions.press(emoji),
  ask: (text) => qa.ask(String(text)),
  vote: (id) => qa.vote(id),
  help: (text) => assist.send(String(text)),
  openPanel: (name, open = true) => panels.set(name, open),
  // Live shopping, read-only views of what is shown.
  get catalog() { return shop.catalog.map((p) => ({ id: p.id, name: p.name, price: p.price, currency: p.currency, booth: p.booth })); },
  get product() { return shop.productView(); },
  get cart() { return shop.cartView(); },
  get offers() { return drops.view(); },
  get spotlight() { return spotlight.view(); },
  // Live shows: the room's ShowState, the wheel as shown, the concert cue now, notices on screen.
  get show() { return shows.state; },
  get wheel() { return shows.wheel.view(); },
  get concertCue() { return shows.concert.cueAt(window.vetrina.serverNow()); },
  get concert() { return shows.concert.view(window.vetrina.serverNow()); },
  get notices() { return shows.notices.list(); },
  bet: (segment, amount) => shows.wheel.bet(String(segment), Number(amount)),
  get boothNear() { return booths.view(); },
  get wear() { return app.selfAvatar ? app.selfAvatar.wearShown() : null; },
  viewProduct: (id) => shop.view(String(id)),
  tryOn: (product, variant) => shop.tryOn(String(product), String(variant)),
  addToCart: (product, variant, qty = 1) => shop.addToCart(String(product), String(variant), qty),
  claim: (id) => drops.claim(String(id)),
  boothFront: (id) => booths.frontOf(String(id)),
  // Walk towards (x, z) in a straight line, as a click on the floor does (run: faster).
  walkTo(x, z, { run = false } = {}) {
    if (!Number.isFinite(x) || !Number.isFinite(z)) return false;
    app.target = { x, z, run };
    app.stuck = { t: performance.now(), x: app.self.x, z: app.self.z };
    marker.position.set(x, 0.03, z);
    marker.visible = true;
    return true;
  },
  get walking() { return !!app.target; },
  // VR: the session as the client sees it; the wrist menu; press a menu button by id.
  get vr() { return xr.view(); },
  enterVR: () => xr.enter(),
  exitVR: () => xr.exit(),
  menuPress: (id) => xr.menu.press(String(id)),
  // Rendering: draw calls of the last frame and how avatars are drawn (full / instanced).
  get render() {
    return { calls: app.drawCalls || 0, mode: app.remotes.mode, lite: app.remotes.lite, detailed: app.remotes.detailed, instanced: app.remotes.instanced, drawnInstanced: app.remotes.drawnInstanced || 0, phone: quality.phone };
  },
  set renderMode(m) { app.remotes.mode = ['full', 'instanced'].includes(m) ? m : 'auto'; },
  _debug: { app, controls, camera, scene, labels, xr, get renderer() { return renderer; } }, // devtools poking; not an API
};

// ---------------------------------------------------------------- networking
function start(name, roomId) {
  app.name = name;
  store?.setItem(NAME_KEY, name);
  hud.setSelfName(name, app.look.color);
  hud.setStatus('connecting');
  hud.hideOverlay();
  if (app.net) { // second attempt from the overlay (e.g. after a join error): reuse the socket
    app.net.name = name;
    if (app.net.socket?.connected) app.net.join(roomId);
    else { app.net.roomId = roomId; app.net.socket?.connect(); }
    return;
  }
  const net = new Net({ name, look: app.look });
  app.net = net;
  net.roomId = roomId; // joined on every welcome (first connect and each reconnect)
  net.on('state', (s) => hud.setStatus(s));
  net.on('disconnect', () => {
    // The server forgets our view with the connection; it resends `enter` after re-join.
    app.remotes.clear();
    hud.setInView(0);
  });
  net.on('connect_error', (err) => {
    if (!net.socket.active) { // refused by the server (bad name, banned…): no auto-retry
      const msg = err?.data?.message || err?.message || 'Connection refused.';
      showOverlay(msg);
    }
  });
  net.on('server_disconnect', () => {
    if (app.removed) return; // kicked/banned: the moderation message already says why
    hud.showFatal('This visit was closed by the server — maybe Vetrina is open in another tab.', {
      label: 'Rejoin here',
      run: () => net.reconnect({ fresh: true }),
    });
  });
  net.on('joining', () => { app.remotes.clear(); hud.setInView(0); });
  net.on('joined', (ack) => onJoined(ack));
  net.on('join_error', (e) => {
    const msg = `${e.message || 'Could not join the room.'}${e.code ? ` (${e.code})` : ''}`;
    if (!app.everJoined || app.removed) showOverlay(msg);
    else hud.toast(msg, { kind: 'error' });
  });
  net.on('tick', (msg) => onTick(msg));
  net.on('correct', (msg) => onCorrect(msg));
  net.on('notice', (msg) => shows.onNotice(msg));
  net.on('moderation', (msg) => applyModeration(msg, chat, {
    toast: hud.toast,
    removed: removedFromRoom,
    get offset() { return net.serverOffset; },
  }));
  net.on('chat', (msg) => chat.add(msg));
  net.on('chat.delete', (msg) => chat.remove(msg.id));
  net.on('pin', (msg) => chat.setPin(msg, { live: true }));
  net.on('reactions', (msg) => reactions.onReactions(msg));
  net.on('qa', (msg) => qa.onQa(msg));
  net.on('assist', (msg) => assist.onEvent(msg));
  net.on('spotlight', (msg) => spotlight.set(msg, { live: true }));
  net.on('offer', (msg) => drops.onOffer(msg));
  try {
    net.connect();
    // Live-shopping events (docs/protocol.md "Showroom commerce"), passed on like the social ones.
    for (const evt of ['spotlight', 'offer']) net.socket.on(evt, (msg) => net.emit(evt, msg || {}));
    shows.listen(net.socket); // `show`, `payout`, `leaderboard`
  } catch (err) {
    hud.showFatal(String(err.message || err));
  }
}

function showOverlay(error = '') {
  hud.showOverlay({
    name: app.name || store?.getItem(NAME_KEY) || '',
    room: app.net?.roomId || app.room?.id || params.get('room') || '',
    error,
    onEnter: start,
  });
}

function onJoined(ack) {
  const room = ack.room;
  app.everJoined = true;
  const newRoom = !app.room || app.room.id !== room.id || !app.built;
  if (newRoom) {
    app.built?.dispose();
    if (app.built) scene.remove(app.built.group);
    app.built = buildRoom(room);
    scene.add(app.built.group);
    scene.fog = app.built.fog;
    stageEl.style.background = app.built.sky;
    app.world = makeWorld(room);
    app.builtAt = performance.now();
    app.remotes.tickMs = 1000 / (room.tick_hz || 10);
  }
  app.room = room;
  app.removed = false;
  hud.setRoom(room.name);
  hud.setInvite(room.id, ack.you?.id);
  if (newRoom || !reactions.emoji.length) reactions.setRoom(room);
  chat.onJoined(ack);
  qa.onJoined(ack);
  assist.onJoined(ack);
  hud.setInView(app.remotes.size);
  if (!app.selfAvatar) {
    app.selfAvatar = new Avatar(app.name, app.look, { self: true });
    scene.add(app.selfAvatar.group);
  }
  // What we wore before a reload: the server kept it on our (resumed) avatar.
  try {
    const saved = JSON.parse(store?.getItem(WEAR_KEY) || 'null');
    if (saved && saved.wear && saved.id === ack.you?.id) {
      shop.wear = saved.wear;
      shop.wearOwner = saved.id;
      wearOnSelf(saved.wear);
    } else if (saved && saved.id !== ack.you?.id) {
      store?.removeItem(WEAR_KEY); // a new avatar: it wears nothing
      wearOnSelf(null);
    }
  } catch { /* nothing saved */ }
  shop.onJoined(ack);
  booths.setRoom(room, shop.catalog);
  drops.onJoined(ack);
  spotlight.onJoined(ack);
  shows.onJoined(ack, app.built);
  const p = ack.you?.p || room.scene?.spawn?.[0] || [0, 0, 0];
  const yaw = typeof ack.you?.yaw === 'number' ? ack.you.yaw : 0;
  app.self = { x: p[0], y: p[1], z: p[2], yaw };
  app.lastSent = { x: p[0], y: p[1], z: p[2], yaw, time: performance.now() };
  app.ignoreCorrectUpTo = app.net.seq;
  app.target = null;
  marker.visible = false;
  if (!newRoom) return; // a re-join after a reconnect keeps the camera where the user left it
  // Start looking into the room (from the spawn towards the room's centre), whatever the
  // avatar's spawn yaw: the first view should show the showroom, not the entrance wall.
  const [lo, hi] = room.bounds || room.scene.bounds;
  const ax = p[0] - (lo[0] + hi[0]) / 2;
  const az = p[2] - (lo[2] + hi[2]) / 2;
  controls.camYaw = Math.hypot(ax, az) > 2 ? Math.atan2(ax, az) : yaw;
  app.snapCamera = true;
}

function onTick(msg) {
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

function onCorrect(msg) {
  if (!Array.isArray(msg.p) || msg.p.length < 3) return;
  // Corrections for moves sent before our last snap are stale: we already moved back.
  if (typeof msg.seq === 'number' && msg.seq <= app.ignoreCorrectUpTo) return;
  app.self.x = msg.p[0];
  app.self.y = msg.p[1];
  app.self.z = msg.p[2];
  app.ignoreCorrectUpTo = app.net.seq;
  app.corrections += 1;
  app.lastSent = { ...app.self, time: performance.now() };
  app.target = null;
  marker.visible = false;
  hud.toast('Position corrected by the server', { kind: 'subtle', ms: 1500 });
}

// ---------------------------------------------------------------- movement
const raycaster = new THREE.Raycaster();
function walkTo(clientX, clientY) {
  if (!app.built || !app.net || app.net.state !== 'joined') return;
  const rect = (renderer ? renderer.domElement : stageEl).getBoundingClientRect();
  const ndc = new THREE.Vector2(((clientX - rect.left) / rect.width) * 2 - 1, -((clientY - rect.top) / rect.height) * 2 + 1);
  raycaster.setFromCamera(ndc, camera);
  const hit = raycaster.intersectObjects(app.built.pickables, false)[0];
  if (!hit) return;
  // Clicking a stand walks up to it: collision sliding stops us at its edge.
  app.target = { x: hit.point.x, z: hit.point.z };
  app.stuck = { t: performance.now(), x: app.self.x, z: app.self.z };
  marker.position.set(hit.point.x, 0.03, hit.point.z);
  marker.visible = true;
}

function speeds() {
  const max = app.room?.max_speed || 6;
  return { walk: Math.min(4, max * 0.7), run: max * 0.9 };
}

function updateSelf(dt, now) {
  if (!app.world || app.net?.state !== 'joined') return;
  const vr = xr.presenting;
  const input = vr ? xr.input() : controls.read(dt);
  if (vr) controls.read(dt); // keeps the keyboard state consistent; VR walks with the stick
  const { walk, run } = speeds();
  let dx = 0;
  let dz = 0;
  let speed = input.run || (!input.active && app.target?.run) ? run : walk;
  if (input.active) {
    hud.hideHint();
    app.target = null;
    marker.visible = false;
    const cy = vr ? input.yaw : controls.camYaw;
    // Camera-relative: forward is away from the camera, right is the camera's right.
    dx = -Math.sin(cy) * input.forward + Math.cos(cy) * input.right;
    dz = -Math.cos(cy) * input.forward - Math.sin(cy) * input.right;
    speed *= Math.min(1, Math.hypot(input.forward, input.right));
  } else if (app.target) {
    const tx = app.target.x - app.self.x;
    const tz = app.target.z - app.self.z;
    const d = Math.hypot(tx, tz);
    if (d < 0.08) {
      app.target = null;
      marker.visible = false;
    } else {
      dx = tx / d;
      dz = tz / d;
      speed = Math.min(speed, d / dt);
      // Blocked (e.g. walked into a stand): give up rather than push against it forever.
      if (now - app.stuck.t > 500) {
        if (Math.hypot(app.self.x - app.stuck.x, app.self.z - app.stuck.z) < walk * 0.1) {
          app.target = null;
          marker.visible = false;
        }
        app.stuck = { t: now, x: app.self.x, z: app.self.z };
      }
    }
  }
  const len = Math.hypot(dx, dz);
  let budget = run * dt; // what one frame may move in all, whatever moves us (speed limit)
  if (len > 1e-6) {
    const step = Math.min(speed * dt, budget);
    const next = stepMove(app.world, app.self, (dx / len) * step, (dz / len) * step);
    if (vr) xr.shift(next.x - app.self.x, next.z - app.self.z); // the tracking space comes along
    budget -= Math.hypot(next.x - app.self.x, next.z - app.self.z);
    app.self.x = next.x;
    app.self.z = next.z;
    const want = Math.atan2(-dx, -dz); // yaw 0 faces -z
    app.self.yaw = lerpAngle(app.self.yaw, want, 1 - Math.exp(-dt * 12));
  }
  if (vr) {
    // Walking around the play space drags the avatar along (legal steps, colliders respected),
    // so the head stays over the body; the avatar faces where the head looks.
    const off = xr.headOffset();
    const d = Math.hypot(off.x, off.z);
    if (d > 0.25 && budget > 1e-4) {
      const step = Math.min(d - 0.2, budget);
      const next = stepMove(app.world, app.self, (off.x / d) * step, (off.z / d) * step);
      app.self.x = next.x;
      app.self.z = next.z;
    }
    if (xr.headWorld.ok) app.self.yaw = xr.headWorld.yaw;
  }
  // Send when something changed, at most every SEND_INTERVAL_MS; this also sends the final
  // resting pose right after we stop.
  const ls = app.lastSent;
  const changed = !(Math.abs(ls.x - app.self.x) < 0.005 && Math.abs(ls.z - app.self.z) < 0.005 && Math.abs(wrapAngle(ls.yaw - app.self.yaw)) < 0.01);
  if (changed && now - ls.time >= SEND_INTERVAL_MS) {
    const yaw = wrapAngle(app.self.yaw);
    if (app.net.sendMove([app.self.x, app.self.y, app.self.z], yaw) !== null) {
      app.lastSent = { x: app.self.x, y: app.self.y, z: app.self.z, yaw, time: now };
    }
  }
}

const focus = new THREE.Vector3();
const desired = new THREE.Vector3();
function updateCamera(dt) {
  focus.set(app.self.x, app.self.y + 1.5, app.self.z);
  const cp = controls.camPitch;
  const cy = controls.camYaw;
  const d = controls.camDist;
  desired.set(focus.x + Math.sin(cy) * Math.cos(cp) * d, focus.y + Math.sin(cp) * d, focus.z + Math.cos(cy) * Math.cos(cp) * d);
  let pulledIn = false;
  if (app.world) { // never end up behind a wall: pull the camera in front of it
    const t = segmentHit(app.world, [focus.x, focus.y, focus.z], [desired.x, desired.y, desired.z]);
    if (t < 1) {
      desired.sub(focus).multiplyScalar(Math.max(0.05, t - 0.04)).add(focus);
      pulledIn = true;
    }
  }
  if (app.snapCamera) { camera.position.copy(desired); app.snapCamera = false; }
  else camera.position.lerp(desired, 1 - Math.exp(-dt * 10));
  // While pulled in, do not lag behind the limit (the lag would show the wall's back side).
  if (pulledIn && camera.position.distanceTo(focus) > desired.distanceTo(focus)) camera.position.copy(desired);
  // Aim a little above the head so the room ahead, not the floor, fills the view.
  camera.lookAt(focus.x, focus.y + 0.6, focus.z);
}

// ---------------------------------------------------------------- frame loop
// Slow frames (weak GPU, software WebGL) are worse than a softer image: step the render
// resolution down while we stay under ~15 fps. Input and networking run per frame too.
let slowSince = 0;
function adaptResolution(now) {
  if (!renderer || document.hidden || now - app.builtAt < 5000 || xr.presenting) return; // shader compiles are slow
  if (app.fps >= 15 || pixelRatio <= 0.5) { slowSince = 0; return; }
  if (!slowSince) slowSince = now;
  else if (now - slowSince > 2500) {
    pixelRatio = Math.max(0.5, Math.round((pixelRatio - 0.15) * 100) / 100);
    renderer.setPixelRatio(pixelRatio);
    renderer.setSize(innerWidth, innerHeight);
    slowSince = 0;
  }
}

let last = performance.now();
let boothCheck = 0;
function frame() {
  const now = performance.now();
  const vr = xr.presenting;
  // (an XR frame must always be drawn: a skipped one shows black in the headset)
  if (!vr && quality.maxFps && now - last < 1000 / quality.maxFps - 2) return;
  const dt = Math.min(0.25, (now - last) / 1000); // clamp: a background tab must not teleport us
  last = now;
  app.fps += ((dt > 0 ? 1 / dt : 0) - app.fps) * 0.1;
  adaptResolution(now);
  if (vr) xr.beforeMove();
  updateSelf(dt, now);
  if (vr) xr.afterMove(now);
  if (app.selfAvatar) {
    app.selfAvatar.group.visible = !vr; // in VR we are the camera; our hands are the controllers
    app.selfAvatar.pose(app.self.x, app.self.y, app.self.z, app.self.yaw, dt);
  }
  const serverNow = app.net ? app.net.serverNow() : Date.now();
  if (now - boothCheck > 150) { boothCheck = now; booths.update(app.self.x, app.self.z); }
  if (vr) focus.set(app.self.x, app.self.y + 1.5, app.self.z);
  else updateCamera(dt);
  // after the camera: the light crowd path leaves out avatars outside this frame's view
  app.remotes.noCull = vr;
  app.remotes.update(serverNow, dt, app.self);
  app.built?.update(focus, serverNow);
  shows.update(serverNow);
  marker.material.opacity = 0.55 + 0.35 * Math.sin(now * 0.006);
  if (renderer) {
    renderer.render(scene, camera);
    app.drawCalls = renderer.info.render.calls;
  }
  if (!vr) labels.render(scene, camera); // name tags are DOM: not in the headset
}
if (renderer) renderer.setAnimationLoop(frame);
else (function loop() { frame(); requestAnimationFrame(loop); })();

// ---------------------------------------------------------------- boot
const params = new URLSearchParams(location.search);
const urlName = (params.get('name') || '').trim();
const urlRoom = (params.get('room') || '').trim();
hud.setInView(0);
if (urlName && urlName.length <= 32 && urlRoom) start(urlName, urlRoom);
else showOverlay(urlName.length > 32 ? 'Names are 1 to 32 characters.' : '');
