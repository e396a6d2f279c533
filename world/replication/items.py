"""Typed replication items: one pydantic model per kind of world/replication/shared.py.

A room parses every item it takes from its other shards (:func:`parse`) before any feature
sees it: a feature gets a typed item or nothing, and a malformed item raises
:class:`BadReplica` (a short reason), which the room counts (``Outbox.rejected``) instead of
letting it cost the tick. Features build the items they share with the same models;
:meth:`Replica.wire` gives back the payload dict, key for key what nodes of the previous
version send and expect (unknown keys from newer nodes are kept, not refused).

Numbers keep their wire type (an int stays an int, a float a float): a payload parsed and
wired again packs to the same msgpack bytes.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel, ConfigDict, Field, StrictBool, StrictBytes, StrictFloat, StrictInt, StrictStr, ValidationError,
    WrapSerializer, model_validator,
)
from pydantic_core.core_schema import SerializerFunctionWrapHandler

Number = StrictInt | StrictFloat
SHADOW_POST = "shadow.post"  # a shadowed post, for the other shards' staff (world/social/layer.py)


def _as_list(value: Any, serialize: SerializerFunctionWrapHandler) -> list[Any]:
    return list(serialize(value))  # rows travel as arrays: a list, as the producers write them


AS_LIST = WrapSerializer(_as_list)  # a fixed-shape row (a tuple when parsed), wired back as a list


class _Part(BaseModel):
    """A nested part of an item: typed, unknown keys kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Replica(_Part):
    """One shared item; ``KIND`` is its kind on the wire."""

    KIND: ClassVar[str]

    def wire(self) -> dict[str, Any]:
        """The payload dict as it crosses between nodes (only the keys it was given)."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class BadReplica(ValueError):
    """An item that does not parse: ``kind`` and a short ``reason``."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason


# ---- chat, reactions, Q&A ------------------------------------------------------------------


class Sender(_Part):
    id: StrictInt
    name: StrictStr
    staff: StrictBool = False


class ChatItem(Replica):
    """A room-wide chat message (ChatMsg with ``from.staff`` for staff)."""

    KIND = "chat"
    id: StrictStr
    sender: Sender = Field(alias="from")
    text: StrictStr
    scope: StrictStr = "room"
    t: StrictInt


class ReactionsItem(Replica):
    """The tick's local reactions per emoji."""

    KIND = "reactions"
    counts: dict[StrictStr, StrictInt]


class QuestionBody(_Part):
    """A question as staff see it (world.social.qa.Question.staff_wire)."""

    id: StrictStr
    text: StrictStr
    votes: StrictInt = 0
    sender: Sender = Field(alias="from")
    answer: StrictStr | None = None
    t: StrictInt
    shadow: StrictBool = False


class QaAsk(Replica, QuestionBody):
    KIND = "qa"
    op: Literal["ask"]


class QaVote(Replica):
    KIND = "qa"
    op: Literal["vote"]
    id: StrictStr
    avatar: StrictInt


# ---- staff actions ---------------------------------------------------------------------------


class _Target(_Part):
    avatar: StrictInt
    name: StrictStr | None = None
    minutes: Number | None = None
    scope: StrictStr | None = None


class _ById(_Part):
    id: StrictStr


class _Answer(_Part):
    id: StrictStr
    text: StrictStr


class _Pin(_Part):
    text: StrictStr | None = None


class _Slow(_Part):
    seconds: StrictInt


# the params of every staff action the shards apply (world.social.layer.SHARED_STAFF)
STAFF_PARAMS: dict[str, type[_Part]] = {
    "mod.mute": _Target, "mod.shadow": _Target, "mod.unmute": _Target, "mod.kick": _Target, "mod.ban": _Target,
    "mod.unban": _Target, "mod.slow": _Slow, "chat.pin": _Pin, "chat.delete": _ById, "qa.answer": _Answer,
    "qa.delete": _ById,
}


class StaffItem(Replica):
    """A moderation or Q&A staff action done on another node (``params`` as staff sent them;
    those of a shared action are checked, an unknown action is kept for newer nodes)."""

    KIND = "staff"
    action: StrictStr
    params: dict[StrictStr, Any]
    by: StrictStr
    role: StrictStr

    @model_validator(mode="after")
    def _known_params(self) -> StaffItem:
        shape = STAFF_PARAMS.get(self.action)
        if shape is not None:
            shape.model_validate(self.params)
        return self


class ShadowChat(_Part):
    kind: Literal["chat"]
    item: ChatItem


class ShadowQuestion(_Part):
    kind: Literal["qa"]
    item: QuestionBody


class ShadowPost(Replica):
    """A shadow-muted visitor's chat message or question, for the other shards' staff only."""

    KIND = "staff"
    action: Literal["shadow.post"]
    params: Annotated[ShadowChat | ShadowQuestion, Field(discriminator="kind")]
    by: StrictStr
    role: StrictStr


# ---- commerce --------------------------------------------------------------------------------


class OfferItem(Replica):
    """A drop a host started (the Offer wire form, with its ``initial`` stock)."""

    KIND = "offer"
    id: StrictStr
    product: StrictStr
    name: StrictStr
    price: Number
    currency: StrictStr
    stock: StrictInt
    ends_at: StrictInt
    ended: StrictBool = False
    initial: StrictInt


class StockItem(Replica):
    """A drop's stock after a claim on another node."""

    KIND = "stock"
    offer: StrictStr
    stock: StrictInt


# ---- the stage -------------------------------------------------------------------------------


class ProductParams(_Part):
    product: StrictStr


class CueParams(_Part):
    cue: StrictStr
    at: StrictInt


class OpenParams(_Part):
    seconds: Number
    seed: StrictBytes  # unsealed (server/cluster/seal.py seals it between nodes)


class Spotlight(Replica):
    KIND = "stage"
    action: Literal["spotlight"]
    t: StrictInt
    by: StrictStr = ""
    params: ProductParams


class ShowStart(Replica):
    KIND = "stage"
    action: Literal["show.start"]
    t: StrictInt


class ConcertCue(Replica):
    KIND = "stage"
    action: Literal["concert.cue"]
    t: StrictInt
    params: CueParams


class WheelOpen(Replica):
    KIND = "stage"
    action: Literal["wheel.open"]
    t: StrictInt
    round: StrictStr
    params: OpenParams


class WheelSpin(Replica):
    KIND = "stage"
    action: Literal["wheel.spin"]
    t: StrictInt
    round: StrictStr


Stage = Spotlight | ShowStart | ConcertCue | WheelOpen | WheelSpin


class BoardEntry(_Part):
    id: StrictInt
    name: StrictStr
    balance: StrictInt


class BoardItem(Replica):
    """A shard's wheel leaderboard after a payout."""

    KIND = "board"
    source: StrictStr = Field(alias="from")
    top: list[BoardEntry]


# ---- per-visitor state -----------------------------------------------------------------------


class OrderLine(_Part):
    order: StrictStr
    offer: StrictStr
    product: StrictStr
    name: StrictStr
    price: Number
    currency: StrictStr
    t: StrictInt


CartLine = Annotated[tuple[StrictStr, StrictStr, StrictInt], AS_LIST]  # product, variant, qty
CartRow = Annotated[tuple[StrictInt, list[CartLine], list[OrderLine]], AS_LIST]  # avatar, lines, orders
BalanceRow = Annotated[tuple[StrictInt, StrictInt, StrictStr], AS_LIST]  # avatar, balance, name
BetRow = Annotated[tuple[StrictInt, StrictStr, StrictStr, StrictInt], AS_LIST]  # avatar, bet id, segment, amount


class WheelState(_Part):
    balances: list[BalanceRow]
    round: StrictStr | None
    bets: list[BetRow]


class HandoverItem(Replica):
    """Visitors' carts, orders, balances and open bets: a draining node's (``handover``), or
    one visitor's (``avatar`` set: a ``carry`` given back where it resumes)."""

    KIND = "handover"
    avatar: StrictInt | None = None  # (fields in wire order: a payload wires back key for key)
    carts: list[CartRow]
    wheel: WheelState | None = None


class CarryItem(HandoverItem):
    """One visitor's state whenever it changes, kept where any node can give it back."""

    KIND = "carry"
    avatar: StrictInt


def _staff(payload: dict[str, Any]) -> Replica:
    return (ShadowPost if payload.get("action") == SHADOW_POST else StaffItem).model_validate(payload)


def _qa(payload: dict[str, Any]) -> Replica:
    return (QaVote if payload.get("op") == "vote" else QaAsk).model_validate(payload)


_STAGE: dict[Any, type[Replica]] = {
    "spotlight": Spotlight, "show.start": ShowStart, "concert.cue": ConcertCue, "wheel.open": WheelOpen,
    "wheel.spin": WheelSpin,
}


def _stage(payload: dict[str, Any]) -> Replica:
    model = _STAGE.get(payload.get("action"))
    if model is None:
        raise BadReplica("stage", f"unknown action {str(payload.get('action'))[:32]!r}")
    return model.model_validate(payload)


_PARSERS: dict[str, Any] = {
    "chat": ChatItem.model_validate, "reactions": ReactionsItem.model_validate, "qa": _qa, "staff": _staff,
    "offer": OfferItem.model_validate, "stock": StockItem.model_validate, "stage": _stage,
    "board": BoardItem.model_validate, "handover": HandoverItem.model_validate, "carry": CarryItem.model_validate,
}


def parse(kind: str, payload: Any) -> Replica:
    """The typed item of one shared ``(kind, payload)``; raises :class:`BadReplica`."""
    parser = _PARSERS.get(kind)
    if parser is None:
        raise BadReplica(str(kind)[:32], "unknown kind")
    if not isinstance(payload, dict):
        raise BadReplica(kind, "payload is not a map")
    try:
        item: Replica = parser(payload)
    except ValidationError as exc:
        raise BadReplica(kind, _reason(exc)) from None
    return item


def _reason(exc: ValidationError) -> str:
    """The first problem, short: ``where: what``."""
    first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "payload"
    return f"{where}: {first['msg']}"[:120]
