"""Every inbound wire message once, as pydantic models, and the uniform ack shapes.

PROTOCOL.md is the contract; this module is its executable form for the events the server
understands. Validation happens at the edge (the gateway) so nothing inward sees raw dicts.
"""

from __future__ import annotations

import math
import unicodedata
from enum import StrEnum
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    PrivateAttr,
    field_validator,
    model_validator,
)

from world.core.pose import PoseError, check_pose

MAX_PAYLOAD_BYTES = 64 * 1024  # larger payloads are answered with bad_request, never parsed
MAX_SEQ = 2**53 - 1  # what a JS number holds exactly
MAX_YAW = 1e6  # radians: far beyond any client's unwrapped turning, well inside float32


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    NOT_JOINED = "not_joined"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    MUTED = "muted"
    BANNED = "banned"
    ROOM_FULL = "room_full"
    CLOSED = "closed"
    CONFLICT = "conflict"
    SOLD_OUT = "sold_out"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    UNAVAILABLE = "unavailable"


class WireError(Exception):
    """An error answered to the client as ``{"ok": false, "error": {code, message}}``."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def error(code: ErrorCode, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code.value, "message": message}}


def _clean_name(v: str) -> str:
    # Names are shown to everyone: drop control/format characters, collapse whitespace.
    v = "".join(ch for ch in v if unicodedata.category(ch)[0] != "C")
    return " ".join(v.split())


def _finite_within(limit: float) -> Callable[[float], float]:
    """Finite numbers up to ``limit`` in magnitude; NaN and infinities pass (the room answers
    them with ``correct``, like any other illegal move)."""

    def check(v: float) -> float:
        if math.isfinite(v) and abs(v) > limit:
            raise ValueError(f"must be within ±{limit:g}")
        return v

    return check


Hex = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
Number = StrictInt | StrictFloat  # msgpack gives ints for whole numbers; NaN/inf stay floats


class Look(BaseModel):
    """How an avatar looks; shown to every viewer in ``enter``. Unknown keys are dropped."""

    model_config = ConfigDict(extra="ignore")

    color: Hex | None = None
    accent: Hex | None = None
    avatar: Annotated[str, StringConstraints(max_length=32, pattern=r"^[a-z0-9_-]*$")] | None = None

    def wire(self) -> dict[str, str]:
        return self.model_dump(exclude_none=True)


class ConnectAuth(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=32)
    look: Look = Look()
    resume: str | None = Field(default=None, max_length=128)
    visitor: str | None = Field(default=None, max_length=4096)  # a visitor token (clients without cookies)
    signin: str | None = Field(default=None, max_length=8192)  # a brand's signed visitor token (JWT)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = _clean_name(v)
        if not v:
            raise ValueError("name must contain visible characters")
        return v


class JoinRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    room: str = Field(min_length=1, max_length=64)
    # friends together: in a room split into audience shards, join the shard this avatar is in
    with_: StrictInt | None = Field(default=None, alias="with", ge=1, le=2**32 - 1)


class MoveRequest(BaseModel):
    """``p`` in room-local metres, ``yaw`` in radians. Non-finite numbers pass validation on
    purpose: the room refuses them with ``correct``, like any other illegal move. A finite yaw
    beyond ``MAX_YAW`` is refused here (the room keeps yaw as float32: it would become inf)."""

    model_config = ConfigDict(extra="ignore")

    p: tuple[Number, Number, Number]
    yaw: Annotated[Number, AfterValidator(_finite_within(MAX_YAW))] = 0.0
    seq: StrictInt = Field(default=0, ge=0, le=MAX_SEQ)

    def finite(self) -> bool:
        return all(math.isfinite(v) for v in (*self.p, self.yaw))


PosePart = tuple[Number, Number, Number, Number, Number, Number, Number]


class PoseRequest(BaseModel):
    """A VR pose (docs/protocol.md, "Pose extension (VR)"): per part ``[x, y, z, qx, qy, qz,
    qw]``, the offset from the avatar's position in metres (room axes) and the orientation as
    a unit quaternion. ``{}`` clears the pose; unknown part names are ignored."""

    model_config = ConfigDict(extra="ignore")

    head: PosePart | None = None
    left: PosePart | None = None
    right: PosePart | None = None
    _checked: tuple[int, Any] = PrivateAttr(default=(0, None))

    @model_validator(mode="after")
    def _within_limits(self) -> "PoseRequest":
        try:
            self._checked = check_pose({"head": self.head, "left": self.left, "right": self.right})
        except PoseError as exc:
            raise ValueError(str(exc)) from None
        return self

    def parts(self) -> tuple[int, Any]:
        """``(flags, values)`` as :func:`world.core.pose.check_pose` gives them (quaternions normalised)."""
        return self._checked


class TimeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    c: Number = Field(ge=-MAX_SEQ, le=MAX_SEQ, allow_inf_nan=False)  # echoed: a JS number


class EmptyRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ---- social layer (chat, reactions, Q&A, assistant) --------------------------------------


def _text(max_len: int, *, allow_empty: bool = False) -> Callable[[str], str]:
    """A user-written text: control characters become spaces, the ends are stripped, then
    the length is checked (so a message of only spaces is empty, not 'valid')."""

    def clean(v: str) -> str:
        v = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in v).strip()
        if not v and not allow_empty:
            raise ValueError("must not be empty")
        if len(v) > max_len:
            raise ValueError(f"must be at most {max_len} characters")
        return v

    return clean


ChatText = Annotated[StrictStr, AfterValidator(_text(500))]
QuestionText = Annotated[StrictStr, AfterValidator(_text(300))]
PinText = Annotated[StrictStr, AfterValidator(_text(300, allow_empty=True))]
RoomId = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
ItemId = Annotated[StrictStr, StringConstraints(min_length=1, max_length=128)]


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: ChatText
    scope: Literal["room", "near"] = "room"


class ReactRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    emoji: Annotated[StrictStr, StringConstraints(min_length=1, max_length=32)]


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: QuestionText


class VoteRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: ItemId


class AssistRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: ChatText


# ---- host namespace ----------------------------------------------------------------------


class HostAuth(BaseModel):
    model_config = ConfigDict(extra="ignore")

    token: Annotated[StrictStr, StringConstraints(min_length=1, max_length=4096)]


class RevokeRequest(BaseModel):
    """``staff.revoke``: the id (``jti``) of the staff token to revoke."""

    model_config = ConfigDict(extra="ignore")

    jti: Annotated[StrictStr, StringConstraints(min_length=1, max_length=128)]


class RoomRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    room: RoomId


class StaffChatRequest(RoomRequest):
    text: ChatText


class PinRequest(RoomRequest):
    text: PinText = ""


class MessageRequest(RoomRequest):
    id: ItemId


class TargetRequest(RoomRequest):
    avatar: StrictInt = Field(ge=1, le=2**32 - 1)
    minutes: Number | None = Field(default=None, gt=0, le=7 * 24 * 60, allow_inf_nan=False)


class ScopedTargetRequest(TargetRequest):
    """``mod.mute`` / ``mod.shadow`` / ``mod.unmute`` / ``mod.ban`` / ``mod.unban``: this room, or
    every room the staff token covers (None: the action's default, world.social.layer.default_scope)."""

    scope: Literal["room", "event"] | None = None


class SlowRequest(RoomRequest):
    seconds: StrictInt = Field(ge=0, le=300)


class AnswerRequest(RoomRequest):
    id: ItemId
    text: ChatText


class ReplyRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ticket: ItemId
    text: ChatText


# ---- commerce ----------------------------------------------------------------------------


class ProductRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    product: ItemId


class TryRequest(ProductRequest):
    variant: ItemId


class CartAddRequest(TryRequest):
    qty: StrictInt = Field(default=1, ge=1, le=10)


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    offer: ItemId


class SpotlightRequest(RoomRequest):
    product: ItemId


class OfferStartRequest(RoomRequest):
    product: ItemId
    price: Annotated[Number, Field(ge=0, le=1_000_000, allow_inf_nan=False), AfterValidator(lambda v: v + 0)]  # no -0.0
    stock: StrictInt = Field(ge=1, le=100_000)
    seconds: Number = Field(ge=5, le=24 * 3600, allow_inf_nan=False)


# ---- the wheel ---------------------------------------------------------------------------


class BetRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    round: ItemId
    segment: Annotated[StrictStr, StringConstraints(min_length=1, max_length=8)]
    amount: StrictInt = Field(ge=1, le=100_000)
    id: ItemId | None = None  # the client's bet id: the same id again is charged once


class WheelOpenRequest(RoomRequest):
    seconds: Number = Field(default=15, ge=5, le=300, allow_inf_nan=False)


class ShowStartRequest(RoomRequest):
    kind: Literal["concert", "wheel"]
    seconds: Number = Field(default=15, ge=5, le=300, allow_inf_nan=False)  # a wheel's betting window


class ConcertCueRequest(RoomRequest):
    cue: ItemId
    # server ms; default: now + the show's lead. The room also holds it to a window around
    # its clock (world/shows/concert_show.py: at most 1 s past, 24 h ahead).
    at: StrictInt | None = Field(default=None, ge=0, le=MAX_SEQ)
