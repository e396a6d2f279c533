// Concerts as a visitor sees them (docs/protocol.md "Concerts"): the current cue is computed
// every frame from the ShowState's cues (each with its server-time `at` and `duration`) and the
// server clock, so every client — late joiners too — plays the same cue at the same moment.
// Its `effects` drive the stage: `lights` tints the stage lights, beams and a glow over the view,
// `bpm` pulses them on the beat, `fog` / `lasers` / `strobe` switch simple effects, `screen` is
// written on the LED wall. A card shows "Now playing", the set-list progress and what is next.
import * as THREE from 'three';
import { el, str } from '../hud/dom.js';
import { beatPulse, concertAt } from './showmath.js';
import { radialTexture } from '../core/textures.js';

const HEX = /^#[0-9a-f]{6}$/i;
const DIM = '#2a2a6e';
const reducedMotion = matchMedia('(prefers-reduced-motion: reduce)');

function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

// A cue's effects, typed (server data is untrusted).
export function normEffects(e) {
  const x = e && typeof e === 'object' ? e : {};
  const bpm = typeof x.bpm === 'number' && Number.isFinite(x.bpm) ? Math.max(0, Math.min(300, x.bpm)) : 0;
  return {
    lights: typeof x.lights === 'string' && HEX.test(x.lights) ? x.lights : DIM,
    bpm,
    fog: x.fog === true,
    lasers: x.lasers === true,
    strobe: x.strobe === true,
    screen: str(x.screen, 80),
  };
}

function glowTexture() {
  const tex = radialTexture([[0, 'rgba(255,255,255,0.9)'], [0.5, 'rgba(255,255,255,0.35)'], [1, 'rgba(255,255,255,0)']]);
  tex.colorSpace = THREE.SRGBColorSpace;
  return tex;
}

export class ConcertShow {
  // link: {now(), offset}
  constructor(link) {
    this.link = link;
    this.state = null;
    this.active = false;
    this.shownKey = null;
    this.held = null; // effects of the last cue that played (kept through a jump's lead-in)
    this.three = null;
    this.color = new THREE.Color(DIM);
    this.texts = {};
    this.build();
  }

  build() {
    // Screen-wide light: a glow from the stage side, fog at the bottom, a strobe flash. Under
    // the HUD (right after the 3D view) and never in the way of the pointer.
    const fx = el('div', 'show-fx');
    fx.id = 'show-fx';
    fx.setAttribute('aria-hidden', 'true');
    this.glow = el('div', 'fx-glow');
    this.fog = el('div', 'fx-fog');
    this.strobe = el('div', 'fx-strobe');
    fx.append(this.glow, this.fog, this.strobe);
    fx.hidden = true;
    const stage = document.getElementById('stage');
    if (stage) stage.after(fx); else document.body.prepend(fx);
    this.fx = fx;

    const root = el('section', 'card show-panel concert-panel');
    root.id = 'concert-panel';
    root.hidden = true;
    root.setAttribute('aria-label', 'Concert');
    const head = el('div', 'show-head');
    const eyebrow = el('span', 'eyebrow');
    this.titleEl = el('span', 'concert-title');
    eyebrow.append(el('span', 'live-dot'), this.titleEl);
    this.clockEl = el('span', 'show-clock');
    head.append(eyebrow, this.clockEl);
    const body = el('div', 'show-body');
    this.labelEl = el('div', 'concert-label');
    this.cueEl = el('div', 'concert-cue');
    this.cueEl.setAttribute('aria-live', 'polite');
    this.metaEl = el('div', 'concert-meta');
    this.bar = el('div', 'concert-bar');
    this.bar.setAttribute('role', 'progressbar');
    this.bar.setAttribute('aria-label', 'Set list progress');
    this.nextEl = el('div', 'concert-next');
    body.append(this.labelEl, this.cueEl, this.metaEl, this.bar, this.nextEl);
    root.append(head, body);
    document.body.append(root);
    this.root = root;
  }

  setText(node, key, text) {
    if (this.texts[key] === text) return;
    this.texts[key] = text;
    node.textContent = text;
  }

  // ---- room & 3D ----------------------------------------------------------------------
  onJoined(ack, built) {
    this.removeThree();
    const room = ack.room || {};
    this.active = room.kind === 'concert';
    document.body.classList.toggle('has-concert', this.active);
    this.state = null;
    this.held = null;
    this.shownKey = null;
    if (!this.active) { this.root.hidden = true; this.fx.hidden = true; return; }
    if (built?.group) this.addThree(room, built);
    this.setState(ack.show);
  }

  setState(s) {
    if (!this.active || !s || typeof s !== 'object' || s.kind !== 'concert') return;
    this.state = s;
    this.shownKey = null; // re-render the card
  }

  addThree(room, built) {
    const stage = (room.scene?.colliders || []).find((c) => c.kind === 'stage');
    if (!stage) return;
    const [lo, hi] = room.scene.bounds || room.bounds;
    const b = { x0: stage.min[0], y0: stage.min[1], z0: stage.min[2], x1: stage.max[0], y1: stage.max[1], z1: stage.max[2] };
    const w = b.x1 - b.x0;
    const cx = (b.x0 + b.x1) / 2;
    const back = Math.abs(b.z0 - lo[2]) < Math.abs(hi[2] - b.z1) ? b.z0 : b.z1; // as scene.js puts the LED wall
    const dir = back === b.z0 ? 1 : -1; // towards the crowd
    const front = back === b.z0 ? b.z1 : b.z0;
    const top = Math.min(hi[1] - 1, b.y1 + 12);
    const group = new THREE.Group();
    group.name = 'concert-fx';
    const additive = (color, opacity) => new THREE.MeshBasicMaterial({
      color, transparent: true, opacity, depthWrite: false, blending: THREE.AdditiveBlending, side: THREE.DoubleSide, toneMapped: false, fog: false,
    });

    // beams from the truss onto the stage
    const beams = [];
    const beamH = top - b.y1;
    const beamGeo = new THREE.ConeGeometry(Math.min(3.2, w / 14), beamH, 20, 1, true);
    beamGeo.translate(0, -beamH / 2, 0); // apex at the pivot
    for (let i = 0; i < 6; i++) {
      const pivot = new THREE.Group();
      pivot.position.set(b.x0 + (w * (i + 0.5)) / 6, top, (back + front) / 2 + dir * 2);
      const cone = new THREE.Mesh(beamGeo, additive('#ffffff', 0.1));
      cone.renderOrder = 6;
      pivot.add(cone);
      group.add(pivot);
      beams.push({ pivot, cone, phase: i * 1.7 });
    }
    // lasers fanning out over the crowd
    const lasers = new THREE.Group();
    const laserLen = Math.abs(hi[2] - lo[2]) * 0.8;
    const laserGeo = new THREE.BoxGeometry(0.14, 0.14, laserLen);
    laserGeo.translate(0, 0, (dir * laserLen) / 2);
    const laserMat = additive('#55ff99', 0.85);
    const rays = [];
    for (let i = 0; i < 8; i++) {
      const ray = new THREE.Mesh(laserGeo, laserMat);
      ray.renderOrder = 7;
      lasers.add(ray);
      rays.push(ray);
    }
    lasers.position.set(cx, b.y1 + 5.5, back + dir * 1.2);
    lasers.visible = false;
    group.add(lasers);
    // fog banks along the stage front
    const fogTex = glowTexture();
    const fogMat = new THREE.MeshBasicMaterial({ map: fogTex, color: '#ffffff', transparent: true, opacity: 0.0, depthWrite: false, toneMapped: false, fog: false });
    const fogs = [];
    for (let i = 0; i < 9; i++) {
      const m = new THREE.Mesh(new THREE.PlaneGeometry(w / 3.2, 5), fogMat);
      m.position.set(b.x0 + (w * (i + 0.5)) / 9, b.y1 + 1.2, front + dir * (1 + (i % 3)));
      if (dir < 0) m.rotation.y = Math.PI;
      m.renderOrder = 5;
      group.add(m);
      fogs.push({ m, x: m.position.x, phase: i * 0.9 });
    }
    // the LED wall's text (in front of scene.js's LED wall)
    const canvas = document.createElement('canvas');
    canvas.width = 1024;
    canvas.height = 128;
    const screenTex = new THREE.CanvasTexture(canvas);
    screenTex.colorSpace = THREE.SRGBColorSpace;
    const screenH = Math.min(6, w * 0.15);
    const screen = new THREE.Mesh(
      new THREE.PlaneGeometry(w * 0.6, (w * 0.6) / 8),
      new THREE.MeshBasicMaterial({ map: screenTex, transparent: true, depthWrite: false, toneMapped: false, fog: false }),
    );
    // in the upper part of the wall, clear of the stage's name sign in front of it
    screen.position.set(cx, b.y1 + 1 + screenH * 0.72, back + dir * 0.56);
    if (dir < 0) screen.rotation.y = Math.PI;
    screen.renderOrder = 4;
    group.add(screen);
    // scene.js's coloured stage lights: we tint them with the cue's colour
    const lights = [];
    built.group.traverse((o) => { if (o.isPointLight) lights.push({ light: o, color: o.color.clone() }); });
    built.group.add(group);
    this.three = { group, beams, lasers, rays, laserMat, fogMat, fogs, fogTex, screen, canvas, screenTex, lights, screenText: null };
  }

  removeThree() {
    if (!this.three) return;
    const t = this.three;
    t.group.parent?.remove(t.group);
    t.group.traverse((o) => { o.geometry?.dispose?.(); o.material?.dispose?.(); });
    t.fogTex.dispose();
    t.screenTex.dispose();
    this.three = null;
  }

  paintScreen(text, color) {
    const t = this.three;
    const key = `${text}|${color}`;
    if (!t || t.screenText === key) return;
    t.screenText = key;
    const ctx = t.canvas.getContext('2d');
    ctx.clearRect(0, 0, 1024, 128);
    if (text) {
      ctx.font = '800 84px "Inter", "Helvetica Neue", "DejaVu Sans", Arial, sans-serif';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.shadowColor = color;
      ctx.shadowBlur = 24;
      ctx.fillStyle = '#ffffff';
      let size = 84;
      while (size > 30 && ctx.measureText(text).width > 980) { size -= 6; ctx.font = `800 ${size}px "Inter", "DejaVu Sans", Arial, sans-serif`; }
      ctx.fillText(text, 512, 68);
    }
    t.screenTex.needsUpdate = true;
  }

  // ---- every frame --------------------------------------------------------------------
  at(serverNow) {
    return this.active && this.state ? concertAt(this.state, serverNow) : null;
  }

  update(serverNow) {
    if (!this.active) return;
    const at = this.at(serverNow);
    const phase = at ? at.phase : 'idle';
    this.root.hidden = phase === 'idle';
    this.root.dataset.phase = phase;
    if (at?.cue) this.held = { cue: at.cue, fx: normEffects(at.cue.effects) };
    const jumping = phase === 'starting' && this.held; // a jump's lead-in: the last cue's look stays on
    const fx = phase === 'playing' ? normEffects(at.cue.effects) : jumping ? this.held.fx : null;
    this.renderCard(at, serverNow, !!jumping);
    this.applyEffects(fx, at, serverNow);
  }

  renderCard(at, serverNow, jumping) {
    if (!at || at.phase === 'idle') return;
    this.setText(this.titleEl, 'title', at.title || 'Live concert');
    const key = `${at.phase}:${at.cue?.id}:${at.cue?.at}:${at.next?.id}:${jumping}`;
    if (key !== this.shownKey) {
      this.shownKey = key;
      if (at.phase === 'playing') {
        this.setText(this.labelEl, 'label', 'Now playing');
        this.setText(this.cueEl, 'cue', str(at.cue.name, 80));
        const fx = normEffects(at.cue.effects);
        const bits = [fx.bpm ? `${Math.round(fx.bpm)} bpm` : 'no beat', fx.fog && 'fog', fx.lasers && 'lasers', fx.strobe && 'strobe'].filter(Boolean);
        this.setText(this.metaEl, 'meta', `${bits.join(' · ')}${fx.screen ? ` — “${fx.screen}”` : ''}`);
        this.root.style.setProperty('--cue', fx.lights);
      } else if (at.phase === 'starting') {
        this.setText(this.labelEl, 'label', jumping ? 'Up next' : 'The show starts soon');
        this.setText(this.cueEl, 'cue', str(at.next?.name, 80));
        this.setText(this.metaEl, 'meta', jumping ? 'The host skipped ahead' : 'Find a good spot in the pit');
        this.root.style.setProperty('--cue', normEffects(at.next?.effects).lights);
      } else {
        this.setText(this.labelEl, 'label', 'That was the show');
        this.setText(this.cueEl, 'cue', 'Thank you for coming!');
        this.setText(this.metaEl, 'meta', at.title || '');
        this.root.style.setProperty('--cue', DIM);
      }
      this.renderBar(at);
    }
    // clock and progress
    let clockText = '';
    let next = '';
    if (at.phase === 'starting') clockText = `in ${clock(at.countdown)}`;
    else if (at.phase === 'playing') {
      clockText = `${clock(at.remaining)} left`;
      if (at.next) next = `Next: ${str(at.next.name, 80)} in ${clock(at.next.at - serverNow)}`;
      else next = `Last song · the set ends in ${clock(at.setEnd - serverNow)}`;
    }
    this.setText(this.clockEl, 'clock', clockText);
    this.setText(this.nextEl, 'next', next);
    this.nextEl.hidden = !next;
    const span = (at.setEnd || 0) - (at.setStart || 0);
    const done = at.phase === 'ended' ? 1 : at.phase === 'playing' && span > 0 ? (serverNow - at.setStart) / span : 0;
    if (this.fill) this.fill.style.width = `${(Math.max(0, Math.min(1, done)) * 100).toFixed(2)}%`;
    this.bar.setAttribute('aria-valuenow', String(Math.round(done * 100)));
  }

  renderBar(at) {
    this.bar.textContent = '';
    const span = (at.setEnd || 0) - (at.setStart || 0);
    const track = el('div', 'concert-track');
    if (span > 0) {
      at.cues.forEach((c, i) => {
        const seg = el('span', `concert-seg${i === at.index ? ' now' : ''}${i < at.index ? ' done' : ''}`);
        seg.style.flexGrow = String(Math.max(1, c.duration));
        seg.style.setProperty('--seg', normEffects(c.effects).lights);
        seg.title = str(c.name, 80);
        track.append(seg);
      });
    }
    this.fill = el('div', 'concert-fill');
    this.bar.append(track, this.fill);
    const count = el('div', 'concert-count');
    const more = at.cues.length - at.index - 1;
    if (at.phase === 'playing') count.textContent = more > 0 ? `${more} more after this` : 'Last one';
    this.bar.append(count);
  }

  applyEffects(fx, at, serverNow) {
    const on = !!fx;
    this.fx.hidden = !on;
    const t3 = this.three;
    if (!on) {
      if (t3) {
        for (const l of t3.lights) l.light.color.copy(l.color); // scene.js's own colours between shows
        this.paintScreen(at?.phase === 'ended' ? 'Thank you!' : at?.phase === 'starting' ? 'Starting soon' : '', '#7a3cff');
        t3.group.visible = !!at && at.phase !== 'idle';
        t3.beams.forEach((bm) => { bm.cone.visible = false; });
        t3.lasers.visible = false;
        t3.fogMat.opacity = 0;
      }
      return;
    }
    const cueAt = at?.cue ? at.cue.at : this.held?.cue.at || 0;
    const calm = reducedMotion.matches;
    const pulse = beatPulse(fx.bpm, serverNow - cueAt) * (calm ? 0.4 : 1);
    this.color.set(fx.lights);
    this.fx.style.setProperty('--fx', fx.lights);
    this.glow.style.opacity = ((0.22 + 0.26 * pulse) * (this.color.getHSL({}).l > 0.85 ? 0.6 : 1)).toFixed(3); // white light: a softer wash
    this.fog.classList.toggle('on', fx.fog);
    const flash = fx.strobe && !calm ? pulse ** 3 * 0.22 : 0;
    this.strobe.style.opacity = flash.toFixed(3);
    if (!t3) return;
    t3.group.visible = true;
    const s = serverNow / 1000;
    for (const { light: l } of t3.lights) {
      l.color.copy(this.color);
      l.intensity = 25 + 45 * pulse + (fx.strobe && !calm ? 60 * pulse ** 3 : 0);
    }
    t3.beams.forEach((bm, i) => {
      bm.cone.visible = true;
      bm.cone.material.color.copy(this.color);
      bm.cone.material.opacity = 0.07 + 0.1 * pulse + (fx.strobe && !calm ? 0.2 * pulse ** 3 : 0);
      const sway = calm ? 0.08 : 0.3;
      bm.pivot.rotation.z = Math.sin(s * 0.7 + bm.phase) * sway;
      bm.pivot.rotation.x = Math.cos(s * 0.5 + bm.phase) * sway * 0.6 + 0.15 * (i % 2 ? 1 : -1);
    });
    t3.lasers.visible = fx.lasers;
    if (fx.lasers) {
      t3.laserMat.color.copy(this.color).lerp(new THREE.Color('#ffffff'), 0.25);
      t3.laserMat.opacity = 0.55 + 0.4 * pulse;
      const sweep = Math.sin(s * (calm ? 0.3 : 1.1)) * 0.5;
      t3.rays.forEach((ray, i) => {
        ray.rotation.y = (i / (t3.rays.length - 1) - 0.5) * 1.5 + sweep * (i % 2 ? 1 : -1) * 0.4;
        ray.rotation.x = -0.09 - 0.04 * Math.sin(s * 0.9 + i);
      });
    }
    t3.fogMat.opacity = fx.fog ? 0.2 + 0.06 * Math.sin(s * 0.6) : 0;
    t3.fogMat.color.copy(this.color).lerp(new THREE.Color('#ffffff'), 0.55);
    for (const f of t3.fogs) f.m.position.x = f.x + Math.sin(s * 0.25 + f.phase) * 2;
    this.paintScreen(fx.screen, fx.lights);
  }

  // ---- views ---------------------------------------------------------------------------
  cueAt(serverNow) {
    const at = this.at(serverNow);
    if (!at?.cue) return null;
    return { id: str(at.cue.id, 64), name: str(at.cue.name, 80), at: at.cue.at, duration: at.cue.duration, index: at.index, effects: normEffects(at.cue.effects) };
  }

  view(serverNow) {
    const at = this.at(serverNow);
    return {
      active: this.active,
      phase: at ? at.phase : null,
      title: at ? at.title : null,
      cue: this.cueAt(serverNow),
      next: at?.next ? { id: str(at.next.id, 64), name: str(at.next.name, 80), at: at.next.at } : null,
      label: this.root.hidden ? '' : this.labelEl.textContent,
      shown: this.root.hidden ? '' : this.cueEl.textContent,
      screen: this.three?.screenText?.split('|')[0] ?? null,
      effectsOn: !this.fx.hidden,
    };
  }
}
