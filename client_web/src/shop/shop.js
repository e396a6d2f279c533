// Showroom commerce (docs/protocol.md "Showroom commerce"): the room's catalog (the join ack's
// `room.catalog`), a product panel (`product.view`) with colour/size swatches, trying a variant
// on (`product.try`: everyone near sees it on the avatar) and adding to the cart (`cart.add`),
// and the cart panel (`cart.get` / `cart.add` acks) with its item-count badge. Everything the
// server or the catalog wrote is shown with textContent only.
import { $, el, str, errorText, Notice } from '../hud/dom.js';

const HEX = /^#[0-9a-fA-F]{6}$/;
export const hexOk = (v) => (typeof v === 'string' && HEX.test(v) ? v : null);
const num = (v, fallback = 0) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

// "€149.00" in the visitor's locale; a plain "149.00 XYZ" when the currency is unknown.
export function money(amount, currency = 'EUR') {
  const n = num(amount, NaN);
  if (!Number.isFinite(n)) return '';
  const cur = typeof currency === 'string' && /^[A-Za-z]{3}$/.test(currency) ? currency.toUpperCase() : 'EUR';
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: cur }).format(n);
  } catch {
    return `${n.toFixed(2)} ${cur}`;
  }
}

// A Product from the server, validated (payloads are untrusted): null when unusable.
export function normProduct(p) {
  if (!p || typeof p !== 'object' || typeof p.id !== 'string' || !p.id) return null;
  const variants = (Array.isArray(p.variants) ? p.variants : [])
    .filter((v) => v && typeof v === 'object' && typeof v.id === 'string' && v.id)
    .slice(0, 60)
    .map((v) => ({
      id: v.id.slice(0, 64),
      color: str(v.color, 40) || null,
      size: typeof v.size === 'number' ? String(v.size) : str(v.size, 16) || null,
      hex: hexOk(v.hex),
      stock: Math.max(0, Math.floor(num(v.stock, 0))),
    }));
  return {
    id: p.id.slice(0, 64),
    name: str(p.name, 80) || p.id.slice(0, 64),
    price: num(p.price, 0),
    currency: str(p.currency, 3) || 'EUR',
    description: str(p.description, 600),
    booth: typeof p.booth === 'string' ? p.booth.slice(0, 64) : null,
    tags: (Array.isArray(p.tags) ? p.tags : []).filter((t) => typeof t === 'string').slice(0, 12).map((t) => t.slice(0, 32)),
    variants,
    faq: (Array.isArray(p.faq) ? p.faq : []).filter((f) => f && typeof f.q === 'string' && typeof f.a === 'string')
      .slice(0, 8).map((f) => ({ q: f.q.slice(0, 200), a: f.a.slice(0, 600) })),
  };
}

// Light colours need dark text on top of them.
export function isLight(hex) {
  const h = hexOk(hex);
  if (!h) return false;
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.6;
}

// Human label of a variant: "white · 42".
export function variantLabel(v) {
  if (!v) return '';
  return [v.color, v.size].filter(Boolean).join(' · ') || v.id;
}

// A small coloured dot (a product's colour, or the room's gold when it has none).
export function dot(hex, className = 'shop-dot') {
  const d = el('span', className);
  d.style.background = hexOk(hex) || '#b8893b';
  d.setAttribute('aria-hidden', 'true');
  return d;
}

function normCart(c) {
  const cart = c && typeof c === 'object' ? c : {};
  const items = (Array.isArray(cart.items) ? cart.items : []).filter((i) => i && typeof i === 'object').slice(0, 60).map((i) => ({
    product: str(i.product, 64),
    variant: str(i.variant, 64),
    name: str(i.name, 80) || str(i.product, 64),
    qty: Math.max(0, Math.floor(num(i.qty, 0))),
    price: num(i.price, 0),
    color: str(i.color, 40) || null,
    size: typeof i.size === 'number' ? String(i.size) : str(i.size, 16) || null,
  }));
  const orders = (Array.isArray(cart.orders) ? cart.orders : []).filter((o) => o && typeof o === 'object').slice(0, 60).map((o) => ({
    order: str(o.order, 64),
    offer: str(o.offer, 64),
    product: str(o.product, 64),
    name: str(o.name, 80) || str(o.product, 64),
    price: num(o.price, 0),
    currency: str(o.currency, 3) || 'EUR',
    t: typeof o.t === 'number' ? o.t : null,
  }));
  return { items, total: num(cart.total, 0), currency: str(cart.currency, 3) || 'EUR', orders };
}

export class Shop {
  // link: {request, selfId, offset, now()}; ui: {openPanel(name, open), isOpen(name),
  // onWear(wear) (our own try-on), onCart(cart) (after every cart update)}
  constructor(link, ui = {}) {
    this.link = link;
    this.ui = ui;
    this.catalog = []; // normalised products of the room, catalog order
    this.byId = new Map();
    this.product = null; // product shown in the panel (fresh from `product.view` when it answered)
    this.loading = false;
    this.sel = { color: null, size: null, variant: null };
    this.qty = 1;
    this.busy = new Set(); // 'try' | 'add' in flight
    this.wear = null; // what we wear (our last `product.try` ack)
    this.wearOwner = null; // avatar id that wear belongs to
    this.cart = normCart(null);
    this.cartKnown = false;
    this.roomId = null;

    this.body = $('shop-body');
    this.title = $('shop-title');
    this.sub = $('shop-sub');
    this.back = $('shop-back');
    this.cartList = $('cart-list');
    this.cartOrders = $('cart-orders');
    this.cartTotal = $('cart-total');
    this.cartSub = $('cart-sub');
    this.cartCount = $('cart-count');
    this.cartNotice = new Notice($('cart-notice'));
    this.notice = null; // Notice of the product view (rebuilt with it)
    this.back.addEventListener('click', () => this.showCatalog());
    this.renderCatalog();
    this.renderCart();
  }

  // ---- room ------------------------------------------------------------------------
  onJoined(ack) {
    const room = ack.room || {};
    const list = Array.isArray(room.catalog) ? room.catalog : [];
    this.catalog = list.map(normProduct).filter(Boolean).slice(0, 200);
    this.byId = new Map(this.catalog.map((p) => [p.id, p]));
    if (room.id !== this.roomId) {
      this.roomId = room.id ?? null;
      this.product = null;
      this.cart = normCart(null);
      this.cartKnown = false;
      if (!(typeof ack.you?.id === 'number' && this.wearOwner === ack.you.id)) this.wear = null;
    }
    document.body.classList.toggle('has-shop', this.catalog.length > 0);
    if (this.product) this.renderProduct();
    else this.renderCatalog();
    this.renderCart();
    return this.refreshCart();
  }

  // ---- catalog list ------------------------------------------------------------------
  showCatalog() {
    this.product = null;
    this.renderCatalog();
  }

  renderCatalog() {
    this.back.hidden = true;
    this.title.textContent = 'Shop';
    this.sub.textContent = this.catalog.length ? `${this.catalog.length} pieces in this room` : '';
    this.body.textContent = '';
    this.notice = null;
    if (!this.catalog.length) {
      this.body.append(el('div', 'shop-empty', 'Nothing on sale in this room.'));
      return;
    }
    const ol = el('ol', 'shop-list');
    for (const p of this.catalog) {
      const li = el('li');
      const btn = el('button', 'shop-row');
      btn.type = 'button';
      btn.dataset.product = p.id;
      const swatches = el('span', 'shop-row-dots');
      const hexes = [...new Set(p.variants.map((v) => v.hex).filter(Boolean))].slice(0, 4);
      for (const h of hexes.length ? hexes : [null]) swatches.append(dot(h));
      const text = el('span', 'shop-row-text');
      text.append(el('span', 'shop-row-name', p.name), el('span', 'shop-row-desc', p.description));
      btn.append(swatches, text, el('span', 'shop-row-price', money(p.price, p.currency)));
      btn.addEventListener('click', () => this.view(p.id));
      li.append(btn);
      ol.append(li);
    }
    this.body.append(ol);
  }

  // ---- product panel -----------------------------------------------------------------
  // Opens the shop panel on the product: shown at once from the catalog, refreshed with the
  // server's `product.view` answer (current stock). Resolves with the ack.
  async view(productId) {
    const id = String(productId);
    const known = this.byId.get(id) || null;
    this.product = known ? { ...known } : { id, name: 'Loading…', price: NaN, currency: 'EUR', description: '', booth: null, tags: [], variants: [], faq: [] };
    this.loading = !known;
    this.selectDefault();
    this.ui.openPanel?.('shop', true);
    this.renderProduct();
    const ack = await this.link.request('product.view', { product: id });
    if (this.product?.id !== id) return ack; // the visitor moved on meanwhile
    this.loading = false;
    const fresh = ack.ok ? normProduct(ack.product) : null;
    if (fresh) {
      const keep = { ...this.sel };
      this.product = fresh;
      this.byId.set(fresh.id, { ...(this.byId.get(fresh.id) || {}), ...fresh });
      if (!this.pickVariant(keep.color, keep.size)) this.selectDefault();
      this.renderProduct();
    } else {
      this.renderProduct();
      this.notice?.show(errorText(ack.error, 'This product could not be loaded.', this.link.offset), { kind: 'error' });
    }
    return ack;
  }

  colours(p = this.product) {
    const out = [];
    for (const v of p?.variants || []) {
      const key = v.color ?? v.hex;
      if (key === null || key === undefined || out.some((c) => c.key === key)) continue;
      out.push({ key, label: v.color || v.hex, hex: v.hex });
    }
    return out;
  }

  sizes(p = this.product) {
    return [...new Set((p?.variants || []).map((v) => v.size).filter(Boolean))];
  }

  colourKey(v) { return v ? (v.color ?? v.hex) : null; }

  // Select the variant of (colour, size): exact, else the colour's first in stock, else any.
  pickVariant(color, size) {
    const vs = this.product?.variants || [];
    const ofColour = vs.filter((v) => color === null || this.colourKey(v) === color);
    const v = ofColour.find((x) => x.size === size) || ofColour.find((x) => x.stock > 0) || ofColour[0] || null;
    if (!v) return false;
    this.sel = { color: this.colourKey(v), size: v.size, variant: v.id };
    this.clampQty();
    return true;
  }

  selectDefault() {
    const vs = this.product?.variants || [];
    const v = vs.find((x) => x.stock > 0) || vs[0] || null;
    this.sel = { color: this.colourKey(v), size: v ? v.size : null, variant: v ? v.id : null };
    this.qty = 1;
    this.clampQty();
  }

  variant() {
    return (this.product?.variants || []).find((v) => v.id === this.sel.variant) || null;
  }

  maxQty() {
    const v = this.variant();
    const inCart = this.cart.items.find((i) => i.product === this.product?.id && i.variant === v?.id)?.qty || 0;
    return Math.max(1, Math.min(10 - inCart, v ? v.stock - inCart : 10));
  }

  clampQty() { this.qty = Math.max(1, Math.min(this.qty, this.maxQty())); }

  renderProduct() {
    const p = this.product;
    if (!p) { this.renderCatalog(); return; }
    const v = this.variant();
    this.back.hidden = this.catalog.length === 0;
    this.title.textContent = 'Shop';
    this.sub.textContent = this.catalog.length ? 'All products' : '';
    const keepScroll = this.body.scrollTop;
    this.body.textContent = '';
    const view = el('div', 'product');
    view.dataset.product = p.id;

    const hero = el('div', 'product-hero');
    const heroHex = v?.hex || this.colours(p)[0]?.hex || '#b8893b';
    hero.style.setProperty('--hero', heroHex);
    hero.classList.toggle('light', isLight(heroHex));
    hero.append(el('span', 'product-kind', p.tags[0] || 'Collection'));
    const head = el('div', 'product-head');
    head.append(el('div', 'product-name', p.name), el('div', 'product-price', money(p.price, p.currency)));
    hero.append(head);
    view.append(hero);
    if (p.description) view.append(el('p', 'product-desc', p.description));
    if (this.loading) view.append(el('div', 'shop-empty', 'Loading…'));

    const colours = this.colours(p);
    if (colours.length) {
      const row = el('div', 'opt-row');
      const label = el('div', 'opt-label');
      label.append(el('span', '', 'Colour'), el('strong', 'opt-value', colours.find((c) => c.key === this.sel.color)?.label || ''));
      const group = el('div', 'swatches');
      group.setAttribute('role', 'radiogroup');
      group.setAttribute('aria-label', 'Colour');
      for (const c of colours) {
        const b = el('button', 'swatch-btn');
        b.type = 'button';
        b.dataset.color = c.key;
        b.setAttribute('role', 'radio');
        b.setAttribute('aria-checked', String(c.key === this.sel.color));
        b.setAttribute('aria-label', c.label);
        b.title = c.label;
        b.style.setProperty('--sw', c.hex || '#cccccc');
        const out = p.variants.filter((x) => this.colourKey(x) === c.key).every((x) => x.stock <= 0);
        b.classList.toggle('out', out);
        b.addEventListener('click', () => { this.pickVariant(c.key, this.sel.size); this.renderProduct(); });
        group.append(b);
      }
      row.append(label, group);
      view.append(row);
    }
    const sizes = this.sizes(p);
    if (sizes.length) {
      const row = el('div', 'opt-row');
      const label = el('div', 'opt-label');
      label.append(el('span', '', 'Size'), el('strong', 'opt-value', this.sel.size || ''));
      const group = el('div', 'chips');
      group.setAttribute('role', 'radiogroup');
      group.setAttribute('aria-label', 'Size');
      for (const s of sizes) {
        const match = p.variants.find((x) => x.size === s && (this.sel.color === null || this.colourKey(x) === this.sel.color));
        const b = el('button', 'chip', s);
        b.type = 'button';
        b.dataset.size = s;
        b.setAttribute('role', 'radio');
        b.setAttribute('aria-checked', String(s === this.sel.size));
        b.disabled = !match;
        b.classList.toggle('out', !!match && match.stock <= 0);
        b.addEventListener('click', () => { this.pickVariant(this.sel.color, s); this.renderProduct(); });
        group.append(b);
      }
      row.append(label, group);
      view.append(row);
    }
    if (!colours.length && !sizes.length && p.variants.length > 1) {
      const group = el('div', 'chips');
      for (const x of p.variants) {
        const b = el('button', 'chip', x.id);
        b.type = 'button';
        b.setAttribute('aria-pressed', String(x.id === this.sel.variant));
        b.addEventListener('click', () => { this.sel = { color: null, size: null, variant: x.id }; this.clampQty(); this.renderProduct(); });
        group.append(b);
      }
      view.append(group);
    }
    if (v) {
      const stock = el('div', 'stock-line', v.stock <= 0 ? 'Sold out' : v.stock <= 5 ? `Only ${v.stock} left` : 'In stock');
      stock.dataset.kind = v.stock <= 0 ? 'out' : v.stock <= 5 ? 'low' : 'ok';
      view.append(stock);
    }

    const actions = el('div', 'product-actions');
    const wearing = this.wear && this.wear.product === p.id && this.wear.variant === v?.id;
    const tryBtn = el('button', 'btn ghost try-btn', wearing ? 'Wearing it' : 'Try on');
    tryBtn.type = 'button';
    tryBtn.disabled = !v || this.busy.has('try') || wearing;
    tryBtn.addEventListener('click', () => this.tryOn(p.id, v.id));
    const stepper = el('div', 'qty');
    stepper.setAttribute('role', 'group');
    stepper.setAttribute('aria-label', 'Quantity');
    const minus = el('button', 'qty-btn', '−');
    minus.type = 'button';
    minus.setAttribute('aria-label', 'One less');
    minus.disabled = this.qty <= 1;
    const out = el('output', 'qty-value', this.qty);
    out.setAttribute('aria-live', 'polite');
    const plus = el('button', 'qty-btn', '+');
    plus.type = 'button';
    plus.setAttribute('aria-label', 'One more');
    plus.disabled = this.qty >= this.maxQty();
    minus.addEventListener('click', () => { this.qty -= 1; this.clampQty(); this.renderProduct(); });
    plus.addEventListener('click', () => { this.qty += 1; this.clampQty(); this.renderProduct(); });
    stepper.append(minus, out, plus);
    const addBtn = el('button', 'btn primary add-btn', this.busy.has('add') ? 'Adding…' : `Add to cart · ${money(p.price * this.qty, p.currency)}`);
    addBtn.type = 'button';
    addBtn.disabled = !v || this.busy.has('add') || this.loading;
    addBtn.addEventListener('click', () => this.addToCart(p.id, v.id, this.qty));
    actions.append(tryBtn, stepper, addBtn);
    view.append(actions);
    const notice = el('div', 'notice product-notice');
    notice.setAttribute('role', 'status');
    notice.hidden = true;
    view.append(notice);
    const previous = this.notice;
    this.notice = new Notice(notice);
    if (previous?.text) this.notice.show(previous.text, { kind: previous.node.dataset.kind || 'info', ms: 6000 });

    if (p.faq.length) {
      const faq = el('div', 'product-faq');
      for (const f of p.faq) {
        const d = el('details');
        d.append(el('summary', '', f.q), el('p', '', f.a));
        faq.append(d);
      }
      view.append(faq);
    }
    this.body.append(view);
    this.body.scrollTop = keepScroll;
  }

  // ---- actions -----------------------------------------------------------------------
  async tryOn(productId, variantId) {
    if (this.busy.has('try')) return { ok: false, error: { code: 'conflict', message: 'Already trying something on.' } };
    this.busy.add('try');
    if (this.product?.id === productId) {
      const v = this.product.variants.find((x) => x.id === variantId);
      if (v) { this.sel = { color: this.colourKey(v), size: v.size, variant: v.id }; this.clampQty(); }
      this.renderProduct();
    }
    let ack;
    try {
      ack = await this.link.request('product.try', { product: String(productId), variant: String(variantId) });
    } finally {
      this.busy.delete('try');
    }
    if (ack.ok && ack.wear && typeof ack.wear === 'object') {
      this.wear = { ...ack.wear };
      this.wearOwner = this.link.selfId;
      this.ui.onWear?.(this.wear);
    }
    if (this.product?.id === productId) {
      this.renderProduct();
      if (ack.ok) this.notice?.show('You are wearing it — everyone near you sees it on your avatar.', { kind: 'ok', ms: 6000 });
      else this.notice?.show(errorText(ack.error, 'Could not try it on.', this.link.offset), { kind: 'error', ms: 8000 });
    }
    return ack;
  }

  async addToCart(productId, variantId, qty = 1) {
    if (this.busy.has('add')) return { ok: false, error: { code: 'conflict', message: 'Already adding.' } };
    this.busy.add('add');
    if (this.product?.id === productId) this.renderProduct();
    let ack;
    try {
      ack = await this.link.request('cart.add', { product: String(productId), variant: String(variantId), qty: Math.floor(Number(qty)) || 1 });
    } finally {
      this.busy.delete('add');
    }
    if (ack.ok) this.setCart(ack.cart);
    const here = this.product?.id === productId;
    if (here) {
      if (ack.ok) this.qty = 1;
      this.clampQty();
      this.renderProduct();
    }
    const show = (text, kind) => {
      if (here) this.notice?.show(text, { kind, ms: kind === 'ok' ? 6000 : 9000 });
      else this.cartNotice.show(text, { kind, ms: 6000 });
    };
    if (ack.ok) {
      const line = this.cart.items.find((i) => i.product === productId && i.variant === variantId);
      const name = line?.name || this.byId.get(productId)?.name || 'It';
      show(`Added to your cart: ${name}${line ? ` (${line.qty} in cart)` : ''}. Total ${money(this.cart.total, this.cart.currency)}.`, 'ok');
      const tab = $('cart-tab');
      tab.classList.remove('bump');
      void tab.offsetWidth; // restart the animation
      tab.classList.add('bump');
    } else {
      const code = ack.error?.code;
      const text = code === 'sold_out' ? 'Sold out — this variant is gone. Try another colour or size.'
        : errorText(ack.error, 'Could not add it to the cart.', this.link.offset);
      show(text, 'error');
    }
    return ack;
  }

  // ---- cart --------------------------------------------------------------------------
  async refreshCart() {
    const ack = await this.link.request('cart.get', {});
    if (ack.ok) this.setCart(ack.cart);
    return ack;
  }

  setCart(cart) {
    this.cart = normCart(cart);
    this.cartKnown = true;
    this.renderCart();
    this.ui.onCart?.(this.cart);
  }

  get count() { return this.cart.items.reduce((n, i) => n + i.qty, 0); }

  renderCart() {
    const c = this.cart;
    const n = this.count;
    this.cartCount.textContent = String(n);
    this.cartCount.hidden = n === 0;
    $('cart-tab').setAttribute('aria-label', n ? `Cart, ${n} ${n === 1 ? 'item' : 'items'}` : 'Cart');
    this.cartSub.textContent = n ? `${n} ${n === 1 ? 'item' : 'items'}` : '';
    this.cartList.textContent = '';
    if (!c.items.length) {
      this.cartList.append(el('li', 'shop-empty', this.cartKnown ? 'Your cart is empty. Open the Shop or walk up to a stand.' : 'Loading your cart…'));
    }
    for (const i of c.items) {
      const li = el('li', 'cart-item');
      li.dataset.product = i.product;
      li.dataset.variant = i.variant;
      const hex = this.byId.get(i.product)?.variants.find((v) => v.id === i.variant)?.hex;
      const text = el('div', 'cart-text');
      text.append(el('div', 'cart-name', i.name), el('div', 'cart-meta', [i.color, i.size].filter(Boolean).join(' · ') || i.variant));
      const qty = el('div', 'cart-qty', `${i.qty} × ${money(i.price, c.currency)}`);
      const more = el('button', 'qty-btn small', '+');
      more.type = 'button';
      more.setAttribute('aria-label', `One more ${i.name}`);
      more.disabled = i.qty >= 10;
      more.addEventListener('click', () => this.addToCart(i.product, i.variant, 1));
      li.append(dot(hex), text, qty, more, el('div', 'cart-line', money(i.qty * i.price, c.currency)));
      this.cartList.append(li);
    }
    this.cartTotal.textContent = money(c.total, c.currency);
    this.cartOrders.textContent = '';
    this.cartOrders.hidden = c.orders.length === 0;
    if (c.orders.length) {
      this.cartOrders.append(el('div', 'cart-orders-title', 'Your drop orders'));
      for (const o of c.orders) {
        const row = el('div', 'cart-order');
        row.dataset.order = o.order;
        const text = el('div', 'cart-text');
        text.append(el('div', 'cart-name', o.name), el('div', 'cart-meta', `Order ${o.order}`));
        row.append(el('span', 'order-tick', '✓'), text, el('div', 'cart-line', money(o.price, o.currency)));
        this.cartOrders.append(row);
      }
    }
  }

  cartView() {
    return {
      items: this.cart.items.map((i) => ({ ...i })),
      total: this.cart.total,
      currency: this.cart.currency,
      orders: this.cart.orders.map((o) => ({ ...o })),
      count: this.count,
      known: this.cartKnown,
    };
  }

  productView() {
    if (!this.product) return null;
    return { id: this.product.id, name: this.product.name, variant: this.sel.variant, qty: this.qty, loading: this.loading };
  }
}
