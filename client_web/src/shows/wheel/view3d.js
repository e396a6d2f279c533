// The money wheel on the studio's stage in 3D: the whole wheel as a textured disc with a
// pointer at 12 o'clock, turned to the show's angle every frame. Only three.js, no DOM panel,
// no network.
import * as THREE from 'three';
import { drawWheelArt } from './art.js';

export class WheelStage {
  constructor() {
    this.three = null; // {group, disc, tex}
    this.room = null;
    this.built = null;
  }

  // room: RoomInfo; built: the room's three.js objects (core/scene.js) or null without WebGL.
  setRoom(room, built, segments) {
    this.remove();
    this.room = room;
    this.built = built;
    if (built?.group) this.add(segments);
  }

  add(segments) {
    const stage = (this.room.scene?.colliders || []).find((c) => c.kind === 'stage');
    if (!stage) return;
    const [x0, y0, , x1, y1] = [...stage.min, ...stage.max];
    const z1 = stage.max[2];
    const h = y1 - y0;
    const radius = Math.min(x1 - x0, h) * 0.45;
    // scene.js dresses the stage with a decorative wheel: ours (the real one) replaces it.
    const old = this.built.group.getObjectByName('stage-wheel');
    if (old) old.visible = false;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 1024;
    drawWheelArt(canvas.getContext('2d'), 512, 512, 508, segments, { font: 0.07 });
    const tex = new THREE.CanvasTexture(canvas);
    tex.colorSpace = THREE.SRGBColorSpace;
    const group = new THREE.Group();
    group.name = 'show-wheel';
    group.position.set((x0 + x1) / 2, (y0 + y1) / 2 + h * 0.05, z1 + 0.07);
    const disc = new THREE.Mesh(new THREE.CircleGeometry(radius, 96), new THREE.MeshBasicMaterial({ map: tex, toneMapped: false }));
    const pointer = new THREE.Mesh(
      new THREE.ConeGeometry(radius * 0.07, radius * 0.16, 3),
      new THREE.MeshBasicMaterial({ color: '#fff4d6', toneMapped: false }),
    );
    pointer.rotation.z = Math.PI; // tip down, at 12 o'clock
    pointer.position.set(0, radius * 1.02, 0.05);
    group.add(disc, pointer);
    this.built.group.add(group);
    this.three = { group, disc, tex };
  }

  // New segments from the server: the face is drawn again.
  repaint(segments) {
    if (!this.three) return;
    this.remove();
    this.add(segments);
  }

  remove() {
    if (!this.three) return;
    this.three.group.parent?.remove(this.three.group);
    this.three.tex.dispose();
    this.three.group.traverse((o) => { o.geometry?.dispose?.(); o.material?.dispose?.(); });
    this.three = null;
  }

  setAngle(angle) {
    if (this.three) this.three.disc.rotation.z = -angle;
  }
}
