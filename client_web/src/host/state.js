// The console's state (one watched room at a time) and what each staff role may do
// (docs/protocol.md, "Host namespace /host": the role table).

const ROLE_CAN = {
  moderate: ['host', 'moderator'], // chat (staff message), chat.pin, chat.delete, mod.*
  answer: ['host', 'moderator', 'operator'], // qa.answer
  deleteQuestion: ['host', 'moderator'], // qa.delete
  reply: ['host', 'operator'], // assist.reply
  watch: ['host', 'moderator', 'operator'], // host.watch, stats.watch
  shop: ['host'], // spotlight, offer.start
  shows: ['host'], // show.start, wheel.open, wheel.spin, concert.cue
  analytics: ['host', 'moderator', 'operator'], // stats (via host.watch), GET /api/rooms/{room}/analytics
  staff: ['host'], // staff.list, staff.revoke
};

export const state = {
  conn: 'idle', // idle | connecting | live | reconnecting | refused
  error: '', // last refusal reason shown on the sign-in card
  signedIn: false,
  name: '',
  role: '',
  rooms: [], // the token's rooms: list of ids, or '*'
  exp: null, // token expiry (ms), decoded for display only — the server decides
  jti: '', // the token's id (what `staff.revoke` takes)
  roomList: [], // RoomInfo from GET /api/rooms, filtered to the token's rooms
  room: null, // id of the room picked (watched, or being watched)
  watching: null, // id of the room whose host.watch ack arrived
  roomInfo: null,
  chat: [], // HostChatMsg, oldest first (+ deleted: true once removed)
  qa: [], // Question
  tickets: [], // Ticket
  log: [], // ModLogEntry, newest first
  muted: [], // {avatar, name, until, shadow}
  banned: [], // {avatar, name}
  slow: 0,
  pinned: null, // {text, by, t}
  stats: null, // last `stats`
  history: [], // [[t, attendees], ...] for the sparkline
  errors: [], // error acks seen: {event, code, message}
  catalog: [], // Product, from GET /api/rooms/{room}
  catalogError: '',
  spotlight: null, // {id, name, by, t}: the last spotlight the console saw (modlog)
  drops: [], // {id, product, name, price, currency, stock, orders, initial, ends_at, ended, seen}
  show: null, // ShowState of the watched room (watch ack, then the `show` feed), + room
  setlist: [], // a concert's cues seen so far, in set-list order: {id, name, duration, effects}
  rounds: {}, // wheel rounds the console saw settle: round -> {commit, seed, verified, message}
  report: null, // the last GET /api/rooms/{room}/analytics?format=json (attendance before we came)
  tab: 'live', // the view shown: live | show | analytics
  wantTab: null, // the view picked (shown when the room and the role have it)
  lastExport: null, // the last analytics download: {format, status, bytes, head}
};

export function can(what, role = state.role) {
  return (ROLE_CAN[what] || []).includes(role);
}

export function resetRoom() {
  Object.assign(state, {
    roomInfo: null, chat: [], qa: [], tickets: [], log: [], muted: [], banned: [],
    slow: 0, pinned: null, stats: null, history: [], catalog: [], catalogError: '', spotlight: null, drops: [],
    show: null, setlist: [], rounds: {}, report: null,
  });
}

// JWT payload, decoded without verification (display only: name, role, expiry).
export function peekToken(token) {
  try {
    const part = String(token).split('.')[1];
    if (!part) return null;
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const claims = JSON.parse(json);
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

// A deep copy for the test hook (what it returns can never change the console's state).
export const copy = (v) => JSON.parse(JSON.stringify(v ?? null));
