// Input: keyboard (WASD/arrows), mouse drag to orbit + click to walk, touch joystick + tap,
// wheel/pinch zoom. Produces camera-relative movement intent; core/movement.js turns it into motion.

const FORWARD = ['KeyW', 'ArrowUp'];
const BACK = ['KeyS', 'ArrowDown'];
const LEFT = ['KeyA'];
const RIGHT = ['KeyD'];
const TURN_L = ['KeyQ', 'ArrowLeft'];
const TURN_R = ['KeyE', 'ArrowRight'];
const CLICK_SLOP = 6; // px: more than this between down and up is a drag, not a click

function isTyping(e) {
  const t = e.target;
  return t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
}

export class Controls {
  constructor(surface, joystickEl, { onTap } = {}) {
    this.surface = surface;
    this.onTap = onTap;
    this.keys = new Set();
    this.camYaw = 0; // azimuth of the camera around the avatar; camera sits behind when = avatar yaw
    this.camPitch = 0.36;
    this.camDist = 7;
    this.joy = { x: 0, y: 0, id: null };
    this.pointers = new Map();
    this.pinch = null;
    this.enabled = true;

    window.addEventListener('keydown', (e) => {
      if (isTyping(e) || !this.enabled) return;
      const code = e.code || e.key;
      this.keys.add(code);
      if (code.startsWith('Arrow') || code === 'Space') e.preventDefault();
    });
    window.addEventListener('keyup', (e) => this.keys.delete(e.code || e.key));
    window.addEventListener('blur', () => this.keys.clear()); // no stuck keys after alt-tab
    // Focusing a text field (chat, Q&A, help) stops any walk in progress; keys typed there
    // never walk (isTyping above).
    window.addEventListener('focusin', (e) => { if (isTyping(e)) this.keys.clear(); });

    surface.addEventListener('pointerdown', (e) => this.down(e));
    surface.addEventListener('pointermove', (e) => this.move(e));
    surface.addEventListener('pointerup', (e) => this.up(e));
    surface.addEventListener('pointercancel', (e) => this.up(e, true));
    surface.addEventListener('contextmenu', (e) => e.preventDefault());
    surface.addEventListener('wheel', (e) => {
      e.preventDefault();
      this.zoom(Math.exp(e.deltaY * 0.001));
    }, { passive: false });

    if (joystickEl) this.setupJoystick(joystickEl);
  }

  zoom(f) {
    this.camDist = Math.min(20, Math.max(2.5, this.camDist * f));
  }

  down(e) {
    if (!this.enabled) return;
    this.surface.setPointerCapture?.(e.pointerId);
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY, sx: e.clientX, sy: e.clientY, drag: false, button: e.button, type: e.pointerType });
    if (this.pointers.size === 2) {
      const [a, b] = [...this.pointers.values()];
      this.pinch = Math.hypot(a.x - b.x, a.y - b.y);
    }
    if (e.pointerType === 'touch') document.body.classList.add('touch');
  }

  move(e) {
    const p = this.pointers.get(e.pointerId);
    if (!p) return;
    const dx = e.clientX - p.x;
    const dy = e.clientY - p.y;
    p.x = e.clientX;
    p.y = e.clientY;
    if (Math.hypot(p.x - p.sx, p.y - p.sy) > CLICK_SLOP) p.drag = true;
    if (this.pointers.size === 2 && this.pinch) {
      const [a, b] = [...this.pointers.values()];
      const d = Math.hypot(a.x - b.x, a.y - b.y);
      if (d > 0) this.zoom(this.pinch / d);
      this.pinch = d;
      return;
    }
    if (p.drag) { // orbit the camera
      this.camYaw -= dx * 0.006;
      this.camPitch = Math.min(1.35, Math.max(0.08, this.camPitch + dy * 0.004));
    }
  }

  up(e, cancelled = false) {
    const p = this.pointers.get(e.pointerId);
    this.pointers.delete(e.pointerId);
    if (this.pointers.size < 2) this.pinch = null;
    if (!p || cancelled || p.drag || p.button > 0) return;
    this.onTap?.(e.clientX, e.clientY);
  }

  setupJoystick(el) {
    const knob = el.querySelector('.knob');
    const radius = 48;
    const set = (e) => {
      const r = el.getBoundingClientRect();
      let x = e.clientX - (r.left + r.width / 2);
      let y = e.clientY - (r.top + r.height / 2);
      const len = Math.hypot(x, y);
      if (len > radius) { x = (x / len) * radius; y = (y / len) * radius; }
      if (knob) knob.style.transform = `translate(${x}px, ${y}px)`;
      this.joy.x = x / radius;
      this.joy.y = -y / radius; // screen up = forward
    };
    el.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      document.body.classList.add('touch');
      el.setPointerCapture?.(e.pointerId);
      this.joy.id = e.pointerId;
      set(e);
    });
    el.addEventListener('pointermove', (e) => { if (e.pointerId === this.joy.id) set(e); });
    const end = (e) => {
      if (e.pointerId !== this.joy.id) return;
      this.joy = { x: 0, y: 0, id: null };
      if (knob) knob.style.transform = '';
    };
    el.addEventListener('pointerup', end);
    el.addEventListener('pointercancel', end);
  }

  has(codes) {
    return codes.some((c) => this.keys.has(c));
  }

  // Movement intent for this frame: forward/right in [-1,1] relative to the camera, run flag.
  // Turning keys rotate the camera, and since walking is camera-relative the avatar follows.
  read(dt) {
    if (!this.enabled) return { forward: 0, right: 0, run: false, active: false };
    const turn = (this.has(TURN_R) ? 1 : 0) - (this.has(TURN_L) ? 1 : 0);
    this.camYaw -= turn * dt * 2.0;
    let forward = (this.has(FORWARD) ? 1 : 0) - (this.has(BACK) ? 1 : 0) + this.joy.y;
    let right = (this.has(RIGHT) ? 1 : 0) - (this.has(LEFT) ? 1 : 0) + this.joy.x;
    const len = Math.hypot(forward, right);
    if (len > 1) { forward /= len; right /= len; }
    const joyMag = Math.hypot(this.joy.x, this.joy.y);
    const run = this.keys.has('ShiftLeft') || this.keys.has('ShiftRight') || this.keys.has('Shift') || joyMag > 0.95;
    return { forward, right, run, active: len > 0.05 };
  }
}
