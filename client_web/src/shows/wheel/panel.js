// The money wheel's panel (DOM only): the top of the wheel under the pointer (a 2D canvas:
// readable on a phone and robust in headless browsers), the phase, a countdown, the balance,
// bet buttons with the crowd's totals, amount chips, notices, recent results, the leaderboard
// and the fairness check. It draws what the show (show.js) holds and reports clicks through
// callbacks; it never talks to the network. Server text only via textContent.
import { el, str } from '../../hud/dom.js';
import { BET_SEGMENTS, segmentStyle } from '../showmath.js';
import { drawWheelArt, label } from './art.js';

export const CHIPS = [10, 50, 100, 500];
const PHASE_TEXT = { idle: 'Waiting', betting: 'Bets open', spinning: 'Spinning', multiplier: 'Multiplier', result: 'Result' };
export const fmt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
export const int = (v) => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : null);

function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function button(className, text = null) {
  const b = el('button', className, text);
  b.type = 'button';
  return b;
}

export class WheelPanel {
  // onBet(segment), onAmount(amount): what the visitor clicked
  constructor({ onBet, onAmount }) {
    this.texts = {}; // what each node shows now: a frame that changes nothing writes nothing
    this.root = el('section', 'card show-panel wheel-panel');
    this.root.id = 'wheel-panel';
    this.root.hidden = true;
    this.root.setAttribute('aria-label', 'Money wheel');
    const body = el('div', 'show-body');
    body.append(this.buildStage(), this.buildInfo(), this.buildBets(onBet), this.buildChips(onAmount), ...this.buildLists());
    this.root.append(this.buildHead(), body);
    document.body.append(this.root);
    addEventListener('resize', () => { this.artFor = null; });
  }

  buildHead() {
    const head = el('div', 'show-head');
    const eyebrow = el('span', 'eyebrow');
    eyebrow.append(el('span', 'live-dot'), el('span', '', 'Money wheel'));
    this.phaseEl = el('span', 'show-phase');
    this.clockEl = el('span', 'show-clock');
    this.foldBtn = button('show-fold');
    this.foldBtn.setAttribute('aria-label', 'Fold the wheel panel');
    this.foldBtn.setAttribute('aria-expanded', 'true');
    this.foldBtn.addEventListener('click', () => this.setFolded(!this.root.classList.contains('folded')));
    head.append(eyebrow, this.phaseEl, this.clockEl, this.foldBtn);
    return head;
  }

  buildStage() {
    const stage = el('div', 'wheel-stage');
    this.canvas = el('canvas', 'wheel-canvas');
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', 'The money wheel');
    this.flash = el('div', 'wheel-flash');
    this.flash.hidden = true;
    stage.append(this.canvas, this.flash);
    return stage;
  }

  buildInfo() {
    const info = el('div', 'wheel-info');
    this.statusEl = el('div', 'wheel-status');
    const bal = el('div', 'wheel-balance');
    this.balanceEl = el('strong', 'wheel-balance-value', '—');
    bal.append(el('span', '', 'Balance'), this.balanceEl, el('span', 'wheel-credits', 'credits'));
    info.append(this.statusEl, bal);
    return info;
  }

  buildBets(onBet) {
    this.betsEl = el('div', 'wheel-bets');
    this.betsEl.setAttribute('role', 'group');
    this.betsEl.setAttribute('aria-label', 'Bet on a number');
    this.betBtns = new Map();
    for (const seg of BET_SEGMENTS) {
      const st = segmentStyle(seg);
      const b = button('wheel-bet');
      b.dataset.segment = seg;
      b.style.setProperty('--seg', st.fill);
      b.style.setProperty('--seg-ink', st.ink);
      const crowd = el('span', 'wheel-bet-crowd', '0');
      const mine = el('span', 'wheel-bet-mine');
      b.append(el('span', 'wheel-bet-num', seg), crowd, mine);
      b.title = `Bet on ${seg} (pays ${seg} to 1)`;
      b.addEventListener('click', () => onBet(seg));
      this.betBtns.set(seg, { b, crowd, mine });
      this.betsEl.append(b);
    }
    return this.betsEl;
  }

  buildChips(onAmount) {
    const chips = el('div', 'wheel-chips');
    chips.setAttribute('role', 'radiogroup');
    chips.setAttribute('aria-label', 'Amount per bet');
    chips.append(el('span', 'wheel-chips-label', 'Stake'));
    this.chipBtns = [];
    for (const a of CHIPS) {
      const c = button('wheel-chip', fmt(a));
      c.dataset.amount = String(a);
      c.setAttribute('role', 'radio');
      c.addEventListener('click', () => onAmount(a));
      this.chipBtns.push(c);
      chips.append(c);
    }
    this.crowdNote = el('span', 'wheel-crowd-note');
    chips.append(this.crowdNote);
    return chips;
  }

  buildLists() {
    this.noticeEl = el('div', 'notice wheel-notice');
    this.noticeEl.setAttribute('role', 'status');
    this.noticeEl.hidden = true;
    this.historyEl = el('ol', 'wheel-history');
    this.historyEl.setAttribute('aria-label', 'Recent results');
    this.boardEl = el('div', 'wheel-board');
    this.boardEl.hidden = true;
    this.fair = el('details', 'wheel-fair');
    const sum = el('summary');
    this.fairHead = el('span', 'wheel-fair-head');
    this.fairBadge = el('span', 'wheel-fair-badge');
    sum.append(this.fairHead, this.fairBadge);
    this.fairCommit = el('code', 'wheel-hash');
    this.fairSeed = el('code', 'wheel-hash');
    const how = el('p', 'wheel-fair-how',
      'Fair draw: before the first bet the server publishes commit = sha256(seed). Spin i lands on segment '
      + 'int(sha256(seed ‖ round id ‖ i as 4 bytes big-endian)) mod 54; the seed is revealed after the round, '
      + 'so anyone can recompute the draw. This page checks it for you.');
    this.fair.append(sum, this.fairCommit, this.fairSeed, how);
    this.fair.hidden = true;
    return [this.noticeEl, this.historyEl, this.boardEl, this.fair];
  }

  setActive(active) {
    this.root.hidden = !active;
    document.body.classList.toggle('has-wheel', active);
  }

  setFolded(folded) {
    this.root.classList.toggle('folded', folded);
    this.foldBtn.setAttribute('aria-expanded', String(!folded));
  }

  setAmount(a) {
    for (const c of this.chipBtns) c.setAttribute('aria-checked', String(Number(c.dataset.amount) === a));
  }

  // Is the bet row on screen? (folded, or covered by a panel: no)
  get betsShown() { return this.betsEl.offsetParent !== null; }
  get noticeText() { return this.noticeEl.hidden ? '' : this.noticeEl.textContent; }
  get statusText() { return this.statusEl.textContent; }

  notice(text, kind = 'info', ms = 5000) {
    clearTimeout(this.noticeTimer);
    this.noticeEl.textContent = text;
    this.noticeEl.dataset.kind = kind;
    this.noticeEl.hidden = !text;
    if (text && ms) this.noticeTimer = setTimeout(() => { this.noticeEl.hidden = true; }, ms);
  }

  setText(node, key, text) {
    if (this.texts[key] === text) return;
    this.texts[key] = text;
    node.textContent = text;
  }

  // The top of a big wheel, as a broadcast camera shows it: the segments near the pointer
  // are large enough to read on a phone. landed: the spin has stopped; glow: light the segment
  // under the pointer (a repaint waits for the angle or `landed` to change).
  paint(angle, segments, { landed, glow }) {
    const c = this.canvas;
    if (this.root.hidden || this.root.classList.contains('folded')) return;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (!w || !h) return;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    const R = Math.round(w * 1.15);
    const key = `${w}x${h}@${dpr}:${segments.join()}`;
    if (this.artFor !== key) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
      this.art = document.createElement('canvas');
      this.art.width = this.art.height = Math.round(2 * R * dpr);
      drawWheelArt(this.art.getContext('2d'), R * dpr, R * dpr, R * dpr, segments, { font: 0.052, ring: 0.045 });
      this.artFor = key;
      this.paintedAngle = null;
    }
    const paintKey = `${angle.toFixed(5)}:${landed}`;
    if (this.paintedAngle === paintKey) return;
    this.paintedAngle = paintKey;
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const cx = w / 2;
    const cy = R + 10;
    ctx.save();
    ctx.translate(cx, cy);
    ctx.rotate(angle);
    ctx.drawImage(this.art, -R, -R, 2 * R, 2 * R);
    ctx.restore();
    if (glow) glowPointer(ctx, cx, cy, R, segments.length);
    dressCanvas(ctx, w, h, cx);
  }

  renderClock(s, serverNow) {
    let text = '';
    if (s && (s.phase === 'betting' || s.phase === 'multiplier') && Number.isFinite(s.ends_at)) text = clock(s.ends_at - serverNow);
    this.setText(this.clockEl, 'clock', text);
    this.clockEl.classList.toggle('urgent', s?.phase === 'betting' && Number.isFinite(s.ends_at) && s.ends_at - serverNow < 3500);
  }

  // Everything but the canvas and the clock, from the show's state (wheel: show.js).
  render(wheel) {
    const s = wheel.state || { phase: 'idle', spins: [] };
    const phase = wheel.shownPhase();
    this.root.dataset.phase = phase;
    this.setText(this.phaseEl, 'phase', PHASE_TEXT[phase]);
    const { status, flash, flashKind } = headline(wheel, s, phase);
    this.setText(this.statusEl, 'status', status);
    this.setText(this.flash, 'flash', flash);
    this.flash.hidden = !flash;
    this.flash.dataset.kind = flashKind;
    const won = phase === 'result' && wheel.lastPayout?.round === s.round && wheel.lastPayout.won > 0;
    this.root.classList.toggle('won', won);
    this.setText(this.balanceEl, 'balance', fmt(wheel.balance));
    this.renderBets(wheel, s, phase);
    this.renderHistory(s);
    this.renderBoard(wheel.leaderboard, wheel.selfId);
    this.renderFair(s, wheel.shownPhase(), wheel.verify);
  }

  // Bet buttons: the crowd's totals and our own stakes.
  renderBets(wheel, s, phase) {
    const totals = s.totals && typeof s.totals === 'object' ? s.totals : {};
    let crowd = 0;
    for (const [seg, { b, crowd: c, mine }] of this.betBtns) {
      const t = int(totals[seg]) || 0;
      crowd += t;
      this.setText(c, `crowd-${seg}`, t ? fmt(t) : '·');
      const m = wheel.myBets.round === s.round ? wheel.myBets.bySeg[seg] || 0 : 0;
      this.setText(mine, `mine-${seg}`, m ? `you ${fmt(m)}` : '');
      b.disabled = phase !== 'betting';
      b.classList.toggle('hit', phase === 'result' && s.result === seg);
      b.classList.toggle('mine', m > 0);
    }
    this.setText(this.crowdNote, 'crowd', crowd ? `crowd ${fmt(crowd)}` : '');
  }

  setBusy(segment, busy) {
    this.betBtns.get(segment)?.b.classList.toggle('busy', busy);
  }

  renderHistory(s) {
    const hist = Array.isArray(s.history) ? s.history.slice(0, 10) : [];
    const key = JSON.stringify(hist.map((h) => [h?.round, h?.result, h?.multiplier]));
    if (this.texts.history === key) return;
    this.texts.history = key;
    this.historyEl.textContent = '';
    this.historyEl.hidden = !hist.length;
    for (const h of hist) {
      if (!h || typeof h !== 'object') continue;
      const res = str(h.result, 4);
      const m = int(h.multiplier) || 1;
      const li = el('li', 'wheel-hist');
      li.style.setProperty('--seg', segmentStyle(res).fill);
      li.style.setProperty('--seg-ink', segmentStyle(res).ink);
      li.append(el('span', '', res));
      if (m > 1) li.append(el('small', '', `×${m}`));
      li.title = `Round ${str(h.round, 40)}: ${res}${m > 1 ? ` ×${m}` : ''}`;
      this.historyEl.append(li);
    }
  }

  renderBoard(leaderboard, selfId) {
    const top = leaderboard.slice(0, 5);
    const key = JSON.stringify(top);
    if (this.texts.board === key) return;
    this.texts.board = key;
    this.boardEl.textContent = '';
    this.boardEl.hidden = !top.length;
    if (!top.length) return;
    this.boardEl.append(el('div', 'wheel-board-title', 'Leaderboard'));
    const ol = el('ol');
    top.forEach((p, i) => {
      const li = el('li', p.id !== null && p.id === selfId ? 'me' : '');
      li.append(el('span', 'rank', String(i + 1)), el('span', 'name', p.name || '—'), el('span', 'bal', fmt(p.balance)));
      ol.append(li);
    });
    this.boardEl.append(ol);
  }

  // verify: {round, status: 'checking' | 'ok' | 'bad'} of the fairness check (fairness.js)
  renderFair(s, shownPhase, verify) {
    const commit = typeof s?.commit === 'string' ? s.commit.slice(0, 64) : '';
    this.fair.hidden = !commit;
    if (!commit) return;
    const settled = s.phase === 'result' && typeof s.seed === 'string' && shownPhase === 'result';
    const v = verify.round === s.round ? verify.status : null;
    this.setText(this.fairHead, 'fairHead', settled ? `Seed revealed ${s.seed.slice(0, 10)}…` : `Commit ${commit.slice(0, 10)}…${commit.slice(-4)}`);
    const badge = !settled ? 'fair draw' : v === 'ok' ? 'verified ✓' : v === 'bad' ? 'mismatch ✗' : 'checking…';
    this.setText(this.fairBadge, 'fairBadge', badge);
    this.fairBadge.dataset.kind = settled ? v || 'checking' : 'commit';
    this.setText(this.fairCommit, 'fairCommit', `commit ${commit}`);
    this.setText(this.fairSeed, 'fairSeed', settled ? `seed ${s.seed.slice(0, 128)}` : 'seed — revealed after the round');
  }
}

// The status line and the big flash over the wheel for the phase shown.
function headline(wheel, s, phase) {
  const mult = int(s.multiplier) || 1;
  let status = '';
  let flash = '';
  let flashKind = '';
  if (phase === 'idle') status = 'The next round opens soon.';
  else if (phase === 'betting') status = mult > 1 ? `Place your bets — ×${mult}` : 'Place your bets';
  else if (phase === 'spinning') status = mult > 1 ? `Spinning… ×${mult} on every win` : 'Spinning…';
  else if (phase === 'multiplier') {
    const seg = wheel.segments[s.spins[s.spins.length - 1]] || '';
    status = `${label(seg)} multiplier! Total ×${mult} — spinning again`;
    flash = `×${mult}`;
    flashKind = 'multiplier';
  } else if (phase === 'result') {
    const result = str(s.result, 4);
    status = mult > 1 ? `Result: ${result}, ×${mult} multiplier` : `Result: ${result}`;
    flash = mult > 1 ? `${result} ×${mult}` : result;
    flashKind = 'result';
    const p = wheel.lastPayout;
    if (p && p.round === s.round) status += p.won > 0 ? ` · you won +${fmt(p.won)}` : ' · no win this time';
  }
  return { status, flash, flashKind };
}

// The segment under the pointer glows once the wheel has stopped.
function glowPointer(ctx, cx, cy, R, n) {
  const step = (Math.PI * 2) / n;
  ctx.beginPath();
  ctx.moveTo(cx, cy);
  ctx.arc(cx, cy, R * 0.955, -Math.PI / 2 - step / 2, -Math.PI / 2 + step / 2);
  ctx.closePath();
  ctx.strokeStyle = '#fff4d6';
  ctx.lineWidth = 3;
  ctx.shadowColor = '#ffd54a';
  ctx.shadowBlur = 12;
  ctx.stroke();
  ctx.shadowBlur = 0;
}

// Vignette at the sides and the pointer at 12 o'clock.
function dressCanvas(ctx, w, h, cx) {
  const g = ctx.createLinearGradient(0, 0, w, 0);
  g.addColorStop(0, 'rgba(27,16,38,0.55)');
  g.addColorStop(0.18, 'rgba(27,16,38,0)');
  g.addColorStop(0.82, 'rgba(27,16,38,0)');
  g.addColorStop(1, 'rgba(27,16,38,0.55)');
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, w, h);
  ctx.beginPath();
  ctx.moveTo(cx - 11, 0);
  ctx.lineTo(cx + 11, 0);
  ctx.lineTo(cx, 22);
  ctx.closePath();
  ctx.fillStyle = '#fff4d6';
  ctx.shadowColor = 'rgba(0,0,0,0.5)';
  ctx.shadowBlur = 4;
  ctx.fill();
  ctx.shadowBlur = 0;
  ctx.strokeStyle = '#b8893b';
  ctx.lineWidth = 1.5;
  ctx.stroke();
}
