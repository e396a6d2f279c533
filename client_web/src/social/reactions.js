// Reactions: a bar of the room's emoji (`RoomInfo.reactions`) that emits `react {"emoji"}`,
// emoji floating up over the avatars that reacted (the `reactions` sample `near`, only those in
// view, at most MAX_FLOATING at once) and the room-wide counts as short-lived chips ("❤️ 132")
// so a big crowd feels present. docs/protocol.md "Reactions".
import { CSS2DObject } from 'three/addons/renderers/CSS2DRenderer.js';
import { $, el } from '../hud/dom.js';

const MAX_FLOATING = 40;
const FLOAT_MS = 1800;
const WINDOW_MS = 3000; // chips show the room's total over the last few seconds
const CHIP_IDLE_MS = 2500;
const HEAD_Y = 2.05; // metres above the avatar's feet where emoji start

export class Reactions {
  // link: {send(evt, data) → bool, selfId}; anchorFor(avatarId) → THREE.Object3D in view or null
  constructor(link, { anchorFor }) {
    this.link = link;
    this.anchorFor = anchorFor;
    this.bar = $('reactions');
    this.burstBox = $('bursts');
    this.emoji = [];
    this.floating = 0;
    this.spawned = 0; // floating emoji spawned so far (tests)
    this.dropped = 0; // not shown because MAX_FLOATING were up
    this.recent = new Map(); // emoji -> [{at, n}] of room counts, last WINDOW_MS
    this.chips = new Map(); // emoji -> {node, count, timer}
    this.lastCounts = {};
    this.bucket = { tokens: 10, at: performance.now() }; // stay under the server's 10/s
  }

  setRoom(room) {
    const list = Array.isArray(room?.reactions) ? room.reactions.filter((e) => typeof e === 'string' && e.length <= 16).slice(0, 16) : [];
    this.emoji = list;
    this.bar.textContent = '';
    this.bar.hidden = list.length === 0;
    for (const e of list) {
      const btn = el('button', 'react-btn', e);
      btn.type = 'button';
      btn.dataset.emoji = e;
      btn.title = `React ${e}`;
      btn.setAttribute('aria-label', `React ${e}`);
      btn.addEventListener('click', () => this.press(e, btn));
      this.bar.append(btn);
    }
    for (const c of this.chips.values()) { clearTimeout(c.timer); c.node.remove(); }
    this.chips.clear();
    this.recent.clear();
  }

  // A local token bucket (burst 10, 8/s) keeps tapping under the server's limit.
  take() {
    const now = performance.now();
    const b = this.bucket;
    b.tokens = Math.min(10, b.tokens + ((now - b.at) / 1000) * 8);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  press(emoji, btn = null) {
    if (!this.emoji.includes(emoji) || !this.take()) return false;
    if (!this.link.send('react', { emoji })) return false;
    // Our own reaction floats at once over our avatar; the server's echo of it is skipped.
    this.float(this.link.selfId, emoji);
    if (btn) {
      btn.classList.remove('pop');
      void btn.offsetWidth; // restart the CSS animation
      btn.classList.add('pop');
    }
    return true;
  }

  // `reactions {"t", "counts": {emoji: n}, "near": [[avatar_id, emoji], ...]}`
  onReactions(msg) {
    const self = this.link.selfId;
    if (Array.isArray(msg.near)) {
      for (const pair of msg.near.slice(0, 64)) {
        if (!Array.isArray(pair) || typeof pair[1] !== 'string') continue;
        if (pair[0] === self) continue; // already floated when pressed
        this.float(pair[0], pair[1]);
      }
    }
    if (msg.counts && typeof msg.counts === 'object') {
      this.lastCounts = {};
      const now = performance.now();
      for (const [emoji, n] of Object.entries(msg.counts)) {
        if (typeof n !== 'number' || !(n > 0) || emoji.length > 16) continue;
        this.lastCounts[emoji] = n;
        const r = this.recent.get(emoji) || [];
        r.push({ at: now, n });
        this.recent.set(emoji, r);
        this.chip(emoji, now);
      }
    }
  }

  // One emoji floating up from an avatar's head, if that avatar is in view.
  float(avatarId, emoji) {
    if (this.floating >= MAX_FLOATING) { this.dropped += 1; return false; }
    const anchor = this.anchorFor(avatarId);
    if (!anchor) return false;
    const outer = el('div', 'floater');
    const inner = el('span', 'floater-emoji', emoji);
    inner.style.setProperty('--dx', `${Math.round((Math.random() - 0.5) * 50)}px`);
    inner.style.setProperty('--rot', `${Math.round((Math.random() - 0.5) * 30)}deg`);
    outer.append(inner);
    const obj = new CSS2DObject(outer);
    obj.position.set((Math.random() - 0.5) * 0.3, HEAD_Y, 0);
    anchor.add(obj);
    this.floating += 1;
    this.spawned += 1;
    setTimeout(() => {
      obj.removeFromParent(); // CSS2DObject removes its element on 'removed'
      outer.remove(); // and if the avatar itself left the scene meanwhile
      this.floating -= 1;
    }, FLOAT_MS);
    return true;
  }

  // A chip "❤️ 132": the room's reactions of that emoji over the last few seconds.
  chip(emoji, now) {
    const r = (this.recent.get(emoji) || []).filter((x) => now - x.at < WINDOW_MS);
    this.recent.set(emoji, r);
    const total = r.reduce((s, x) => s + x.n, 0);
    let c = this.chips.get(emoji);
    if (!c) {
      const node = el('div', 'burst');
      node.dataset.emoji = emoji;
      node.append(el('span', 'burst-emoji', emoji), el('span', 'burst-count', ''));
      this.burstBox.append(node);
      c = { node, count: 0, timer: null };
      this.chips.set(emoji, c);
    }
    c.count = total;
    c.node.querySelector('.burst-count').textContent = formatCount(total);
    c.node.classList.remove('pulse', 'out');
    void c.node.offsetWidth;
    c.node.classList.add('pulse');
    clearTimeout(c.timer);
    c.timer = setTimeout(() => {
      c.node.classList.add('out');
      c.timer = setTimeout(() => { c.node.remove(); this.chips.delete(emoji); }, 400);
    }, CHIP_IDLE_MS);
  }

  // Shown chips for tests: {emoji: count over the window}.
  bursts() {
    const out = {};
    for (const [e, c] of this.chips) if (!c.node.classList.contains('out')) out[e] = c.count;
    return out;
  }
}

function formatCount(n) {
  if (n >= 10000) return `${Math.round(n / 1000)}k`;
  if (n >= 1000) return `${(n / 1000).toFixed(1)}k`;
  return String(n);
}
