// Watching one room: `host.watch` (its ack is the room's snapshot, which each feature reads in
// its `watched` hook), the room picker, and the gate of the room's feed: events of the room
// that arrive before the ack wait and are applied after it (the ack replaces the whole state;
// updates are idempotent: by id, or a full list).
import { str } from './dom.js';
import { state, resetRoom } from './state.js';
import { loadRooms, renderRoomSelect, renderPicker } from './rooms.js';
import { storage } from '../shared/storage.js';

const ROOM_KEY = 'vetrina.host.room';

export class Watcher {
  // features: the router; conn: HostConn; reportError(event, label, error)
  constructor({ features, conn, reportError }) {
    Object.assign(this, { features, conn, reportError });
    this.gen = 0;
    this.pending = null; // feed updates held back until the host.watch ack
    this.wantRoom = null; // room asked for in the URL fragment
  }

  // The router's gate for `feed` handlers: only the watched room's events, after its ack.
  gate(msg, apply) {
    if (!state.room || (msg.room !== undefined && msg.room !== state.room)) return;
    if (state.watching !== state.room) { this.pending?.push(apply); return; }
    apply();
  }

  // After a sign-in (or a reconnect): re-watch, else the room asked for, the last one, or the only one.
  async resume() {
    await loadRooms();
    this.renderRooms();
    this.features.each('signedIn'); // the role's controls, the staff list
    const ids = state.roomList.map((r) => r.id);
    const pick = [state.room, this.wantRoom, storage()?.getItem(ROOM_KEY)].find((r) => r && ids.includes(r))
      || (ids.length === 1 ? ids[0] : null);
    if (pick) this.watch(pick, { rewatch: true });
    else this.renderAll();
  }

  async watch(room, { rewatch = false } = {}) {
    const gen = ++this.gen;
    const old = state.room;
    state.watching = null;
    if (old && old !== room) this.conn.call('host.unwatch', { room: old }); // fire and forget
    if (old !== room || !rewatch) resetRoom();
    state.room = room;
    this.renderRooms();
    this.pending = [];
    const ack = await this.conn.call('host.watch', { room });
    if (gen !== this.gen) return;
    const held = this.pending;
    this.pending = null;
    if (!ack.ok) return this.refused(room, ack.error);
    storage()?.setItem(ROOM_KEY, room);
    // A re-watch after a reconnect keeps what the features say to keep (the sparkline, drops...).
    const keep = {};
    if (old === room) for (const f of this.features.list) for (const key of f.keep || []) keep[key] = state[key];
    resetRoom();
    Object.assign(state, keep);
    state.watching = room;
    state.roomInfo = ack.room || null;
    this.features.each('watched', ack);
    this.renderAll();
    for (const apply of held) apply();
    this.features.each('afterWatch', room);
  }

  refused(room, error) {
    this.reportError('host.watch', `Watching ${room}`, error);
    state.room = null;
    state.watching = null;
    resetRoom();
    this.renderAll();
  }

  pick(room) {
    if (room && room !== state.room) this.watch(room);
  }

  renderRooms() {
    const pick = (room) => this.pick(room);
    renderRoomSelect(pick);
    renderPicker(pick);
    const info = state.roomList.find((r) => r.id === state.room);
    document.title = info ? `${str(info.name, info.id)} · Host console · Vetrina` : 'Host console · Vetrina';
  }

  renderAll() {
    this.renderRooms();
    this.features.each('render');
    document.body.classList.toggle('no-room', !state.room);
  }
}
