// Real-time marketing (docs/protocol.md "Real-time marketing (`notice`)"): the server sends
// `notice {text, rule, product?, offer?}` when a rule fires for this visitor (entered a zone,
// lingered at a stand, viewed a product). Each shows as a "For you" card, dismissible, at most
// MAX_SHOWN at once (the oldest goes first), with "View product" opening the shop's product
// panel when the notice names a product. Server text only via textContent.
import { el, str } from '../hud/dom.js';

const MAX_SHOWN = 3;
const SHOW_MS = 30000;

function price(amount, currency = 'EUR') {
  if (typeof amount !== 'number' || !Number.isFinite(amount)) return '';
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency || 'EUR' }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${currency || ''}`.trim();
  }
}

export class Notices {
  // link: {request}; ui: {view(productId) → Promise (the shop's product panel), product(id) →
  // Product | null (from the room's catalog)}
  constructor(link, ui = {}) {
    this.link = link;
    this.ui = ui;
    this.items = []; // [{key, rule, text, product, offer, node, timer, t}]
    this.received = 0;
    this.box = el('div', 'notices');
    this.box.id = 'notices';
    this.box.setAttribute('aria-live', 'polite');
    this.box.setAttribute('aria-label', 'For you');
    document.body.append(this.box);
    // Toasts queue under the notices: tell the stylesheet where they end.
    const note = () => {
      const shown = this.box.children.length > 0;
      document.body.classList.toggle('has-notices', shown);
      if (shown) document.documentElement.style.setProperty('--notices-bottom', `${Math.ceil(this.box.getBoundingClientRect().bottom)}px`);
    };
    new ResizeObserver(note).observe(this.box);
    new MutationObserver(note).observe(this.box, { childList: true });
    addEventListener('resize', note);
  }

  norm(m) {
    if (!m || typeof m !== 'object') return null;
    const text = str(m.text, 400).trim();
    if (!text) return null;
    const o = m.offer && typeof m.offer === 'object' ? m.offer : null;
    return {
      rule: str(m.rule, 64),
      text,
      product: str(m.product, 64) || null,
      offer: o && typeof o.id === 'string' ? {
        id: o.id.slice(0, 64),
        price: typeof o.price === 'number' && Number.isFinite(o.price) ? o.price : null,
        currency: str(o.currency, 3) || 'EUR',
        stock: typeof o.stock === 'number' && Number.isFinite(o.stock) ? Math.max(0, Math.floor(o.stock)) : null,
        name: str(o.name, 80),
      } : null,
    };
  }

  add(msg) {
    const n = this.norm(msg);
    if (!n) return null;
    this.received += 1;
    // The same rule again replaces its card rather than stacking a copy.
    const key = n.rule || n.text;
    const same = this.items.find((x) => x.key === key);
    if (same) this.dismiss(same, { animate: false });
    const item = { ...n, key, t: Date.now() };
    item.node = this.card(item);
    this.items.push(item);
    this.box.prepend(item.node);
    while (this.items.length > MAX_SHOWN) this.dismiss(this.items[0], { animate: false });
    item.timer = setTimeout(() => this.dismiss(item), SHOW_MS);
    return item;
  }

  card(item) {
    const node = el('div', 'card notice-card fresh');
    node.dataset.rule = item.rule;
    node.setAttribute('role', 'status');
    const head = el('div', 'notice-head');
    const eyebrow = el('span', 'eyebrow', 'For you');
    const close = el('button', 'close');
    close.type = 'button';
    close.setAttribute('aria-label', 'Dismiss');
    close.addEventListener('click', () => this.dismiss(item));
    head.append(eyebrow, close);
    node.append(head, el('div', 'notice-text', item.text));
    if (item.product) {
      const p = this.ui.product?.(item.product) || null;
      const row = el('div', 'notice-product');
      const info = el('div', 'notice-product-info');
      const name = el('span', 'notice-product-name', p?.name || item.offer?.name || '');
      const cost = el('span', 'notice-product-price', p ? price(p.price, p.currency) : '');
      info.append(name, cost);
      if (item.offer) {
        const o = item.offer;
        const bits = ['Limited drop', o.price !== null ? price(o.price, o.currency) : '', o.stock !== null ? `${o.stock} left` : ''];
        info.append(el('span', 'notice-offer', bits.filter(Boolean).join(' · ')));
      }
      const btn = el('button', 'btn small primary notice-view', 'View product');
      btn.type = 'button';
      btn.addEventListener('click', () => this.view(item, name, cost));
      row.append(info, btn);
      node.append(row);
    }
    setTimeout(() => node.classList.remove('fresh'), 500);
    return node;
  }

  // The shop's product panel when there is one; otherwise ask the server and show the basics.
  async view(item, nameEl, costEl) {
    if (this.ui.view) {
      const ack = await this.ui.view(item.product);
      return ack;
    }
    const ack = await this.link.request('product.view', { product: item.product });
    if (ack.ok && ack.product) {
      nameEl.textContent = str(ack.product.name, 80);
      costEl.textContent = price(ack.product.price, str(ack.product.currency, 3) || 'EUR');
    }
    return ack;
  }

  dismiss(item, { animate = true } = {}) {
    const i = this.items.indexOf(item);
    if (i < 0) return;
    this.items.splice(i, 1);
    clearTimeout(item.timer);
    if (!animate) { item.node.remove(); return; }
    item.node.classList.add('out');
    setTimeout(() => item.node.remove(), 300);
  }

  clear() {
    for (const item of [...this.items]) this.dismiss(item, { animate: false });
  }

  list() {
    return this.items.map((x) => ({ rule: x.rule, text: x.text, product: x.product, offer: x.offer ? { ...x.offer } : null }));
  }
}
