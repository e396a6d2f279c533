// The frame loop: input and motion, the camera, remote avatars, the room's animation, every
// feature's `frame` hook (shows, booths...), then rendering. Also the render facts of the test hook.
import { adaptResolution } from './graphics.js';

export function startLoop({ app, gfx, motion, xr }) {
  const { quality, scene, camera, labels } = gfx;
  const stats = { fps: 0, drawCalls: 0 };
  let last = performance.now();
  function frame() {
    const now = performance.now();
    const vr = xr.presenting;
    // (an XR frame must always be drawn: a skipped one shows black in the headset)
    if (!vr && quality.maxFps && now - last < 1000 / quality.maxFps - 2) return;
    const dt = Math.min(0.25, (now - last) / 1000); // clamp: a background tab must not teleport us
    last = now;
    stats.fps += ((dt > 0 ? 1 / dt : 0) - stats.fps) * 0.1;
    adaptResolution(gfx, { fps: stats.fps, now, builtAt: app.builtAt || 0, presenting: vr });
    if (vr) xr.beforeMove();
    motion.update(dt, now);
    if (vr) xr.afterMove(now);
    if (app.selfAvatar) {
      app.selfAvatar.group.visible = !vr; // in VR we are the camera; our hands are the controllers
      app.selfAvatar.pose(app.self.x, app.self.y, app.self.z, app.self.yaw, dt);
    }
    const serverNow = app.link.now();
    if (vr) motion.focus.set(app.self.x, app.self.y + 1.5, app.self.z);
    else motion.updateCamera(dt);
    // after the camera: the light crowd path leaves out avatars outside this frame's view
    app.remotes.noCull = vr;
    app.remotes.update(serverNow, dt, app.self);
    app.built?.update(motion.focus, serverNow);
    app.features.each('frame', serverNow, now); // after the room's own animation, before rendering
    gfx.marker.material.opacity = 0.55 + 0.35 * Math.sin(now * 0.006);
    if (gfx.renderer) {
      gfx.renderer.render(scene, camera);
      stats.drawCalls = gfx.renderer.info.render.calls;
    }
    if (!vr) labels.render(scene, camera); // name tags are DOM: not in the headset
  }
  if (gfx.renderer) gfx.renderer.setAnimationLoop(frame);
  else (function loop() { frame(); requestAnimationFrame(loop); })();
  return renderFeature(app, gfx, stats);
}

function renderFeature(app, gfx, stats) {
  const r = app.remotes;
  return {
    name: 'render',
    facade: {
      get fps() { return stats.fps; },
      get quality() { return { tier: gfx.quality.tier, pixelRatio: gfx.pixelRatio }; },
      // Rendering: draw calls of the last frame and how avatars are drawn (full / instanced).
      get render() {
        return { calls: stats.drawCalls || 0, mode: r.mode, lite: r.lite, detailed: r.detailed, instanced: r.instanced, drawnInstanced: r.drawnInstanced || 0, phone: gfx.quality.phone };
      },
      set renderMode(m) { r.mode = ['full', 'instanced'].includes(m) ? m : 'auto'; },
    },
  };
}
