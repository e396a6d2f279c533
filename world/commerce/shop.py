"""Showroom commerce: products, trying variants on (the digital mirror), carts, the host's
spotlight and limited drops. Time is server ms; prices are in the catalog's currency.

A drop (``offer``) is claimed through a ledger outside the room (server/shards.py, or Redis
with several nodes), which decides one claim after another, so its stock can never be
oversold and a visitor gets at most one order per drop however many claims race in (a repeated
claim answers with the same order); the room records the decision (``OfferSettled``, which is
idempotent). ``OfferClaim`` decides in the tick instead, with the same rules, for a room on
its own (tests). Carts and orders are keyed by avatar id, which a resumed visitor keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from world.commerce.catalog import Catalog, Product
from world.replication.mirror import Mirror, Shared
from world.protocol import ErrorCode, error, ok
from world.social.layer import Event, Staff

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
class OfferClaim:
    ref: int
    avatar: int
    offer: str


@dataclass(slots=True)
class OfferSettled:
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


CommerceInput = ProductView | ProductTry | CartAdd | CartGet | OfferClaim | OfferSettled | CommerceAct


class Shoppers(Protocol):
    """What commerce needs to know about (and do to) the room's avatars."""

    def name_of(self, avatar: int) -> str | None: ...

    def wear(self, avatar: int, wear: dict[str, Any]) -> None: ...

    def shopped(self, stage: str, avatar: int, product: str) -> None:
        """A step of the funnel: viewed, tried, cart, claimed."""
        ...


@dataclass(slots=True)
class Offer:
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


class Commerce:
    def __init__(self, room: str, catalog: Catalog, shoppers: Shoppers, *, tag: str = "") -> None:
        self.room = room
        self._tag = tag  # the node's shard tag: drop ids unique across nodes
        self.catalog = catalog
        self.shoppers = shoppers
        self._carts: dict[int, dict[tuple[str, str], int]] = {}
        self._orders: dict[int, list[dict[str, Any]]] = {}
        self.offers: dict[str, Offer] = {}
        self.spotlight: dict[str, Any] | None = None
        self._stock_changed: set[str] = set()
        self._count = 0
        self.events: list[Event] = []
        self.staff: list[tuple[str, dict[str, Any]]] = []
        self.shared: list[Shared] = []  # for this room's shards on other nodes (world/mirror.py)
        self.carried: set[int] = set()  # avatars whose cart or orders changed this tick

    # ---- what a joining visitor gets ---------------------------------------------------

    def conversions(self) -> list[dict[str, Any]]:
        """Each drop's orders against its stock (the newest ten)."""
        recent = list(self.offers.values())[-10:]
        return [{**o.wire(), "orders": len(o.orders), "initial": len(o.orders) + o.stock} for o in recent]

    def running_offer(self, product: str) -> dict[str, Any] | None:
        for offer in self.offers.values():
            if offer.product.id == product and not offer.ended:
                return offer.wire()
        return None

    def join_extras(self) -> dict[str, Any]:
        return {"spotlight": self.spotlight, "offers": [o.wire() for o in self.offers.values() if not o.ended]}

    # ---- inputs ------------------------------------------------------------------------

    def apply(self, item: CommerceInput, now: int) -> tuple[int, dict[str, Any]]:
        if isinstance(item, CommerceAct):
            return item.ref, self._staff(item, now)
        if isinstance(item, OfferSettled):  # granted already, whether or not the avatar is still here
            return item.ref, self._settled(item, now)
        if self.shoppers.name_of(item.avatar) is None:
            return item.ref, error(ErrorCode.NOT_JOINED, f"you are not in room {self.room!r}")
        if isinstance(item, ProductView):
            product = self.catalog.product(item.product)
            if product is None:
                return item.ref, error(ErrorCode.NOT_FOUND, f"no product {item.product[:64]!r} here")
            self.shoppers.shopped("viewed", item.avatar, product.id)
            return item.ref, ok(product=product.model_dump(mode="json"))
        if isinstance(item, ProductTry):
            return item.ref, self._try(item)
        if isinstance(item, CartAdd):
            return item.ref, self._cart_add(item)
        if isinstance(item, CartGet):
            return item.ref, ok(cart=self.cart(item.avatar))
        return item.ref, self._claim(item, now)

    def _variant(self, product_id: str, variant_id: str) -> tuple[Product, Any]:
        product = self.catalog.product(product_id)
        if product is None:
            raise _Refusal(ErrorCode.NOT_FOUND, f"no product {product_id[:64]!r} here")
        variant = next((v for v in product.variants if v.id == variant_id), None)
        if variant is None:
            raise _Refusal(ErrorCode.NOT_FOUND, f"{product.name} has no variant {variant_id[:64]!r}")
        return product, variant

    def _try(self, t: ProductTry) -> dict[str, Any]:
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
        self.shoppers.wear(t.avatar, wear)
        self.shoppers.shopped("tried", t.avatar, product.id)
        return ok(wear=wear)

    def _cart_add(self, c: CartAdd) -> dict[str, Any]:
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
        self.carried.add(c.avatar)
        self.shoppers.shopped("cart", c.avatar, c.product)
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

    def _claim(self, c: OfferClaim, now: int) -> dict[str, Any]:
        offer = self.offers.get(c.offer)
        if offer is None:
            return error(ErrorCode.NOT_FOUND, f"no offer {c.offer[:64]!r}")
        mine = offer.orders.get(c.avatar)
        if mine is not None:  # at most one per visitor: a repeated claim gets the same order
            return ok(order=mine)
        if offer.stock <= 0:  # sold out, whether or not the drop has been closed since
            return error(ErrorCode.SOLD_OUT, "sold out")
        if offer.ended or now >= offer.ends_at:
            return error(ErrorCode.CLOSED, "this offer has ended")
        self._count += 1
        self._record(offer, c.avatar, f"o{self._tag}{now:x}-{self._count}", offer.stock - 1, now)
        return ok(order=offer.orders[c.avatar])

    def _settled(self, s: OfferSettled, now: int) -> dict[str, Any]:
        offer = self.offers.get(s.offer)
        if offer is None:
            return error(ErrorCode.NOT_FOUND, f"no offer {s.offer[:64]!r}")
        if s.avatar not in offer.orders:
            self._record(offer, s.avatar, s.order, s.stock, now)
        return ok(order=offer.orders[s.avatar])

    def _record(self, offer: Offer, avatar: int, order: str, stock: int, now: int) -> None:
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
        self.carried.add(avatar)
        self.shoppers.shopped("claimed", avatar, offer.product.id)

    def export(self, avatars: set[int] | None = None) -> list[list[Any]]:
        """Every avatar's cart and orders (or those of ``avatars``), for a node that hands its
        visitors over (drain) or keeps them where another node can find them (``carry``)."""
        chosen = set(self._carts) | set(self._orders) if avatars is None else avatars
        return [[a, [[p, v, q] for (p, v), q in self._carts.get(a, {}).items()], self._orders.get(a, [])]
                for a in sorted(chosen)]

    def adopt(self, carts: list[list[Any]]) -> None:
        """Carts and orders of visitors handed over by a draining node (they resume here)."""
        for avatar, lines, orders in carts:
            cart = self._carts.setdefault(int(avatar), {})
            for product, variant, qty in lines:
                cart[(str(product), str(variant))] = max(cart.get((str(product), str(variant)), 0), int(qty))
            mine = self._orders.setdefault(int(avatar), [])
            known = {o.get("order") for o in mine}
            mine += [dict(o) for o in orders if o.get("order") not in known]
            for o in orders:  # a claim again answers with this order
                offer = self.offers.get(str(o.get("offer")))
                if offer is not None:
                    offer.orders.setdefault(int(avatar), str(o["order"]))

    def mirror(self, m: Mirror, now: int) -> None:
        """Drops started, stock claimed and spotlights, in this room's shards on other nodes."""
        p = m.payload
        if m.kind == "stage":
            product = self.catalog.product(str(p.get("params", {}).get("product")))
            if product is not None:
                self.spotlight = {"product": product.model_dump(mode="json"), "t": int(p["t"]), "by": str(p.get("by", ""))}
                self.events.append(Event(None, "spotlight", self.spotlight))
            return
        if m.kind == "stock":
            offer = self.offers.get(str(p.get("offer")))
            stock = p.get("stock")
            if offer is not None and isinstance(stock, int) and stock < offer.stock:
                offer.stock = max(0, stock)  # stock only goes down: late updates change nothing
                self._stock_changed.add(offer.id)
            return
        product = self.catalog.product(str(p.get("product")))
        if product is None or str(p.get("id")) in self.offers:
            return
        offer = Offer(str(p["id"]), product, float(p["price"]), int(p["stock"]), int(p["ends_at"]))
        self.offers[offer.id] = offer
        self.events.append(Event(None, "offer", offer.wire()))
        self.staff.append(("offer", {"room": self.room, **offer.wire(), "orders": 0}))

    # ---- staff -------------------------------------------------------------------------

    def _staff(self, act: CommerceAct, now: int) -> dict[str, Any]:
        product = self.catalog.product(act.params["product"])
        if product is None:
            return error(ErrorCode.NOT_FOUND, f"no product {act.params['product'][:64]!r} in this room's catalog")
        entry: dict[str, Any] = {"t": now, "by": act.staff.name, "role": act.staff.role, "action": act.action,
                                 "room": self.room, "id": product.id, "name": product.name}
        if act.action == "spotlight":
            self.spotlight = {"product": product.model_dump(mode="json"), "t": now, "by": act.staff.name}
            self.events.append(Event(None, "spotlight", self.spotlight))
            self.shared.append(("stage", {"action": "spotlight", "t": now, "by": act.staff.name,
                                          "params": {"product": product.id}}))
            self.staff.append(("modlog", entry))
            return ok()
        self._count += 1
        offer = Offer(f"d{self._tag}{now:x}-{self._count}", product, float(act.params["price"]), int(act.params["stock"]),
                      now + int(float(act.params["seconds"]) * 1000))
        self.offers[offer.id] = offer
        for stale in [o.id for o in self.offers.values() if o.ended][:-KEEP_ENDED]:
            del self.offers[stale]  # bounded: old drops go (their orders stay in the carts)
        self.shared.append(("offer", {**offer.wire(), "initial": offer.stock}))
        self.events.append(Event(None, "offer", offer.wire()))
        self.staff.append(("offer", {"room": self.room, **offer.wire(), "orders": 0}))
        self.staff.append(("modlog", {**entry, "text": f"{offer.stock} at {offer.price:.2f} for {act.params['seconds']} s"}))
        return ok(offer=offer.id)

    # ---- once per tick -----------------------------------------------------------------

    def finish(self, now: int) -> None:
        """Stock updates (at most one per offer per tick) and offers that just ended."""
        for offer in self.offers.values():
            if offer.ended:
                continue
            if offer.stock <= 0 or now >= offer.ends_at:
                offer.ended = True
                self._stock_changed.add(offer.id)
        for offer_id in sorted(self._stock_changed):
            offer = self.offers[offer_id]
            self.events.append(Event(None, "offer", offer.wire()))
            self.staff.append(("offer", {"room": self.room, **offer.wire(), "orders": len(offer.orders)}))
        self._stock_changed.clear()


class _Refusal(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        self.reply = error(code, message)
