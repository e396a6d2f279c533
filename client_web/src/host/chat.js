// Live chat panel: the room's messages (shadow ones marked), moderation on each message's
// sender, delete / pin, the staff input, the pinned banner and slow mode.

import { $, h, clear, fmtTime, fmtLeft, nearBottom, str, armed } from './dom.js';
import { state, can, copy } from './state.js';

const MAX_ROWS = 500;
const SLOW_PRESETS = [0, 5, 10, 30, 60, 120, 300];

let ctx = null;
const rows = new Map(); // message id -> <li>

export function initChat(c) {
  ctx = c;
  const list = $('chat-list');
  list.addEventListener('scroll', () => { if (nearBottom(list)) $('chat-jump').hidden = true; });
  $('chat-jump').addEventListener('click', () => { list.scrollTop = list.scrollHeight; $('chat-jump').hidden = true; });

  $('staff-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('staff-input');
    const text = input.value.trim();
    if (!text || !state.room) return;
    input.disabled = true;
    const ack = await ctx.act('chat', { room: state.room, text }, { label: 'Send' });
    input.disabled = false;
    if (ack.ok) {
      input.value = '';
      // The room feed echoes the message; add it now in case the echo is slower than the ack.
      if (ack.id && !rows.has(ack.id)) {
        addMessage({ id: ack.id, room: state.room, from: { id: 0, name: state.name, staff: true }, text, t: ctx.now() });
      }
    }
    input.focus();
  });
  $('pin-btn').addEventListener('click', () => {
    const text = $('staff-input').value.trim();
    if (!text) { $('staff-input').focus(); return; }
    pin(text).then((ack) => { if (ack.ok) $('staff-input').value = ''; });
  });
  $('unpin').addEventListener('click', () => pin(''));

  const slow = $('slow-select');
  for (const s of SLOW_PRESETS) slow.append(h('option', { value: String(s) }, slowLabel(s)));
  slow.addEventListener('change', async () => {
    const seconds = Number(slow.value);
    const ack = await ctx.act('mod.slow', { room: state.room, seconds }, {
      label: 'Slow mode', ok: seconds ? `Slow mode: one message every ${slowLabel(seconds)}` : 'Slow mode off',
    });
    if (ack.ok) state.slow = seconds;
    renderSlow();
  });
}

function slowLabel(s) {
  if (!s) return 'Off';
  return s < 60 ? `${s} s` : `${s / 60} min`;
}

function pin(text) {
  return ctx.act('chat.pin', { room: state.room, text }, { label: text ? 'Pin' : 'Unpin', ok: text ? 'Pinned' : 'Unpinned' });
}

// ---- whole-panel renders (room switch, role change) ----------------------------------

export function renderChat() {
  const list = $('chat-list');
  clear(list);
  rows.clear();
  for (const m of state.chat) list.append(row(m));
  $('chat-jump').hidden = true;
  renderCount();
  renderPin();
  renderSlow();
  renderRole();
  // To the newest message, once the banner and the other panels have their size.
  list.scrollTop = list.scrollHeight;
  requestAnimationFrame(() => { list.scrollTop = list.scrollHeight; });
}

export function renderRole() {
  const mod = can('moderate');
  $('staff-form').hidden = !state.room;
  for (const el of $('staff-form').elements) el.disabled = !mod || !state.room;
  $('staff-input').placeholder = mod ? 'Message the room as staff…' : 'Your role cannot post in the chat';
  $('slow-select').disabled = !mod || !state.room;
  $('unpin').hidden = !mod;
  document.body.classList.toggle('can-moderate', mod);
}

function renderCount() {
  const n = state.chat.filter((m) => !m.deleted).length;
  $('chat-count').textContent = n ? String(n) : '';
}

export function renderPin() {
  const list = $('chat-list');
  const stick = nearBottom(list);
  const p = state.pinned;
  const on = !!(p && typeof p.text === 'string' && p.text);
  $('pin-banner').hidden = !on;
  $('pin-text').textContent = on ? p.text : '';
  $('pin-by').textContent = on ? `— ${str(p.by, 'staff')}${p.t ? `, ${fmtTime(p.t).slice(0, 5)}` : ''}` : '';
  if (stick) list.scrollTop = list.scrollHeight;
}

export function renderSlow() {
  const sel = $('slow-select');
  const v = String(Number(state.slow) || 0);
  if (![...sel.options].some((o) => o.value === v)) sel.append(h('option', { value: v }, `${v} s`));
  sel.value = v;
  $('chat-panel').classList.toggle('slow-on', v !== '0');
}

// ---- incremental updates -------------------------------------------------------------

export function addMessage(m) {
  if (!m || typeof m.id !== 'string' && typeof m.id !== 'number') return;
  const list = $('chat-list');
  const stick = nearBottom(list);
  const old = rows.get(m.id);
  const i = state.chat.findIndex((x) => x.id === m.id);
  if (i >= 0) state.chat[i] = m; else state.chat.push(m);
  const el = row(m);
  if (old) old.replaceWith(el); else list.append(el);
  while (state.chat.length > MAX_ROWS) {
    const gone = state.chat.shift();
    rows.get(gone.id)?.remove();
    rows.delete(gone.id);
  }
  if (old) { /* in place */ } else if (stick) list.scrollTop = list.scrollHeight; else $('chat-jump').hidden = false;
  renderCount();
}

export function markDeleted(id) {
  const m = state.chat.find((x) => x.id === id);
  if (!m || m.deleted) return;
  m.deleted = true;
  rows.get(id)?.replaceWith(row(m));
  renderCount();
}

// Sender badges (muted / shadow / banned) follow the moderation lists.
export function refreshSenders() {
  for (const m of state.chat) {
    const el = rows.get(m.id);
    if (el && !m.from?.staff) {
      const tags = el.querySelector('.sender-tags');
      if (tags) tags.replaceWith(senderTags(m.from?.id));
      const unmute = el.querySelector('[data-act="unmute"]');
      if (unmute) unmute.hidden = !mutedEntry(m.from?.id);
    }
  }
}

function mutedEntry(avatar) {
  return state.muted.find((x) => x.avatar === avatar) || null;
}

function senderTags(avatar) {
  const box = h('span', { class: 'sender-tags' });
  const mu = mutedEntry(avatar);
  if (mu) box.append(h('span', { class: `tag ${mu.shadow ? 'shadow' : 'muted'}`, title: mu.until ? `until ${fmtTime(mu.until)} (${fmtLeft(mu.until)} left)` : '' },
    mu.shadow ? 'shadow-muted' : 'muted'));
  if (state.banned.some((x) => x.avatar === avatar)) box.append(h('span', { class: 'tag banned' }, 'banned'));
  return box;
}

function row(m) {
  const from = m.from && typeof m.from === 'object' ? m.from : {};
  const staff = !!from.staff || from.id === 0;
  const name = str(from.name, staff ? 'Staff' : `#${from.id}`);
  const cls = ['msg'];
  if (staff) cls.push('staff');
  if (m.shadow) cls.push('shadow');
  if (m.deleted) cls.push('deleted');
  // Focusable, so the keyboard reaches the moderation toolbar (shown on hover / focus-within).
  const el = h('li', { class: cls.join(' '), tabindex: '0', dataset: { id: String(m.id), avatar: String(from.id ?? '') } },
    h('div', { class: 'msg-head' },
      h('span', { class: 'who', title: staff ? 'staff' : `visitor #${from.id}` }, name),
      staff ? h('span', { class: 'tag staff' }, 'staff') : senderTags(from.id),
      m.shadow ? h('span', { class: 'tag hidden-msg', title: 'Sent while shadow-muted: only staff and the sender see this message' }, 'hidden from room') : null,
      m.filtered ? h('span', { class: 'tag filtered', title: 'Words were masked by the filter' }, 'filtered') : null,
      m.scope === 'near' ? h('span', { class: 'tag near' }, 'near') : null,
      m.deleted ? h('span', { class: 'tag deleted' }, 'deleted') : null,
      h('time', { class: 'when' }, fmtTime(m.t)),
      m.deleted ? null : modBar(m, from, staff, name)),
    h('div', { class: 'msg-text' }, str(m.text)));
  rows.set(m.id, el);
  return el;
}

function btn(label, title, act, onclick, extra = '') {
  return h('button', { type: 'button', class: `mb ${extra}`.trim(), title, dataset: { act }, onclick }, label);
}

// A mute's or ban's reach, next to its buttons: "Room" (this one) or "Event" (every room the
// token covers, on every node), the server's default for that action pre-selected.
function scopeSelect(kind, name, preset) {
  const sel = h('select', {
    class: 'scope', dataset: { scope: kind }, 'aria-label': `${kind === 'ban' ? 'Ban' : 'Mute'} scope`,
    title: `Where ${kind === 'ban' ? 'a ban' : 'a mute or shadow-mute'} of ${name} holds`,
  },
  h('option', { value: 'room', title: 'This room only' }, 'Room'),
  h('option', { value: 'event', title: 'Every room of the event, on every node' }, 'Event'));
  sel.value = preset;
  return sel;
}

function where(scope) {
  return scope === 'event' ? ' in every room' : ' in this room';
}

// What a muted / banned entry says its scope is (entries from older servers have none).
export function scopeOf(entry, fallback) {
  return entry && (entry.scope === 'event' || entry.scope === 'room') ? entry.scope : fallback;
}

function modBar(m, from, staff, name) {
  if (!can('moderate')) return null;
  const room = state.room;
  const avatar = from.id;
  const bar = h('div', { class: 'mod-bar', role: 'toolbar', 'aria-label': `Moderate ${name}` });
  if (!staff && typeof avatar === 'number') {
    // Where a mute or ban holds: this room, or every room of the token (docs/protocol.md).
    const muteScope = scopeSelect('mute', name, 'room');
    const banScope = scopeSelect('ban', name, 'event');
    const mute = (min) => () => ctx.act('mod.mute', { room, avatar, minutes: min, scope: muteScope.value },
      { label: 'Mute', ok: `Muted ${name} for ${min} min${where(muteScope.value)}` });
    const muteGroup = h('span', { class: 'seg', title: `Mute ${name}` },
      h('span', { class: 'seg-label' }, 'Mute'),
      ...[5, 10, 60].map((min) => btn(`${min}m`, `Mute ${name} for ${min} minutes`, `mute-${min}`, mute(min))));
    const unmute = btn('Unmute', `Lift ${name}'s mute (where it holds)`, 'unmute',
      () => ctx.act('mod.unmute', { room, avatar, scope: scopeOf(mutedEntry(avatar), 'room') },
        { label: 'Unmute', ok: `${name} can chat again` }));
    unmute.hidden = !mutedEntry(avatar);
    const ban = btn('Ban', `Ban ${name}`, 'ban', null, 'danger');
    armed(ban, 'Confirm ban', () => ctx.act('mod.ban', { room, avatar, scope: banScope.value },
      { label: 'Ban', ok: `Banned ${name}${where(banScope.value)}` }));
    bar.append(muteGroup, muteScope,
      btn('Shadow', `Shadow-mute ${name}: their messages, questions and reactions reach only themselves and staff`, 'shadow',
        () => ctx.act('mod.shadow', { room, avatar, scope: muteScope.value },
          { label: 'Shadow-mute', ok: `Shadow-muted ${name}${where(muteScope.value)}` })),
      unmute,
      btn('Kick', `Remove ${name} from the room (they may come back)`, 'kick',
        () => ctx.act('mod.kick', { room, avatar }, { label: 'Kick', ok: `Kicked ${name}` })),
      h('span', { class: 'sep' }), ban, banScope);
  }
  const pinB = btn('Pin', 'Pin this message for everyone', 'pin', () => pin(str(m.text)));
  const del = btn('Delete', 'Delete this message everywhere', 'delete',
    async () => { const ack = await ctx.act('chat.delete', { room, id: m.id }, { label: 'Delete', ok: 'Message deleted' }); if (ack.ok) markDeleted(m.id); }, 'danger');
  bar.append(h('span', { class: 'sep' }), pinB, del);
  return bar;
}

// ---- the feature: the room's chat feed, the watch ack's chat, slow mode and pin -------------

export const chatFeature = {
  name: 'chat',
  init: initChat,
  feed: {
    chat: (m) => addMessage(m),
    'chat.delete': (m) => markDeleted(m.id),
    pin: (p) => {
      state.pinned = typeof p.text === 'string' && p.text ? p : null;
      renderPin();
    },
  },
  watched(ack) {
    state.chat = Array.isArray(ack.chat) ? ack.chat.filter((m) => m && m.id !== undefined) : [];
    state.slow = Number(ack.slow) || 0;
    state.pinned = ack.pinned && ack.pinned.text ? ack.pinned : null;
  },
  signedIn: () => renderRole(),
  changed(what) {
    if (what === 'people') refreshSenders();
    if (what === 'slow') renderSlow();
  },
  render: () => renderChat(),
  facade: {
    get chat() { return copy(state.chat); },
    get slow() { return state.slow; },
    get pinned() { return copy(state.pinned); },
  },
};
