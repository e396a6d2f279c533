// Chat panel: room history from the join ack, live `chat` messages, `chat.delete`, the pinned
// message (`pin`), sending with a Room/Near scope, ack errors (muted, rate_limited, bad_request)
// and slow mode as inline notices. docs/protocol.md "Chat".
import { $, el, str, clockText, errorText, atBottom, Notice, escapeBlurs } from '../hud/dom.js';

const MAX_SHOWN = 200;

export class Chat {
  // link: {request(evt, data) → Promise<ack>, selfId, offset}; isOpen(): panel expanded?
  constructor(link, { isOpen = () => true } = {}) {
    this.link = link;
    this.isOpen = isOpen;
    this.messages = []; // shown, oldest first: {id, from: {id, name, staff}, text, scope, t}
    this.byId = new Map(); // id -> <li>
    this.scope = 'room';
    this.unread = 0;
    this.roomId = null;
    this.pinned = null; // {text, by, t} or null
    this.slow = 0;
    this.mutedUntil = null;
    this.muteTimer = null;
    this.sending = false;

    this.list = $('chat-list');
    this.form = $('chat-form');
    this.input = $('chat-input');
    this.sendBtn = $('chat-send');
    this.badge = $('chat-unread');
    this.pinEl = $('chat-pin');
    this.slowEl = $('chat-slow');
    this.notice = new Notice($('chat-notice'));
    this.muteNotice = new Notice($('chat-muted'));

    for (const btn of document.querySelectorAll('#chat-scope button')) {
      btn.addEventListener('click', () => this.setScope(btn.dataset.scope));
    }
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    escapeBlurs(this.input);
    this.setScope('room');
    this.renderEmpty();
  }

  setScope(scope) {
    this.scope = scope === 'near' ? 'near' : 'room';
    for (const btn of document.querySelectorAll('#chat-scope button')) {
      btn.setAttribute('aria-pressed', String(btn.dataset.scope === this.scope));
    }
    this.input.placeholder = this.scope === 'near' ? 'Message people nearby…' : 'Message the room…';
  }

  // Join ack: history (oldest first), pin, slow mode. A different room starts a fresh list;
  // a re-join of the same room (after a reconnect) merges, keeping what we already show.
  onJoined(ack) {
    const roomId = ack.room?.id ?? null;
    if (roomId !== this.roomId) this.clear();
    this.roomId = roomId;
    if (Array.isArray(ack.chat)) for (const m of ack.chat) this.add(m, { history: true });
    if ('pinned' in ack) this.setPin(ack.pinned);
    if (typeof ack.slow === 'number') this.setSlow(ack.slow);
    this.scrollToEnd();
  }

  clear() {
    this.messages = [];
    this.byId.clear();
    this.list.textContent = '';
    this.unread = 0;
    this.updateBadge();
    this.renderEmpty();
  }

  renderEmpty() {
    if (this.messages.length || this.list.querySelector('.chat-empty')) return;
    this.list.append(el('li', 'chat-empty', 'No messages yet — say hello!'));
  }

  // A ChatMsg from the server: {id, from: {id, name, staff?}, text, scope, t}.
  add(msg, { history = false } = {}) {
    if (!msg || typeof msg !== 'object') return;
    const id = msg.id === undefined || msg.id === null ? null : String(msg.id);
    if (id !== null && this.byId.has(id)) return;
    const from = msg.from && typeof msg.from === 'object' ? msg.from : {};
    const m = {
      id,
      from: { id: from.id ?? null, name: str(from.name, 64) || 'Someone', staff: from.staff === true },
      text: str(msg.text, 500),
      scope: msg.scope === 'near' ? 'near' : 'room',
      t: typeof msg.t === 'number' ? msg.t : null,
    };
    const li = this.render(m);
    const stick = history || atBottom(this.list);
    this.list.querySelector('.chat-empty')?.remove();
    // Keep time order: history can arrive after live messages (re-join after a reconnect).
    let i = this.messages.length;
    while (i > 0 && m.t !== null && this.messages[i - 1].t !== null && this.messages[i - 1].t > m.t) i--;
    if (i === this.messages.length) this.list.append(li);
    else this.list.insertBefore(li, this.byId.get(this.messages[i].id) || null);
    this.messages.splice(i, 0, m);
    if (id !== null) this.byId.set(id, li);
    while (this.messages.length > MAX_SHOWN) this.removeAt(0);
    if (stick) this.scrollToEnd();
    const mine = m.from.id !== null && m.from.id === this.link.selfId && !m.from.staff;
    if (!history && !mine && !this.isOpen()) {
      this.unread += 1;
      this.updateBadge();
    }
  }

  render(m) {
    const mine = m.from.id !== null && m.from.id === this.link.selfId && !m.from.staff;
    const li = el('li', 'msg');
    if (m.from.staff) li.classList.add('staff');
    if (mine) li.classList.add('mine');
    if (m.scope === 'near') li.classList.add('near');
    if (m.id !== null) li.dataset.id = m.id;
    const meta = el('div', 'msg-meta');
    meta.append(el('span', 'msg-name', m.from.name));
    if (m.from.staff) meta.append(el('span', 'tag tag-staff', 'Staff'));
    if (m.scope === 'near') meta.append(el('span', 'tag tag-near', 'Near'));
    const time = el('time', 'msg-time', clockText(m.t, this.link.offset));
    meta.append(time);
    li.append(meta, el('div', 'msg-text', m.text));
    return li;
  }

  // `chat.delete {"id"}`: the message disappears for everyone.
  remove(id) {
    const i = this.messages.findIndex((m) => m.id === String(id));
    if (i >= 0) this.removeAt(i);
    this.renderEmpty();
  }

  removeAt(i) {
    const [m] = this.messages.splice(i, 1);
    if (m?.id !== null && m?.id !== undefined) {
      this.byId.get(m.id)?.remove();
      this.byId.delete(m.id);
    } else this.list.children[i]?.remove();
  }

  // `pin {"text","by","t"}`, or the join ack's `pinned` (null / text null = nothing pinned).
  // A live pin while the chat is folded counts as unread (on phones the banner folds too).
  setPin(pin, { live = false } = {}) {
    const text = pin && typeof pin === 'object' ? str(pin.text, 500) : '';
    this.pinned = text ? { text, by: str(pin.by, 64), t: typeof pin.t === 'number' ? pin.t : null } : null;
    this.pinEl.hidden = !this.pinned;
    if (!this.pinned) return;
    if (live && !this.isOpen()) {
      this.unread += 1;
      this.updateBadge();
    }
    this.pinEl.querySelector('.pin-text').textContent = this.pinned.text;
    this.pinEl.querySelector('.pin-by').textContent = this.pinned.by ? `Pinned by ${this.pinned.by}` : 'Pinned';
  }

  setSlow(seconds) {
    this.slow = Math.max(0, Math.round(Number(seconds) || 0));
    this.slowEl.hidden = this.slow <= 0;
    this.slowEl.textContent = this.slow > 0 ? `Slow mode: one message every ${this.slow} s` : '';
  }

  // Muted until `until` (server ms), or null to lift it. The notice stays while it lasts.
  setMuted(until) {
    clearTimeout(this.muteTimer);
    if (typeof until !== 'number') {
      this.mutedUntil = null;
      this.muteNotice.clear();
      return;
    }
    this.mutedUntil = until;
    this.muteNotice.show(`You are muted until ${clockText(until, this.link.offset)}.`, { kind: 'error' });
    const left = until - (Date.now() + this.link.offset);
    if (left > 0 && left < 2 ** 31 - 1) this.muteTimer = setTimeout(() => this.setMuted(null), left + 500);
  }

  updateBadge() {
    this.badge.hidden = this.unread === 0;
    this.badge.textContent = this.unread > 99 ? '99+' : String(this.unread);
  }

  onOpenChange(open) {
    if (!open) return;
    this.unread = 0;
    this.updateBadge();
    this.scrollToEnd();
  }

  scrollToEnd() {
    this.list.scrollTop = this.list.scrollHeight;
  }

  async submit() {
    const text = this.input.value.trim();
    if (!text || this.sending) return;
    // Cleared at once (a live chat should feel instant); given back if the server refused it.
    this.input.value = '';
    const ack = await this.send(text, this.scope);
    if (!ack.ok && !this.input.value) this.input.value = text;
  }

  // Send one message; shows the outcome inline. Resolves with the ack.
  async send(text, scope = this.scope) {
    this.sending = true;
    this.sendBtn.disabled = true;
    let ack;
    try {
      ack = await this.link.request('chat', { text, scope: scope === 'near' ? 'near' : 'room' });
    } finally {
      this.sending = false;
      this.sendBtn.disabled = false;
    }
    if (ack.ok) {
      if (ack.filtered) this.notice.show('Some words were hidden by the filter.', { kind: 'subtle', ms: 4000 });
      else this.notice.clear();
      return ack;
    }
    const err = ack.error || {};
    if (err.code === 'muted' && typeof err.until === 'number') this.setMuted(err.until);
    else if (err.code === 'rate_limited') this.notice.show(errorText(err, 'You are sending messages too fast.'), { kind: 'warn', ms: 5000 });
    else this.notice.show(errorText(err, 'The message could not be sent.', this.link.offset), { kind: 'error', ms: 6000 });
    return ack;
  }

  // Read-only view for tests and devtools.
  view() {
    return this.messages.map((m) => ({ id: m.id, name: m.from.name, fromId: m.from.id, staff: m.from.staff, text: m.text, scope: m.scope, t: m.t }));
  }
}
