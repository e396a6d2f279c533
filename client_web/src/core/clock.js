// NTP-style clock sync maths (PROTOCOL.md `time`). Pure: the caller supplies timestamps.

// One exchange: client sent at c, server stamped t, reply received at recv (all ms).
// Assuming a symmetric path, the server stamped t at c + rtt/2 on our clock.
export function sampleOffset(c, t, recv) {
  const rtt = Math.max(0, recv - c);
  return { rtt, offset: t - (c + rtt / 2), at: recv };
}

// Keeps recent samples and trusts the one with the smallest round trip: queueing delay
// only ever adds to rtt, so the fastest exchange has the least asymmetric error.
export class ClockSync {
  constructor({ maxAgeMs = 120000, maxSamples = 32 } = {}) {
    this.maxAgeMs = maxAgeMs;
    this.maxSamples = maxSamples;
    this.samples = [];
    this.offset = 0;
    this.rtt = null;
  }

  // A coarse first guess (e.g. from `welcome.t`) until real samples arrive.
  seed(serverMs, localMs) {
    if (this.samples.length === 0) this.offset = serverMs - localMs;
  }

  add(c, t, recv) {
    const s = sampleOffset(c, t, recv);
    this.samples.push(s);
    const cutoff = recv - this.maxAgeMs;
    this.samples = this.samples.filter((x) => x.at >= cutoff).slice(-this.maxSamples);
    const best = this.samples.reduce((a, b) => (b.rtt < a.rtt ? b : a));
    this.offset = best.offset;
    this.rtt = best.rtt;
    return s;
  }

  now(localMs = Date.now()) {
    return localMs + this.offset;
  }
}
