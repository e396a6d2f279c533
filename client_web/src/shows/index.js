// Live shows in the visitor client (docs/protocol.md "Concerts" and "Money-wheel game show"):
// the money wheel (wheel/), concert effects (concert.js) and "For you" notices (notices.js),
// each registered as a feature. A room's ShowState (`show`, and the join ack's `show`) goes to
// both shows; each keeps only its own kind.
import { WheelShow } from './wheel/show.js';
import { ConcertShow } from './concert.js';
import { Notices } from './notices.js';

export function registerShows({ app, hud, shop }) {
  const { features, link } = app;
  const wheel = new WheelShow(link, { toast: hud.toast });
  const concert = new ConcertShow(link);
  const notices = new Notices(link, { view: shop.view, product: shop.product });
  let state = null; // the last ShowState of the current room (any kind)
  const onShow = (msg) => {
    if (!msg || typeof msg !== 'object') return;
    state = msg;
    try { wheel.setState(msg); } catch (err) { console.warn('wheel state', err); }
    try { concert.setState(msg); } catch (err) { console.warn('concert state', err); }
  };
  const join = (ack, built) => {
    state = ack?.show && typeof ack.show === 'object' ? ack.show : null;
    wheel.onJoined(ack, built);
    concert.onJoined(ack, built);
  };
  features.register({
    name: 'shows',
    events: { show: onShow },
    join: (ack) => join(ack, app.built),
    leave: () => join({ room: {} }, null), // nothing of the room's shows stays on screen
    frame: (serverNow) => { for (const show of [wheel, concert]) frameOf(show, serverNow); },
    facade: { get show() { return state; } },
  });
  features.register({
    name: 'wheel',
    events: { payout: (msg) => wheel.onPayout(msg), leaderboard: (msg) => wheel.onLeaderboard(msg) },
    facade: {
      get wheel() { return wheel.view(); },
      bet: (segment, amount) => wheel.bet(String(segment), Number(amount)),
    },
  });
  features.register({
    name: 'concert',
    facade: {
      get concertCue() { return concert.cueAt(link.now()); },
      get concert() { return concert.view(link.now()); },
    },
  });
  features.register({
    name: 'notices',
    events: { notice: (msg) => notices.add(msg) },
    facade: { get notices() { return notices.list(); } },
  });
  return { wheel, concert, notices };
}

// Never throws: it runs inside the render loop, which an exception would stop for good.
function frameOf(show, serverNow) {
  try {
    show.update(serverNow);
  } catch (err) {
    if (!show.failed) console.warn('show update failed', err);
    show.failed = true;
  }
}
