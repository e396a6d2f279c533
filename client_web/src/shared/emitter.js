// Tiny event emitter shared by the visitor connection (net.js) and the host console's
// (host/conn.js): no DOM EventTarget quirks, and one failing handler never stops the others.
export class Emitter {
  constructor() { this.handlers = new Map(); }
  on(evt, fn) {
    if (!this.handlers.has(evt)) this.handlers.set(evt, []);
    this.handlers.get(evt).push(fn);
    return this;
  }
  emit(evt, ...args) {
    for (const fn of this.handlers.get(evt) || []) {
      try { fn(...args); } catch (err) { console.error(`handler for ${evt} failed`, err); }
    }
  }
}
