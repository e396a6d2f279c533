// Analytics tab (every staff role): charts from `stats` (every second) — attendance over time,
// the shopping funnel, top products, drop conversions and the live occupancy heatmap — and the
// report download (GET /api/rooms/{room}/analytics?format=csv|json, Bearer staff token).
// docs/protocol.md, "Analytics".

import { $, h, clear, fmtTime, str } from './dom.js';
import { state, copy } from './state.js';

let ctx = null;
let reportGen = 0;
let heatMode = 'live'; // live: avatars per cell now (stats) | dwell: avatar-seconds per cell (report)
const REPORT_EVERY_MS = 30_000; // the report (dwell, older attendance) while the tab is open
const DWELL_EVERY_MS = 5_000; // ...and while the dwell heatmap is on screen
let reportAt = 0;

export const STAGES = [
  ['near', 'Near a booth'],
  ['viewed', 'Viewed'],
  ['tried', 'Tried on'],
  ['cart', 'Added to cart'],
  ['claimed', 'Claimed a drop'],
];

export function initAnalytics(c) {
  ctx = c;
  $('dl-csv').addEventListener('click', () => download('csv'));
  $('dl-json').addEventListener('click', () => download('json'));
  for (const btn of document.querySelectorAll('#heat-mode button')) {
    btn.addEventListener('click', () => {
      heatMode = btn.dataset.mode;
      renderHeatmap();
      // the dwell grid is the report's: switching to it always fetches a fresh one
      if (heatMode === 'dwell' && state.watching) loadReport(state.watching);
    });
  }
  setInterval(() => {
    // the dwell view is the report: keep it as fresh as the live one feels
    const every = heatMode === 'dwell' ? DWELL_EVERY_MS : REPORT_EVERY_MS;
    if (state.tab === 'analytics' && state.watching && Date.now() - reportAt >= every) loadReport(state.watching);
  }, 1000);
}

// ---- the report (JSON export): older attendance and dwell -----------------------------------

export async function loadReport(room) {
  const token = ctx.token();
  if (!room || !token) return;
  const gen = ++reportGen;
  reportAt = Date.now();
  try {
    const res = await fetch(`/api/rooms/${encodeURIComponent(room)}/analytics?format=json`, {
      headers: { Authorization: `Bearer ${token}` }, cache: 'no-store',
    });
    if (!res.ok) return; // the live charts do without it; a download shows the error
    const report = await res.json();
    if (gen !== reportGen || room !== state.room) return;
    state.report = report && typeof report === 'object' ? report : null;
    if (typeof report?.t === 'number') ctx.seenServerTime?.(report.t);
    renderAnalytics();
  } catch {
    /* offline: the next stats will do */
  }
}

// ---- download -----------------------------------------------------------------------------

async function download(format) {
  const room = state.room;
  const token = ctx.token();
  const status = $('dl-status');
  if (!room || !token) return;
  const btn = $(format === 'csv' ? 'dl-csv' : 'dl-json');
  btn.disabled = true;
  status.textContent = `Preparing the ${format.toUpperCase()}…`;
  status.dataset.kind = 'info';
  try {
    const res = await fetch(`/api/rooms/${encodeURIComponent(room)}/analytics?format=${format}`, {
      headers: { Authorization: `Bearer ${token}` }, cache: 'no-store',
    });
    const text = await res.text();
    state.lastExport = { format, status: res.status, bytes: text.length, head: text.slice(0, 4000) };
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 160)}`);
    const type = format === 'csv' ? 'text/csv;charset=utf-8' : 'application/json';
    const url = URL.createObjectURL(new Blob([text], { type }));
    const stamp = new Date(ctx.now()).toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
    const a = h('a', { href: url, download: `vetrina-${room}-analytics-${stamp}.${format}`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    status.textContent = `${format.toUpperCase()} downloaded (${(text.length / 1024).toFixed(1)} KB)`;
    status.dataset.kind = 'ok';
  } catch (err) {
    status.textContent = `Download failed — ${str(err?.message, 'network error')}`;
    status.dataset.kind = 'bad';
    ctx.toast(`Analytics download failed — ${str(err?.message, 'network error')}`, { kind: 'error' });
  } finally {
    btn.disabled = false;
  }
}

// ---- rendering ------------------------------------------------------------------------------

export function renderAnalytics() {
  const s = state.stats || {};
  const r = state.report || {};
  const peakLive = state.history.reduce((m, [, v]) => Math.max(m, v), 0);
  $('an-now').textContent = state.stats ? fmtN(s.attendees) : '–';
  $('an-visitors').textContent = typeof s.visitors === 'number' ? fmtN(s.visitors) : typeof r.visitors === 'number' ? fmtN(r.visitors) : '–';
  $('an-peak').textContent = state.stats || state.report ? fmtN(Math.max(peakLive, Number(r.peak) || 0)) : '–';
  for (const b of [$('dl-csv'), $('dl-json')]) b.disabled = !state.watching;
  if (state.tab !== 'analytics') return; // canvases are drawn when they can be seen
  drawAttendance();
  renderFunnel();
  renderTopProducts();
  renderConversions();
  renderHeatmap();
}

const fmtN = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-GB') : '–');

function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, hgt = canvas.clientHeight;
  if (!w || !hgt) return null;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(hgt * dpr);
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, hgt);
  return { g, w, h: hgt };
}

function niceStep(max, ticks = 4) {
  const raw = Math.max(1, max) / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

// Attendance: the report's 10-s samples before the console came, then every `stats`.
export function attendancePoints() {
  const live = state.history;
  const first = live.length ? live[0][0] : Infinity;
  const old = (Array.isArray(state.report?.attendance) ? state.report.attendance : [])
    .map((p) => [Number(p.t), Number(p.visitors)])
    .filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v) && t < first - 1000);
  return [...old.slice(-360), ...live];
}

function drawAttendance() {
  const canvas = $('att-chart');
  const c = fitCanvas(canvas);
  if (!c) return;
  const { g, w, h: H } = c;
  const pts = attendancePoints();
  canvas.dataset.points = String(pts.length);
  const L = 36, R = 12, T = 10, B = 22;
  const font = '11px Inter, "DejaVu Sans", Arial, sans-serif';
  g.font = font;
  const tEnd = pts.length ? pts[pts.length - 1][0] : ctx.now();
  const tStart = Math.min(pts.length ? pts[0][0] : tEnd, tEnd - 60_000); // at least a minute wide
  const max = Math.max(1, ...pts.map((p) => p[1]));
  const step = Math.max(1, niceStep(max)); // whole visitors
  const top = Math.ceil(max / step) * step;
  const x = (t) => L + ((t - tStart) / (tEnd - tStart)) * (w - L - R);
  const y = (v) => T + (1 - v / top) * (H - T - B);
  // grid and y labels
  g.strokeStyle = 'rgba(31, 28, 25, 0.08)';
  g.fillStyle = '#8a8278';
  g.lineWidth = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (let v = 0; v <= top + 1e-9; v += step) {
    g.beginPath(); g.moveTo(L, Math.round(y(v)) + 0.5); g.lineTo(w - R, Math.round(y(v)) + 0.5); g.stroke();
    g.fillText(String(Math.round(v)), L - 6, y(v));
  }
  // x labels: a round step giving at most ~6 labels
  const span = tEnd - tStart;
  const steps = [10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3];
  const xs = steps.find((s) => span / s <= 6) || steps[steps.length - 1];
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (let t = Math.ceil(tStart / xs) * xs; t <= tEnd; t += xs) {
    const px = x(t);
    if (px < L + 14 || px > w - R - 14) continue;
    g.beginPath(); g.moveTo(Math.round(px) + 0.5, T); g.lineTo(Math.round(px) + 0.5, H - B); g.stroke();
    g.fillText(xs >= 60e3 ? fmtTime(t).slice(0, 5) : fmtTime(t), px, H - B + 5);
  }
  g.strokeStyle = 'rgba(31, 28, 25, 0.25)';
  g.beginPath(); g.moveTo(L, H - B + 0.5); g.lineTo(w - R, H - B + 0.5); g.stroke();
  if (!pts.length) {
    g.textAlign = 'center'; g.textBaseline = 'middle'; g.fillStyle = '#8a8278';
    g.fillText('waiting for the first numbers…', (L + w - R) / 2, (T + H - B) / 2);
    return;
  }
  // area and line (steps: attendance holds until the next sample)
  const line = new Path2D();
  pts.forEach(([t, v], i) => {
    if (i) line.lineTo(x(t), y(pts[i - 1][1]));
    if (i) line.lineTo(x(t), y(v)); else line.moveTo(x(t), y(v));
  });
  const area = new Path2D(line);
  area.lineTo(x(tEnd), y(0));
  area.lineTo(x(pts[0][0]), y(0));
  area.closePath();
  g.fillStyle = 'rgba(184, 137, 59, 0.18)';
  g.fill(area);
  g.strokeStyle = '#b8893b';
  g.lineWidth = 1.8;
  g.lineJoin = 'round';
  g.stroke(line);
  const [lt, lv] = pts[pts.length - 1];
  g.fillStyle = '#b8893b';
  g.beginPath(); g.arc(x(lt), y(lv), 3, 0, Math.PI * 2); g.fill();
  // the peak
  const peak = pts.reduce((best, p) => (p[1] > best[1] ? p : best), pts[0]);
  if (peak[1] > 0) {
    g.fillStyle = '#6b645b';
    g.textAlign = x(peak[0]) > w - 80 ? 'right' : 'left';
    const below = y(peak[1]) - 16 < T; // no room above the line: write it under
    g.textBaseline = below ? 'top' : 'bottom';
    g.fillText(`peak ${peak[1]}`, x(peak[0]) + (g.textAlign === 'left' ? 4 : -6), y(peak[1]) + (below ? 5 : -3));
  }
}

function renderFunnel() {
  const f = state.stats?.funnel && typeof state.stats.funnel === 'object' ? state.stats.funnel : {};
  const list = clear($('funnel'));
  const has = STAGES.some(([k]) => typeof f[k] === 'number');
  if (!has) {
    list.append(h('li', { class: 'empty' }, state.stats ? 'No catalog in this room: nothing to sell here.' : 'Waiting for the first numbers…'));
    return;
  }
  const max = Math.max(1, ...STAGES.map(([k]) => Number(f[k]) || 0));
  let prev = null;
  for (const [key, label] of STAGES) {
    const v = Number(f[key]) || 0;
    const rate = prev === null ? '' : prev > 0 ? `${Math.round((v / prev) * 100)} %` : '–';
    list.append(h('li', { class: `stage st-${key}`, dataset: { stage: key, value: String(v) } },
      h('span', { class: 'stage-label' }, label),
      h('span', { class: 'bar' }, h('span', { style: { width: `${((v / max) * 100).toFixed(1)}%` } })),
      h('b', null, fmtN(v)),
      h('small', { title: 'of the stage before' }, rate)));
    prev = v;
  }
}

function productName(id) {
  const p = state.catalog.find((x) => x.id === id);
  return p ? str(p.name, id) : str(id);
}

function renderTopProducts() {
  const rows = Array.isArray(state.stats?.top_products) ? state.stats.top_products : [];
  const body = clear($('top-products'));
  const any = rows.some((r) => STAGES.some(([k]) => Number(r[k]) > 0));
  $('top-empty').hidden = any;
  $('top-table').hidden = !any;
  if (!any) {
    $('top-empty').textContent = state.stats ? (rows.length ? 'Nobody has looked at a product yet.' : 'No catalog in this room.') : 'Waiting for the first numbers…';
    return;
  }
  const max = Math.max(1, ...rows.map((r) => Number(r.viewed) || 0));
  for (const r of rows) {
    body.append(h('tr', { dataset: { product: str(r.product) } },
      h('th', { scope: 'row', title: str(r.product) },
        h('span', { class: 'tp-name' }, productName(r.product)),
        h('span', { class: 'tp-bar' }, h('span', { style: { width: `${(((Number(r.viewed) || 0) / max) * 100).toFixed(1)}%` } }))),
      ...STAGES.map(([k]) => h('td', { class: `c-${k}` }, fmtN(Number(r[k]) || 0)))));
  }
}

function renderConversions() {
  const offers = Array.isArray(state.stats?.offers) ? state.stats.offers : [];
  const list = clear($('conversions'));
  $('conv-count').textContent = offers.length ? String(offers.length) : '';
  if (!offers.length) {
    list.append(h('li', { class: 'empty' }, state.stats ? 'No drops yet in this room.' : 'Waiting for the first numbers…'));
    return;
  }
  for (const o of [...offers].reverse()) { // newest first
    const orders = Number(o.orders) || 0;
    const initial = Math.max(orders, Number(o.initial) || 0);
    const share = initial ? orders / initial : 0;
    const live = !o.ended && Number(o.ends_at) > ctx.now();
    list.append(h('li', { class: `conv ${live ? 'live' : 'ended'}`, dataset: { offer: str(o.id), orders: String(orders), initial: String(initial) } },
      h('div', { class: 'conv-head' },
        h('span', { class: 'conv-name' }, str(o.name, productName(o.product))),
        h('span', { class: `status st-${live ? 'live' : (Number(o.stock) <= 0 ? 'sold-out' : 'ended')}` }, live ? 'Live' : Number(o.stock) <= 0 ? 'Sold out' : 'Ended'),
        h('b', { class: 'conv-pct' }, `${Math.round(share * 100)} %`)),
      h('div', { class: 'conv-bar' }, h('span', { style: { width: `${(share * 100).toFixed(1)}%` } })),
      h('small', null, `${orders} of ${initial} claimed`)));
  }
}

// ---- heatmap ----------------------------------------------------------------------------------

// msgpack `bin` arrives as an ArrayBuffer (or a typed array / plain list from other encoders).
function bytesOf(d) {
  if (d instanceof ArrayBuffer) return new Uint8Array(d);
  if (ArrayBuffer.isView(d)) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  if (Array.isArray(d)) return Uint8Array.from(d);
  return null;
}

// {rows, cols, cell, origin, values: Float64Array row-major (rows along +z)} or null.
export function heatGrid(mode = heatMode) {
  if (mode === 'dwell') {
    const hm = state.report?.heatmap;
    const sec = Array.isArray(hm?.seconds) ? hm.seconds : null;
    if (!sec || !Array.isArray(hm.shape)) return null;
    const [rows, cols] = hm.shape.map(Number);
    const values = new Float64Array(rows * cols);
    sec.forEach((row, r) => (Array.isArray(row) ? row : []).forEach((v, c) => { if (r < rows && c < cols) values[r * cols + c] = Number(v) || 0; }));
    return { rows, cols, cell: Number(hm.cell) || 1, origin: hm.origin, values };
  }
  const hm = state.stats?.heatmap;
  if (!hm || !Array.isArray(hm.shape)) return null;
  const [rows, cols] = hm.shape.map(Number);
  const bytes = bytesOf(hm.data);
  if (!bytes || !(rows > 0) || !(cols > 0) || bytes.length < rows * cols * 2) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float64Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) values[i] = view.getUint16(i * 2, true);
  return { rows, cols, cell: Number(hm.cell) || 1, origin: hm.origin, values };
}

// Colour ramp: pale gold → orange → red → plum, for 0 < u <= 1.
const RAMP = [[253, 236, 170], [247, 170, 72], [226, 84, 56], [150, 32, 88], [70, 18, 72]];
export function ramp(u) {
  const x = Math.max(0, Math.min(1, u)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const c = RAMP[i].map((a, k) => Math.round(a + (RAMP[i + 1][k] - a) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

function renderHeatmap() {
  for (const b of document.querySelectorAll('#heat-mode button')) b.setAttribute('aria-pressed', String(b.dataset.mode === heatMode));
  const canvas = $('heatmap');
  const c = fitCanvas(canvas);
  const grid = heatGrid();
  const legend = $('heat-legend-max');
  if (!c) return;
  const { g, w, h: H } = c;
  if (!grid) {
    canvas.dataset.drawn = '';
    g.fillStyle = '#8a8278'; g.font = '12px Inter, "DejaVu Sans", Arial, sans-serif'; g.textAlign = 'center';
    g.fillText(heatMode === 'dwell' ? 'loading the dwell report…' : 'waiting for the first numbers…', w / 2, H / 2);
    legend.textContent = '';
    return;
  }
  const { rows, cols, cell, values } = grid;
  const origin = Array.isArray(grid.origin) ? grid.origin.map(Number) : [0, 0];
  let max = 0, total = 0, cells = 0;
  for (const v of values) { if (v > max) max = v; total += v; if (v > 0) cells++; }
  // keep the room's proportions: one cell is `cell` metres in x and in z
  const L = 30, B = 18, T = 8, R = 4;
  const size = Math.max(1, Math.min((w - L - R) / cols, (H - T - B) / rows));
  const gw = size * cols, gh = size * rows;
  const ox = L + Math.floor((w - L - R - gw) / 2), oy = T + Math.floor((H - T - B - gh) / 2);
  g.fillStyle = '#f6f2ea';
  g.fillRect(ox, oy, gw, gh);
  for (let r = 0; r < rows; r++) {
    for (let col = 0; col < cols; col++) {
      const v = values[r * cols + col];
      if (!(v > 0)) continue;
      g.fillStyle = ramp(Math.sqrt(v / max)); // sqrt: one visitor alone still shows
      g.fillRect(ox + col * size, oy + r * size, Math.ceil(size), Math.ceil(size));
    }
  }
  // a line every 10 m, labelled with room coordinates (x across, z down)
  const every = Math.max(1, Math.round(10 / cell));
  g.strokeStyle = 'rgba(31, 28, 25, 0.07)';
  g.lineWidth = 1;
  g.fillStyle = '#8a8278';
  g.font = '10px Inter, "DejaVu Sans", Arial, sans-serif';
  g.textAlign = 'center';
  g.textBaseline = 'top';
  const labelEvery = every * Math.max(1, Math.ceil(28 / (size * every)));
  for (let col = 0; col <= cols; col += every) {
    const px = Math.round(ox + col * size) + 0.5;
    g.beginPath(); g.moveTo(px, oy); g.lineTo(px, oy + gh); g.stroke();
    if (col % labelEvery === 0) g.fillText(`${Math.round(origin[0] + col * cell)}`, px, oy + gh + 3);
  }
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  const rowLabelEvery = every * Math.max(1, Math.ceil(16 / (size * every)));
  for (let r = 0; r <= rows; r += every) {
    const py = Math.round(oy + r * size) + 0.5;
    g.beginPath(); g.moveTo(ox, py); g.lineTo(ox + gw, py); g.stroke();
    if (r % rowLabelEvery === 0 && r < rows) g.fillText(`${Math.round(origin[1] + r * cell)}`, ox - 4, py);
  }
  g.strokeStyle = 'rgba(31, 28, 25, 0.3)';
  g.strokeRect(ox + 0.5, oy + 0.5, gw - 1, gh - 1);
  Object.assign(canvas.dataset, {
    drawn: '1', mode: heatMode, shape: `${rows}x${cols}`, max: String(max), total: String(Math.round(total)), cells: String(cells),
  });
  legend.textContent = heatMode === 'dwell'
    ? `${fmtN(Math.round(max))} avatar-seconds`
    : `${fmtN(max)} ${max === 1 ? 'visitor' : 'visitors'}`;
  $('heat-caption').textContent = heatMode === 'dwell'
    ? `Where visitors spent time since the room opened (${fmtN(Math.round(total))} avatar-seconds in all), ${cell} m cells.`
    : `Where the ${fmtN(total)} ${total === 1 ? 'visitor is' : 'visitors are'} right now, ${cell} m cells; x across, z down (metres).`;
}

// ---- the feature: charts from `stats`, the report fetched after each watch --------------------

export const analyticsFeature = {
  name: 'analytics',
  init: initAnalytics,
  keep: ['report'],
  feed: { stats: () => renderAnalytics() },
  afterWatch: (room) => loadReport(room), // attendance before the console came, dwell per cell
  tabShown(tab) { if (tab === 'analytics') renderAnalytics(); },
  render: () => renderAnalytics(),
  resize: () => renderAnalytics(),
  facade: { get lastExport() { return copy(state.lastExport); } },
};
