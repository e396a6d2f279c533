"""Every inbound wire message once, as pydantic models, and the uniform ack shapes.

PROTOCOL.md is the contract; this module is its executable form for the events the server
understands. Validation happens at the edge (the gateway) so nothing inward sees raw dicts.
"""

from __future__ import annotations

import math
import unicodedata
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StringConstraints, field_validator

MAX_PAYLOAD_BYTES = 64 * 1024  # larger payloads are answered with bad_request, never parsed
MAX_SEQ = 2**53 - 1  # what a JS number holds exactly


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


class MoveRequest(BaseModel):
    """``p`` in room-local metres, ``yaw`` in radians. Non-finite numbers pass validation on
    purpose: the room refuses them with ``correct``, like any other illegal move."""

    model_config = ConfigDict(extra="ignore")

    p: tuple[Number, Number, Number]
    yaw: Number = 0.0
    seq: StrictInt = Field(default=0, ge=0, le=MAX_SEQ)

    def finite(self) -> bool:
        return all(math.isfinite(v) for v in (*self.p, self.yaw))


class TimeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    c: Number = Field(allow_inf_nan=False)


class EmptyRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
