// Q&A queue: every question of the room, most votes first, with an answer box and (hosts,
// moderators) a Delete that takes it off every visitor's board. Questions asked while
// shadow-muted are marked: only staff and their asker see them.

import { $, h, clear, fmtTime, str } from './dom.js';
import { state, can, copy } from './state.js';

let ctx = null;
const drafts = new Map(); // question id -> text being typed (survives re-renders)

export function initQa(c) { ctx = c; }

// `qa.delete {"room", "id"}` (feed) or our own delete's ack: off the queue at once.
export function dropQuestion(id) {
  const before = state.qa.length;
  state.qa = state.qa.filter((q) => q.id !== id);
  if (state.qa.length !== before) renderQa();
}

export function setQuestions(list) {
  state.qa = Array.isArray(list) ? list.filter((q) => q && q.id !== undefined) : [];
  renderQa();
}

function sorted() {
  return [...state.qa].sort((a, b) => (Number(b.votes) || 0) - (Number(a.votes) || 0) || (Number(a.t) || 0) - (Number(b.t) || 0));
}

export function renderQa() {
  const list = $('qa-list');
  // Keep the focus (and caret) of an answer box across the re-render.
  const focused = document.activeElement?.closest?.('#qa-list [data-id]')?.dataset.id;
  clear(list);
  const open = state.qa.filter((q) => !hasAnswer(q)).length;
  $('qa-count').textContent = state.qa.length ? `${open} open · ${state.qa.length}` : '';
  if (!state.qa.length) {
    list.append(h('li', { class: 'empty' }, 'No questions yet.'));
    return;
  }
  for (const q of sorted()) list.append(row(q));
  if (focused !== undefined) list.querySelector(`[data-id="${CSS.escape(focused)}"] input`)?.focus();
}

function hasAnswer(q) {
  return typeof q.answer === 'string' && q.answer.length > 0;
}

function row(q) {
  const answered = hasAnswer(q);
  const from = q.from && typeof q.from === 'object' ? q.from : {};
  const li = h('li', { class: `q${answered ? ' answered' : ''}`, dataset: { id: String(q.id) } },
    h('div', { class: 'votes', title: 'votes' }, h('b', null, String(Number(q.votes) || 0)), h('small', null, 'votes')),
    h('div', { class: 'q-body' },
      h('div', { class: 'q-text' }, str(q.text)),
      h('div', { class: 'q-meta' },
        h('span', { class: 'who' }, str(from.name, 'visitor')),
        h('time', null, fmtTime(q.t)),
        answered ? h('span', { class: 'tag answered' }, '✓ answered') : null,
        q.shadow ? h('span', { class: 'tag hidden-msg', title: 'Asked while shadow-muted: only staff and the asker see it' }, 'hidden from room') : null,
        can('deleteQuestion') ? deleteButton(q) : null),
      answered ? h('div', { class: 'q-answer' }, str(q.answer)) : null,
      answered ? null : answerBox(q)));
  return li;
}

function deleteButton(q) {
  return h('button', {
    type: 'button', class: 'mb danger q-delete', dataset: { act: 'qa-delete' },
    title: 'Take this question off the board for everyone',
    onclick: async () => {
      const ack = await ctx.act('qa.delete', { room: state.room, id: q.id }, { label: 'Delete question', ok: 'Question taken down' });
      if (ack.ok) dropQuestion(q.id);
    },
  }, 'Delete');
}

function answerBox(q) {
  const allowed = can('answer');
  const input = h('input', {
    type: 'text', maxlength: '500', placeholder: allowed ? 'Answer…' : 'Your role cannot answer',
    disabled: !allowed, 'aria-label': 'Answer',
  });
  input.value = drafts.get(q.id) || '';
  input.addEventListener('input', () => drafts.set(q.id, input.value));
  const form = h('form', { class: 'inline-form' }, input,
    h('button', { type: 'submit', disabled: !allowed }, 'Answer'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.disabled = true;
    const ack = await ctx.act('qa.answer', { room: state.room, id: q.id, text }, { label: 'Answer', ok: 'Answer sent' });
    input.disabled = false;
    if (ack.ok) {
      drafts.delete(q.id);
      q.answer = text; // the next qa.queue confirms it
      renderQa();
    }
  });
  return form;
}

// ---- the feature: the Q&A queue feed and the watch ack's questions --------------------------

export const qaFeature = {
  name: 'qa',
  init: initQa,
  feed: {
    'qa.queue': (q) => setQuestions(q.questions),
    'qa.delete': (d) => dropQuestion(d.id),
  },
  watched(ack) { state.qa = Array.isArray(ack.qa) ? ack.qa : []; },
  render: () => renderQa(),
  facade: { get qa() { return copy(state.qa); } },
};
