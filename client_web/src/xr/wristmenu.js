// The VR wrist menu: a canvas texture on a small panel above the left controller, pointed at
// with the right controller's ray. What it offers comes from a model function (xr/menu.js builds
// it from the reactions bar, quick chat phrases and the live booth/show state), so it is the
// same state and the same actions as the flat UI.
import * as THREE from 'three';
import { roundRect } from '../core/textures.js';

const W = 512;
const H = 704;
const PAD = 18;
const GAP = 8;
const SIZE_M = 0.22; // panel width in metres
const FONT = '"Inter", "Helvetica Neue", Arial, sans-serif';
const EMOJI_FONT = '"Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji", sans-serif';

export class WristMenu {
  // model() -> {title, sub, sections: [{title, buttons: [{id, label, sub?, size: 'emoji'|'half'|'full', kind?, run}]}]}
  constructor(model) {
    this.model = model;
    this.canvas = document.createElement('canvas');
    this.canvas.width = W;
    this.canvas.height = H;
    this.ctx = this.canvas.getContext('2d');
    this.texture = new THREE.CanvasTexture(this.canvas);
    this.texture.colorSpace = THREE.SRGBColorSpace;
    this.texture.anisotropy = 4;
    const mat = new THREE.MeshBasicMaterial({ map: this.texture, transparent: true, toneMapped: false, side: THREE.DoubleSide });
    this.mesh = new THREE.Mesh(new THREE.PlaneGeometry(SIZE_M, (SIZE_M * H) / W), mat);
    this.mesh.name = 'wrist-menu';
    // Above the back of the left wrist, tilted towards the eyes (grip space: -z forward, +y up).
    this.mesh.position.set(0, 0.085, 0.06);
    this.mesh.rotation.x = -0.75;
    this.mesh.renderOrder = 10;
    this.buttons = []; // [{id, x, y, w, h, run, label}] in canvas pixels
    this.hover = null;
    this.status = { text: '', until: 0 };
    this.sig = '';
    this.pressed = []; // ids pressed (tests)
    this.readAt = -Infinity;
    this.drawnHover = null;
  }

  setStatus(text, ms = 2500) {
    this.status = { text, until: performance.now() + ms };
    this.readAt = -Infinity; // show it now
  }

  // Redraw when what it shows changed (cheap check; a canvas upload is not). The model is
  // read a few times a second, the hover highlight follows the ray at once.
  refresh(now = performance.now()) {
    if (this.hover === this.drawnHover && now - this.readAt < 150) return;
    this.readAt = now;
    this.drawnHover = this.hover;
    const m = this.model();
    const status = now < this.status.until ? this.status.text : '';
    const sig = JSON.stringify([m.title, m.sub, m.sections.map((s) => [s.title, s.buttons.map((b) => [b.id, b.label, b.sub, b.kind])]), status, this.hover]);
    if (sig === this.sig) return;
    this.sig = sig;
    this.draw(m, status);
  }

  draw(m, status) {
    const c = this.ctx;
    c.clearRect(0, 0, W, H);
    roundRect(c, 2, 2, W - 4, H - 4, 28);
    c.fillStyle = 'rgba(250, 247, 241, 0.96)';
    c.fill();
    c.lineWidth = 3;
    c.strokeStyle = '#b8893b';
    c.stroke();
    c.fillStyle = '#8a6424';
    c.font = `700 20px ${FONT}`;
    c.textBaseline = 'top';
    c.fillText('VETRINA', PAD + 4, PAD);
    c.fillStyle = '#1d1b19';
    c.font = `600 26px ${FONT}`;
    c.fillText(clip(c, m.title || '', W - 2 * PAD - 8), PAD + 4, PAD + 26);
    if (m.sub) {
      c.font = `400 18px ${FONT}`;
      c.fillStyle = '#6b645a';
      c.fillText(clip(c, m.sub, W - 2 * PAD - 8), PAD + 4, PAD + 58);
    }
    let y = PAD + 90;
    this.buttons = [];
    const inner = W - 2 * PAD;
    for (const s of m.sections) {
      if (y > H - 90) break;
      c.font = `700 15px ${FONT}`;
      c.fillStyle = '#8a7f70';
      c.fillText(s.title.toUpperCase(), PAD + 4, y);
      y += 24;
      let x = PAD;
      let rowH = 0;
      for (const b of s.buttons) {
        const per = b.size === 'emoji' ? 7 : b.size === 'half' ? 2 : b.size === 'third' ? 3 : 1;
        const w = (inner - GAP * (per - 1)) / per;
        const h = b.size === 'emoji' ? 58 : b.sub ? 66 : 50;
        if (x + w > W - PAD + 0.5) { x = PAD; y += rowH + GAP; rowH = 0; }
        if (y + h > H - 60) break;
        this.drawButton(b, x, y, w, h);
        this.buttons.push({ id: b.id, x, y, w, h, run: b.run, label: b.label });
        x += w + GAP;
        rowH = Math.max(rowH, h);
      }
      y += rowH + 18;
    }
    if (status) {
      c.font = `600 19px ${FONT}`;
      c.fillStyle = '#1d1b19';
      c.textAlign = 'center';
      c.fillText(clip(c, status, W - 2 * PAD), W / 2, H - 44);
      c.textAlign = 'left';
    }
    this.texture.needsUpdate = true;
  }

  drawButton(b, x, y, w, h) {
    const c = this.ctx;
    const hot = this.hover === b.id;
    roundRect(c, x, y, w, h, 14);
    c.fillStyle = b.kind === 'primary' ? (hot ? '#a0741f' : '#b8893b') : b.kind === 'quiet' ? (hot ? '#e4ddd1' : '#efe9df') : (hot ? '#f3e3c2' : '#ffffff');
    c.fill();
    c.lineWidth = hot ? 3 : 1.5;
    c.strokeStyle = hot ? '#8a6424' : '#d9d0c2';
    c.stroke();
    c.fillStyle = b.kind === 'primary' ? '#ffffff' : '#1d1b19';
    c.textAlign = 'center';
    c.textBaseline = 'middle';
    if (b.size === 'emoji') {
      c.font = `32px ${EMOJI_FONT}`;
      c.fillText(b.label, x + w / 2, y + h / 2 + 2);
    } else {
      c.font = `600 ${b.size === 'full' ? 21 : 19}px ${FONT}`;
      c.fillText(clip(c, b.label, w - 20), x + w / 2, y + (b.sub ? h / 2 - 11 : h / 2));
      if (b.sub) {
        c.font = `400 16px ${FONT}`;
        c.fillStyle = b.kind === 'primary' ? '#fdf3df' : '#6b645a';
        c.fillText(clip(c, b.sub, w - 20), x + w / 2, y + h / 2 + 14);
      }
    }
    c.textAlign = 'left';
    c.textBaseline = 'top';
  }

  // uv on the panel (from a raycast) -> the button under it, or null.
  buttonAt(uv) {
    if (!uv) return null;
    const px = uv.x * W;
    const py = (1 - uv.y) * H;
    return this.buttons.find((b) => px >= b.x && px <= b.x + b.w && py >= b.y && py <= b.y + b.h) || null;
  }

  setHover(id) { this.hover = id; }

  async press(id) {
    const b = this.buttons.find((x) => x.id === id);
    if (!b) return false;
    this.pressed.push(id);
    try {
      const r = await b.run();
      return r;
    } catch (err) {
      this.setStatus(String(err?.message || err));
      return false;
    }
  }

  view() {
    return { buttons: this.buttons.map((b) => ({ id: b.id, label: b.label })), hover: this.hover, pressed: [...this.pressed], status: this.status.text };
  }

  dispose() {
    this.texture.dispose();
    this.mesh.material.dispose();
    this.mesh.geometry.dispose();
  }
}

function clip(c, text, max) {
  if (c.measureText(text).width <= max) return text;
  let t = text;
  while (t.length > 1 && c.measureText(`${t}…`).width > max) t = t.slice(0, -1);
  return `${t}…`;
}
