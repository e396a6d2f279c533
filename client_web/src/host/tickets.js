// Assistant tickets: open ones (handed off, waiting for staff) first and highlighted, each with
// its conversation (visitor / bot with confidence / staff) and a reply box.

import { $, h, clear, fmtTime, str } from './dom.js';
import { state, can, copy } from './state.js';

let ctx = null;
const drafts = new Map(); // ticket id -> reply being typed
const expanded = new Set(); // non-open tickets the user opened

const STATUS = { open: 'waiting for staff', bot: 'bot', answered: 'answered' };

export function initTickets(c) { ctx = c; }

export function upsertTicket(t) {
  if (!t || t.ticket === undefined) return;
  const i = state.tickets.findIndex((x) => x.ticket === t.ticket);
  if (i >= 0) state.tickets[i] = t; else state.tickets.push(t);
  renderTickets();
}

function lastT(t) {
  const msgs = Array.isArray(t.messages) ? t.messages : [];
  return Math.max(Number(t.t) || 0, ...msgs.map((m) => Number(m.t) || 0));
}

function sorted() {
  // Open first, longest waiting on top; the rest by latest activity.
  return [...state.tickets].sort((a, b) => {
    const ao = a.status === 'open', bo = b.status === 'open';
    if (ao !== bo) return ao ? -1 : 1;
    return ao ? (Number(a.t) || 0) - (Number(b.t) || 0) : lastT(b) - lastT(a);
  });
}

export function renderTickets() {
  const list = $('ticket-list');
  const focused = document.activeElement?.closest?.('#ticket-list [data-ticket]')?.dataset.ticket;
  const scroll = list.scrollTop;
  clear(list);
  const open = state.tickets.filter((t) => t.status === 'open').length;
  const badge = $('ticket-count');
  badge.textContent = state.tickets.length ? (open ? `${open} open · ${state.tickets.length}` : String(state.tickets.length)) : '';
  badge.classList.toggle('hot', open > 0);
  if (!state.tickets.length) {
    list.append(h('li', { class: 'empty' }, 'No assistant conversations yet.'));
    return;
  }
  for (const t of sorted()) list.append(card(t));
  list.scrollTop = scroll;
  if (focused !== undefined) {
    const input = list.querySelector(`[data-ticket="${CSS.escape(focused)}"] input`);
    input?.focus();
  }
}

function card(t) {
  const id = String(t.ticket);
  const status = str(t.status, 'bot');
  const isOpen = status === 'open';
  const show = isOpen || expanded.has(id) || drafts.has(id);
  const msgs = Array.isArray(t.messages) ? t.messages : [];
  const last = msgs[msgs.length - 1];
  const head = h('button', {
    type: 'button', class: 'ticket-head', 'aria-expanded': String(show),
    onclick: () => { if (expanded.has(id)) expanded.delete(id); else expanded.add(id); renderTickets(); },
  },
  h('span', { class: 'who' }, str(t.name, `#${t.avatar}`)),
  h('span', { class: `status st-${status.replace(/[^a-z]/g, '')}` }, STATUS[status] || status),
  h('time', null, fmtTime(lastT(t))),
  show ? null : h('span', { class: 'preview' }, last ? str(last.text) : ''));
  const li = h('li', { class: `ticket st-${status.replace(/[^a-z]/g, '')}${show ? ' expanded' : ''}`, dataset: { ticket: id } }, head);
  if (show) {
    li.append(h('ol', { class: 'convo' }, msgs.map(bubble)), replyBox(t, id));
  }
  return li;
}

function bubble(m) {
  const from = str(m.from, 'visitor');
  const who = from === 'staff' ? str(m.name, 'Staff') : from === 'bot' ? 'Assistant' : 'Visitor';
  const conf = typeof m.confidence === 'number' ? m.confidence : null;
  return h('li', { class: `bubble from-${from.replace(/[^a-z]/g, '')}` },
    h('div', { class: 'b-meta' },
      h('span', { class: 'b-who' }, who),
      conf !== null ? h('span', { class: `conf${conf < 0.5 ? ' low' : ''}`, title: 'bot confidence' }, `${Math.round(conf * 100)}%`) : null,
      h('time', null, fmtTime(m.t))),
    h('div', { class: 'b-text' }, str(m.text)));
}

function replyBox(t, id) {
  const allowed = can('reply');
  const input = h('input', {
    type: 'text', maxlength: '500', 'aria-label': 'Reply',
    placeholder: allowed ? 'Reply to the visitor…' : 'Your role cannot reply to tickets', disabled: !allowed,
  });
  input.value = drafts.get(id) || '';
  input.addEventListener('input', () => { if (input.value) drafts.set(id, input.value); else drafts.delete(id); });
  const form = h('form', { class: 'inline-form' }, input, h('button', { type: 'submit', disabled: !allowed }, 'Reply'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.disabled = true;
    const ack = await ctx.act('assist.reply', { ticket: t.ticket, text }, { label: 'Reply' });
    input.disabled = false;
    if (ack.ok) {
      drafts.delete(id);
      expanded.add(id); // keep the conversation just answered open
      input.value = '';
      // A `ticket` update may have re-rendered the card meanwhile: clear its box too.
      const box = $('ticket-list').querySelector(`[data-ticket="${CSS.escape(id)}"] input`);
      if (box) box.value = '';
      if (ack.delivered === false) ctx.toast('Reply saved: the visitor is offline and gets it when they come back');
      else ctx.toast('Reply delivered', { kind: 'ok' });
      // The `ticket` update that follows shows the reply in the conversation.
    }
  });
  return form;
}

// ---- the feature: the ticket feed and the watch ack's tickets -------------------------------

export const ticketsFeature = {
  name: 'tickets',
  init: initTickets,
  feed: { ticket: (t) => upsertTicket(t) },
  watched(ack) { state.tickets = Array.isArray(ack.tickets) ? ack.tickets : []; },
  render: () => renderTickets(),
  facade: { get tickets() { return copy(state.tickets); } },
};
