// Muted / banned visitors (with unmute / unban) and the moderation log, newest first.
// The lists come with `host.watch`; afterwards every staff action arrives as a `modlog`
// entry, from which the lists are kept current.

import { $, h, clear, fmtTime, fmtLeft, str } from './dom.js';
import { state, can, copy } from './state.js';
import { scopeOf } from './chat.js';

const MAX_LOG = 200;
let ctx = null;

export function initModeration(c) {
  ctx = c;
  // Mute countdowns tick down; expired mutes drop off the list.
  setInterval(() => {
    const now = ctx.now();
    const before = state.muted.length;
    state.muted = state.muted.filter((m) => !m.until || m.until > now);
    if (state.muted.length !== before) ctx.changed('people');
    else renderPeople();
  }, 10_000);
}

// Action names, with or without their event prefix ("mod.mute" / "mute").
function kind(action) {
  return str(action).replace(/^(mod|chat)\./, '');
}

const same = (a, b) => a.t === b.t && a.action === b.action && a.by === b.by && a.avatar === b.avatar && a.id === b.id;

export function applyLog(e) {
  if (state.log.slice(0, 50).some((x) => same(x, e))) return; // already in the watch ack
  state.log.unshift(e);
  if (state.log.length > MAX_LOG) state.log.length = MAX_LOG;
  const a = kind(e.action);
  const avatar = e.avatar;
  const people = { avatar, name: str(e.name, `#${avatar}`) };
  let touched = false;
  if ((a === 'mute' || a === 'shadow') && typeof avatar === 'number') {
    const minutes = Number(e.minutes) || (a === 'shadow' ? 60 : 10);
    const entry = { ...people, until: (Number(e.t) || ctx.now()) + minutes * 60_000, shadow: a === 'shadow', scope: scopeOf(e, 'room') };
    state.muted = state.muted.filter((m) => m.avatar !== avatar).concat(entry);
    touched = true;
  } else if (a === 'unmute') {
    state.muted = state.muted.filter((m) => m.avatar !== avatar);
    touched = true;
  } else if (a === 'ban' && typeof avatar === 'number') {
    state.banned = state.banned.filter((b) => b.avatar !== avatar).concat({ ...people, scope: scopeOf(e, 'event') });
    touched = true;
  } else if (a === 'unban') {
    state.banned = state.banned.filter((b) => b.avatar !== avatar);
    touched = true;
  } else if (a === 'slow' && typeof e.seconds === 'number') {
    state.slow = e.seconds;
    ctx.changed('slow');
  }
  if (touched) ctx.changed('people');
  prependLogRow(e);
}

// ---- muted / banned -----------------------------------------------------------------

export function renderPeople() {
  const mod = can('moderate');
  const muted = clear($('muted-list'));
  $('muted-count').textContent = String(state.muted.length);
  for (const m of [...state.muted].sort((a, b) => (a.until || 0) - (b.until || 0))) {
    const name = str(m.name, `#${m.avatar}`);
    muted.append(h('li', { class: 'person', dataset: { avatar: String(m.avatar) } },
      h('span', { class: 'who' }, name),
      h('span', { class: `tag ${m.shadow ? 'shadow' : 'muted'}` }, m.shadow ? 'shadow' : 'muted'),
      scopeTag(scopeOf(m, 'room')),
      h('span', { class: 'until', title: m.until ? `until ${fmtTime(m.until)}` : '' }, m.until ? `${fmtLeft(m.until)} left` : ''),
      mod ? h('button', {
        type: 'button', class: 'mb', dataset: { act: 'unmute' }, title: `Lift ${name}'s mute`,
        onclick: () => ctx.act('mod.unmute', { room: state.room, avatar: m.avatar, scope: scopeOf(m, 'room') },
          { label: 'Unmute', ok: `${name} can chat again` }),
      }, 'Unmute') : null));
  }
  if (!state.muted.length) muted.append(h('li', { class: 'empty' }, 'Nobody is muted.'));

  const banned = clear($('banned-list'));
  $('banned-count').textContent = String(state.banned.length);
  for (const b of state.banned) {
    const name = str(b.name, `#${b.avatar}`);
    banned.append(h('li', { class: 'person', dataset: { avatar: String(b.avatar) } },
      h('span', { class: 'who' }, name),
      h('span', { class: 'tag banned' }, 'banned'),
      scopeTag(scopeOf(b, 'room')),
      h('span', { class: 'until' }),
      mod ? h('button', {
        type: 'button', class: 'mb', dataset: { act: 'unban' }, title: `Let ${name} back in`,
        onclick: () => ctx.act('mod.unban', { room: state.room, avatar: b.avatar, scope: scopeOf(b, 'room') },
          { label: 'Unban', ok: `${name} may come back` }),
      }, 'Unban') : null));
  }
  if (!state.banned.length) banned.append(h('li', { class: 'empty' }, 'Nobody is banned.'));
}

function scopeTag(scope) {
  return scope === 'event'
    ? h('span', { class: 'tag scope-event', title: 'Holds in every room of the event' }, 'whole event')
    : h('span', { class: 'tag scope-room', title: 'Holds in this room only' }, 'this room');
}

// ---- log ------------------------------------------------------------------------------

const VERB = {
  mute: 'muted', shadow: 'shadow-muted', unmute: 'unmuted', kick: 'kicked', ban: 'banned',
  unban: 'unbanned', slow: 'set slow mode', pin: 'pinned', unpin: 'unpinned', delete: 'deleted a message',
  answer: 'answered', 'qa.answer': 'answered', reply: 'replied to', 'assist.reply': 'replied to', chat: 'posted',
  spotlight: 'spotlighted', 'offer.start': 'started a drop of', 'qa.delete': 'took down a question by',
};

function describe(e) {
  const a = kind(e.action);
  const who = e.name !== undefined && e.name !== null ? str(e.name) : (typeof e.avatar === 'number' ? `#${e.avatar}` : '');
  const parts = [VERB[a] || VERB[str(e.action)] || str(e.action)];
  if (a === 'pin' && !e.text) parts[0] = 'unpinned';
  if (a === 'delete') parts[0] = who ? 'deleted a message by' : 'deleted a message';
  if (who) parts.push(who);
  if ((a === 'mute' || a === 'shadow') && e.minutes) parts.push(`for ${e.minutes} min`);
  if (a === 'slow') parts.push(e.seconds ? `to ${e.seconds} s` : 'off');
  if (e.scope === 'event') parts.push('in every room');
  return parts.join(' ');
}

function logRow(e) {
  const a = kind(e.action);
  return h('li', { class: `log-row act-${a.replace(/[^a-z0-9_-]/gi, '-')}` },
    h('div', { class: 'log-meta' },
      h('span', { class: 'by' }, str(e.by, 'staff')),
      e.role ? h('span', { class: 'role-tag' }, str(e.role)) : null,
      h('time', { class: 'when' }, fmtTime(e.t))),
    h('div', { class: 'what' }, describe(e)),
    e.text ? h('div', { class: 'quote' }, str(e.text)) : null);
}

export function renderLog() {
  const list = clear($('log-list'));
  for (const e of state.log) list.append(logRow(e));
  if (!state.log.length) list.append(h('li', { class: 'empty' }, 'No staff actions yet.'));
}

function prependLogRow(e) {
  const list = $('log-list');
  list.querySelector('.empty')?.remove();
  list.prepend(logRow(e));
  while (list.children.length > MAX_LOG) list.lastChild.remove();
}

// ---- the feature: the modlog feed and the watch ack's lists ---------------------------------

export const moderationFeature = {
  name: 'moderation',
  init: initModeration,
  feed: { modlog: (e) => applyLog(e) },
  watched(ack) {
    state.log = (Array.isArray(ack.log) ? [...ack.log] : []).sort((a, b) => (Number(b.t) || 0) - (Number(a.t) || 0));
    state.muted = Array.isArray(ack.muted) ? ack.muted : [];
    state.banned = Array.isArray(ack.banned) ? ack.banned : [];
  },
  changed(what) { if (what === 'people') renderPeople(); },
  render() { renderPeople(); renderLog(); },
  facade: {
    get log() { return copy(state.log); },
    get muted() { return copy(state.muted); },
    get banned() { return copy(state.banned); },
  },
};
