"""Showroom commerce: products, trying variants on (the digital mirror), carts, the host's
spotlight and limited drops. Time is server ms; prices are in the catalog's currency.

A drop (``offer``) is claimed through a ledger outside the room (server/replication/, or Redis
with several nodes), which decides one claim after another, so its stock can never be
oversold and a visitor gets at most one order per drop however many claims race in (a repeated
claim answers with the same order; world/commerce/ledger.py has the rules); the room only
records the decision (``DropSettled``, which is idempotent). Carts and orders are keyed by
avatar id, which a resumed visitor keeps. It is one feature of the room (world/feature.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from world.commerce.catalog import Product
from world.core.scene import RoomConfig
from world.feature import Context, FeatureBase, Reply, Staff
from world.protocol import ErrorCode, error, ok
from world.replication.items import HandoverItem, OfferItem, ProductParams, Spotlight, StockItem

MAX_QTY = 10  # per cart line
MAX_CART_LINES = 50
KEEP_ENDED = 20  # ended drops kept for late claims (which get `closed`) and the conversions


@dataclass(slots=True)
class ProductView:
    ref: int
    avatar: int
    product: str


@dataclass(slots=True)
class ProductTry:
    ref: int
    avatar: int
    product: str
    variant: str


@dataclass(slots=True)
class CartAdd:
    ref: int
    avatar: int
    product: str
    variant: str
    qty: int


@dataclass(slots=True)
class CartGet:
    ref: int
    avatar: int


@dataclass(slots=True)
class DropSettled:
    """A claim decided outside the room (by the cluster's atomic claim, across nodes):
    ``order`` for the avatar, and the drop's stock left after it."""

    ref: int
    avatar: int
    offer: str
    order: str
    stock: int


@dataclass(slots=True)
class CommerceAct:
    """A staff action on the shop: ``spotlight`` or ``offer.start``."""

    ref: int
    staff: Staff
    action: str
    params: dict[str, Any]


CommerceInput = ProductView | ProductTry | CartAdd | CartGet | DropSettled | CommerceAct


@dataclass(slots=True)
class Drop:
    id: str
    product: Product
    price: float
    stock: int
    ends_at: int
    orders: dict[int, str] = field(default_factory=dict)  # avatar -> order id
    ended: bool = False

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "product": self.product.id, "name": self.product.name, "price": self.price,
            "currency": self.product.currency, "stock": self.stock, "ends_at": self.ends_at,
        }
        if self.ended:
            out["ended"] = True
        return out


class Commerce(FeatureBase):
    name = "commerce"

    def __init__(self, config: RoomConfig, ctx: Context) -> None:
        super().__init__()
        self.room = config.id
        self._tag = config.tag  # the node's id tag: drop ids unique across nodes
        self.catalog = config.catalog
        self.ctx = ctx
        self._carts: dict[int, dict[tuple[str, str], int]] = {}
        self._orders: dict[int, list[dict[str, Any]]] = {}
        self.drops: dict[str, Drop] = {}
        self.spotlight: dict[str, Any] | None = None
        self._stock_changed: set[str] = set()
        self._count = 0
        self.inputs = {ProductView: self._joined(self._view), ProductTry: self._joined(self._try),
                       CartAdd: self._joined(self._cart_add), CartGet: self._joined(self._cart_get),
                       DropSettled: self._settled, CommerceAct: self._staff}
        self.replicas = {OfferItem: self._on_offer, StockItem: self._on_stock, Spotlight: self._on_spotlight}

    # ---- what a joining visitor and a watching host get --------------------------------

    def conversions(self) -> list[dict[str, Any]]:
        """Each drop's orders against its stock (the newest ten)."""
        recent = list(self.drops.values())[-10:]
        return [{**o.wire(), "orders": len(o.orders), "initial": len(o.orders) + o.stock} for o in recent]

    def running_drop(self, product: str) -> dict[str, Any] | None:
        for offer in self.drops.values():
            if offer.product.id == product and not offer.ended:
                return offer.wire()
        return None

    def join(self, avatar: int, now: int) -> dict[str, Any]:
        return {"spotlight": self.spotlight, "offers": [o.wire() for o in self.drops.values() if not o.ended]}

    def watch(self, now: int) -> dict[str, Any]:
        return {"spotlight": self.spotlight, "offers": self.conversions()}

    def each_second(self, now: int) -> dict[str, Any]:
        return {"offers": self.conversions()}

    # ---- inputs ------------------------------------------------------------------------

    def _joined(self, handler: Callable[[Any, int], Reply]) -> Callable[[Any, int], Reply]:
        """``handler``, for visitors in the room only (a shopper's input names its avatar)."""
        def visitor_input(item: Any, now: int) -> Reply:
            if self.ctx.name_of(item.avatar) is None:
                return error(ErrorCode.NOT_JOINED, f"you are not in room {self.room!r}")
            return handler(item, now)
        return visitor_input

    def _view(self, item: ProductView, now: int) -> Reply:
        product = self.catalog.product(item.product)
        if product is None:
            return error(ErrorCode.NOT_FOUND, f"no product {item.product[:64]!r} here")
        self.ctx.hooks.shopped("viewed", item.avatar, product.id, now)
        return ok(product=product.model_dump(mode="json"))

    def _cart_get(self, item: CartGet, now: int) -> Reply:
        return ok(cart=self.cart(item.avatar))

    def _variant(self, product_id: str, variant_id: str) -> tuple[Product, Any]:
        product = self.catalog.product(product_id)
        if product is None:
            raise _Refusal(ErrorCode.NOT_FOUND, f"no product {product_id[:64]!r} here")
        variant = next((v for v in product.variants if v.id == variant_id), None)
        if variant is None:
            raise _Refusal(ErrorCode.NOT_FOUND, f"{product.name} has no variant {variant_id[:64]!r}")
        return product, variant

    def _try(self, t: ProductTry, now: int) -> Reply:
        try:
            product, variant = self._variant(t.product, t.variant)
        except _Refusal as r:
            return r.reply
        wear = {"product": product.id, "variant": variant.id, "name": product.name}
        for key in ("color", "size", "hex"):
            if getattr(variant, key) is not None:
                wear[key] = getattr(variant, key)
        if product.tags:
            wear["kind"] = product.tags[0]
        self.ctx.wear(t.avatar, wear)
        self.ctx.hooks.shopped("tried", t.avatar, product.id, now)
        return ok(wear=wear)

    def _cart_add(self, c: CartAdd, now: int) -> Reply:
        try:
            _, variant = self._variant(c.product, c.variant)
        except _Refusal as r:
            return r.reply
        cart = self._carts.setdefault(c.avatar, {})
        key = (c.product, c.variant)
        qty = cart.get(key, 0) + c.qty
        if qty > min(MAX_QTY, variant.stock):
            if variant.stock == 0:
                return error(ErrorCode.SOLD_OUT, "this variant is sold out")
            return error(ErrorCode.BAD_REQUEST, f"at most {min(MAX_QTY, variant.stock)} of this variant per cart")
        if key not in cart and len(cart) >= MAX_CART_LINES:
            return error(ErrorCode.BAD_REQUEST, f"a cart holds at most {MAX_CART_LINES} lines")
        cart[key] = qty
        self.feed.carried.add(c.avatar)
        self.ctx.hooks.shopped("cart", c.avatar, c.product, now)
        return ok(cart=self.cart(c.avatar))

    def cart(self, avatar: int) -> dict[str, Any]:
        items = []
        total = 0.0
        for (product_id, variant_id), qty in self._carts.get(avatar, {}).items():
            product, variant = self._variant(product_id, variant_id)
            line = {"product": product.id, "variant": variant.id, "name": product.name, "qty": qty, "price": product.price}
            for key in ("color", "size"):
                if getattr(variant, key) is not None:
                    line[key] = getattr(variant, key)
            items.append(line)
            total += qty * product.price
        currency = self.catalog.products[0].currency if self.catalog.products else "EUR"
        return {"items": items, "total": round(total, 2), "currency": currency, "orders": list(self._orders.get(avatar, []))}

    def _settled(self, s: DropSettled, now: int) -> Reply:
        """A claim the drop's ledger granted, whether or not the avatar is still here."""
        offer = self.drops.get(s.offer)
        if offer is None:
            return error(ErrorCode.NOT_FOUND, f"no offer {s.offer[:64]!r}")
        if s.avatar not in offer.orders:
            self._record(offer, s.avatar, s.order, s.stock, now)
        return ok(order=offer.orders[s.avatar])

    def _record(self, offer: Drop, avatar: int, order: str, stock: int, now: int) -> None:
        offer.stock = min(offer.stock, stock)
        offer.orders[avatar] = order
        self._stock_changed.add(offer.id)
        mine = self._orders.setdefault(avatar, [])
        if any(o.get("order") == order for o in mine):
            return  # settled again (a restored room, a hand-over): one order is one line
        mine.append(
            {"order": order, "offer": offer.id, "product": offer.product.id, "name": offer.product.name,
             "price": offer.price, "currency": offer.product.currency, "t": now}
        )
        self.feed.carried.add(avatar)
        self.ctx.hooks.shopped("claimed", avatar, offer.product.id, now)

    # ---- what visitors carry between nodes ---------------------------------------------

    def _rows(self, avatars: set[int] | None) -> list[list[Any]]:
        chosen = set(self._carts) | set(self._orders) if avatars is None else avatars
        return [[a, [[p, v, q] for (p, v), q in self._carts.get(a, {}).items()], self._orders.get(a, [])]
                for a in sorted(chosen)]

    def export(self, avatars: set[int] | None) -> dict[str, Any]:
        """Every avatar's cart and orders (or those of ``avatars``), for a node that hands its
        visitors over (drain)."""
        return {"carts": self._rows(avatars)}

    def export_each(self, avatars: set[int]) -> dict[int, dict[str, Any]]:
        """Each of ``avatars``' cart and orders, kept where another node can find them (``carry``)."""
        return {row[0]: {"carts": [row]} for row in self._rows(avatars)}

    def adopt(self, item: HandoverItem) -> set[int]:
        """Carts and orders of visitors handed over by a draining node (they resume here)."""
        for avatar, lines, orders in item.carts:
            cart = self._carts.setdefault(avatar, {})
            for product, variant, qty in lines:
                cart[(product, variant)] = max(cart.get((product, variant), 0), qty)
            mine = self._orders.setdefault(avatar, [])
            known = {o.get("order") for o in mine}
            mine += [o.model_dump(by_alias=True, exclude_unset=True) for o in orders if o.order not in known]
            for o in orders:  # a claim again answers with this order
                offer = self.drops.get(o.offer)
                if offer is not None:
                    offer.orders.setdefault(avatar, o.order)
        return {row[0] for row in item.carts}

    # ---- items from this room's shards on other nodes ------------------------------------

    def _on_spotlight(self, item: Spotlight, history: bool, now: int) -> None:
        product = self.catalog.product(item.params.product)
        if product is not None:
            self.spotlight = {"product": product.model_dump(mode="json"), "t": item.t, "by": item.by}
            self.feed.send(None, "spotlight", self.spotlight)

    def _on_stock(self, item: StockItem, history: bool, now: int) -> None:
        offer = self.drops.get(item.offer)
        if offer is not None and item.stock < offer.stock:
            offer.stock = max(0, item.stock)  # stock only goes down: late updates change nothing
            self._stock_changed.add(offer.id)

    def _on_offer(self, item: OfferItem, history: bool, now: int) -> None:
        product = self.catalog.product(item.product)
        if product is None or item.id in self.drops:
            return
        offer = Drop(item.id, product, float(item.price), item.stock, item.ends_at)
        self.drops[offer.id] = offer
        self.feed.send(None, "offer", offer.wire())
        self.feed.tell_staff("offer", {"room": self.room, **offer.wire(), "orders": 0})

    # ---- staff -------------------------------------------------------------------------

    def _staff(self, act: CommerceAct, now: int) -> Reply:
        product = self.catalog.product(act.params["product"])
        if product is None:
            return error(ErrorCode.NOT_FOUND, f"no product {act.params['product'][:64]!r} in this room's catalog")
        entry: dict[str, Any] = {"t": now, "by": act.staff.name, "role": act.staff.role, "action": act.action,
                                 "room": self.room, "id": product.id, "name": product.name}
        if act.action == "spotlight":
            self.spotlight = {"product": product.model_dump(mode="json"), "t": now, "by": act.staff.name}
            self.feed.send(None, "spotlight", self.spotlight)
            self.feed.share(Spotlight(action="spotlight", t=now, by=act.staff.name, params=ProductParams(product=product.id)))
            self.feed.log(self.ctx, entry)
            return ok()
        self._count += 1
        offer = Drop(f"d{self._tag}{now:x}-{self._count}", product, float(act.params["price"]), int(act.params["stock"]),
                      now + int(float(act.params["seconds"]) * 1000))
        self.drops[offer.id] = offer
        for stale in [o.id for o in self.drops.values() if o.ended][:-KEEP_ENDED]:
            del self.drops[stale]  # bounded: old drops go (their orders stay in the carts)
        self.feed.share(OfferItem.model_validate({**offer.wire(), "initial": offer.stock}))
        self.feed.send(None, "offer", offer.wire())
        self.feed.tell_staff("offer", {"room": self.room, **offer.wire(), "orders": 0})
        self.feed.log(self.ctx, {**entry, "text": f"{offer.stock} at {offer.price:.2f} for {act.params['seconds']} s"})
        return ok(offer=offer.id)

    # ---- once per tick -----------------------------------------------------------------

    def finish(self, now: int) -> None:
        """Stock updates (at most one per offer per tick) and offers that just ended."""
        for offer in self.drops.values():
            if offer.ended:
                continue
            if offer.stock <= 0 or now >= offer.ends_at:
                offer.ended = True
                self._stock_changed.add(offer.id)
        for offer_id in sorted(self._stock_changed):
            offer = self.drops[offer_id]
            self.feed.send(None, "offer", offer.wire())
            self.feed.tell_staff("offer", {"room": self.room, **offer.wire(), "orders": len(offer.orders)})
        self._stock_changed.clear()


class _Refusal(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        self.reply = error(code, message)
