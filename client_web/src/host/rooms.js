// Rooms this token may watch: GET /api/rooms filtered to the token's `rooms` ("*" = all).

import { $, h, clear, str } from './dom.js';
import { state } from './state.js';

export async function loadRooms() {
  let rooms = [];
  try {
    const res = await fetch('/api/rooms', { cache: 'no-store' });
    rooms = (await res.json()).rooms || [];
  } catch {
    rooms = [];
  }
  const allowed = state.rooms;
  let list = allowed === '*' ? rooms : rooms.filter((r) => Array.isArray(allowed) && allowed.includes(r.id));
  // Rooms in the token that the server does not list (yet) still appear, by id.
  if (Array.isArray(allowed)) {
    for (const id of allowed) if (!list.some((r) => r.id === id)) list.push({ id, name: id, kind: '?', occupancy: null });
  }
  list = list.filter((r) => r && typeof r.id === 'string');
  state.roomList = list;
  return list;
}

export function renderRoomSelect(onPick) {
  const sel = $('room-select');
  clear(sel);
  if (!state.room) sel.append(h('option', { value: '' }, 'Pick a room…'));
  for (const r of state.roomList) sel.append(h('option', { value: r.id }, str(r.name, r.id)));
  sel.value = state.room || '';
  sel.disabled = !state.roomList.length;
  sel.onchange = () => { if (sel.value) onPick(sel.value); };
}

// The "pick a room" cards shown when no room is watched yet.
export function renderPicker(onPick) {
  const box = clear($('picker-list'));
  $('picker').hidden = !!state.room || !state.signedIn;
  if (!state.roomList.length) {
    box.append(h('p', { class: 'empty' }, 'This token gives access to no room on this server.'));
    return;
  }
  for (const r of state.roomList) {
    const n = typeof r.occupancy === 'number' ? r.occupancy : null;
    box.append(h('button', { type: 'button', class: 'room-card', dataset: { room: r.id }, onclick: () => onPick(r.id) },
      h('span', { class: `kind kind-${str(r.kind).replace(/[^a-z]/g, '') || 'room'}` }, str(r.kind, 'room')),
      h('strong', null, str(r.name, r.id)),
      h('small', null, n === null ? r.id : `${n} ${n === 1 ? 'visitor' : 'visitors'} inside`)));
  }
}
