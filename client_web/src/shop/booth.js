// Booth cards: walking within a few metres of a product's booth (a stand collider or a zone of
// the room's scene, named by the product's `booth`) shows a compact card of what it sells,
// with "View" opening the product panel. docs/protocol.md "Showroom commerce".
import { $, el } from '../hud/dom.js';
import { money, dot } from './shop.js';

export const NEAR_M = 3.5; // the card appears within this distance of the booth's edge…
const FAR_M = 5; // …and stays until the visitor is this far (no flicker at the border)
const MAX_PRODUCTS = 3;

// Distance on the floor from (x, z) to a box's footprint (0 inside it).
function rectDistance(b, x, z) {
  const dx = Math.max(b.x0 - x, 0, x - b.x1);
  const dz = Math.max(b.z0 - z, 0, z - b.z1);
  return Math.hypot(dx, dz);
}

export class Booths {
  // onView(productId): the visitor pressed "View"
  constructor({ onView = () => {} } = {}) {
    this.onView = onView;
    this.root = $('booth-card');
    this.booths = []; // {id, label, x0, z0, x1, z1, products: [Product]}
    this.near = null; // the booth the visitor stands at
    this.distance = null;
    this.dismissed = null; // booth id closed by the visitor, until they walk away from it
    this.suppressed = false; // the shop panel is open: it already shows the products
    this.rendered = null;
  }

  setRoom(room, catalog) {
    const scene = room?.scene || {};
    const shapes = new Map();
    for (const c of [...(Array.isArray(scene.colliders) ? scene.colliders : []), ...(Array.isArray(scene.zones) ? scene.zones : [])]) {
      if (!c || typeof c.id !== 'string' || shapes.has(c.id) || !Array.isArray(c.min) || !Array.isArray(c.max)) continue;
      const [x0, , z0] = c.min.map(Number);
      const [x1, , z1] = c.max.map(Number);
      if (![x0, z0, x1, z1].every(Number.isFinite)) continue;
      const label = typeof c.label === 'string' ? c.label : typeof c.name === 'string' ? c.name : c.id;
      shapes.set(c.id, { id: c.id, label: label.slice(0, 40), x0: Math.min(x0, x1), z0: Math.min(z0, z1), x1: Math.max(x0, x1), z1: Math.max(z0, z1), products: [] });
    }
    for (const p of catalog || []) {
      const b = p.booth ? shapes.get(p.booth) : null;
      if (b) b.products.push(p);
    }
    this.booths = [...shapes.values()].filter((b) => b.products.length);
    this.near = null;
    this.distance = null;
    this.dismissed = null;
    this.render();
  }

  // Called a few times a second with the visitor's position.
  update(x, z) {
    let best = null;
    let bestD = Infinity;
    for (const b of this.booths) {
      const d = rectDistance(b, x, z);
      if (d < bestD) { best = b; bestD = d; }
    }
    let near = this.near;
    const curD = near ? rectDistance(near, x, z) : Infinity;
    if (near && curD > FAR_M) near = null;
    if (best && bestD <= NEAR_M && (!near || bestD < curD - 1)) near = best;
    this.distance = near ? rectDistance(near, x, z) : null;
    if (this.dismissed && (!near || near.id !== this.dismissed)) {
      const d = this.booths.find((b) => b.id === this.dismissed);
      if (!d || rectDistance(d, x, z) > FAR_M) this.dismissed = null;
    }
    if (near !== this.near) {
      this.near = near;
      this.render();
    }
  }

  setSuppressed(v) {
    if (this.suppressed === v) return;
    this.suppressed = v;
    this.render();
  }

  dismiss() {
    if (this.near) this.dismissed = this.near.id;
    this.render();
  }

  get visible() { return !!this.near && !this.suppressed && this.dismissed !== this.near.id; }

  render() {
    const b = this.near;
    this.root.hidden = !this.visible;
    if (!b) { this.rendered = null; this.root.textContent = ''; return; }
    if (this.rendered === b.id) return; // same booth: nothing changes while we walk around it
    this.rendered = b.id;
    this.root.textContent = '';
    this.root.dataset.booth = b.id;
    const head = el('div', 'promo-head');
    head.append(el('span', 'eyebrow', `At the stand · ${b.label}`));
    const close = el('button', 'close');
    close.type = 'button';
    close.setAttribute('aria-label', 'Hide this stand card');
    close.addEventListener('click', () => this.dismiss());
    head.append(close);
    this.root.append(head);
    for (const p of b.products.slice(0, MAX_PRODUCTS)) {
      const row = el('div', 'booth-product');
      row.dataset.product = p.id;
      const text = el('div', 'booth-text');
      const title = el('div', 'booth-title');
      title.append(dot(p.variants.find((v) => v.hex)?.hex), el('span', 'booth-name', p.name), el('span', 'booth-price', money(p.price, p.currency)));
      text.append(title);
      if (p.description) text.append(el('div', 'booth-desc', p.description));
      const view = el('button', 'btn primary small', 'View');
      view.type = 'button';
      view.setAttribute('aria-label', `View ${p.name}`);
      view.addEventListener('click', () => this.onView(p.id));
      row.append(text, view);
      this.root.append(row);
    }
  }

  view() {
    if (!this.near) return null;
    return {
      booth: this.near.id,
      label: this.near.label,
      distance: this.distance,
      products: this.near.products.map((p) => p.id),
      shown: this.visible,
    };
  }

  // Where a visitor can stand to face the booth (its front towards the room's centre).
  frontOf(boothId) {
    const b = this.booths.find((x) => x.id === boothId);
    if (!b) return null;
    const cx = (b.x0 + b.x1) / 2;
    const cz = (b.z0 + b.z1) / 2;
    return Math.abs(cz) > Math.abs(cx) * 0.5
      ? { x: cx, z: cz > 0 ? b.z0 - 2 : b.z1 + 2 }
      : { x: cx > 0 ? b.x0 - 2 : b.x1 + 2, z: cz };
  }
}
