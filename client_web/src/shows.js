// Live shows in the visitor client: the money wheel (wheel.js), concert effects (concert.js) and
// "For you" notices (notices.js), wired to the network in one place so main.js only needs a few
// hooks: listen(socket) after connecting, onJoined(ack, built) after each join, update(serverNow)
// every frame (after the room's own animation, before rendering), onNotice(msg).
import { WheelShow } from './wheel.js';
import { ConcertShow } from './concert.js';
import { Notices } from './notices.js';

export class Shows {
  // link: {request, now(), offset, selfId}; ui: {toast, view(productId), product(id)}
  constructor(link, ui = {}) {
    this.link = link;
    this.state = null; // the last ShowState of the current room (any kind)
    this.wheel = new WheelShow(link, ui);
    this.concert = new ConcertShow(link);
    this.notices = new Notices(link, { view: ui.view, product: ui.product });
  }

  listen(socket) {
    socket.on('show', (msg) => this.onShow(msg));
    socket.on('payout', (msg) => this.wheel.onPayout(msg));
    socket.on('leaderboard', (msg) => this.wheel.onLeaderboard(msg));
  }

  onJoined(ack, built) {
    this.state = ack?.show && typeof ack.show === 'object' ? ack.show : null;
    this.wheel.onJoined(ack, built);
    this.concert.onJoined(ack, built);
  }

  onShow(msg) {
    if (!msg || typeof msg !== 'object') return;
    this.state = msg;
    try { this.wheel.setState(msg); } catch (err) { console.warn('wheel state', err); }
    try { this.concert.setState(msg); } catch (err) { console.warn('concert state', err); }
  }

  onNotice(msg) { return this.notices.add(msg); }

  // Left the room (kicked/banned): nothing of its shows stays on screen.
  onLeft() {
    this.onJoined({ room: {} }, null);
  }

  // Never throws: it runs inside the render loop, which an exception would stop for good.
  update(serverNow) {
    for (const show of [this.wheel, this.concert]) {
      try {
        show.update(serverNow);
      } catch (err) {
        if (!show.failed) console.warn('show update failed', err);
        show.failed = true;
      }
    }
  }
}
