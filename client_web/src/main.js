// Vetrina web client: the composition root. It makes the 3D view and the state store, then
// registers the features in order (the avatar core first: later features read the room it
// builds on join), builds the test hook from what they registered, and starts the visit.
// Server events reach features only through the router (shared/features.js), fed by core/net.js.
import * as hud from './hud/hud.js';
import { Panels } from './hud/panels.js';
import { watchLayout, viewKeys } from './hud/layout.js';
import { createApp } from './core/app.js';
import { createGraphics } from './core/graphics.js';
import { Controls } from './core/controls.js';
import { Motion } from './core/movement.js';
import { registerWorld, reactionAnchor } from './core/world.js';
import { Session } from './core/session.js';
import { startLoop } from './core/loop.js';
import { registerSocial } from './social/index.js';
import { registerShop } from './shop/index.js';
import { registerShows } from './shows/index.js';
import { registerXR } from './xr/index.js';

const stageEl = document.getElementById('stage');
const gfx = createGraphics(stageEl, { onNoWebGL: (text) => hud.showFatal(text) });
const app = createApp();
const { features } = app;
let motion = null;
const controls = new Controls(gfx.surface, document.getElementById('joystick'), {
  onTap: (x, y) => motion.walkToPointer(x, y),
});
motion = new Motion({ app, gfx, controls, hud });
const panels = new Panels();
const session = new Session({ app, hud });
const ctx = { app, gfx, hud, controls, motion, panels, session };

// ---- features, in the order they hear a join
registerWorld(ctx);
features.register(motion.feature());
const social = registerSocial({ ...ctx, anchorFor: reactionAnchor(app, gfx.camera) });
const shop = registerShop(ctx);
const shows = registerShows({ ...ctx, shop });
features.register({ name: 'panels', facade: { openPanel: (name, open = true) => panels.set(name, open) } });
watchLayout();
viewKeys(stageEl, { joined: () => app.net?.state === 'joined', panels });
const xr = registerXR(ctx, { social, shop, shows });
features.register(startLoop({ ...ctx, xr }));

// ---- testing/debug hook: what every feature registered, plus devtools poking (not an API)
window.vetrina = features.facade({
  get events() { return features.events; },
  _debug: { app, controls, camera: gfx.camera, scene: gfx.scene, labels: gfx.labels, xr, get renderer() { return gfx.renderer; } },
});

session.boot();
