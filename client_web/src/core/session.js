// The visit: the name and room from the URL or the start overlay, the connection's lifecycle
// (status, refusals, a session taken over by another tab), joins and their errors, and leaving a
// room when a moderator removes us. Features hear about joins and leaves through the router.
import { Net } from './net.js';

const NAME_KEY = 'vetrina.name';

export class Session {
  constructor({ app, hud }) {
    this.app = app;
    this.hud = hud;
    this.params = new URLSearchParams(location.search);
  }

  // From the URL (?name=&room=) straight in, else the start overlay.
  boot() {
    const urlName = (this.params.get('name') || '').trim();
    const urlRoom = (this.params.get('room') || '').trim();
    this.hud.setInView(0);
    if (urlName && urlName.length <= 32 && urlRoom) this.start(urlName, urlRoom);
    else this.showOverlay(urlName.length > 32 ? 'Names are 1 to 32 characters.' : '');
  }

  showOverlay(error = '') {
    const { app } = this;
    this.hud.showOverlay({
      name: app.name || app.store?.getItem(NAME_KEY) || '',
      room: app.net?.roomId || app.room?.id || this.params.get('room') || '',
      error,
      onEnter: (name, room) => this.start(name, room),
    });
  }

  start(name, roomId) {
    const { app, hud } = this;
    app.name = name;
    app.store?.setItem(NAME_KEY, name);
    hud.setSelfName(name, app.look.color);
    hud.setStatus('connecting');
    hud.hideOverlay();
    if (app.net) { // second attempt from the overlay (e.g. after a join error): reuse the socket
      app.net.name = name;
      if (app.net.socket?.connected) app.net.join(roomId);
      else { app.net.roomId = roomId; app.net.socket?.connect(); }
      return;
    }
    const net = new Net({ name, look: app.look, features: app.features });
    app.net = net;
    net.roomId = roomId; // joined on every welcome (first connect and each reconnect)
    this.listen(net);
    try {
      net.connect();
    } catch (err) {
      hud.showFatal(String(err.message || err));
    }
  }

  // The connection's own lifecycle (not server events: those go to the features' router).
  listen(net) {
    const { app, hud } = this;
    const clearView = () => { app.remotes.clear(); hud.setInView(0); };
    net.on('state', (s) => hud.setStatus(s));
    // The server forgets our view with the connection; it resends `enter` after re-join.
    net.on('disconnect', clearView);
    net.on('joining', clearView);
    net.on('connect_error', (err) => {
      if (net.socket.active) return; // refused by the server (bad name, banned…): no auto-retry
      this.showOverlay(err?.data?.message || err?.message || 'Connection refused.');
    });
    net.on('server_disconnect', () => {
      if (app.removed) return; // kicked/banned: the moderation message already says why
      hud.showFatal('This visit was closed by the server — maybe Vetrina is open in another tab.', {
        label: 'Rejoin here',
        run: () => net.reconnect({ fresh: true }),
      });
    });
    net.on('joined', (ack) => app.features.each('join', ack));
    net.on('join_error', (e) => {
      const msg = `${e.message || 'Could not join the room.'}${e.code ? ` (${e.code})` : ''}`;
      if (!app.everJoined || app.removed) this.showOverlay(msg);
      else hud.toast(msg, { kind: 'error' });
    });
  }

  // Kicked or banned: out of the room, back to the room picker (joining again is allowed).
  removed(text) {
    this.app.removed = true;
    this.app.net?.leftRoom();
    this.app.features.each('leave');
    this.showOverlay(text);
  }
}
