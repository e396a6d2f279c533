// The money-wheel game show as a visitor sees it (docs/protocol.md "Money-wheel game show"):
// - a panel with the top of the 54-segment wheel under the pointer (a 2D canvas: readable on a
//   phone and robust in headless browsers), the phase, a countdown to `ends_at` on the server's
//   clock, the balance, bet buttons (1/2/5/10/20/40) with the crowd's totals, amount chips,
//   the result with our payout, recent results, the leaderboard and the fairness check;
// - the same wheel, whole, on the studio's stage in 3D, turning in sync.
// Spins are animated from the server times alone (`t0` → `ends_at`, landing on `index`), so every
// client stops on the same segment at the same moment. Server text only via textContent.
import * as THREE from 'three';
import { el, errorText, str } from './dom.js';
import {
  BET_SEGMENTS, MULTIPLIERS, landedIndex, restAngle, segmentStyle, spinAngle, verifyRound,
} from './showmath.js';

const DEFAULT_SEGMENTS = [
  '1', '2', '1', '5', '1', '2', '1', '10', '1', '2', '1', '5', '1', '2', '20', '1', '2', '1', '5', '1',
  '2', '1', '10', '1', '2', '1', '2x', '2', '5', '1', '2', '10', '1', '2', '1', '5', '1', '2', '40',
  '1', '2', '1', '5', '1', '2', '10', '1', '2', '20', '1', '5', '2', '1', '7x',
];
const CHIPS = [10, 50, 100, 500];
const PHASES = new Set(['idle', 'betting', 'spinning', 'multiplier', 'result']);
const fmt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const label = (seg) => String(seg).replace(/x$/, '×');
const int = (v) => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : null);

function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function betId() {
  const rnd = globalThis.crypto?.getRandomValues ? [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('')
    : Math.random().toString(16).slice(2, 18);
  return `b-${Date.now().toString(36)}-${rnd}`;
}

// The wheel's face: segment i spans [i, i+1) × 2π/n clockwise from 12 o'clock (rotation 0).
// Numbers stand upright when their segment is at the top. Drawn once per size; spins rotate it.
export function drawWheelArt(ctx, cx, cy, R, segments, { font = 0.075, ring = 0.05 } = {}) {
  const n = segments.length;
  const step = (Math.PI * 2) / n;
  const hub = R * (1 - ring);
  ctx.save();
  ctx.translate(cx, cy);
  // rim
  ctx.beginPath();
  ctx.arc(0, 0, R, 0, Math.PI * 2);
  ctx.fillStyle = '#2a1a3a';
  ctx.fill();
  for (let i = 0; i < n; i++) {
    const seg = segments[i];
    const st = segmentStyle(seg);
    const a0 = -Math.PI / 2 + i * step;
    const a1 = a0 + step;
    ctx.beginPath();
    ctx.moveTo(0, 0);
    ctx.arc(0, 0, hub, a0, a1);
    ctx.closePath();
    if (st.multiplier) {
      const g = ctx.createRadialGradient(0, 0, hub * 0.4, 0, 0, hub);
      g.addColorStop(0, '#ffffff');
      g.addColorStop(0.55, st.fill);
      g.addColorStop(1, seg === '7x' ? '#9a6a00' : '#7d8494');
      ctx.fillStyle = g;
    } else {
      const g = ctx.createRadialGradient(0, 0, hub * 0.5, 0, 0, hub);
      g.addColorStop(0, st.fill);
      g.addColorStop(1, shadeHex(st.fill, -0.18));
      ctx.fillStyle = g;
    }
    ctx.fill();
    ctx.strokeStyle = 'rgba(255, 244, 214, 0.85)';
    ctx.lineWidth = Math.max(1, R * 0.006);
    ctx.stroke();
    // the number, upright when its segment is at the top
    ctx.save();
    ctx.rotate(a0 + step / 2 + Math.PI / 2);
    ctx.fillStyle = st.ink;
    const size = R * font * (st.multiplier ? 1.15 : seg.length > 1 ? 0.9 : 1);
    ctx.font = `800 ${size}px "Inter", "Helvetica Neue", "DejaVu Sans", Arial, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(label(seg), 0, -hub * 0.86);
    if (st.multiplier) { // a star under multipliers: they are the big moments
      ctx.font = `700 ${size * 0.8}px "DejaVu Sans", Arial, sans-serif`;
      ctx.fillText('★', 0, -hub * 0.74);
    }
    ctx.restore();
  }
  // rim studs: gold on the two multipliers
  for (let i = 0; i < n; i++) {
    const a = -Math.PI / 2 + i * step;
    ctx.beginPath();
    ctx.arc(Math.cos(a) * (R + hub) / 2, Math.sin(a) * (R + hub) / 2, Math.max(1.2, R * ring * 0.22), 0, Math.PI * 2);
    ctx.fillStyle = '#f8e7b0';
    ctx.fill();
    if (MULTIPLIERS[segments[i]]) {
      ctx.beginPath();
      ctx.arc(0, 0, (R + hub) / 2, a, a + step);
      ctx.strokeStyle = '#ffd54a';
      ctx.lineWidth = R * ring * 0.7;
      ctx.stroke();
    }
  }
  // hub
  ctx.beginPath();
  ctx.arc(0, 0, R * 0.16, 0, Math.PI * 2);
  ctx.fillStyle = '#f8e7b0';
  ctx.fill();
  ctx.beginPath();
  ctx.arc(0, 0, R * 0.12, 0, Math.PI * 2);
  ctx.fillStyle = '#d4a017';
  ctx.fill();
  ctx.restore();
}

function shadeHex(hex, amount) {
  const n = parseInt(hex.slice(1), 16);
  const f = (c) => Math.round(amount < 0 ? c * (1 + amount) : c + (255 - c) * amount);
  const r = f(n >> 16), g = f((n >> 8) & 255), b = f(n & 255);
  return `#${((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1)}`;
}

export class WheelShow {
  // link: {request, now(), offset}; ui: {toast(text, opts)}
  constructor(link, ui = {}) {
    this.link = link;
    this.ui = ui;
    this.state = null; // last ShowState of kind wheel
    this.segments = DEFAULT_SEGMENTS;
    this.balance = null;
    this.angle = 0; // current rotation (radians, clockwise)
    this.spin = null; // {key, round, n, from, index, t0, endsAt, landed}
    this.landings = []; // [{round, spin, index, at}] spins we saw land (tests)
    this.landedIndex = null;
    this.lastPayout = null; // {round, won, balance}
    this.leaderboard = [];
    this.myBets = { round: null, bySeg: {} };
    this.amount = CHIPS[1];
    this.verify = { round: null, status: null }; // status: 'checking' | 'ok' | 'bad'
    this.active = false;
    this.three = null;
    this.texts = {};
    this.build();
  }

  // ---- DOM ---------------------------------------------------------------------------
  build() {
    const root = el('section', 'card show-panel wheel-panel');
    root.id = 'wheel-panel';
    root.hidden = true;
    root.setAttribute('aria-label', 'Money wheel');
    const head = el('div', 'show-head');
    const eyebrow = el('span', 'eyebrow');
    eyebrow.append(el('span', 'live-dot'), el('span', '', 'Money wheel'));
    this.phaseEl = el('span', 'show-phase');
    this.clockEl = el('span', 'show-clock');
    this.foldBtn = el('button', 'show-fold');
    this.foldBtn.type = 'button';
    this.foldBtn.setAttribute('aria-label', 'Fold the wheel panel');
    this.foldBtn.setAttribute('aria-expanded', 'true');
    this.foldBtn.addEventListener('click', () => this.setFolded(!root.classList.contains('folded')));
    head.append(eyebrow, this.phaseEl, this.clockEl, this.foldBtn);

    const body = el('div', 'show-body');
    const stage = el('div', 'wheel-stage');
    this.canvas = el('canvas', 'wheel-canvas');
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', 'The money wheel');
    this.flash = el('div', 'wheel-flash');
    this.flash.hidden = true;
    stage.append(this.canvas, this.flash);

    const info = el('div', 'wheel-info');
    this.statusEl = el('div', 'wheel-status');
    const bal = el('div', 'wheel-balance');
    this.balanceEl = el('strong', 'wheel-balance-value', '—');
    bal.append(el('span', '', 'Balance'), this.balanceEl, el('span', 'wheel-credits', 'credits'));
    info.append(this.statusEl, bal);

    this.betsEl = el('div', 'wheel-bets');
    this.betsEl.setAttribute('role', 'group');
    this.betsEl.setAttribute('aria-label', 'Bet on a number');
    this.betBtns = new Map();
    for (const seg of BET_SEGMENTS) {
      const st = segmentStyle(seg);
      const b = el('button', 'wheel-bet');
      b.type = 'button';
      b.dataset.segment = seg;
      b.style.setProperty('--seg', st.fill);
      b.style.setProperty('--seg-ink', st.ink);
      const num = el('span', 'wheel-bet-num', seg);
      const crowd = el('span', 'wheel-bet-crowd', '0');
      const mine = el('span', 'wheel-bet-mine');
      b.append(num, crowd, mine);
      b.title = `Bet on ${seg} (pays ${seg} to 1)`;
      b.addEventListener('click', () => this.bet(seg, this.amount));
      this.betBtns.set(seg, { b, crowd, mine });
      this.betsEl.append(b);
    }

    const chips = el('div', 'wheel-chips');
    chips.setAttribute('role', 'radiogroup');
    chips.setAttribute('aria-label', 'Amount per bet');
    chips.append(el('span', 'wheel-chips-label', 'Stake'));
    this.chipBtns = [];
    for (const a of CHIPS) {
      const c = el('button', 'wheel-chip', fmt(a));
      c.type = 'button';
      c.dataset.amount = String(a);
      c.setAttribute('role', 'radio');
      c.addEventListener('click', () => this.setAmount(a));
      this.chipBtns.push(c);
      chips.append(c);
    }
    this.crowdNote = el('span', 'wheel-crowd-note');
    chips.append(this.crowdNote);

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

    body.append(stage, info, this.betsEl, chips, this.noticeEl, this.historyEl, this.boardEl, this.fair);
    root.append(head, body);
    this.root = root;
    document.body.append(root);
    this.setAmount(this.amount);
    addEventListener('resize', () => { this.artFor = null; });
  }

  setFolded(folded) {
    this.root.classList.toggle('folded', folded);
    this.foldBtn.setAttribute('aria-expanded', String(!folded));
  }

  setAmount(a) {
    this.amount = a;
    for (const c of this.chipBtns) c.setAttribute('aria-checked', String(Number(c.dataset.amount) === a));
  }

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

  // ---- room & 3D ----------------------------------------------------------------------
  // room: RoomInfo; built: the room's three.js objects (scene.js) or null without WebGL.
  setRoom(room, built) {
    this.removeThree();
    this.roomRef = room;
    this.builtRef = built;
    this.active = room?.kind === 'wheel';
    this.root.hidden = !this.active;
    document.body.classList.toggle('has-wheel', this.active);
    if (!this.active) { this.state = null; return; }
    if (built?.group) this.addThree(room, built);
  }

  addThree(room, built) {
    const stage = (room.scene?.colliders || []).find((c) => c.kind === 'stage');
    if (!stage) return;
    const [x0, y0, , x1, y1] = [...stage.min, ...stage.max];
    const z1 = stage.max[2];
    const w = x1 - x0;
    const h = y1 - y0;
    const radius = Math.min(w, h) * 0.45;
    // scene.js dresses the stage with a decorative wheel: ours (the real one) replaces it.
    const old = built.group.getObjectByName('stage-wheel');
    if (old) old.visible = false;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 1024;
    drawWheelArt(canvas.getContext('2d'), 512, 512, 508, this.segments, { font: 0.07 });
    const tex = new THREE.CanvasTexture(canvas);
    tex.colorSpace = THREE.SRGBColorSpace;
    const group = new THREE.Group();
    group.name = 'show-wheel';
    group.position.set((x0 + x1) / 2, (y0 + y1) / 2 + h * 0.05, z1 + 0.07);
    const disc = new THREE.Mesh(new THREE.CircleGeometry(radius, 96), new THREE.MeshBasicMaterial({ map: tex, toneMapped: false }));
    const pointer = new THREE.Mesh(
      new THREE.ConeGeometry(radius * 0.07, radius * 0.16, 3),
      new THREE.MeshBasicMaterial({ color: '#fff4d6', toneMapped: false }),
    );
    pointer.rotation.z = Math.PI; // tip down, at 12 o'clock
    pointer.position.set(0, radius * 1.02, 0.05);
    group.add(disc, pointer);
    built.group.add(group);
    this.three = { group, disc, tex, segments: this.segments };
  }

  removeThree() {
    if (!this.three) return;
    this.three.group.parent?.remove(this.three.group);
    this.three.tex.dispose();
    this.three.group.traverse((o) => { o.geometry?.dispose?.(); o.material?.dispose?.(); });
    this.three = null;
  }

  // ---- server events ------------------------------------------------------------------
  onJoined(ack, built) {
    this.setRoom(ack.room, built);
    if (!this.active) return;
    if (int(ack.balance) !== null) this.balance = int(ack.balance);
    this.spin = null;
    this.setState(ack.show, { fresh: true });
  }

  setState(s, { fresh = false } = {}) {
    if (!this.active || !s || typeof s !== 'object' || s.kind !== 'wheel') return;
    const phase = PHASES.has(s.phase) ? s.phase : 'idle';
    const segments = Array.isArray(s.segments) && s.segments.length >= 2 && s.segments.every((x) => typeof x === 'string')
      ? s.segments.map((x) => x.slice(0, 4)) : this.segments;
    const n = segments.length;
    if (segments.join() !== this.segments.join()) {
      this.segments = segments;
      this.artFor = null;
      if (this.three) { this.removeThree(); this.addThree(this.roomRef, this.builtRef); }
    }
    const spins = Array.isArray(s.spins) ? s.spins.filter((i) => Number.isInteger(i) && i >= 0 && i < n) : [];
    const round = str(s.round, 80) || null;
    const prev = this.state;
    this.state = { ...s, phase, spins, round };
    if (round !== this.myBets.round) this.myBets = { round, bySeg: {} };

    if (phase === 'spinning' && Number.isInteger(s.index) && Number.isFinite(s.t0) && Number.isFinite(s.ends_at)) {
      const key = `${round}:${spins.length}`;
      if (this.spin?.key !== key) {
        // Where the wheel rests now; a late joiner mid-spin knows the previous spin of the round.
        let from = this.angle;
        if (fresh && spins.length > 1) from = restAngle(spins[spins.length - 2], n);
        this.spin = { key, round, n: spins.length, from, index: s.index, t0: s.t0, endsAt: s.ends_at, landed: false };
      }
    } else if (spins.length && (phase === 'multiplier' || phase === 'result')) {
      const key = `${round}:${spins.length}`;
      if (this.spin?.key !== key) { // we never saw this spin turn: show it at rest where it stopped
        this.spin = null;
        this.angle = restAngle(spins[spins.length - 1], n);
        if (!fresh) this.landed(round, spins.length - 1, now(this.link));
      }
    }
    if (phase === 'betting' && prev?.round !== round) {
      this.lastPayout = null;
      this.notice('');
    }
    if (phase === 'result' && typeof s.seed === 'string' && this.verify.round !== round) this.check(this.state);
    this.render();
  }

  onPayout(msg) {
    if (!this.active || !msg || typeof msg !== 'object') return;
    const won = int(msg.won);
    const balance = int(msg.balance);
    if (won === null) return;
    this.lastPayout = { round: str(msg.round, 80), won, balance };
    if (balance !== null) this.balance = balance;
    this.render();
    // The panel is folded (or a panel covers it): say it with a toast instead.
    if (won > 0 && this.betsEl.offsetParent === null) this.ui.toast?.(`The wheel paid you +${fmt(won)} credits!`, { ms: 5000 });
  }

  onLeaderboard(msg) {
    if (!this.active || !Array.isArray(msg?.top)) return;
    this.leaderboard = msg.top.slice(0, 10).filter((p) => p && typeof p === 'object').map((p) => ({
      id: int(p.id), name: str(p.name, 32), balance: int(p.balance),
    }));
    this.renderBoard();
  }

  async check(state) {
    const round = state.round;
    this.verify = { round, status: 'checking', spins: [] };
    const res = await verifyRound({ seed: state.seed, commit: state.commit, round, spins: state.spins, segments: this.segments });
    if (this.verify.round !== round) return;
    this.verify = { round, status: res.ok ? 'ok' : 'bad', commitOk: res.commitOk, spins: res.spins };
    this.renderFair();
  }

  // ---- betting -------------------------------------------------------------------------
  async bet(segment, amount) {
    const s = this.state;
    if (!s || s.phase !== 'betting' || !s.round) {
      this.notice('Betting is closed — wait for the next round.', 'warn');
      return { ok: false, error: { code: 'closed', message: 'betting is closed' } };
    }
    const payload = { round: s.round, segment: String(segment), amount: Math.trunc(amount), id: betId() };
    const btn = this.betBtns.get(payload.segment)?.b;
    btn?.classList.add('busy');
    let ack = await this.link.request('bet', payload);
    // Lost on the way? Sending the same id again is charged once (the server dedupes by id).
    if (!ack.ok && ack.error?.code === 'unavailable') ack = await this.link.request('bet', payload);
    btn?.classList.remove('busy');
    if (ack.ok) {
      if (int(ack.balance) !== null) this.balance = int(ack.balance);
      if (this.myBets.round === payload.round) {
        this.myBets.bySeg[payload.segment] = (this.myBets.bySeg[payload.segment] || 0) + payload.amount;
      }
      this.notice(`Bet ${fmt(payload.amount)} on ${payload.segment} — good luck!`, 'ok', 3000);
    } else {
      const code = ack.error?.code;
      if (code === 'closed') this.notice('Too late: betting is closed for this round.', 'error');
      else if (code === 'insufficient_funds') this.notice(`Not enough credits: your balance is ${fmt(this.balance)}.`, 'error');
      else this.notice(errorText(ack.error, 'The bet did not go through.', this.link.offset), 'error');
    }
    this.render();
    return ack;
  }

  // ---- every frame --------------------------------------------------------------------
  landed(round, spin, at) {
    const index = landedIndex(this.angle, this.segments.length);
    this.landedIndex = index;
    this.landings.push({ round, spin, index, at });
    if (this.landings.length > 20) this.landings.shift();
  }

  update(serverNow) {
    if (!this.active || !this.state) return;
    const sp = this.spin;
    if (sp) {
      this.angle = spinAngle({ from: sp.from, index: sp.index, t0: sp.t0, endsAt: sp.endsAt, n: this.segments.length }, serverNow);
      if (!sp.landed && serverNow >= sp.endsAt) {
        sp.landed = true;
        this.landed(sp.round, sp.n - 1, serverNow);
        this.render();
      }
    }
    if (this.three) this.three.disc.rotation.z = -this.angle;
    this.paint();
    this.renderClock(serverNow);
  }

  // The top of a big wheel, as a broadcast camera shows it: the segments near the pointer
  // are large enough to read on a phone.
  paint() {
    const c = this.canvas;
    if (this.root.hidden || this.root.classList.contains('folded')) return;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (!w || !h) return;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    const R = Math.round(w * 1.15);
    const key = `${w}x${h}@${dpr}:${this.segments.join()}`;
    if (this.artFor !== key) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
      this.art = document.createElement('canvas');
      this.art.width = this.art.height = Math.round(2 * R * dpr);
      drawWheelArt(this.art.getContext('2d'), R * dpr, R * dpr, R * dpr, this.segments, { font: 0.052, ring: 0.045 });
      this.artFor = key;
      this.paintedAngle = null;
    }
    const landed = this.spin ? this.spin.landed : true;
    const paintKey = `${this.angle.toFixed(5)}:${landed}`;
    if (this.paintedAngle === paintKey) return;
    this.paintedAngle = paintKey;
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const cx = w / 2;
    const cy = R + 10;
    ctx.save();
    ctx.translate(cx, cy);
    ctx.rotate(this.angle);
    ctx.drawImage(this.art, -R, -R, 2 * R, 2 * R);
    ctx.restore();
    // the segment under the pointer glows once the wheel has stopped
    if (landed && this.state?.phase !== 'betting' && this.state?.phase !== 'idle') {
      const step = (Math.PI * 2) / this.segments.length;
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
    // vignette at the sides and the pointer at 12 o'clock
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

  renderClock(serverNow) {
    const s = this.state;
    let text = '';
    if (s && (s.phase === 'betting' || s.phase === 'multiplier') && Number.isFinite(s.ends_at)) text = clock(s.ends_at - serverNow);
    this.setText(this.clockEl, 'clock', text);
    this.clockEl.classList.toggle('urgent', s?.phase === 'betting' && Number.isFinite(s.ends_at) && s.ends_at - serverNow < 3500);
  }

  // ---- views ---------------------------------------------------------------------------
  shownPhase() {
    const s = this.state;
    if (!s) return 'idle';
    // The result is shown once our wheel has stopped (never before the animation lands).
    if (s.phase === 'result' && this.spin && !this.spin.landed) return 'spinning';
    if (s.phase === 'multiplier' && this.spin && !this.spin.landed) return 'spinning';
    return s.phase;
  }

  render() {
    if (!this.active) return;
    const s = this.state || { phase: 'idle', spins: [] };
    const phase = this.shownPhase();
    this.root.dataset.phase = phase;
    const mult = int(s.multiplier) || 1;
    const PH = { idle: 'Waiting', betting: 'Bets open', spinning: 'Spinning', multiplier: 'Multiplier', result: 'Result' };
    this.setText(this.phaseEl, 'phase', PH[phase]);
    let status = '';
    let flash = '';
    let flashKind = '';
    if (phase === 'idle') status = 'The next round opens soon.';
    else if (phase === 'betting') status = mult > 1 ? `Place your bets — ×${mult}` : 'Place your bets';
    else if (phase === 'spinning') status = mult > 1 ? `Spinning… ×${mult} on every win` : 'Spinning…';
    else if (phase === 'multiplier') {
      const seg = this.segments[s.spins[s.spins.length - 1]] || '';
      status = `${label(seg)} multiplier! Total ×${mult} — spinning again`;
      flash = `×${mult}`;
      flashKind = 'multiplier';
    } else if (phase === 'result') {
      const result = str(s.result, 4);
      status = mult > 1 ? `Result: ${result}, ×${mult} multiplier` : `Result: ${result}`;
      flash = mult > 1 ? `${result} ×${mult}` : result;
      flashKind = 'result';
      const p = this.lastPayout;
      if (p && p.round === s.round) status += p.won > 0 ? ` · you won +${fmt(p.won)}` : ' · no win this time';
    }
    this.setText(this.statusEl, 'status', status);
    this.setText(this.flash, 'flash', flash);
    this.flash.hidden = !flash;
    this.flash.dataset.kind = flashKind;
    const won = phase === 'result' && this.lastPayout?.round === s.round && this.lastPayout.won > 0;
    this.root.classList.toggle('won', won);
    this.setText(this.balanceEl, 'balance', fmt(this.balance));

    // bet buttons: crowd totals and our own stakes
    const open = phase === 'betting';
    const totals = s.totals && typeof s.totals === 'object' ? s.totals : {};
    let crowd = 0;
    for (const [seg, { b, crowd: c, mine }] of this.betBtns) {
      const t = int(totals[seg]) || 0;
      crowd += t;
      this.setText(c, `crowd-${seg}`, t ? fmt(t) : '·');
      const m = this.myBets.round === s.round ? this.myBets.bySeg[seg] || 0 : 0;
      this.setText(mine, `mine-${seg}`, m ? `you ${fmt(m)}` : '');
      b.disabled = !open;
      b.classList.toggle('hit', phase === 'result' && s.result === seg);
      b.classList.toggle('mine', m > 0);
    }
    this.setText(this.crowdNote, 'crowd', crowd ? `crowd ${fmt(crowd)}` : '');
    this.renderHistory(s);
    this.renderBoard();
    this.renderFair();
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

  renderBoard() {
    const top = this.leaderboard.slice(0, 5);
    const key = JSON.stringify(top);
    if (this.texts.board === key) return;
    this.texts.board = key;
    this.boardEl.textContent = '';
    this.boardEl.hidden = !top.length;
    if (!top.length) return;
    this.boardEl.append(el('div', 'wheel-board-title', 'Leaderboard'));
    const ol = el('ol');
    top.forEach((p, i) => {
      const li = el('li', p.id !== null && p.id === this.link.selfId ? 'me' : '');
      li.append(el('span', 'rank', String(i + 1)), el('span', 'name', p.name || '—'), el('span', 'bal', fmt(p.balance)));
      ol.append(li);
    });
    this.boardEl.append(ol);
  }

  renderFair() {
    const s = this.state;
    const commit = typeof s?.commit === 'string' ? s.commit.slice(0, 64) : '';
    this.fair.hidden = !commit;
    if (!commit) return;
    const settled = s.phase === 'result' && typeof s.seed === 'string' && this.shownPhase() === 'result';
    const v = this.verify.round === s.round ? this.verify.status : null;
    this.setText(this.fairHead, 'fairHead', settled ? `Seed revealed ${s.seed.slice(0, 10)}…` : `Commit ${commit.slice(0, 10)}…${commit.slice(-4)}`);
    const badge = !settled ? 'fair draw' : v === 'ok' ? 'verified ✓' : v === 'bad' ? 'mismatch ✗' : 'checking…';
    this.setText(this.fairBadge, 'fairBadge', badge);
    this.fairBadge.dataset.kind = settled ? v || 'checking' : 'commit';
    this.setText(this.fairCommit, 'fairCommit', `commit ${commit}`);
    this.setText(this.fairSeed, 'fairSeed', settled ? `seed ${s.seed.slice(0, 128)}` : 'seed — revealed after the round');
  }

  view() {
    const s = this.state;
    return {
      active: this.active,
      phase: s ? s.phase : null,
      shownPhase: this.active ? this.shownPhase() : null,
      round: s?.round || null,
      balance: this.balance,
      angle: this.angle,
      landedIndex: this.landedIndex, // where the last spin we watched stopped
      pointerIndex: landedIndex(this.angle, this.segments.length), // the segment under the pointer now
      landings: this.landings.map((l) => ({ ...l })),
      spinning: !!(this.spin && !this.spin.landed),
      result: s?.phase === 'result' ? s.result ?? null : null,
      multiplier: s ? int(s.multiplier) || 1 : null,
      lastPayout: this.lastPayout ? { ...this.lastPayout } : null,
      myBets: { ...this.myBets.bySeg },
      amount: this.amount,
      verified: s && this.verify.round === s.round ? this.verify.status : null,
      leaderboard: this.leaderboard.map((p) => ({ ...p })),
      notice: this.noticeEl.hidden ? '' : this.noticeEl.textContent,
      status: this.statusEl.textContent,
    };
  }
}

function now(link) { return link.now ? link.now() : Date.now(); }
