// Client-side movement prediction against the room's axis-aligned colliders and bounds,
// mirroring what the server polices, so legal-looking moves are never corrected.
// Pure functions: plain objects in, plain objects out.

// Build the collision world from RoomInfo. Boxes are inflated by the avatar radius so the
// avatar is a point afterwards; the radius also keeps us clear of the server's own checks.
export function makeWorld(roomInfo, radius = 0.35) {
  const scene = roomInfo.scene || {};
  const [lo, hi] = roomInfo.bounds || scene.bounds || [[-50, 0, -50], [50, 10, 50]];
  const boxes = (scene.colliders || []).map((c) => ({
    id: c.id,
    minx: c.min[0] - radius, maxx: c.max[0] + radius,
    miny: c.min[1], maxy: c.max[1],
    minz: c.min[2] - radius, maxz: c.max[2] + radius,
  }));
  // Raw boxes (not inflated) for line-of-sight tests such as keeping the camera inside.
  const solids = (scene.colliders || []).map((c) => ({ min: c.min, max: c.max }));
  return {
    radius,
    solids,
    minx: lo[0] + radius, maxx: hi[0] - radius,
    minz: lo[2] + radius, maxz: hi[2] - radius,
    boxes,
  };
}

function inside(b, x, y, z) {
  return x > b.minx && x < b.maxx && z > b.minz && z < b.maxz && y >= b.miny - 0.01 && y <= b.maxy;
}

const EPS = 1e-3;
const MAX_STEP = 0.2; // sub-step so a slow frame cannot tunnel through a 0.4 m wall

// Move (x,y,z) by (dx,dz), one axis at a time: a blocked axis is clamped to the box face and
// the other axis still moves, which is what makes the avatar slide along walls.
export function stepMove(world, pos, dx, dz) {
  let { x, y, z } = pos;
  const steps = Math.max(1, Math.ceil(Math.hypot(dx, dz) / MAX_STEP));
  const sx = dx / steps;
  const sz = dz / steps;
  for (let i = 0; i < steps; i++) {
    x = moveAxis(world, x, y, z, sx, 'x');
    z = moveAxis(world, x, y, z, sz, 'z');
  }
  return { x, y, z };
}

function moveAxis(world, x, y, z, d, axis) {
  if (d === 0) return axis === 'x' ? x : z;
  const from = axis === 'x' ? x : z;
  let to = from + d;
  for (const b of world.boxes) {
    const nx = axis === 'x' ? to : x;
    const nz = axis === 'z' ? to : z;
    if (!inside(b, nx, y, nz)) continue;
    // Already overlapping this box (spawned or corrected against it): let us walk out.
    if (inside(b, x, y, z)) continue;
    const lo = axis === 'x' ? b.minx : b.minz;
    const hi = axis === 'x' ? b.maxx : b.maxz;
    to = d > 0 ? Math.min(to, lo - EPS) : Math.max(to, hi + EPS);
  }
  const lo = axis === 'x' ? world.minx : world.minz;
  const hi = axis === 'x' ? world.maxx : world.maxz;
  // Bounds clamp, but never push a position that is already outside further out.
  if (to < lo) to = from < lo ? Math.max(from, to) : lo;
  if (to > hi) to = from > hi ? Math.min(from, to) : hi;
  return to;
}

// True if the point is walkable (inside bounds, outside every inflated collider).
export function isFree(world, x, y, z) {
  if (x < world.minx || x > world.maxx || z < world.minz || z > world.maxz) return false;
  return !world.boxes.some((b) => inside(b, x, y, z));
}

// First fraction t in [0,1] at which the segment a->b enters a solid box (1 if none): the
// follow camera uses it to stay on the visitor's side of a wall instead of behind it.
export function segmentHit(world, a, b) {
  let best = 1;
  const d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
  for (const box of world.solids) {
    let t0 = 0;
    let t1 = best;
    let ok = true;
    for (let k = 0; k < 3 && ok; k++) {
      if (Math.abs(d[k]) < 1e-9) {
        if (a[k] < box.min[k] || a[k] > box.max[k]) ok = false;
        continue;
      }
      let ta = (box.min[k] - a[k]) / d[k];
      let tb = (box.max[k] - a[k]) / d[k];
      if (ta > tb) [ta, tb] = [tb, ta];
      t0 = Math.max(t0, ta);
      t1 = Math.min(t1, tb);
      if (t0 > t1) ok = false;
    }
    if (ok && t0 > 0 && t0 < best) best = t0; // t0 === 0: we start inside; ignore that box
  }
  return best;
}
