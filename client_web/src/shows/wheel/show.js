// The money-wheel game show as a visitor sees it (docs/protocol.md "Money-wheel game show"):
// the show's state from `show`, `payout` and `leaderboard`, bets (`bet` with an ack), the spin
// animation and the fairness check of each settled round. Drawn by its panel (panel.js, DOM)
// and on the studio's stage (view3d.js, three.js); checked by fairness.js (pure).
// Spins are animated from the server times alone (`t0` → `ends_at`, landing on `index`), so every
// client stops on the same segment at the same moment.
import { errorText, str } from '../../hud/dom.js';
import { landedIndex, restAngle, spinAngle } from '../showmath.js';
import { verifyRound } from './fairness.js';
import { WheelPanel, CHIPS, fmt, int } from './panel.js';
import { WheelStage } from './view3d.js';

const DEFAULT_SEGMENTS = [
  '1', '2', '1', '5', '1', '2', '1', '10', '1', '2', '1', '5', '1', '2', '20', '1', '2', '1', '5', '1',
  '2', '1', '10', '1', '2', '1', '2x', '2', '5', '1', '2', '10', '1', '2', '1', '5', '1', '2', '40',
  '1', '2', '1', '5', '1', '2', '10', '1', '2', '20', '1', '5', '2', '1', '7x',
];
const PHASES = new Set(['idle', 'betting', 'spinning', 'multiplier', 'result']);

function betId() {
  const rnd = globalThis.crypto?.getRandomValues ? [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('')
    : Math.random().toString(16).slice(2, 18);
  return `b-${Date.now().toString(36)}-${rnd}`;
}

export class WheelShow {
  // link: {request, now(), offset, selfId}; ui: {toast(text, opts)}
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
    this.panel = new WheelPanel({ onBet: (seg) => this.bet(seg, this.amount), onAmount: (a) => this.setAmount(a) });
    this.stage = new WheelStage();
    this.setAmount(this.amount);
  }

  get selfId() { return this.link.selfId; }

  setAmount(a) {
    this.amount = a;
    this.panel.setAmount(a);
  }

  // ---- server events ------------------------------------------------------------------
  // built: the room's three.js objects (core/scene.js) or null without WebGL.
  onJoined(ack, built) {
    const room = ack.room;
    this.active = room?.kind === 'wheel';
    this.panel.setActive(this.active);
    this.stage.remove();
    if (!this.active) { this.state = null; return; }
    this.stage.setRoom(room, built, this.segments);
    if (int(ack.balance) !== null) this.balance = int(ack.balance);
    this.spin = null;
    this.setState(ack.show, { fresh: true });
  }

  setState(s, { fresh = false } = {}) {
    if (!this.active || !s || typeof s !== 'object' || s.kind !== 'wheel') return;
    const phase = PHASES.has(s.phase) ? s.phase : 'idle';
    this.takeSegments(s.segments);
    const n = this.segments.length;
    const spins = Array.isArray(s.spins) ? s.spins.filter((i) => Number.isInteger(i) && i >= 0 && i < n) : [];
    const round = str(s.round, 80) || null;
    const prev = this.state;
    this.state = { ...s, phase, spins, round };
    if (round !== this.myBets.round) this.myBets = { round, bySeg: {} };
    this.follow(s, phase, spins, round, fresh);
    if (phase === 'betting' && prev?.round !== round) {
      this.lastPayout = null;
      this.panel.notice('');
    }
    if (phase === 'result' && typeof s.seed === 'string' && this.verify.round !== round) this.check(this.state);
    this.render();
  }

  takeSegments(list) {
    const segments = Array.isArray(list) && list.length >= 2 && list.every((x) => typeof x === 'string')
      ? list.map((x) => x.slice(0, 4)) : this.segments;
    if (segments.join() === this.segments.join()) return;
    this.segments = segments;
    this.panel.artFor = null;
    this.stage.repaint(segments);
  }

  // The spin to animate (or the rest position) for a new state.
  follow(s, phase, spins, round, fresh) {
    const n = this.segments.length;
    const key = `${round}:${spins.length}`;
    if (phase === 'spinning' && Number.isInteger(s.index) && Number.isFinite(s.t0) && Number.isFinite(s.ends_at)) {
      if (this.spin?.key === key) return;
      // Where the wheel rests now; a late joiner mid-spin knows the previous spin of the round.
      let from = this.angle;
      if (fresh && spins.length > 1) from = restAngle(spins[spins.length - 2], n);
      this.spin = { key, round, n: spins.length, from, index: s.index, t0: s.t0, endsAt: s.ends_at, landed: false };
    } else if (spins.length && (phase === 'multiplier' || phase === 'result')) {
      if (this.spin?.key === key) return;
      // We never saw this spin turn: show it at rest where it stopped.
      this.spin = null;
      this.angle = restAngle(spins[spins.length - 1], n);
      if (!fresh) this.landed(round, spins.length - 1, this.link.now ? this.link.now() : Date.now());
    }
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
    if (won > 0 && !this.panel.betsShown) this.ui.toast?.(`The wheel paid you +${fmt(won)} credits!`, { ms: 5000 });
  }

  onLeaderboard(msg) {
    if (!this.active || !Array.isArray(msg?.top)) return;
    this.leaderboard = msg.top.slice(0, 10).filter((p) => p && typeof p === 'object').map((p) => ({
      id: int(p.id), name: str(p.name, 32), balance: int(p.balance),
    }));
    this.panel.renderBoard(this.leaderboard, this.selfId);
  }

  async check(state) {
    const round = state.round;
    this.verify = { round, status: 'checking', spins: [] };
    const res = await verifyRound({ seed: state.seed, commit: state.commit, round, spins: state.spins, segments: this.segments });
    if (this.verify.round !== round) return;
    this.verify = { round, status: res.ok ? 'ok' : 'bad', commitOk: res.commitOk, spins: res.spins };
    this.panel.renderFair(this.state, this.shownPhase(), this.verify);
  }

  // ---- betting -------------------------------------------------------------------------
  async bet(segment, amount) {
    const s = this.state;
    if (!s || s.phase !== 'betting' || !s.round) {
      this.panel.notice('Betting is closed — wait for the next round.', 'warn');
      return { ok: false, error: { code: 'closed', message: 'betting is closed' } };
    }
    const payload = { round: s.round, segment: String(segment), amount: Math.trunc(amount), id: betId() };
    this.panel.setBusy(payload.segment, true);
    let ack = await this.link.request('bet', payload);
    // Lost on the way? Sending the same id again is charged once (the server dedupes by id).
    if (!ack.ok && ack.error?.code === 'unavailable') ack = await this.link.request('bet', payload);
    this.panel.setBusy(payload.segment, false);
    if (ack.ok) this.betTaken(ack, payload);
    else this.betRefused(ack.error);
    this.render();
    return ack;
  }

  betTaken(ack, payload) {
    if (int(ack.balance) !== null) this.balance = int(ack.balance);
    if (this.myBets.round === payload.round) {
      this.myBets.bySeg[payload.segment] = (this.myBets.bySeg[payload.segment] || 0) + payload.amount;
    }
    this.panel.notice(`Bet ${fmt(payload.amount)} on ${payload.segment} — good luck!`, 'ok', 3000);
  }

  betRefused(error) {
    const code = error?.code;
    if (code === 'closed') this.panel.notice('Too late: betting is closed for this round.', 'error');
    else if (code === 'insufficient_funds') this.panel.notice(`Not enough credits: your balance is ${fmt(this.balance)}.`, 'error');
    else this.panel.notice(errorText(error, 'The bet did not go through.', this.link.offset), 'error');
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
    this.stage.setAngle(this.angle);
    const landed = this.spin ? this.spin.landed : true;
    const phase = this.state?.phase;
    this.panel.paint(this.angle, this.segments, { landed, glow: landed && phase !== 'betting' && phase !== 'idle' });
    this.panel.renderClock(this.state, serverNow);
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
    if (this.active) this.panel.render(this);
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
      notice: this.panel.noticeText,
      status: this.panel.statusText,
    };
  }
}
