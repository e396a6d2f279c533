// DOM helpers of the visitor client's panels (social, shop, shows). Everything a user or the server wrote is set with
// textContent (never innerHTML), so markup in a name or a message shows as text and never runs.

import { $, nearBottom } from '../shared/dom.js';

export { $ };

export function el(tag, className = '', text = null) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== null && text !== undefined) e.textContent = String(text);
  return e;
}

// A string field from the server, or '' (payloads are untrusted: never assume their types).
export function str(v, max = 2000) {
  return typeof v === 'string' ? v.slice(0, max) : '';
}

// Server milliseconds → "14:05" on the visitor's clock (offset = server - local).
export function clockText(serverMs, offset = 0) {
  if (typeof serverMs !== 'number' || !Number.isFinite(serverMs)) return '';
  return new Date(serverMs - offset).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

// The text to show for a refused request. A mute names its end on the visitor's clock (the
// server's own message gives it in server milliseconds).
export function errorText(error, fallback, offset = 0) {
  const err = error && typeof error === 'object' ? error : {};
  if (err.code === 'muted') {
    return typeof err.until === 'number' ? `You are muted until ${clockText(err.until, offset)}.` : 'You are muted for now.';
  }
  const msg = str(err.message, 300);
  return msg ? msg.charAt(0).toUpperCase() + msg.slice(1) : fallback;
}

// True when a list is scrolled (nearly) to its end: only then do new items pull it down.
export const atBottom = (list) => nearBottom(list);

// An inline notice line under a form: text + kind, optionally clearing itself after ms.
export class Notice {
  constructor(node) {
    this.node = node;
    this.timer = null;
  }

  get text() { return this.node.hidden ? '' : this.node.textContent; }

  show(text, { kind = 'info', ms = 0 } = {}) {
    clearTimeout(this.timer);
    this.node.textContent = text;
    this.node.dataset.kind = kind;
    this.node.hidden = false;
    if (ms > 0) this.timer = setTimeout(() => this.clear(), ms);
  }

  clear() {
    clearTimeout(this.timer);
    this.node.hidden = true;
    this.node.textContent = '';
  }
}

// Esc leaves a text field (so WASD walks again); Enter is the form's submit.
export function escapeBlurs(input) {
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); input.blur(); }
  });
}
