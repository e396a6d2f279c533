// Shop panel (role host only): the watched room's catalog from GET /api/rooms/{room}, a product
// picker to spotlight a product or start a limited drop, and the live list of drops from the
// staff feed's `offer` events (docs/protocol.md, "Showroom commerce").

import { $, h, clear, fmtTime, str } from './dom.js';
import { state, can, copy } from './state.js';

// offer.start limits, as the server checks them (world/protocol.py OfferStartRequest).
export const LIMITS = {
  price: { min: 0, max: 1_000_000 },
  stock: { min: 1, max: 100_000 },
  seconds: { min: 5, max: 24 * 3600 },
};
const MAX_DROPS = 30; // kept in the list (live ones always stay)

let ctx = null;
let catalogGen = 0;
let loading = false;

export function initShop(c) {
  ctx = c;
  const form = $('shop-form');
  form.addEventListener('submit', (e) => { e.preventDefault(); startDrop(); });
  $('spotlight-btn').addEventListener('click', () => spotlight());
  $('shop-product').addEventListener('change', () => { fillPrice(); renderProductInfo(); clearHint(); });
  for (const id of ['drop-price', 'drop-stock', 'drop-seconds']) {
    $(id).addEventListener('input', () => { $(id).removeAttribute('aria-invalid'); clearHint(); });
  }
  // Countdowns tick every second; a drop whose time is up waits for its last `offer` event.
  setInterval(tickCountdowns, 1000);
}

// ---- the catalog ----------------------------------------------------------------------

export async function loadCatalog(room) {
  const gen = ++catalogGen;
  loading = true; // a re-watch of the same room keeps its catalog meanwhile
  state.catalogError = '';
  renderShop();
  let products = [];
  let error = '';
  try {
    const res = await fetch(`/api/rooms/${encodeURIComponent(room)}`, { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const info = await res.json();
    products = Array.isArray(info?.catalog) ? info.catalog.filter((p) => p && typeof p.id === 'string') : [];
  } catch (err) {
    error = `could not load the catalog (${str(err?.message, 'network error')})`;
  }
  if (gen !== catalogGen || room !== state.room) return;
  loading = false;
  state.catalog = products;
  state.catalogError = error;
  renderShop();
}

const product = (id) => state.catalog.find((p) => p.id === id) || null;

export function money(value, currency = 'EUR') {
  const n = Number(value);
  if (!Number.isFinite(n)) return '–';
  try {
    return new Intl.NumberFormat('en-GB', { style: 'currency', currency: str(currency, 'EUR') }).format(n);
  } catch {
    return `${n.toFixed(2)} ${str(currency)}`.trim();
  }
}

// ---- rendering ------------------------------------------------------------------------

export function renderShop() {
  const allowed = can('shop');
  $('shop-col').hidden = !allowed || !state.room;
  document.body.classList.toggle('can-shop', allowed && !!state.room);
  if (!allowed) return;
  const sel = $('shop-product');
  const keep = sel.value;
  clear(sel);
  const has = state.catalog.length > 0;
  if (!has) {
    sel.append(h('option', { value: '' }, loading ? 'Loading the catalog…' : state.catalogError ? 'Catalog unavailable' : 'No products in this room'));
  }
  for (const p of state.catalog) {
    sel.append(h('option', { value: p.id }, `${str(p.name, p.id)} — ${money(p.price, p.currency)}`));
  }
  if (keep && product(keep)) sel.value = keep;
  const usable = has && !!state.room;
  for (const el of $('shop-form').elements) el.disabled = !usable;
  $('catalog-count').textContent = has ? String(state.catalog.length) : '';
  if (usable && (!keep || keep !== sel.value || !$('drop-price').value)) fillPrice();
  renderProductInfo();
  if (!has && loading) hint('Loading the catalog…', 'info');
  else if (!has) hint(state.catalogError ? `The shop is unavailable: ${state.catalogError}.` : 'This room has no catalog: nothing to sell here.', 'info');
  else if ($('shop-hint').dataset.kind !== 'bad') clearHint();
  renderSpotlight();
  renderDrops();
}

function fillPrice() {
  const p = product($('shop-product').value);
  if (p && Number.isFinite(Number(p.price))) $('drop-price').value = String(Number(p.price));
  $('drop-price').removeAttribute('aria-invalid');
  const cur = p ? str(p.currency, 'EUR') : '';
  $('price-unit').textContent = cur ? `(${cur})` : '';
}

function renderProductInfo() {
  const p = product($('shop-product').value);
  const box = clear($('product-info'));
  if (!p) return;
  const variants = Array.isArray(p.variants) ? p.variants : [];
  const stock = variants.reduce((s, v) => s + (Number(v?.stock) || 0), 0);
  box.append(
    h('span', { class: 'pi-price' }, `List ${money(p.price, p.currency)}`),
    h('span', null, `${variants.length} ${variants.length === 1 ? 'variant' : 'variants'}, ${stock} in stock`),
  );
}

function renderSpotlight() {
  const s = state.spotlight;
  const box = $('spotlight-now');
  box.hidden = !s;
  if (!s) return;
  $('spotlight-name').textContent = str(s.name, str(s.id, 'a product'));
  $('spotlight-by').textContent = `— ${str(s.by, 'staff')}${s.t ? `, ${fmtTime(s.t).slice(0, 5)}` : ''}`;
}

// ---- hints (validation and refusals next to the form) ---------------------------------

function hint(text, kind = 'info') {
  const el = $('shop-hint');
  el.textContent = text;
  el.dataset.kind = kind;
}

function clearHint() {
  hint(`Stock ${LIMITS.stock.min}–${LIMITS.stock.max.toLocaleString('en-GB')} · duration ${LIMITS.seconds.min} s–24 h`, 'info');
}

function invalid(id, text) {
  const el = $(id);
  el.setAttribute('aria-invalid', 'true');
  el.focus();
  hint(text, 'bad');
  return null;
}

// The drop as offer.start wants it, or null (the hint says what is wrong).
function readDrop() {
  const id = $('shop-product').value;
  const p = product(id);
  if (!p) { hint('Pick a product first.', 'bad'); return null; }
  const raw = (key) => $(key).value.trim();
  const price = Number(raw('drop-price'));
  const stock = Number(raw('drop-stock'));
  const seconds = Number(raw('drop-seconds'));
  if (!raw('drop-price') || !Number.isFinite(price) || price < LIMITS.price.min || price > LIMITS.price.max) {
    return invalid('drop-price', `Price must be a number from 0 to ${LIMITS.price.max.toLocaleString('en-GB')}.`);
  }
  if (!raw('drop-stock') || !Number.isInteger(stock) || stock < LIMITS.stock.min || stock > LIMITS.stock.max) {
    return invalid('drop-stock', `Stock must be a whole number from 1 to ${LIMITS.stock.max.toLocaleString('en-GB')}.`);
  }
  if (!raw('drop-seconds') || !Number.isFinite(seconds) || seconds < LIMITS.seconds.min || seconds > LIMITS.seconds.max) {
    return invalid('drop-seconds', 'Duration must be from 5 seconds to 24 hours (86 400 s).');
  }
  return { room: state.room, product: p.id, price: Math.round(price * 100) / 100, stock, seconds, name: str(p.name, p.id), currency: p.currency };
}

async function startDrop() {
  if (!can('shop') || !state.room) return;
  const d = readDrop();
  if (!d) return;
  const btn = $('drop-btn');
  btn.disabled = true;
  const { name, currency, ...payload } = d;
  const ack = await ctx.act('offer.start', payload, {
    label: 'Start drop', ok: `Drop started: ${d.stock} × ${name} at ${money(d.price, currency)} for ${d.seconds} s`,
  });
  btn.disabled = !state.catalog.length;
  if (!ack.ok) hint(`Refused — ${str(ack.error?.code, 'error')}: ${str(ack.error?.message)}`, 'bad');
  else clearHint();
}

async function spotlight() {
  if (!can('shop') || !state.room) return;
  const p = product($('shop-product').value);
  if (!p) { hint('Pick a product first.', 'bad'); return; }
  const btn = $('spotlight-btn');
  btn.disabled = true;
  const ack = await ctx.act('spotlight', { room: state.room, product: p.id }, {
    label: 'Spotlight', ok: `${str(p.name, p.id)} is in the spotlight`,
  });
  btn.disabled = !state.catalog.length;
  if (!ack.ok) hint(`Refused — ${str(ack.error?.code, 'error')}: ${str(ack.error?.message)}`, 'bad');
  else {
    clearHint();
    // The modlog entry that follows confirms it; show it now.
    setSpotlight({ id: p.id, name: p.name, by: state.name, t: ctx.now() });
  }
}

export function setSpotlight(s) {
  state.spotlight = s;
  if (can('shop')) renderSpotlight();
}

// A modlog entry: a spotlight (by anyone on the staff) becomes the current one.
export function noteLog(e) {
  if (e && e.action === 'spotlight') setSpotlight({ id: e.id, name: e.name, by: e.by, t: e.t });
}

// ---- drops ----------------------------------------------------------------------------

// `offer` from the staff feed: {room, id, product, name, price, currency, stock, ends_at,
// ended?, orders?} — on start, on every stock change, and a last time with ended: true.
// Also the drops in `stats.offers` (with "initial"), which may be a moment behind the feed:
// a drop's stock only goes down and its orders only up, so merging keeps the newest numbers.
export function applyOffer(msg, { render = true } = {}) {
  if (!msg || typeof msg.id !== 'string') return false;
  const old = state.drops.find((d) => d.id === msg.id);
  const stock = Math.max(0, Number(msg.stock) || 0);
  const orders = typeof msg.orders === 'number' && Number.isFinite(msg.orders) ? msg.orders : (old ? old.orders : 0);
  if (old && old.stock <= stock && old.orders >= orders && (old.ended || !msg.ended)) return false; // nothing new
  const d = {
    id: msg.id,
    product: str(msg.product),
    name: str(msg.name, str(msg.product, 'product')),
    price: Number(msg.price),
    currency: str(msg.currency, 'EUR'),
    stock: old ? Math.min(old.stock, stock) : stock,
    orders: old ? Math.max(old.orders, orders) : orders,
    ends_at: Number(msg.ends_at) || 0,
    ended: !!msg.ended || !!old?.ended,
    initial: old ? old.initial : stock + orders,
    seen: old ? old.seen : ctx.now(),
    endedAt: old?.endedAt ?? null,
  };
  if (d.ended && d.endedAt === null) {
    // When it ended: its time is up, or now (its last `offer`) — unknown for a sold-out drop
    // first seen in a stats snapshot after the fact.
    const late = !old && typeof msg.initial === 'number';
    d.endedAt = d.stock > 0 && d.ends_at ? Math.min(d.ends_at, ctx.now()) : (late ? null : ctx.now());
  }
  if (typeof msg.initial === 'number' && Number.isFinite(msg.initial)) d.initial = msg.initial;
  d.initial = Math.max(d.initial, d.stock + d.orders);
  if (old) Object.assign(old, d); else state.drops.unshift(d);
  const live = state.drops.filter((x) => !x.ended);
  const done = state.drops.filter((x) => x.ended);
  if (state.drops.length > MAX_DROPS) state.drops = [...live, ...done].slice(0, Math.max(MAX_DROPS, live.length));
  if (render) renderDrops();
  return true;
}

// `stats.offers`: the room's latest drops with their conversions — how a console that was
// not watching (a reload, a reconnect) learns of drops started before it came.
export function syncOffers(list) {
  if (!Array.isArray(list)) return;
  let changed = false;
  for (const o of list) changed = applyOffer(o, { render: false }) || changed;
  if (changed) renderDrops();
}

// The server sends a drop's last `offer` (ended) in the tick its time is up; one still "live"
// well after ends_at lost that message (the console was reconnecting): shown as ended.
const STALE_MS = 5000;
const stale = (d) => !d.ended && d.ends_at > 0 && ctx.now() > d.ends_at + STALE_MS;

function dropState(d) {
  if (!d.ended) return stale(d) ? 'ended' : 'live';
  return d.stock <= 0 ? 'sold-out' : 'ended';
}

function fmtCountdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = (n) => String(n).padStart(2, '0');
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

function countdownText(d) {
  if (d.ended) return d.endedAt ? `at ${fmtTime(d.endedAt)}` : '';
  if (stale(d)) return `at ${fmtTime(d.ends_at)}`;
  const left = d.ends_at - ctx.now();
  return left > 0 ? `ends in ${fmtCountdown(left)}` : 'ending…';
}

const LABEL = { live: 'Live', 'sold-out': 'Sold out', ended: 'Ended' };

function dropRow(d) {
  const st = dropState(d);
  const sold = d.initial ? Math.min(1, (d.initial - d.stock) / d.initial) : 0;
  return h('li', { class: `drop st-${st}`, dataset: { offer: d.id, state: st, product: d.product } },
    h('div', { class: 'drop-head' },
      h('span', { class: 'drop-name', title: d.product }, d.name),
      h('span', { class: `status st-${st}` }, LABEL[st])),
    h('div', { class: 'drop-meta' },
      h('span', { class: 'drop-price' }, money(d.price, d.currency)),
      h('span', { class: 'drop-left' }, `${d.stock} left`),
      h('span', { class: 'drop-of' }, `of ${d.initial}`),
      h('span', { class: 'drop-orders' }, `${d.orders} ${d.orders === 1 ? 'order' : 'orders'}`),
      h('time', { class: 'drop-clock', title: d.ended ? (st === 'sold-out' ? 'sold out at' : 'ended at') : (d.ends_at ? `until ${fmtTime(d.ends_at)}` : '') }, countdownText(d))),
    h('div', { class: 'drop-bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(d.initial), 'aria-valuenow': String(d.initial - d.stock), 'aria-label': 'claimed' },
      h('span', { style: { width: `${(sold * 100).toFixed(1)}%` } })));
}

export function renderDrops() {
  const list = $('drop-list');
  if (!list) return;
  clear(list);
  const live = state.drops.filter((d) => dropState(d) === 'live').length;
  const badge = $('drops-count');
  badge.textContent = state.drops.length ? (live ? `${live} live · ${state.drops.length}` : String(state.drops.length)) : '';
  badge.classList.toggle('live', live > 0);
  if (!state.drops.length) {
    list.append(h('li', { class: 'empty' }, 'No drops yet. Drops started here or by other staff appear live.'));
    return;
  }
  // Live ones first (soonest to end on top), then the finished ones, newest first.
  const sorted = [...state.drops].sort((a, b) => {
    if (a.ended !== b.ended) return a.ended ? 1 : -1;
    return a.ended ? (b.endedAt || b.seen) - (a.endedAt || a.seen) : a.ends_at - b.ends_at;
  });
  for (const d of sorted) list.append(dropRow(d));
}

function tickCountdowns() {
  if (!state.drops.some((d) => !d.ended)) return;
  if (state.drops.some((d) => stale(d) && $('drop-list').querySelector(`li.st-live[data-offer="${CSS.escape(d.id)}"]`))) {
    renderDrops();
    return;
  }
  for (const li of $('drop-list').querySelectorAll('li.drop.st-live')) {
    const d = state.drops.find((x) => x.id === li.dataset.offer);
    const clock = li.querySelector('.drop-clock');
    if (d && clock) clock.textContent = countdownText(d);
  }
}

// ---- the feature: drops (`offer`, `stats.offers`), the spotlight, the catalog ----------------

export const shopFeature = {
  name: 'shop',
  init: initShop,
  keep: ['drops', 'catalog', 'spotlight'], // a re-watch of the same room keeps the drops seen so far
  feed: {
    offer: (o) => applyOffer(o),
    modlog: (e) => noteLog(e),
    stats: (s) => syncOffers(s.offers),
  },
  // The current spotlight: in the snapshot (newer servers), else the last one in the log.
  watched(ack) {
    const snap = ack.spotlight && typeof ack.spotlight === 'object' ? ack.spotlight : null;
    const spot = state.log.find((e) => e && e.action === 'spotlight');
    if (snap?.product) setSpotlight({ id: snap.product.id, name: snap.product.name, by: snap.by, t: snap.t });
    else if (spot) setSpotlight({ id: spot.id, name: spot.name, by: spot.by, t: spot.t });
    if (Array.isArray(ack.offers)) syncOffers(ack.offers);
  },
  afterWatch: (room) => loadCatalog(room), // the product picker, and product names in the analytics
  render: () => renderShop(),
  facade: {
    get catalog() { return copy(state.catalog); },
    get drops() { return copy(state.drops); }, // from the `offer` feed and `stats.offers`
    get spotlight() { return copy(state.spotlight); },
  },
};
