// The one router between the network and the features, shared by the visitor client and the
// host console. A feature registers what it needs:
//
//   features.register({
//     name: 'chat',
//     events: { chat: (msg) => ..., 'chat.delete': (msg) => ... }, // server events it handles
//     feed: { ... },          // room events, held back by the router's gate (host console)
//     join(ack) { ... },      // visitor: after a join ack, what it reads from it
//     leave() { ... },        // visitor: out of the room (kicked, banned)
//     frame(serverNow, now) { ... }, // visitor: every rendered frame
//     watched(ack) { ... },   // console: what it reads from the host.watch ack; keep: [state keys]
//     render() { ... },       // console: redraw from state
//     facade: { get chat() { ... }, say: (text) => ... }, // what the test hook shows
//   });
//
// Any other hook is the composition root's to call with `each(hook, ...)` (the console's
// signedIn, afterWatch, changed, tabShown, resize).
//
// The connection hands every server event to `route` (socket.onAny): there is no list of
// events anywhere else. A failing handler is logged and never stops the others or the caller.

export class Features {
  // gate(msg, apply): decides when a `feed` handler runs (e.g. after the watch ack)
  constructor({ gate = (msg, apply) => apply() } = {}) {
    this.list = [];
    this.handlers = new Map(); // event -> [fn]
    this.gate = gate;
  }

  register(feature) {
    if (!feature?.name) throw new Error('a feature needs a name');
    if (this.list.some((f) => f.name === feature.name)) throw new Error(`feature ${feature.name} registered twice`);
    this.list.push(feature);
    for (const [evt, fn] of Object.entries(feature.events || {})) this.add(evt, fn);
    for (const [evt, fn] of Object.entries(feature.feed || {})) this.add(evt, (msg) => this.gate(msg, () => fn(msg)));
    return feature;
  }

  add(evt, fn) {
    if (!this.handlers.has(evt)) this.handlers.set(evt, []);
    this.handlers.get(evt).push(fn);
  }

  get(name) { return this.list.find((f) => f.name === name) || null; }

  // The server events some feature handles (for the test hook and debugging).
  get events() { return [...this.handlers.keys()].sort(); }

  // One server event to every handler registered for it; returns how many there were.
  route(evt, msg) {
    const fns = this.handlers.get(evt) || [];
    for (const fn of fns) guard(`${evt} handler`, () => fn(msg));
    return fns.length;
  }

  // A lifecycle hook (join, leave, frame, render...) on every feature, in registration order.
  each(hook, ...args) {
    for (const f of this.list) if (typeof f[hook] === 'function') guard(`${f.name}.${hook}`, () => f[hook](...args));
  }

  // The test hook: every feature's facade merged onto `base` (property descriptors, so getters
  // stay live). Two features may not claim the same name.
  facade(base = {}) {
    const out = base;
    for (const f of this.list) {
      const own = Object.getOwnPropertyDescriptors(f.facade || {});
      for (const key of Object.keys(own)) {
        if (Object.prototype.hasOwnProperty.call(out, key)) throw new Error(`facade name ${key} claimed twice (${f.name})`);
      }
      Object.defineProperties(out, own);
    }
    return out;
  }
}

// Runs fn; an exception is logged once per call, never thrown (handlers run inside socket
// callbacks and the render loop, which an exception would break).
export function guard(label, fn) {
  try {
    return fn();
  } catch (err) {
    console.error(`${label} failed`, err);
    return undefined;
  }
}
