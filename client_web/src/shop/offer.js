// Live-shopping moments pushed by the host (docs/protocol.md "Showroom commerce"):
// - limited drops: `offer {id, product, name, price, currency, stock, ends_at, ended?}` (and the
//   join ack's `offers`) as a banner with the live stock, a countdown to `ends_at` on the
//   server's clock (our ClockSync offset, via link.now()) and a Claim button (`offer.claim`,
//   one order per visitor);
// - the spotlight: `spotlight {product, t, by}` (and the join ack's `spotlight`) as a
//   "Now on stage" card with View, dismissible.
import { $, el, str, errorText } from '../hud/dom.js';
import { money, normProduct, dot } from './shop.js';

const store = (() => { try { return window.sessionStorage; } catch { return null; } })();
const KEEP_ENDED_MS = 20000; // an ended drop stays on screen this long (claimed: longer)
const KEEP_CLAIMED_MS = 60000;
const MAX_SHOWN = 2;

// 0:42, 12:05, 1:02:03
export function countdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export class Drops {
  // link: {request, now(), offset}; ui: {onOrder(order, offer), product(id) → Product|null, view(id)}
  constructor(link, ui = {}) {
    this.link = link;
    this.ui = ui;
    this.offers = new Map(); // id -> state
    this.box = $('drops');
    this.timer = setInterval(() => this.tick(), 250);
  }

  norm(m) {
    if (!m || typeof m !== 'object' || typeof m.id !== 'string' || !m.id) return null;
    return {
      id: m.id.slice(0, 64),
      product: str(m.product, 64),
      name: str(m.name, 80) || str(m.product, 64) || 'Limited drop',
      price: typeof m.price === 'number' && Number.isFinite(m.price) ? m.price : null,
      currency: str(m.currency, 3) || 'EUR',
      stock: typeof m.stock === 'number' && Number.isFinite(m.stock) ? Math.max(0, Math.floor(m.stock)) : null,
      endsAt: typeof m.ends_at === 'number' && Number.isFinite(m.ends_at) ? m.ends_at : null,
      ended: m.ended === true,
    };
  }

  // The join ack's running drops. A drop we showed that is not running any more ended while
  // we were away.
  onJoined(ack) {
    const running = new Set();
    for (const m of Array.isArray(ack.offers) ? ack.offers : []) {
      const o = this.upsert(m, { quiet: true });
      if (o) running.add(o.id);
    }
    for (const o of this.offers.values()) {
      if (!running.has(o.id) && !o.ended) this.end(o);
    }
    this.render();
  }

  onOffer(msg) {
    this.upsert(msg);
    this.render();
  }

  upsert(m, { quiet = false } = {}) {
    const n = this.norm(m);
    if (!n) return null;
    let o = this.offers.get(n.id);
    if (!o) {
      o = { ...n, initial: n.stock, order: null, pending: false, error: null, forced: null, dismissed: false, endedAt: null, seenAt: this.link.now() };
      this.offers.set(n.id, o);
      if (n.ended) o.endedAt = this.link.now();
      if (!quiet && !n.ended) o.fresh = true;
    } else {
      // updates stream the stock down; a late packet never raises it again
      const stock = n.stock === null ? o.stock : o.stock === null ? n.stock : Math.min(o.stock, n.stock);
      Object.assign(o, { ...n, stock, ended: o.ended || n.ended });
      if (o.ended && o.endedAt === null) o.endedAt = this.link.now();
    }
    if (o.initial === null || (o.stock !== null && o.stock > o.initial)) o.initial = o.stock;
    return o;
  }

  end(o) {
    o.ended = true;
    if (o.endedAt === null) o.endedAt = this.link.now();
  }

  // Orders from the cart (`cart.orders`): drops already claimed, e.g. before a reload.
  markOrders(orders) {
    let changed = false;
    for (const r of orders || []) {
      const o = this.offers.get(r.offer);
      if (o && !o.order && r.order) { o.order = r.order; changed = true; }
    }
    if (changed) this.render();
  }

  status(o) {
    if (o.order) return 'claimed';
    if (o.forced) return o.forced;
    const over = o.endsAt !== null && this.link.now() >= o.endsAt;
    if (o.stock === 0) return 'sold_out';
    if (o.ended || over) return 'ended';
    return 'live';
  }

  async claim(id) {
    const o = this.offers.get(String(id));
    if (!o) return { ok: false, error: { code: 'not_found', message: 'No such drop here.' } };
    if (o.order) return { ok: true, order: o.order };
    if (o.pending) return { ok: false, error: { code: 'conflict', message: 'Claim in progress.' } };
    o.pending = true;
    o.error = null;
    this.render();
    let ack;
    try {
      ack = await this.link.request('offer.claim', { offer: o.id });
    } finally {
      o.pending = false;
    }
    if (ack.ok && typeof ack.order === 'string') {
      o.order = ack.order.slice(0, 64);
      this.ui.onOrder?.(o.order, o);
    } else if (!ack.ok) {
      const code = ack.error?.code;
      if (code === 'sold_out') { o.forced = 'sold_out'; o.stock = 0; this.end(o); }
      // `closed`: over — sold out when its stock is gone (the server answers `closed` too for
      // a drop that sold out in an earlier tick), else its time is up.
      else if (code === 'closed') this.end(o);
      else if (code === 'not_found') { o.forced = 'ended'; this.end(o); }
      else o.error = errorText(ack.error, 'The claim did not go through — try again.', this.link.offset);
    }
    this.render();
    return ack;
  }

  dismiss(id) {
    const o = this.offers.get(id);
    if (o) o.dismissed = true;
    this.render();
  }

  // Countdowns, and ended drops leaving the screen after a while.
  tick() {
    const now = this.link.now();
    for (const o of this.offers.values()) {
      const st = this.status(o);
      if (st !== 'live' && st !== 'claimed' && o.endedAt === null) o.endedAt = now;
      if (st === 'claimed' && o.endsAt !== null && now >= o.endsAt && o.endedAt === null) o.endedAt = now;
      const keep = st === 'claimed' ? KEEP_CLAIMED_MS : KEEP_ENDED_MS;
      o.gone = o.endedAt !== null && now - o.endedAt > keep;
    }
    this.render();
  }

  shown() {
    return [...this.offers.values()]
      .filter((o) => !o.dismissed && !o.gone)
      .sort((a, b) => (this.status(a) === 'live') - (this.status(b) === 'live') || a.seenAt - b.seenAt)
      .reverse()
      .slice(0, MAX_SHOWN);
  }

  // Cards are rebuilt only when what they say changes (status, claim in flight, error);
  // stock and countdown updates are painted in place, so a Claim button under the pointer
  // stays the same element however fast the stock streams down.
  render() {
    const show = this.shown();
    const sig = show.map((o) => `${o.id}:${this.status(o)}:${o.pending}:${o.error}:${o.order}`).join('|');
    if (sig === this.sig) {
      for (const o of show) this.paintTime(o);
      return;
    }
    this.sig = sig;
    for (const o of this.offers.values()) if (!show.includes(o)) o.node = null;
    this.box.textContent = '';
    for (const o of show) this.box.append(this.card(o));
    this.box.hidden = show.length === 0;
  }

  card(o) {
    const st = this.status(o);
    o.shownStatus = st;
    const card = el('div', `card promo-card drop-card is-${st.replace('_', '-')}`);
    card.dataset.offer = o.id;
    card.dataset.status = st;
    if (o.fresh) { card.classList.add('fresh'); o.fresh = false; }
    const head = el('div', 'promo-head');
    const eyebrow = el('span', 'eyebrow');
    eyebrow.append(el('span', 'live-dot'), el('span', '', st === 'live' ? 'Limited drop' : st === 'claimed' ? 'Drop · yours' : 'Drop'));
    const close = el('button', 'close');
    close.type = 'button';
    close.setAttribute('aria-label', 'Hide this drop');
    close.addEventListener('click', () => this.dismiss(o.id));
    head.append(eyebrow, el('span', 'drop-time'), close);

    const body = el('div', 'drop-body');
    const text = el('div', 'drop-text');
    const title = el('div', 'drop-title');
    const product = this.ui.product?.(o.product);
    title.append(dot(product?.variants.find((v) => v.hex)?.hex), el('span', 'drop-name', o.name));
    const price = el('div', 'drop-price');
    if (o.price !== null) price.append(el('strong', '', money(o.price, o.currency)));
    if (product && o.price !== null && product.price > o.price) price.append(el('s', 'was', money(product.price, product.currency)));
    price.append(el('span', 'drop-stock'));
    text.append(title, price);
    const action = el('div', 'drop-action');
    if (st === 'live') {
      const btn = el('button', 'btn primary claim-btn', o.pending ? 'Claiming…' : 'Claim');
      btn.type = 'button';
      btn.disabled = o.pending;
      btn.addEventListener('click', () => this.claim(o.id));
      action.append(btn);
    } else {
      action.append(el('span', `drop-badge badge-${st.replace('_', '-')}`, st === 'claimed' ? 'Claimed ✓' : st === 'sold_out' ? 'Sold out' : 'Ended'));
    }
    body.append(text, action);
    card.append(head, body);
    const bar = el('div', 'drop-bar');
    bar.append(el('span', 'drop-fill'));
    card.append(bar);
    const status = el('div', 'drop-status');
    status.setAttribute('role', 'status');
    if (st === 'claimed') status.textContent = `Yours! Order ${o.order}`;
    else if (o.error) { status.textContent = o.error; status.dataset.kind = 'error'; }
    status.hidden = !status.textContent;
    card.append(status);
    o.node = card;
    this.paintTime(o);
    if (product) {
      title.classList.add('linkish');
      title.setAttribute('role', 'button');
      title.tabIndex = 0;
      title.addEventListener('click', () => this.ui.view?.(o.product));
      title.addEventListener('keydown', (e) => { if (e.key === 'Enter') this.ui.view?.(o.product); });
    }
    return card;
  }

  paintTime(o) {
    const card = o.node;
    if (!card) return;
    const st = this.status(o);
    const left = o.endsAt === null ? null : o.endsAt - this.link.now();
    const time = card.querySelector('.drop-time');
    const ending = st === 'live' && left !== null;
    time.textContent = ending ? `Ends in ${countdown(left)}` : '';
    time.classList.toggle('urgent', ending && left < 10000);
    const stock = card.querySelector('.drop-stock');
    stock.textContent = o.stock === null ? '' : o.stock === 0 ? 'Sold out' : `${o.stock} left`;
    stock.classList.toggle('low', o.stock !== null && o.initial && o.stock / o.initial <= 0.2);
    const fill = card.querySelector('.drop-fill');
    fill.style.width = `${o.initial ? Math.round((100 * (o.stock ?? 0)) / o.initial) : 0}%`;
  }

  view() {
    const now = this.link.now();
    return [...this.offers.values()].map((o) => ({
      id: o.id, product: o.product, name: o.name, price: o.price, currency: o.currency, stock: o.stock,
      initial: o.initial, endsAt: o.endsAt, remainingMs: o.endsAt === null ? null : Math.max(0, o.endsAt - now),
      ended: o.ended, status: this.status(o), order: o.order, error: o.error, shown: !!o.node,
    }));
  }
}

export class Spotlight {
  // ui: {view(productId), product(id) → catalog Product|null}
  constructor(link, ui = {}) {
    this.link = link;
    this.ui = ui;
    this.root = $('spotlight');
    this.current = null; // {product, t, by}
    this.dismissed = false;
    this.roomId = null;
  }

  key() { return `vetrina.spotlight.${this.roomId}`; }

  onJoined(ack) {
    this.roomId = ack.room?.id ?? null;
    this.set(ack.spotlight, { live: false });
  }

  // `spotlight {product, t, by}`; null clears it.
  set(msg, { live = true } = {}) {
    const product = msg && typeof msg === 'object' ? normProduct(msg.product) : null;
    if (!product) {
      this.current = null;
      this.render();
      return;
    }
    const t = typeof msg.t === 'number' ? msg.t : 0;
    const same = this.current && this.current.product.id === product.id && this.current.t === t;
    this.current = { product, t, by: str(msg.by, 64) };
    // A new spotlight always shows; the one the visitor closed stays closed across reloads.
    if (!same) this.dismissed = !live && store?.getItem(this.key()) === `${product.id}@${t}`;
    this.render(!same && live);
  }

  dismiss() {
    this.dismissed = true;
    if (this.current) store?.setItem(this.key(), `${this.current.product.id}@${this.current.t}`);
    this.render();
  }

  render(fresh = false) {
    const c = this.current;
    this.root.hidden = !c || this.dismissed;
    this.root.textContent = '';
    if (!c) return;
    const p = c.product;
    this.root.dataset.product = p.id;
    const head = el('div', 'promo-head');
    const eyebrow = el('span', 'eyebrow');
    eyebrow.append(el('span', 'live-dot'), el('span', '', c.by ? `Now on stage · with ${c.by}` : 'Now on stage'));
    const close = el('button', 'close');
    close.type = 'button';
    close.setAttribute('aria-label', 'Hide the spotlight');
    close.addEventListener('click', () => this.dismiss());
    head.append(eyebrow, close);
    const body = el('div', 'spot-body');
    const title = el('div', 'spot-title');
    title.append(dot(p.variants.find((v) => v.hex)?.hex, 'shop-dot big'), el('span', 'spot-name', p.name), el('span', 'spot-price', money(p.price, p.currency)));
    const view = el('button', 'btn primary small', 'View');
    view.type = 'button';
    view.setAttribute('aria-label', `View ${p.name}`);
    view.addEventListener('click', () => this.ui.view?.(p.id));
    body.append(title, view);
    this.root.append(head, body);
    if (fresh) {
      this.root.classList.remove('fresh');
      void this.root.offsetWidth;
      this.root.classList.add('fresh');
    }
  }

  view() {
    if (!this.current) return null;
    const p = this.current.product;
    return { product: { id: p.id, name: p.name, price: p.price, currency: p.currency }, t: this.current.t, by: this.current.by, shown: !this.root.hidden };
  }
}
