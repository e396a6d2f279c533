// Signing in and out with a staff token: the sign-in card, the connection's status, refusals
// (explained), and the server's `welcome` (who we are, which rooms), registered as a feature.
import { $, seedClock, toast, fmtClock, str } from './dom.js';
import { state, resetRoom, peekToken } from './state.js';
import { storage } from '../shared/storage.js';

const TOKEN_KEY = 'vetrina.host.token';
const CONN_TEXT = { idle: 'Offline', connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', refused: 'Refused' };

// "forbidden: token expired" -> shown as is, with a hint of what to do next.
function explain(message) {
  const m = str(message, 'the server refused the connection');
  const hint = /expir|revoked/i.test(m) ? ' Ask for a new token.'
    : /signature|invalid|malformed|decode|forged/i.test(m) ? ' Check that you pasted the whole token, for this server.'
      : '';
  return `${m}.${hint}`.replace(/\.\./g, '.');
}

export class HostSession {
  constructor({ conn, watcher }) {
    this.conn = conn;
    this.watcher = watcher;
    this.token = ''; // the staff token signed in with (the analytics download sends it as Bearer)
    conn.on('state', (s, detail) => this.showConn(s, detail));
    conn.on('refused', (message) => this.refused(message));
  }

  feature() {
    return { name: 'session', events: { welcome: (msg) => this.welcome(msg) } };
  }

  showConn(s, detail) {
    state.conn = s;
    $('conn').dataset.state = s;
    $('conn-text').textContent = CONN_TEXT[s] || s;
    $('conn').title = detail || '';
  }

  showSignin(reason = '') {
    document.body.classList.add('signed-out');
    $('signin').hidden = false;
    $('signin-error').hidden = !reason;
    $('signin-reason').textContent = reason;
    $('signin-btn').disabled = false;
    $('signin-btn').textContent = 'Sign in';
    $('token-input').focus();
  }

  signIn(raw) {
    const t = String(raw || '').trim();
    if (!t) { this.showSignin('Paste a token first.'); return; }
    storage()?.setItem(TOKEN_KEY, t);
    this.token = t;
    const claims = peekToken(t);
    state.exp = claims && typeof claims.exp === 'number' ? claims.exp * 1000 : null;
    state.error = '';
    $('signin-error').hidden = true;
    $('signin-btn').disabled = true;
    $('signin-btn').textContent = 'Signing in…';
    this.conn.connect(t);
  }

  signOut() {
    this.conn.close();
    storage()?.removeItem(TOKEN_KEY);
    this.token = '';
    Object.assign(state, { signedIn: false, name: '', role: '', rooms: [], room: null, watching: null, roomList: [], exp: null });
    resetRoom();
    $('token-input').value = '';
    this.watcher.renderAll();
    this.showSignin('');
  }

  refused(message) {
    state.signedIn = false;
    state.error = message;
    storage()?.removeItem(TOKEN_KEY);
    document.body.classList.add('signed-out');
    $('who').hidden = true;
    $('signout').hidden = true;
    this.showSignin(explain(message));
  }

  async welcome(msg) {
    seedClock(msg.t);
    const first = !state.signedIn;
    Object.assign(state, {
      signedIn: true,
      name: str(msg.name, 'Staff'),
      role: str(msg.role),
      rooms: msg.rooms === '*' ? '*' : (Array.isArray(msg.rooms) ? msg.rooms.map(String) : []),
      jti: str(msg.jti),
      error: '',
    });
    if (typeof msg.exp === 'number') state.exp = msg.exp * 1000; // the server's word on it
    document.body.classList.remove('signed-out');
    document.body.dataset.role = state.role;
    $('signin').hidden = true;
    $('who').hidden = false;
    $('signout').hidden = false;
    $('who-name').textContent = state.name;
    $('who-role').textContent = state.role;
    $('who-role').dataset.role = state.role;
    $('who-exp').textContent = state.exp ? `token until ${fmtClock(state.exp)}` : '';
    if (first) toast(`Signed in as ${state.name} (${state.role})`, { kind: 'ok' });
    await this.watcher.resume();
  }

  // The token from the URL fragment (#token=…&room=…), kept out of the address bar.
  readFragment() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ''));
    const token = params.get('token');
    const room = params.get('room');
    this.watcher.wantRoom = room;
    if (token) {
      // Keep the token out of the address bar, history and screenshots.
      history.replaceState(null, '', location.pathname + location.search + (room ? `#room=${encodeURIComponent(room)}` : ''));
    }
    return token;
  }

  // The sign-in form, sign-out, a token pasted into the address bar; then sign in if we can.
  boot() {
    $('signin-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.signIn($('token-input').value);
    });
    $('token-input').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); this.signIn($('token-input').value); }
    });
    $('signout').addEventListener('click', () => this.signOut());
    window.addEventListener('hashchange', () => {
      const token = this.readFragment();
      if (token) this.signIn(token);
    });
    const initial = this.readFragment() || storage()?.getItem(TOKEN_KEY);
    if (initial) this.signIn(initial); else this.showSignin('');
  }
}
