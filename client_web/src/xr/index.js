// VR as a feature: the WebXR client (xr.js) wired to the avatar core (movement, controls,
// camera) and the wrist menu (menu.js), plus its part of the test hook.
import { XRClient } from './xr.js';
import { menuModel } from './menu.js';

export function registerXR({ app, gfx, hud, controls, motion }, parts) {
  const xr = new XRClient({
    renderer: gfx.renderer, scene: gfx.scene, camera: gfx.camera, app, link: app.link,
    pickables: () => app.built?.pickables || [],
    walkTo: (x, z) => motion.walkTo(x, z, { run: true }),
    startYaw: () => controls.camYaw,
    menuModel: () => menuModel({ app, xr, ...parts }),
    buttonHost: document.querySelector('#hud .hud-right'),
    onStart: () => { controls.enabled = false; },
    onStop: () => { controls.enabled = true; gfx.fitCamera(); motion.snapCamera = true; },
    onError: (text) => hud.toast(text, { kind: 'error' }),
  });
  motion.xr = xr;
  xr.init();
  app.features.register({
    name: 'xr',
    // VR: the session as the client sees it; the wrist menu; press a menu button by id.
    facade: {
      get vr() { return xr.view(); },
      enterVR: () => xr.enter(),
      exitVR: () => xr.exit(),
      menuPress: (id) => xr.menu.press(String(id)),
    },
  });
  return xr;
}
