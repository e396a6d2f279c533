// DOM side: HUD, toasts and the start overlay. Untrusted text (names, room names, server
// messages) always goes through textContent.

const $ = (id) => document.getElementById(id);

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
  el.textContent = `${n} visitors in view`;
}

export function setSelfName(name, color) {
  $('self-name').textContent = name;
  if (color) $('self-dot').style.background = color;
}

// Small, self-dismissing messages. Repeated identical toasts are merged, not stacked.
export function toast(text, { kind = 'info', ms = 3500 } = {}) {
  const box = $('toasts');
  for (const t of box.children) {
    if (t.textContent === text) { t.remove(); break; }
  }
  const el = document.createElement('div');
  el.className = `toast ${kind}`;
  el.textContent = text;
  box.prepend(el);
  while (box.children.length > 4) box.lastChild.remove();
  setTimeout(() => el.classList.add('out'), ms);
  setTimeout(() => el.remove(), ms + 400);
}

export function showFatal(text) {
  const el = $('fatal');
  el.textContent = text;
  el.hidden = false;
}

const KIND_ICON = { showroom: '👜', concert: '🎤', wheel: '🎡', lobby: '🚪' };

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
  rooms.forEach((r, i) => {
    const label = document.createElement('label');
    label.className = 'room-card';
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'room';
    radio.value = r.id;
    radio.checked = r.id === room || (!room && i === 0);
    const icon = document.createElement('span');
    icon.className = 'room-icon';
    icon.textContent = KIND_ICON[r.kind] || '✨';
    const text = document.createElement('span');
    text.className = 'room-text';
    const title = document.createElement('strong');
    title.textContent = r.name;
    const meta = document.createElement('small');
    meta.textContent = `${r.kind} · ${r.occupancy ?? 0} inside`;
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
}
