// Attendance & activity from `stats` (every second): numbers and a sparkline of attendees.

import { $, seedClock } from './dom.js';
import { state, copy } from './state.js';

const WINDOW_MS = 10 * 60_000; // sparkline span
const FIELDS = [
  ['attendees', 'stat-attendees'],
  ['chat_per_min', 'stat-chat'],
  ['reactions_per_min', 'stat-reactions'],
  ['open_tickets', 'stat-tickets'],
  ['questions', 'stat-questions'],
];

export function applyStats(s) {
  state.stats = s;
  const t = Number(s.t) || Date.now();
  if (typeof s.attendees === 'number') {
    state.history.push([t, s.attendees]);
    while (state.history.length && state.history[0][0] < t - WINDOW_MS) state.history.shift();
  }
  renderStats();
}

function fmt(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  if (Math.abs(v) >= 10000) return `${(v / 1000).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

export function renderStats() {
  const s = state.stats || {};
  for (const [key, id] of FIELDS) $(id).textContent = state.stats ? fmt(s[key]) : '–';
  $('stat-tickets').closest('.stat').classList.toggle('hot', Number(s.open_tickets) > 0);
  const peak = state.history.reduce((m, [, v]) => Math.max(m, v), 0);
  $('spark-peak').textContent = state.history.length ? `peak ${peak} · last ${spanLabel()}` : 'waiting for data…';
  drawSpark($('spark'), state.history);
}

function spanLabel() {
  const h = state.history;
  const ms = h.length > 1 ? h[h.length - 1][0] - h[0][0] : 0;
  return ms < 60_000 ? `${Math.max(1, Math.round(ms / 1000))} s` : `${Math.round(ms / 60_000)} min`;
}

function drawSpark(canvas, points) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, hgt = canvas.clientHeight;
  if (!w || !hgt) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(hgt * dpr);
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, hgt);
  // baseline
  g.strokeStyle = 'rgba(31, 28, 25, 0.12)';
  g.lineWidth = 1;
  g.beginPath();
  g.moveTo(0, hgt - 0.5);
  g.lineTo(w, hgt - 0.5);
  g.stroke();
  if (points.length < 2) return;
  const t1 = points[points.length - 1][0];
  const t0 = Math.min(points[0][0], t1 - 10_000); // the whole history, at least 10 s wide
  const max = Math.max(1, ...points.map((p) => p[1]));
  const pad = 3;
  const x = (t) => ((t - t0) / (t1 - t0)) * (w - pad * 2) + pad;
  const y = (v) => hgt - pad - (v / max) * (hgt - pad * 2);
  g.beginPath();
  points.forEach(([t, v], i) => (i ? g.lineTo(x(t), y(v)) : g.moveTo(x(t), y(v))));
  const line = new Path2D();
  points.forEach(([t, v], i) => (i ? line.lineTo(x(t), y(v)) : line.moveTo(x(t), y(v))));
  g.lineTo(x(t1), hgt);
  g.lineTo(x(points[0][0]), hgt);
  g.closePath();
  g.fillStyle = 'rgba(184, 137, 59, 0.16)';
  g.fill();
  g.strokeStyle = '#b8893b';
  g.lineWidth = 1.6;
  g.lineJoin = 'round';
  g.stroke(line);
  const [lt, lv] = points[points.length - 1];
  g.fillStyle = '#b8893b';
  g.beginPath();
  g.arc(x(lt), y(lv), 2.6, 0, Math.PI * 2);
  g.fill();
}

// ---- the feature: the `stats` feed (once a second) --------------------------------------------

export const statsFeature = {
  name: 'stats',
  keep: ['stats', 'history'], // a re-watch after a reconnect keeps the sparkline
  feed: {
    stats: (s) => {
      seedClock(s.t); // a sample for the server clock estimate (there is no `time` on /host)
      applyStats(s);
    },
  },
  render: () => renderStats(),
  resize: () => renderStats(),
  facade: {
    get stats() { return copy(state.stats); },
    get history() { return copy(state.history); },
  },
};
