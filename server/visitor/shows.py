"""Show events: bets on the money wheel."""

from __future__ import annotations

import secrets

from server.handlers import Reply
from server.visitor import Events, Gateway
from server.visitor.shop import shopper
from world.protocol import BetRequest
from world.shows.wheel_show import PlaceBet



async def bet(gw: Gateway, sid: str, req: BetRequest) -> Reply:
    s, runner = shopper(gw, sid)  # bets share the shop's allowance
    avatar = s.visitor.id
    bet_id = req.id or secrets.token_hex(8)  # without an id, every bet is a new one
    return await s.request(runner, lambda ref: PlaceBet(ref, avatar, req.round, req.segment, req.amount, bet_id))


EVENTS: Events = {
    "bet": (BetRequest, bet),
}
