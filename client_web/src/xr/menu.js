// What the wrist menu offers in VR: the flat UI's actions (react, quick chat, claim a drop, add
// the spotlight or a nearby stand's product to the cart, bet on the wheel), read from the same
// features' state and run through the same calls.
import { money } from '../shop/shop.js';
import { BET_SEGMENTS } from '../shows/showmath.js';

const QUICK_CHAT = ['Hello everyone! 👋', 'Love this!', 'Where is this from?', 'See you at the show'];

// parts: {app, xr, social: {chat, reactions}, shop: {shop, drops, spotlight, booths}, shows: {wheel}}
export function menuModel(parts) {
  const { app, xr, social } = parts;
  const status = (ack, done) => {
    xr.menu.setStatus(ack?.ok ? done : ack?.error?.message || 'That did not go through.');
    return !!ack?.ok;
  };
  const sections = [];
  const emoji = social.reactions.emoji.slice(0, 14);
  if (emoji.length) {
    sections.push({ title: 'React', buttons: emoji.map((e) => ({ id: `react:${e}`, label: e, size: 'emoji',
      run: () => { const ok = social.reactions.press(e); xr.menu.setStatus(ok ? `Sent ${e}` : 'Slow down a little'); return ok; } })) });
  }
  sections.push({ title: 'Say to the room', buttons: QUICK_CHAT.map((t, i) => ({ id: `say:${i}`, label: t, size: 'half',
    run: async () => status(await social.chat.send(t, 'room'), 'Sent to the room') })) });
  const { buttons: live, title } = liveButtons(parts, status);
  if (live.length) sections.push({ title, buttons: live });
  sections.push({ title: 'Headset', buttons: [{ id: 'exit', label: 'Exit VR', size: 'full', kind: 'quiet', run: () => { xr.exit(); return true; } }] });
  const n = app.remotes.size;
  return { title: app.room?.name || 'Vetrina', sub: `${n} visitor${n === 1 ? '' : 's'} in view`, sections };
}

function addFirstVariant(shop, productId) {
  const p = shop.byId.get(productId);
  const v = p?.variants.find((x) => x.stock > 0) || p?.variants[0];
  if (!v) return Promise.resolve({ ok: false, error: { message: 'Not available right now.' } });
  return shop.addToCart(productId, v.id, 1);
}

// Live now: drops to claim, the spotlight and nearby products to add, wheel bets.
function liveButtons({ shop: { shop, drops, spotlight, booths }, shows: { wheel } }, status) {
  const live = [];
  for (const o of drops.view().filter((d) => d.status === 'live').slice(0, 2)) {
    live.push({ id: `claim:${o.id}`, label: `Claim · ${o.name}`, sub: `${money(o.price, o.currency)}${o.stock != null ? ` · ${o.stock} left` : ''}`, size: 'full', kind: 'primary',
      run: async () => status(await drops.claim(o.id), 'Claimed — it is in your orders') });
  }
  const sp = spotlight.view();
  if (sp) {
    live.push({ id: `spot:${sp.product.id}`, label: `On stage · ${sp.product.name}`, sub: `${money(sp.product.price, sp.product.currency)} · add to cart`, size: 'full',
      run: async () => status(await addFirstVariant(shop, sp.product.id), 'Added to your cart') });
  }
  const near = booths.view();
  for (const id of near?.products.slice(0, 2) || []) {
    const p = shop.byId.get(id);
    if (!p || live.some((b) => b.id === `spot:${id}`)) continue;
    live.push({ id: `booth:${id}`, label: p.name, sub: `${money(p.price, p.currency)} · ${near.label} · add to cart`, size: 'full',
      run: async () => status(await addFirstVariant(shop, id), 'Added to your cart') });
  }
  const w = wheel.view();
  const betting = w.active && w.phase === 'betting';
  if (betting) {
    for (const seg of BET_SEGMENTS.slice(0, 14)) {
      live.push({ id: `bet:${seg}`, label: seg.replace(/x$/, '×'), size: 'emoji',
        run: async () => status(await wheel.bet(seg, wheel.amount), `Bet ${w.amount} on ${seg}`) });
    }
  }
  return { buttons: live, title: betting ? `Live · wheel: bet ${w.amount}` : 'Live now' };
}
