// Live shopping in the visitor client (docs/protocol.md "Showroom commerce"): the shop and cart
// panels, the stand cards (booths), limited drops (`offer`) and the host's spotlight, each a
// feature; what our avatar wears (try-on) survives a reload of the page.
import { Shop } from './shop.js';
import { Booths } from './booth.js';
import { Drops, Spotlight } from './offer.js';
import { $ } from '../shared/dom.js';

const WEAR_KEY = 'vetrina.wear'; // {id, wear}: what our avatar wears (the server keeps it on resume)
const BOOTH_CHECK_MS = 150;

export function registerShop({ app, panels }) {
  const { features, link, store } = app;
  // Our own avatar shows what we try on (others see it through their ticks).
  const wearOnSelf = (wear) => app.selfAvatar?.setLook({ ...app.look, wear });
  const shop = new Shop(link, {
    openPanel: (name, open) => panels.set(name, open),
    isOpen: (name) => panels.isOpen(name),
    onWear: (wear) => {
      wearOnSelf(wear);
      store?.setItem(WEAR_KEY, JSON.stringify({ id: link.selfId, wear }));
    },
    onCart: (cart) => drops.markOrders(cart.orders),
  });
  const view = (id) => shop.view(id);
  const product = (id) => shop.byId.get(id) || null;
  const booths = new Booths({ onView: view });
  const drops = new Drops(link, { product, view, onOrder: () => shop.refreshCart() }); // the drop's card shows the order; the cart lists it
  const spotlight = new Spotlight(link, { view });
  panels.add('shop', { root: $('shop'), toggle: $('shop-tab'), side: 'right', onChange: (open) => booths.setSuppressed(open) });
  panels.add('cart', { root: $('cart'), toggle: $('cart-tab'), side: 'right', onChange: (open) => { if (open && !shop.cartKnown) shop.refreshCart(); } });

  features.register(shopFeature(app, shop, booths, wearOnSelf));
  features.register({
    name: 'drops',
    events: { offer: (msg) => drops.onOffer(msg) },
    join: (ack) => drops.onJoined(ack),
    facade: { get offers() { return drops.view(); }, claim: (id) => drops.claim(String(id)) },
  });
  features.register({
    name: 'spotlight',
    events: { spotlight: (msg) => spotlight.set(msg, { live: true }) },
    join: (ack) => spotlight.onJoined(ack),
    facade: { get spotlight() { return spotlight.view(); } },
  });
  return { shop, booths, drops, spotlight, product, view };
}

// What we wore before a reload: the server kept it on our (resumed) avatar.
function restoreWear(app, shop, wearOnSelf, you) {
  try {
    const saved = JSON.parse(app.store?.getItem(WEAR_KEY) || 'null');
    if (saved && saved.wear && saved.id === you?.id) {
      shop.wear = saved.wear;
      shop.wearOwner = saved.id;
      wearOnSelf(saved.wear);
    } else if (saved && saved.id !== you?.id) {
      app.store?.removeItem(WEAR_KEY); // a new avatar: it wears nothing
      wearOnSelf(null);
    }
  } catch { /* nothing saved */ }
}

function shopFeature(app, shop, booths, wearOnSelf) {
  let boothCheck = 0;
  return {
    name: 'shop',
    join: (ack) => {
      restoreWear(app, shop, wearOnSelf, ack.you);
      shop.onJoined(ack);
      booths.setRoom(ack.room, shop.catalog);
    },
    frame: (serverNow, now) => {
      if (now - boothCheck <= BOOTH_CHECK_MS) return;
      boothCheck = now;
      booths.update(app.self.x, app.self.z);
    },
    facade: {
      get catalog() { return shop.catalog.map((p) => ({ id: p.id, name: p.name, price: p.price, currency: p.currency, booth: p.booth })); },
      get product() { return shop.productView(); },
      get cart() { return shop.cartView(); },
      get boothNear() { return booths.view(); },
      viewProduct: (id) => shop.view(String(id)),
      tryOn: (product, variant) => shop.tryOn(String(product), String(variant)),
      addToCart: (product, variant, qty = 1) => shop.addToCart(String(product), String(variant), qty),
      boothFront: (id) => booths.frontOf(String(id)),
    },
  };
}
