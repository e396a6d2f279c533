"""Commerce events: products, try-on, the cart, limited drops."""

from __future__ import annotations


from server.handlers import Reply
from server.replication.ledger import LedgerUnavailable
from server.runner import RoomRunner, now_ms
from server.visitor import Events, Gateway
from server.visitor.session import VisitorSession
from server.visitors import Visitor
from world.commerce.shop import CartAdd, CartGet, DropSettled, ProductTry, ProductView
from world.protocol import (
    CartAddRequest,
    ClaimRequest,
    EmptyRequest,
    ErrorCode,
    ProductRequest,
    TryRequest,
    WireError,
)



def shopper(gw: Gateway, sid: str) -> tuple[VisitorSession, RoomRunner]:
    """The visitor and room for a shop or game request, within the visitor's allowance
    (a try-on re-announces the avatar to everyone near it: not something to flood)."""
    s, runner = gw.in_room(sid)
    s.allow("shop", "shop and game requests")
    return s, runner


async def product_view(gw: Gateway, sid: str, req: ProductRequest) -> Reply:
    s, runner = shopper(gw, sid)
    avatar = s.visitor.id
    return await s.request(runner, lambda ref: ProductView(ref, avatar, req.product))


async def product_try(gw: Gateway, sid: str, req: TryRequest) -> Reply:
    s, runner = shopper(gw, sid)
    v = s.visitor
    reply = await s.request(runner, lambda ref: ProductTry(ref, v.id, req.product, req.variant))
    if reply.get("ok"):  # the look a resumed or rejoining visitor comes back with
        v.look = {**v.look, "wear": reply["wear"]}
        gw.remember(v)
    return reply


async def cart_add(gw: Gateway, sid: str, req: CartAddRequest) -> Reply:
    s, runner = shopper(gw, sid)
    avatar = s.visitor.id
    return await s.request(runner, lambda ref: CartAdd(ref, avatar, req.product, req.variant, req.qty))


async def cart_get(gw: Gateway, sid: str, req: EmptyRequest) -> Reply:
    s, runner = shopper(gw, sid)
    avatar = s.visitor.id
    return await s.request(runner, lambda ref: CartGet(ref, avatar))


async def offer_claim(gw: Gateway, sid: str, req: ClaimRequest) -> Reply:
    s, runner = shopper(gw, sid)
    with s.waiting():  # taken before the ledger decides: a granted order is always settled
        return await _claim(gw, s.visitor, runner, req)


async def _claim(gw: Gateway, v: Visitor, runner: RoomRunner, req: ClaimRequest) -> Reply:
    shards = gw.directory.audience(runner.room_id)
    assert shards is not None
    # One decision by the room's drop ledger (this process, or Redis with several nodes; the
    # new stock is shared by it), then the shard records it: the order is decided outside the
    # room worker, so it survives the worker.
    try:
        outcome, order, stock = await shards.claim(req.offer, v.id, now_ms(), shard=runner.id)
    except LedgerUnavailable:
        raise WireError(ErrorCode.UNAVAILABLE, "drops are paused for a moment: try again") from None
    if outcome == "not_found":
        raise WireError(ErrorCode.NOT_FOUND, f"no offer {req.offer[:64]!r}")
    if outcome == "sold_out":
        raise WireError(ErrorCode.SOLD_OUT, "sold out")
    if outcome == "closed":
        raise WireError(ErrorCode.CLOSED, "this offer has ended")
    # a settlement always gets into the room's inbox (see server/runner.py ALWAYS)
    return await runner.request(lambda ref: DropSettled(ref, v.id, req.offer, order, stock))


EVENTS: Events = {
    "product.view": (ProductRequest, product_view),
    "product.try": (TryRequest, product_try),
    "cart.add": (CartAddRequest, cart_add),
    "cart.get": (EmptyRequest, cart_get),
    "offer.claim": (ClaimRequest, offer_claim),
}
