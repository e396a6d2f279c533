// Socket.IO connection to the visitor namespace `/` (PROTOCOL.md). Owns the session
// (resume token), room re-joining after reconnects, clock sync and move throttling.
// Every server event goes to the features' router (shared/features.js), `welcome` included:
// the connection registers itself there as the feature that handles it.
// Uses the global `io` from /vendor/socket.io/socket.io.msgpack.min.js (msgpack parser built in).

import { ClockSync } from './clock.js';
import { Emitter } from '../shared/emitter.js';
import { requestAck } from '../shared/ack.js';
import { storage } from '../shared/storage.js';

const SESSION_KEY = 'vetrina.session';
const ACK_TEXTS = { offline: 'Not connected — reconnecting…', timeout: 'The server did not answer.', unexpected: 'Unexpected answer.' };

export class Net extends Emitter {
  // features: the router (shared/features.js) that every server event is handed to
  constructor({ name, look, features, url = location.origin }) {
    super();
    this.features = features;
    features.register({ name: 'net', events: { welcome: (msg) => this.onWelcome(msg) } });
    this.name = name;
    this.look = look;
    this.url = url;
    this.socket = null;
    this.state = 'connecting';
    this.selfId = null;
    this.roomId = null; // room we are (or want to be) in; re-joined after every welcome
    this.clock = new ClockSync();
    this.seq = 0;
    this.syncTimer = null;
    this.joinGen = 0;
    // Friends together: an invite link (?with=<avatar id>) puts us in the friend's audience
    // shard of a large room (docs/protocol.md "Large rooms"); used for the first join only.
    const friend = Number(new URLSearchParams(location.search).get('with'));
    this.friend = Number.isInteger(friend) && friend > 0 ? friend : null;
  }

  get serverOffset() { return this.clock.offset; }
  serverNow() { return this.clock.now(); }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  connect() {
    if (typeof window.io !== 'function') throw new Error('socket.io client failed to load');
    // auth is a function so every reconnect sends the *current* resume token.
    this.socket = window.io(this.url, {
      transports: ['websocket'],
      reconnectionDelayMax: 4000,
      auth: (cb) => {
        const auth = { name: this.name, look: this.look };
        const resume = storage()?.getItem(SESSION_KEY);
        if (resume) auth.resume = resume;
        cb(auth);
      },
    });
    const s = this.socket;
    s.on('connect', () => this.setState('connected'));
    s.on('disconnect', (reason) => {
      this.setState('disconnected');
      this.emit('disconnect', reason);
      // 'io server disconnect' is deliberate (kicked, or this session was taken over by a
      // newer connection, e.g. a duplicated tab): socket.io does not retry, and neither do we
      // automatically — retrying with the same token would just kick the other tab in turn.
      if (reason === 'io server disconnect') this.emit('server_disconnect');
    });
    s.on('connect_error', (err) => {
      this.setState('disconnected');
      this.emit('connect_error', err);
    });
    // One path for every server event (connection events are not server events: not here).
    s.onAny((evt, msg) => this.features.route(evt, msg || {}));
  }

  // A request with an ack. Always resolves with `{ok, ...}` or `{ok: false, error}`, also when
  // offline or when the server does not answer in time, so callers only read `ok`.
  request(event, data = {}, timeoutMs = 8000) {
    return requestAck(this.socket, event, data, timeoutMs, ACK_TEXTS);
  }

  // Fire and forget (reactions). Returns false when it could not be sent.
  send(event, data = {}) {
    if (!this.socket?.connected || this.state !== 'joined') return false;
    this.socket.emit(event, data);
    return true;
  }

  // Removed from the room by a moderator (kicked/banned): still connected, in no room.
  leftRoom() {
    this.roomId = null;
    this.joinGen += 1; // a join in flight no longer counts
    if (this.socket?.connected) this.setState('connected');
  }

  // Come back after a deliberate server disconnect, optionally as a brand-new visitor.
  reconnect({ fresh = false } = {}) {
    if (fresh) storage()?.removeItem(SESSION_KEY);
    this.setState('connecting');
    this.socket.connect();
  }

  onWelcome(msg) {
    if (typeof msg.session === 'string') storage()?.setItem(SESSION_KEY, msg.session);
    if (typeof msg.id === 'number') this.selfId = msg.id;
    if (typeof msg.t === 'number') this.clock.seed(msg.t, Date.now());
    this.emit('welcome', msg);
    this.startClockSync();
    // Resume: the room we were in (ours if we chose one, else the server's memory of it).
    const room = this.roomId || (typeof msg.room === 'string' ? msg.room : msg.room?.id);
    if (room) this.join(room);
  }

  // Join (or idempotently re-join) a room. Resolves with the ack; emits 'joined' / 'join_error'.
  async join(room) {
    this.roomId = room;
    const gen = ++this.joinGen;
    this.emit('joining', room);
    let ack;
    try {
      const req = this.friend ? { room, with: this.friend } : { room };
      this.friend = null;
      ack = await this.socket.timeout(10000).emitWithAck('join', req);
    } catch {
      ack = { ok: false, error: { code: 'unavailable', message: 'The server did not answer the join request.' } };
    }
    if (gen !== this.joinGen) return ack; // a newer join superseded this one
    // Lost the connection meanwhile: keep roomId, the next `welcome` joins again.
    if (!ack?.ok && !this.socket.connected) return ack;
    if (ack && ack.ok) {
      if (typeof ack.you?.id === 'number') this.selfId = ack.you.id;
      this.roomId = ack.room?.id || room;
      this.setState('joined');
      this.emit('joined', ack);
    } else {
      this.roomId = null;
      this.emit('join_error', (ack && ack.error) || { code: 'bad_request', message: 'Join failed.' });
    }
    return ack;
  }

  // Movement without ack; seq lets us match a `correct` to the move it rejected.
  sendMove(p, yaw) {
    if (!this.socket?.connected || this.state !== 'joined') return null;
    this.seq += 1;
    const r = (v) => Math.round(v * 1000) / 1000;
    this.socket.emit('move', { p: [r(p[0]), r(p[1]), r(p[2])], yaw: r(yaw), seq: this.seq });
    return this.seq;
  }

  // ~5 sequential samples now, again every 30 s; ClockSync keeps the fastest one.
  startClockSync() {
    clearInterval(this.syncTimer);
    this.syncBurst();
    this.syncTimer = setInterval(() => this.syncBurst(), 30000);
  }

  async syncBurst(n = 5) {
    for (let i = 0; i < n; i++) {
      if (!this.socket?.connected) return;
      const c = Date.now();
      try {
        const ack = await this.socket.timeout(3000).emitWithAck('time', { c });
        if (ack && ack.ok && typeof ack.t === 'number') this.clock.add(c, ack.t, Date.now());
      } catch { /* timeout: just skip the sample */ }
      await new Promise((r) => setTimeout(r, 60));
    }
    this.emit('clock', this.clock);
  }
}
