// Socket.IO connection to the staff namespace `/host` (docs/protocol.md, "Host namespace").
// Every server event goes to the features' router (shared/features.js), `welcome` included; the
// connection itself handles `session.end` there. Its own emitter says only `state` / `refused`.
// Uses the global `io` from /vendor/socket.io/socket.io.msgpack.min.js (msgpack parser inside).

import { Emitter } from '../shared/emitter.js';
import { requestAck } from '../shared/ack.js';

const ACK_TEXTS = { offline: 'not connected to the server', timeout: 'the server did not answer in time', unexpected: 'unexpected answer from the server' };

export class HostConn extends Emitter {
  // features: the router every server event is handed to
  constructor(features, url = location.origin) {
    super();
    this.features = features;
    // The server ends a session whose token expired or was revoked: it says why, then closes.
    features.register({ name: 'conn', events: { 'session.end': (msg) => { this.ended = String(msg?.reason || 'ended'); } } });
    this.url = url;
    this.socket = null;
    this.state = 'idle'; // idle | connecting | live | reconnecting | refused
  }

  setState(s, detail = '') {
    this.state = s;
    this.emit('state', s, detail);
  }

  connect(token) {
    if (typeof window.io !== 'function') throw new Error('socket.io client failed to load');
    this.close();
    this.ended = '';
    this.setState('connecting');
    const s = window.io(`${this.url}/host`, {
      transports: ['websocket'],
      reconnectionDelayMax: 5000,
      auth: { token },
    });
    this.socket = s;
    s.on('connect', () => this.setState('live'));
    s.on('connect_error', (err) => {
      // A refusal by the server (CONNECT_ERROR packet) is final: socket.io does not retry it.
      // A transport failure (server down) is retried by socket.io on its own.
      const message = String(err?.message || 'connection failed');
      const refused = err?.data?.code === 'forbidden' || /^forbidden\b/.test(message) || !s.active;
      if (refused) {
        this.setState('refused', message);
        this.emit('refused', message, err?.data || null);
      } else {
        this.setState('reconnecting', message);
      }
    });
    s.on('disconnect', (reason) => {
      if (reason === 'io client disconnect') return;
      if (reason === 'io server disconnect') {
        // Deliberate (token expired, revoked...): socket.io does not reconnect.
        const why = this.ended ? `forbidden: token ${this.ended}` : 'the server closed this staff session';
        this.setState('refused', why);
        this.emit('refused', why, null);
      } else {
        this.setState('reconnecting', reason);
      }
    });
    // One path for every server event (connection events are not server events: not here).
    s.onAny((evt, msg) => this.features.route(evt, msg || {}));
  }

  close() {
    if (!this.socket) return;
    this.socket.removeAllListeners();
    this.socket.offAny();
    this.socket.disconnect();
    this.socket = null;
    this.setState('idle');
  }

  // Emit with ack; always resolves to {ok: true, ...} or {ok: false, error: {code, message}}.
  async call(event, payload, timeoutMs = 8000) {
    const ack = await requestAck(this.socket, event, payload, timeoutMs, ACK_TEXTS);
    if (typeof ack.ok !== 'boolean') return { ok: false, error: { code: 'bad_request', message: ACK_TEXTS.unexpected } };
    if (!ack.ok && (!ack.error || typeof ack.error !== 'object')) ack.error = { code: 'error', message: 'request failed' };
    return ack;
  }
}
