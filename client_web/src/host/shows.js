// Shows tab (role host only, rooms with a show): run the money wheel (wheel.open / wheel.spin)
// or the concert (show.start / concert.cue) and follow it live from the `show` feed
// (docs/protocol.md, "Concerts" and "Money-wheel game show"). Every time is server ms, turned
// into countdowns with the console's estimate of the server clock (dom.js serverNow).

import { $, h, clear, fmtTime, str, seedClock } from './dom.js';
import { state, can, copy } from './state.js';
import { BET_SEGMENTS, restAngle as restOf, segmentStyle, spinAngle, verifyRound } from '../shows/showmath.js';

let ctx = null;
let frame = 0; // requestAnimationFrame id while the wheel turns
let restAngle = -Math.PI / 54; // where the wheel stopped last (radians, clockwise): segment 0 under the pointer
let armedRestart = 0; // perf time until which "Restart show" waits for its confirming click

// One colour per segment, as the visitor client paints the wheel (shows/showmath.js): [fill, ink].
const style = (seg) => { const st = segmentStyle(seg); return [st.fill, st.ink]; };
const TAU = Math.PI * 2;

const PHASE_LABEL = {
  idle: 'No round', betting: 'Betting open', spinning: 'Spinning', multiplier: 'Multiplier!', result: 'Settled',
  starting: 'Starting', playing: 'Playing', ended: 'Ended',
};

export function initShows(c) {
  ctx = c;
  $('wheel-form').addEventListener('submit', (e) => { e.preventDefault(); openBetting(); });
  $('wheel-spin').addEventListener('click', () => spinNow());
  $('wheel-seconds').addEventListener('input', () => $('wheel-seconds').removeAttribute('aria-invalid'));
  $('concert-start').addEventListener('click', () => startConcert());
  setInterval(tick, 250);
}

// ---- state ------------------------------------------------------------------------------

export const showKind = () => {
  const k = state.show?.kind || state.stats?.show?.kind;
  return k === 'wheel' || k === 'concert' ? k : null;
};

// A ShowState from the watch ack or the `show` feed.
export function applyShow(s, { render = true } = {}) {
  if (!s || typeof s !== 'object' || typeof s.kind !== 'string') return;
  const { room: _room, ...show } = s; // the feed adds `room`
  const prev = state.show;
  state.show = show;
  if (show.kind === 'concert') learnSetlist(show);
  if (show.kind === 'wheel') {
    if (show.phase === 'result' && show.seed && show.round && !state.rounds[show.round]) {
      // the commit the console saw while the round ran, else the one in this state
      const seen = prev && prev.round === show.round && prev.commit ? prev.commit : show.commit;
      const round = state.rounds[show.round] = { commit: seen, seed: show.seed, result: show.result, multiplier: show.multiplier };
      verifyRound({ seed: show.seed, commit: seen, round: show.round, spins: show.spins, segments: show.segments })
        .then((v) => { Object.assign(round, v); renderShows(); });
    }
    if (prev?.kind === 'wheel' && prev.phase === 'spinning' && show.phase !== 'spinning') restAngle = angleNow(prev, Infinity);
  }
  if (render) renderShows();
}

// A concert's cues after a jump are only the rest of the set: remember every cue seen, in order.
function learnSetlist(show) {
  const cues = Array.isArray(show.cues) ? show.cues.filter((c) => c && typeof c.id === 'string') : [];
  if (!cues.length) return;
  const known = state.setlist;
  let insertAt = known.findIndex((k) => k.id === cues[0].id);
  if (insertAt < 0) insertAt = known.length;
  for (const c of cues) {
    const old = known.find((k) => k.id === c.id);
    const entry = { id: c.id, name: str(c.name, c.id), duration: Number(c.duration) || 0, effects: c.effects || {}, lastAt: Number(c.at) || 0 };
    if (old) { Object.assign(old, entry); insertAt = known.indexOf(old) + 1; } else known.splice(insertAt++, 0, entry);
  }
}

// ---- actions ------------------------------------------------------------------------------

async function openBetting() {
  if (!can('shows') || !state.room) return;
  const input = $('wheel-seconds');
  const seconds = Number(input.value.trim());
  if (!input.value.trim() || !Number.isFinite(seconds) || seconds < 5 || seconds > 300) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    hint('wheel-hint', 'The betting window is 5 to 300 seconds.', 'bad');
    return;
  }
  $('wheel-open').disabled = true;
  const ack = await ctx.act('wheel.open', { room: state.room, seconds }, { label: 'Open betting', ok: `Betting is open for ${seconds} s` });
  if (ack.ok) {
    hint('wheel-hint', `Round ${str(ack.round)} — the wheel spins by itself when betting closes.`, 'info');
  } else {
    hint('wheel-hint', `Refused — ${str(ack.error?.code, 'error')}: ${str(ack.error?.message)}`, 'bad');
  }
  renderShows();
}

async function spinNow() {
  if (!can('shows') || !state.room) return;
  $('wheel-spin').disabled = true;
  const ack = await ctx.act('wheel.spin', { room: state.room }, { label: 'Spin now', ok: 'Betting closed: the wheel spins' });
  if (!ack.ok) hint('wheel-hint', `Refused — ${str(ack.error?.code, 'error')}: ${str(ack.error?.message)}`, 'bad');
  renderShows();
}

async function startConcert() {
  if (!can('shows') || !state.room) return;
  const running = concertPhase() === 'starting' || concertPhase() === 'playing';
  if (running && performance.now() > armedRestart) {
    armedRestart = performance.now() + 4000; // a running show restarts only on a second click
    renderConcertButton();
    setTimeout(renderConcertButton, 4100);
    return;
  }
  armedRestart = 0;
  const btn = $('concert-start');
  btn.disabled = true;
  const ack = await ctx.act('show.start', { room: state.room, kind: 'concert' }, {
    label: running ? 'Restart show' : 'Start show', ok: running ? 'The show starts again from the top' : 'The show is starting',
  });
  if (!ack.ok) hint('concert-hint', `Refused — ${str(ack.error?.code, 'error')}: ${str(ack.error?.message)}`, 'bad');
  else hint('concert-hint', `The first cue at ${fmtTime(Number(ack.t0))}; the set ends at ${fmtTime(Number(ack.ends_at))}.`, 'info');
  btn.disabled = false;
  renderShows();
}

async function cue(c, button) {
  if (!can('shows') || !state.room) return;
  button.disabled = true;
  const ack = await ctx.act('concert.cue', { room: state.room, cue: c.id }, { label: `Cue ${c.name}`, ok: `Cue: ${c.name}` });
  if (!ack.ok) hint('concert-hint', `Refused — ${str(ack.error?.code, 'error')}: ${str(ack.error?.message)}`, 'bad');
  else hint('concert-hint', `“${c.name}” from ${fmtTime(planned(c.id) ?? ctx.now())}; the set now ends at ${fmtTime(Number(ack.ends_at))}.`, 'info');
  button.disabled = false;
}

function hint(id, text, kind) {
  const el = $(id);
  el.textContent = text;
  el.dataset.kind = kind;
}

// ---- rendering ----------------------------------------------------------------------------

export function renderShows() {
  const kind = showKind();
  const allowed = can('shows') && !!state.room && !!kind;
  $('tab-show').hidden = !allowed;
  $('tab-show-kind').textContent = kind === 'wheel' ? 'Wheel' : kind === 'concert' ? 'Concert' : 'Show';
  if (!allowed) return;
  $('wheel-show').hidden = kind !== 'wheel';
  $('concert-show').hidden = kind !== 'concert';
  $('show-view').dataset.kind = kind;
  if (kind === 'wheel') renderWheel();
  else renderConcert();
  tick();
}

const pad2 = (n) => String(n).padStart(2, '0');
function countdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return s >= 3600 ? `${Math.floor(s / 3600)}:${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}` : `${Math.floor(s / 60)}:${pad2(s % 60)}`;
}

// append children, skipping the absent ones (Node.append would write "null")
const put = (el, ...children) => el.append(...children.filter((c) => c !== null && c !== undefined && c !== false));

function segChip(seg, cls = 'seg-chip') {
  const [fill, ink] = style(seg);
  return h('span', { class: cls, style: { background: fill, color: ink } }, seg);
}

// -- wheel

function renderWheel() {
  const s = state.show || {};
  const phase = str(s.phase, 'idle');
  const live = phase === 'betting' || phase === 'spinning' || phase === 'multiplier';
  const panel = $('wheel-panel');
  panel.dataset.phase = phase;
  panel.dataset.round = str(s.round);
  const chip = $('wheel-phase');
  chip.textContent = PHASE_LABEL[phase] || phase;
  chip.dataset.phase = phase;
  $('wheel-open').disabled = live;
  $('wheel-spin').disabled = phase !== 'betting';
  $('wheel-seconds').disabled = live;
  $('round-id').textContent = s.round ? str(s.round) : '';

  // the crowd's bets on each number
  const totals = s.totals && typeof s.totals === 'object' ? s.totals : {};
  const sum = BET_SEGMENTS.reduce((a, k) => a + (Number(totals[k]) || 0), 0);
  const max = Math.max(1, ...BET_SEGMENTS.map((k) => Number(totals[k]) || 0));
  const list = clear($('wheel-totals'));
  for (const seg of BET_SEGMENTS) {
    const v = Number(totals[seg]) || 0;
    const won = phase === 'result' && s.result === seg;
    list.append(h('li', { class: won ? 'won' : null, dataset: { segment: seg, credits: String(v) } },
      segChip(seg),
      h('span', { class: 'bar' }, h('span', { style: { width: `${((v / max) * 100).toFixed(1)}%`, background: style(seg)[0] } })),
      h('b', null, v.toLocaleString('en-GB'))));
  }
  $('totals-sum').textContent = s.round ? `${sum.toLocaleString('en-GB')} credits staked` : '';

  // the result (shown once the wheel stopped)
  const box = $('wheel-result');
  const spins = Array.isArray(s.spins) ? s.spins : [];
  const segs = Array.isArray(s.segments) ? s.segments : [];
  box.dataset.result = phase === 'result' ? str(s.result) : '';
  box.dataset.multiplier = phase === 'result' ? String(Number(s.multiplier) || 1) : '';
  clear(box);
  if (phase === 'result') {
    const m = Number(s.multiplier) || 1;
    put(box, h('span', { class: 'rb-label' }, 'Result'), segChip(str(s.result), 'seg-chip big'),
      m > 1 ? h('span', { class: 'mult' }, `× ${m}`) : null,
      h('span', { class: 'pays' }, `pays ${(Number(s.result) || 0) * m} : 1`));
  } else if (phase === 'multiplier') {
    put(box, h('span', { class: 'rb-label' }, 'Multiplier'), segChip(str(s.segment), 'seg-chip big'),
      h('span', { class: 'pays' }, `every payout × ${Number(s.multiplier) || 1} so far — spinning again`));
  } else if (phase === 'spinning') {
    put(box, h('span', { class: 'rb-label' }, spins.length > 1 ? `Spin ${spins.length}` : 'Spinning'), h('span', { class: 'pays' }, 'the wheel stops at the same moment for everyone'));
  } else if (phase === 'betting') {
    put(box, h('span', { class: 'rb-label' }, 'Taking bets'), h('span', { class: 'pays' }, 'the result is already fixed by the commit below'));
  } else {
    put(box, h('span', { class: 'rb-label' }, 'No round running'), h('span', { class: 'pays' }, 'Open betting to start one.'));
  }
  const spun = spins.filter((i, n) => phase === 'result' || phase === 'multiplier' || n < spins.length - 1);
  $('wheel-spins').textContent = spun.length ? `Spins: ${spun.map((i) => `${str(segs[i], '?')} (#${i})`).join(' → ')}` : '';

  // commit–reveal
  $('wheel-commit').textContent = s.commit ? str(s.commit) : '—';
  $('wheel-seed').textContent = s.seed ? str(s.seed) : (s.round ? 'revealed when the round is settled' : '—');
  $('wheel-seed').classList.toggle('pending', !s.seed);
  const round = s.round ? state.rounds[s.round] : null;
  const v = round && 'ok' in round ? round : null; // checked once the hash work is done
  const ver = $('wheel-verify');
  ver.dataset.ok = v ? String(v.ok) : '';
  ver.textContent = v ? `${v.ok ? '✓ Verified' : '✗ Not verified'}: ${v.message}` : (s.round ? 'Checked here when the seed is revealed.' : '');

  // history
  const hist = Array.isArray(s.history) ? s.history : [];
  const ol = clear($('wheel-history'));
  $('history-count').textContent = hist.length ? String(hist.length) : '';
  if (!hist.length) ol.append(h('li', { class: 'empty' }, 'No round played yet.'));
  for (const r of hist) {
    const m = Number(r.multiplier) || 1;
    const check = state.rounds[r.round] && 'ok' in state.rounds[r.round] ? state.rounds[r.round] : null;
    ol.append(h('li', { class: 'hist', dataset: { round: str(r.round), result: str(r.result) } },
      segChip(str(r.result)),
      h('span', { class: 'mult' }, m > 1 ? `× ${m}` : ''),
      h('span', { class: 'hist-round', title: str(r.round) }, str(r.round)),
      check ? h('span', { class: `check ${check.ok ? 'ok' : 'bad'}`, title: check.message }, check.ok ? '✓' : '✗') : h('span', { class: 'check' }),
      h('time', null, fmtTime(Number(r.t)))));
  }
  drawWheel();
}

// The wheel's rotation (radians, clockwise, the pointer at 12 o'clock) at server time `now`:
// at rest on the last spin, or turning towards it from where it stopped (shows/showmath.js).
function angleNow(s, now) {
  const n = Array.isArray(s?.segments) && s.segments.length ? s.segments.length : 54;
  const spins = Array.isArray(s?.spins) ? s.spins : [];
  if (!spins.length) return restAngle;
  const last = spins[spins.length - 1];
  if (s.phase !== 'spinning') return restOf(last, n);
  return spinAngle({ from: restAngle, index: last, t0: Number(s.t0), endsAt: Number(s.ends_at), n }, now);
}

function drawWheel() {
  const canvas = $('wheel-canvas');
  const s = state.show || {};
  const segs = Array.isArray(s.segments) && s.segments.length ? s.segments : [];
  const dpr = window.devicePixelRatio || 1;
  const size = Math.min(canvas.clientWidth, canvas.clientHeight);
  if (!size) return;
  if (canvas.width !== Math.round(canvas.clientWidth * dpr) || canvas.height !== Math.round(canvas.clientHeight * dpr)) {
    canvas.width = Math.round(canvas.clientWidth * dpr);
    canvas.height = Math.round(canvas.clientHeight * dpr);
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
  const cx = canvas.clientWidth / 2, cy = canvas.clientHeight / 2 + 4;
  const r = size / 2 - 10;
  if (!segs.length) return;
  const step = TAU / segs.length;
  const angle = angleNow(s, ctx.now());
  const landed = s.phase === 'result' || s.phase === 'multiplier' ? (s.spins || [])[(s.spins || []).length - 1] : -1;
  g.save();
  g.translate(cx, cy);
  g.fillStyle = '#2a2520';
  g.beginPath(); g.arc(0, 0, r + 6, 0, TAU); g.fill();
  for (let i = 0; i < segs.length; i++) {
    const a0 = -Math.PI / 2 + angle + i * step;
    const [fill, ink] = style(segs[i]);
    g.beginPath();
    g.moveTo(0, 0);
    g.arc(0, 0, r, a0, a0 + step);
    g.closePath();
    g.fillStyle = fill;
    g.fill();
    if (landed >= 0 && i !== landed) { g.fillStyle = 'rgba(255, 253, 249, 0.5)'; g.fill(); } // wash out the rest
    g.strokeStyle = 'rgba(0, 0, 0, 0.25)';
    g.lineWidth = 0.6;
    g.stroke();
    g.save();
    g.rotate(a0 + step / 2);
    g.fillStyle = ink;
    g.font = `700 ${Math.max(7, Math.round(r / 13))}px Inter, "DejaVu Sans", sans-serif`;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    g.fillText(segs[i], r - 4, 0);
    g.restore();
  }
  if (landed >= 0) { // ring the winning segment
    const a0 = -Math.PI / 2 + angle + landed * step;
    g.beginPath(); g.arc(0, 0, r - 1, a0, a0 + step); g.arc(0, 0, r * 0.45, a0 + step, a0, true); g.closePath();
    g.strokeStyle = '#fff'; g.lineWidth = 2.5; g.stroke();
  }
  g.fillStyle = '#fffdf9';
  g.beginPath(); g.arc(0, 0, r * 0.42, 0, TAU); g.fill();
  g.restore();
  // the pointer
  g.fillStyle = '#1f1c19';
  g.beginPath(); g.moveTo(cx - 9, cy - r - 10); g.lineTo(cx + 9, cy - r - 10); g.lineTo(cx, cy - r + 8); g.closePath(); g.fill();
}

function animate() {
  frame = 0;
  if (state.tab !== 'show' || showKind() !== 'wheel' || state.show?.phase !== 'spinning') return;
  drawWheel();
  frame = requestAnimationFrame(animate);
}

// -- concert

function concertPhase(now = ctx?.now() ?? Date.now()) {
  const s = state.show;
  if (!s || s.kind !== 'concert') return 'idle';
  const cues = Array.isArray(s.cues) ? s.cues : [];
  if (!cues.length || s.phase === 'idle') return 'idle';
  if (now >= Number(s.ends_at)) return 'ended';
  return now >= Number(cues[0].at) ? 'playing' : 'starting';
}

// The cue playing at server time `now` (each cue carries its absolute start), and the next one.
function concertNow(now) {
  const cues = Array.isArray(state.show?.cues) ? state.show.cues : [];
  const ends = Number(state.show?.ends_at) || 0;
  let current = null, next = null;
  for (const c of cues) {
    if (Number(c.at) <= now) current = c; else { next = c; break; }
  }
  if (now >= ends) current = null;
  return { current, next, ends };
}

const planned = (id) => {
  const c = (Array.isArray(state.show?.cues) ? state.show.cues : []).find((x) => x.id === id);
  return c ? Number(c.at) : null;
};

function renderConcertButton() {
  const btn = $('concert-start');
  const phase = concertPhase();
  const running = phase === 'starting' || phase === 'playing';
  const armed = running && performance.now() < armedRestart;
  btn.textContent = armed ? 'Click again to restart' : running ? 'Restart show' : 'Start show';
  btn.classList.toggle('armed', armed);
}

function renderConcert() {
  const s = state.show || {};
  $('concert-title').textContent = str(s.title, 'Concert');
  renderConcertButton();
  const now = ctx.now();
  const { current } = concertNow(now);
  const inPlan = new Map((Array.isArray(s.cues) ? s.cues : []).map((c) => [c.id, c]));
  const ol = clear($('setlist'));
  $('setlist-count').textContent = state.setlist.length ? String(state.setlist.length) : '';
  if (!state.setlist.length) {
    ol.append(h('li', { class: 'empty' }, 'The set list arrives with the show: press “Start show”. Each cue then gets a Cue button to jump to it.'));
  }
  const upcoming = (Array.isArray(s.cues) ? s.cues : []).find((c) => Number(c.at) > now);
  state.setlist.forEach((c, i) => {
    const p = inPlan.get(c.id);
    const at = p ? Number(p.at) : null;
    let status;
    if (!p) status = c.lastAt && c.lastAt <= now ? 'played' : 'skipped';
    else if (current && current.id === c.id) status = 'now';
    else if (at <= now) status = 'played';
    else status = upcoming && upcoming.id === c.id ? 'next' : 'upcoming';
    const btn = h('button', { type: 'button', class: 'mb cue-btn', title: `Jump to “${c.name}” (in a few seconds, the same moment for everyone)` }, 'Cue');
    btn.addEventListener('click', () => cue(c, btn));
    const fx = c.effects || {};
    ol.append(h('li', { class: `cue st-${status}`, dataset: { cue: c.id, status, at: at === null ? '' : String(at) } },
      h('span', { class: 'cue-no' }, String(i + 1)),
      h('span', { class: 'swatch', style: { background: /^#[0-9a-f]{6}$/i.test(str(fx.lights)) ? fx.lights : 'transparent' } }),
      h('span', { class: 'cue-name' }, h('b', null, c.name), h('small', null, c.id)),
      h('span', { class: 'cue-at', title: at === null && status === 'played' ? 'before the last jump' : '' },
        at !== null ? fmtTime(at) : status === 'played' && c.lastAt ? fmtTime(c.lastAt) : '—'),
      h('span', { class: 'cue-dur' }, countdown(c.duration)),
      h('span', { class: `status st-${status}` }, { now: 'Now', next: 'Next', upcoming: '', played: 'Played', skipped: 'Skipped' }[status]),
      btn));
  });
  $('concert-ends').textContent = s.ends_at && concertPhase() !== 'idle' ? `ends ${fmtTime(Number(s.ends_at))}` : '';
  renderEffects(current);
  renderTimeline(now);
}

// The plan as a strip: one block per cue (its lights colour, its length), and where we are.
function renderTimeline(now) {
  const cues = Array.isArray(state.show?.cues) ? state.show.cues : [];
  const track = clear($('tl-track'));
  $('concert-timeline').hidden = !cues.length;
  if (!cues.length) return;
  const start = Number(cues[0].at), end = Number(state.show.ends_at) || start + 1;
  for (const c of cues) {
    const fx = c.effects || {};
    const color = /^#[0-9a-f]{6}$/i.test(str(fx.lights)) ? fx.lights : '#b8afa3';
    track.append(h('span', { class: 'tl-cue', dataset: { cue: str(c.id) }, title: `${str(c.name, c.id)} · ${fmtTime(Number(c.at))}`,
      style: { flexGrow: String(Math.max(1, Number(c.duration) || 1)), background: color } }));
  }
  $('tl-start').textContent = fmtTime(start);
  $('tl-end').textContent = fmtTime(end);
  moveTimeline(now);
}

function moveTimeline(now) {
  const cues = Array.isArray(state.show?.cues) ? state.show.cues : [];
  if (!cues.length) return;
  const start = Number(cues[0].at), end = Number(state.show.ends_at) || start + 1;
  const u = Math.max(0, Math.min(1, (now - start) / Math.max(1, end - start)));
  $('tl-now').style.left = `${(u * 100).toFixed(2)}%`;
  $('tl-now').hidden = now < start;
  const { current } = concertNow(now);
  for (const el of $('tl-track').children) el.classList.toggle('on', !!current && el.dataset.cue === current.id);
}

function renderEffects(c) {
  const box = clear($('concert-effects'));
  const fx = c?.effects;
  box.dataset.cue = c ? str(c.id) : '';
  if (!fx || typeof fx !== 'object') return;
  const color = /^#[0-9a-f]{6}$/i.test(str(fx.lights)) ? fx.lights : null;
  put(box,
    color ? h('span', { class: 'fx' }, h('span', { class: 'swatch', style: { background: color } }), `Lights ${color}`) : null,
    Number(fx.bpm) ? h('span', { class: 'fx' }, `${Number(fx.bpm)} bpm`) : null,
    fx.fog ? h('span', { class: 'fx tag' }, 'Fog') : null,
    fx.lasers ? h('span', { class: 'fx tag' }, 'Lasers') : null,
    fx.strobe ? h('span', { class: 'fx tag' }, 'Strobe') : null,
    fx.screen ? h('span', { class: 'fx screen' }, `Screen: “${str(fx.screen)}”`) : null,
  );
}

// ---- the clock: countdowns, the current cue and the tab's badge (4 times a second) --------

let lastCue = null;
function tick() {
  const kind = showKind();
  const badge = $('show-badge');
  if (!kind || !can('shows') || !state.room) { badge.textContent = ''; return; }
  const now = ctx.now();
  const s = state.show || {};
  if (kind === 'wheel') {
    const phase = str(s.phase, 'idle');
    const left = Number(s.ends_at) - now;
    const timed = (phase === 'betting' || phase === 'spinning' || phase === 'multiplier') && Number.isFinite(left);
    $('wheel-countdown').textContent = timed ? countdown(left) : phase === 'result' ? str(s.result, '–') : '–';
    $('wheel-clock-label').textContent = { betting: 'Betting closes in', spinning: 'Wheel stops in', multiplier: 'Next spin in', result: 'Result' }[phase] || 'No round';
    $('wheel-countdown').dataset.phase = phase;
    badge.textContent = timed ? `${PHASE_LABEL[phase]} ${countdown(left)}` : phase === 'result' ? `Result ${str(s.result)}` : '';
    badge.dataset.phase = phase;
    if (phase === 'spinning' && state.tab === 'show' && !frame) frame = requestAnimationFrame(animate);
  } else {
    const phase = concertPhase(now);
    const { current, next, ends } = concertNow(now);
    const chip = $('concert-phase');
    chip.textContent = PHASE_LABEL[phase] || phase;
    chip.dataset.phase = phase;
    $('concert-show').dataset.phase = phase;
    $('concert-now').textContent = current ? current.name : phase === 'starting' ? 'Doors open soon' : phase === 'ended' ? 'The show is over' : 'Nothing yet';
    $('concert-now').dataset.cue = current ? str(current.id) : '';
    $('concert-next-label').textContent = next ? `Next: ${str(next.name, next.id)} in` : phase === 'playing' ? 'Show ends in' : '';
    $('concert-countdown').textContent = next ? countdown(Number(next.at) - now) : phase === 'playing' ? countdown(ends - now) : '';
    badge.textContent = phase === 'playing' && current ? `Now: ${current.name}` : phase === 'starting' ? 'Starting' : '';
    badge.dataset.phase = phase;
    moveTimeline(now);
    const key = `${current?.id}|${next?.id}|${phase}`;
    if (key !== lastCue) { lastCue = key; if (state.tab === 'show') renderConcert(); }
  }
}

export function onTabShown() {
  if (showKind()) renderShows();
}

// ---- the feature: the room's ShowState (watch ack + `show` feed) ------------------------------

export const showsFeature = {
  name: 'shows',
  init: initShows,
  keep: ['setlist', 'rounds'],
  feed: {
    show: (s) => {
      if (s.kind === 'wheel' && s.phase === 'idle') seedClock(s.t0); // an idle state is stamped now
      applyShow(s);
    },
    stats: (s) => { if (!state.show && s.show?.kind) renderShows(); }, // a show the snapshot did not carry
  },
  watched(ack) { if (ack.show && typeof ack.show === 'object') applyShow(ack.show, { render: false }); },
  tabShown(tab) { if (tab === 'show') onTabShown(); },
  render: () => renderShows(),
  resize: () => renderShows(),
  facade: {
    get show() { return copy(state.show); }, // the room's ShowState (watch ack + `show` feed)
    get setlist() { return copy(state.setlist); },
    get rounds() { return copy(state.rounds); }, // settled wheel rounds checked here: {ok, commit, seed, ...}
  },
};
