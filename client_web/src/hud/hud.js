// DOM side: HUD, toasts and the start overlay. Untrusted text (names, room names, server
// messages) always goes through textContent.

import { $, toast as showToast } from '../shared/dom.js';

const STATUS_TEXT = {
  connecting: 'Connecting…',
  connected: 'Connected',
  joined: 'Live',
  disconnected: 'Reconnecting…',
};

export function setRoom(name) {
  $('room-name').textContent = name || '—';
  document.title = name ? `${name} · Vetrina` : 'Vetrina';
}

export function setStatus(state) {
  const el = $('status');
  el.dataset.state = state;
  $('status-text').textContent = STATUS_TEXT[state] || state;
}

export function setInView(n) {
  const el = $('in-view');
  el.dataset.count = String(n);
  el.textContent = `${n} ${n === 1 ? "visitor" : "visitors"} in view`;
}

export function setSelfName(name, color) {
  $('self-name').textContent = name;
  if (color) $('self-dot').style.background = color;
}

// "Invite a friend": a link to this room that asks the server to place the friend in our
// audience shard (`join` with `with`, docs/protocol.md "Large rooms").
export function setInvite(room, selfId) {
  const btn = $('invite');
  if (!room || typeof selfId !== 'number') { btn.hidden = true; return; }
  const link = new URL('/', location.href);
  link.searchParams.set('room', room);
  link.searchParams.set('with', String(selfId));
  btn.dataset.link = link.href;
  btn.hidden = false;
  btn.onclick = async () => {
    try {
      await navigator.clipboard.writeText(btn.dataset.link);
      toast('Invite link copied: send it to a friend.');
    } catch {
      window.prompt('Send this link to a friend:', btn.dataset.link); // no clipboard (http, old browser)
    }
  };
}

// Small, self-dismissing messages. Repeated identical toasts are merged, not stacked.
export function toast(text, { kind = 'info', ms = 3500 } = {}) {
  showToast(text, { kind, life: ms, max: 4 });
}

// A persistent message (not a toast) with an optional action button.
export function showFatal(text, action = null) {
  const el = $('fatal');
  el.textContent = text;
  if (action) {
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.textContent = action.label;
    btn.onclick = () => { el.hidden = true; action.run(); };
    el.append(' ', btn);
  }
  el.hidden = false;
}


// Line icons as SVG paths (24x24): no emoji font needed (headless/Linux often has none).
const KIND_ICON = {
  showroom: 'M6 8h12l-1 12H7L6 8zm3 0V6a3 3 0 0 1 6 0v2',
  concert: 'M9 18V5l11-2v13M9 18a3 3 0 1 1-6 0 3 3 0 0 1 6 0zm11-2a3 3 0 1 1-6 0 3 3 0 0 1 6 0z',
  wheel: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zm0 0v18M3 12h18M5.6 5.6l12.8 12.8M18.4 5.6 5.6 18.4',
  lobby: 'M4 21V4h11v17M15 8h5v13M9 12h1',
};
const SVG_NS = 'http://www.w3.org/2000/svg';
function kindIcon(kind) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `room-icon kind-${KIND_ICON[kind] ? kind : 'lobby'}`);
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', KIND_ICON[kind] || KIND_ICON.lobby);
  svg.append(path);
  return svg;
}

// Start overlay: name + room picker (from /api/rooms). Calls onEnter(name, roomId).
export async function showOverlay({ name = '', room = '', error = '', onEnter }) {
  const overlay = $('overlay');
  const form = $('join-form');
  const input = $('name-input');
  const list = $('room-list');
  const err = $('join-error');
  overlay.hidden = false;
  input.value = name;
  err.textContent = error || '';
  $('enter-btn').disabled = false;

  list.textContent = '';
  const loading = document.createElement('div');
  loading.className = 'room-loading';
  loading.textContent = 'Loading rooms…';
  list.append(loading);
  let rooms = [];
  try {
    const res = await fetch('/api/rooms', { cache: 'no-store' });
    rooms = (await res.json()).rooms || [];
  } catch {
    loading.textContent = 'Could not load the room list. Is the server running?';
    return;
  }
  list.textContent = '';
  // Preselect the requested room, else the showroom (the flagship), else the first one.
  const pick = (rooms.find((r) => r.id === room) || rooms.find((r) => r.kind === 'showroom') || rooms[0] || {}).id;
  rooms.forEach((r) => {
    const label = document.createElement('label');
    label.className = 'room-card';
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'room';
    radio.value = r.id;
    radio.checked = r.id === pick;
    const icon = kindIcon(r.kind);
    const text = document.createElement('span');
    text.className = 'room-text';
    const title = document.createElement('strong');
    title.textContent = r.name;
    const meta = document.createElement('small');
    const kind = String(r.kind || 'room');
    const n = Number(r.occupancy) || 0;
    meta.textContent = `${kind.charAt(0).toUpperCase()}${kind.slice(1)} · ${n} ${n === 1 ? 'visitor' : 'visitors'} inside`;
    text.append(title, meta);
    label.append(radio, icon, text);
    list.append(label);
  });
  if (!list.querySelector('input:checked') && list.querySelector('input')) list.querySelector('input').checked = true;

  form.onsubmit = (e) => {
    e.preventDefault();
    const n = input.value.trim();
    const picked = list.querySelector('input:checked');
    if (n.length < 1 || n.length > 32) { err.textContent = 'Pick a name of 1 to 32 characters.'; return; }
    if (!picked) { err.textContent = 'Pick a room.'; return; }
    err.textContent = '';
    $('enter-btn').disabled = true;
    onEnter(n, picked.value);
  };
  input.focus();
}

export function hideOverlay() {
  $('overlay').hidden = true;
  // The name field keeps focus otherwise, and keys typed into a hidden input never walk.
  if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
}

// The controls hint is for newcomers: it fades once the visitor has walked.
export function hideHint() {
  const el = $('help');
  if (el && !el.classList.contains('done')) el.classList.add('done');
}
