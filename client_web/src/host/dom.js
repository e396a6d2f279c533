// DOM helpers for the host console. Every piece of text goes in through textContent (or a
// text node): user-generated names, messages, questions and tickets can never become markup.

import { $, nearBottom, toast as showToast } from '../shared/dom.js';

export { $, nearBottom };

// h('div', {class: 'x', onclick: fn, dataset: {a: 1}}, 'text', child, [more children])
export function h(tag, props = null, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'style') Object.assign(el.style, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = String(v);
      else if (k in el && typeof v !== 'string') el[k] = v; // disabled, checked, value (non-string)
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.append(c);
    else el.append(document.createTextNode(String(c))); // text node: never parsed as HTML
  }
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

// Server clock (ms). /host has no `time` event, so the offset is estimated from the server
// times the console receives: `welcome.t`, every `stats.t` (once a second) and fresh show
// states. A message can only arrive after it was stamped, so each sample (t - Date.now()) is
// at most the true offset: the largest of the recent samples is the best estimate (the
// minimum-delay filter of NTP). Samples older than 10 minutes are forgotten, so a local clock
// that was adjusted does not stay wrong.
const CLOCK_WINDOW_MS = 10 * 60_000;
const clockSamples = []; // [local ms, server ms - local ms]
let offset = 0;
export function seedClock(serverMs) {
  if (typeof serverMs !== 'number' || !Number.isFinite(serverMs)) return;
  const local = Date.now();
  clockSamples.push([local, serverMs - local]);
  while (clockSamples.length > 1 && (clockSamples[0][0] < local - CLOCK_WINDOW_MS || clockSamples.length > 1200)) {
    clockSamples.shift();
  }
  offset = clockSamples.reduce((m, [, o]) => Math.max(m, o), -Infinity);
}
export const serverNow = () => Date.now() + offset;
export const clockOffset = () => offset;

const pad = (n) => String(n).padStart(2, '0');
export function fmtTime(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  const d = new Date(ms - offset);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
export function fmtClock(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  const d = new Date(ms - offset);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
// "in 9 min", "in 40 s", "in 2 h 5 min"
export function fmtLeft(untilMs) {
  const s = Math.max(0, Math.round((untilMs - serverNow()) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return m % 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m / 60} h`;
}

export function str(v, fallback = '') {
  return typeof v === 'string' ? v : (v === undefined || v === null ? fallback : String(v));
}

// Transient notices in the corner; errors stay longer. Identical ones are merged.
export function toast(text, { kind = 'info', ms = 4000 } = {}) {
  const life = kind === 'error' ? ms * 2 : kind === 'ok' ? Math.min(ms, 2500) : ms;
  showToast(text, { kind, life, max: 3, role: kind === 'error' ? 'alert' : 'status' });
}

// Destructive buttons ask for a second click within 3 s (no modal dialogs).
export function armed(b, confirmText, run) {
  const label = b.textContent;
  let timer = null;
  b.addEventListener('click', () => {
    if (b.classList.contains('armed')) {
      clearTimeout(timer);
      b.classList.remove('armed');
      b.textContent = label;
      run();
      return;
    }
    b.classList.add('armed');
    b.textContent = confirmText;
    timer = setTimeout(() => { b.classList.remove('armed'); b.textContent = label; }, 3000);
  });
}
