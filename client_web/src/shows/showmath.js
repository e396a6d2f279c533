// Pure maths of the live shows (docs/protocol.md "Concerts" and "Money-wheel game show"): no DOM,
// no three.js, so the tests can import it in a blank page. All times are server milliseconds.
import { MULTIPLIERS } from './wheel/fairness.js';

// ------------------------------------------------------------------ money wheel
export const WHEEL_SPIN_TURNS = 5; // whole turns a spin makes before it settles
export const BET_SEGMENTS = ['1', '2', '5', '10', '20', '40'];

// Segment colours, one per number (the usual money-wheel palette); multipliers are metallic.
export const SEGMENT_STYLE = {
  1: { fill: '#f2c230', ink: '#3a2a00' },
  2: { fill: '#2f7fe0', ink: '#ffffff' },
  5: { fill: '#b04fd6', ink: '#ffffff' },
  10: { fill: '#2fa45c', ink: '#ffffff' },
  20: { fill: '#f07a1f', ink: '#ffffff' },
  40: { fill: '#d8343a', ink: '#ffffff' },
  '2x': { fill: '#c9ced8', ink: '#1f1c19', multiplier: true },
  '7x': { fill: '#e8b923', ink: '#1f1c19', multiplier: true },
};
export const segmentStyle = (s) => SEGMENT_STYLE[s] || { fill: '#777777', ink: '#ffffff' };

const TAU = Math.PI * 2;
export const mod = (a, n) => ((a % n) + n) % n;

// Rotation (radians, clockwise as drawn, the pointer at 12 o'clock) that puts the middle of
// segment `index` under the pointer. Segment i spans [i, i+1) * 2π/n clockwise from the top.
export function restAngle(index, n = 54) {
  return mod(-((index + 0.5) * TAU) / n, TAU);
}

// The segment under the pointer at rotation `angle`.
export function landedIndex(angle, n = 54) {
  return Math.floor(mod(-angle, TAU) / (TAU / n) + 1e-9) % n;
}

// Decelerating spin: fast at t0, at rest on the target at endsAt (the same server times for every
// client, so all land on the same segment at the same moment).
export const easeOutCubic = (u) => 1 - (1 - u) ** 3;

// Rotation at server time `now` of a spin from `from` (where the wheel rested) that stops on
// segment `index` at `endsAt`. Before t0 it rests at `from`; after endsAt at the target.
export function spinAngle({ from = 0, index, t0, endsAt, n = 54, turns = WHEEL_SPIN_TURNS }, now) {
  const to = restAngle(index, n);
  const travel = turns * TAU + mod(to - from, TAU);
  if (!(endsAt > t0) || now >= endsAt) return to;
  const u = Math.max(0, (now - t0) / (endsAt - t0));
  return mod(from + travel * easeOutCubic(u), TAU);
}

// The stacked multiplier of a list of landed segments (2x then 7x = 14).
export function stackedMultiplier(segments, spins) {
  let m = 1;
  for (const i of spins || []) m *= MULTIPLIERS[segments[i]] || 1;
  return m;
}

// What a bet on `segment` of `amount` pays back (winnings plus the stake) for a round that
// ended on `result` with `multiplier`.
export function betReturn(segment, amount, result, multiplier = 1) {
  return segment === result ? amount * Number(result) * multiplier + amount : 0;
}

// ------------------------------------------------------------------ commit–reveal check
// In wheel/fairness.js; here too, so one import gives all the shows' maths.
export { MULTIPLIERS, sha256js, toHex, fromHex, spinIndex, verifyRound } from './wheel/fairness.js';

// ------------------------------------------------------------------ concert
// Where a concert is at server time `now`, from its ShowState alone (late joiners included):
// {phase: 'idle'|'starting'|'playing'|'ended', cue, index, next, elapsed, remaining, countdown,
// setStart, setEnd}. `cue` is the last cue whose `at` has passed, while the set runs.
export function concertAt(show, now) {
  if (!show || show.kind !== 'concert') return null;
  const cues = (Array.isArray(show.cues) ? show.cues : []).filter(
    (c) => c && typeof c === 'object' && Number.isFinite(c.at) && Number.isFinite(c.duration),
  );
  const title = typeof show.title === 'string' ? show.title : '';
  if (show.phase === 'idle' || !cues.length) {
    return { phase: show.phase === 'ended' ? 'ended' : 'idle', title, cue: null, index: -1, next: null, cues };
  }
  const setStart = cues[0].at;
  const last = cues[cues.length - 1];
  const setEnd = Number.isFinite(show.ends_at) ? show.ends_at : last.at + last.duration;
  const base = { title, cues, setStart, setEnd };
  if (now < setStart) return { ...base, phase: 'starting', cue: null, index: -1, next: cues[0], countdown: setStart - now };
  if (now >= setEnd) return { ...base, phase: 'ended', cue: null, index: -1, next: null };
  let index = 0;
  for (let i = 0; i < cues.length; i++) if (cues[i].at <= now) index = i;
  const cue = cues[index];
  return {
    ...base,
    phase: 'playing',
    cue,
    index,
    next: cues[index + 1] || null,
    elapsed: now - cue.at,
    remaining: Math.max(0, cue.at + cue.duration - now),
  };
}

// Beat pulse 0..1 (1 on the beat, decaying) for a bpm, phase-locked to the cue's start so every
// client flashes together.
export function beatPulse(bpm, sinceMs) {
  if (!(bpm > 0) || !(sinceMs >= 0)) return 0;
  const beat = 60000 / bpm;
  const phase = (sinceMs % beat) / beat;
  return Math.exp(-phase * 5);
}
