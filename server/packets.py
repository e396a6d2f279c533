"""Socket.IO packets as msgpack, interoperable with the JS ``socket.io-msgpack-parser``.

Two quirks of the JS side (DESIGN.md): its parser rejects a DISCONNECT packet carrying
``data: nil``, and JS typed arrays arrive as msgpack ext type 0, which we turn into bytes.
Bad input is never allowed to raise inside python-socketio (it would be logged and lost):
malformed or oversized packets are rewritten into events our catch-all handler answers.
Nor is bad output allowed to raise where it is encoded (a room worker, the socket loop):
what msgpack cannot pack (an int beyond 64 bits, an unknown type) is logged and replaced by
an ``unavailable`` error — the ack a client waits for, or an ``error`` event.
"""

from __future__ import annotations

import logging
from typing import Any

import msgpack
from socketio import msgpack_packet, packet

from world.protocol import MAX_PAYLOAD_BYTES, ErrorCode, error

log = logging.getLogger(__name__)

MALFORMED_EVENT = "\x00malformed"  # a packet we could not decode at all


class Oversized:
    """Stands in for a payload larger than MAX_PAYLOAD_BYTES; the handler answers bad_request."""

    def __init__(self, size: int) -> None:
        self.size = size


def _ext_hook(code: int, data: bytes) -> Any:
    return bytes(data) if code == 0 else msgpack.ExtType(code, data)


class VetrinaPacket(msgpack_packet.MsgPackPacket):
    data: Any  # whatever the client sent (or what we rewrote it into)

    def __init__(self, *args: Any, encoded_packet: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, encoded_packet=encoded_packet, **kwargs)
        if encoded_packet is not None and not encoded_packet:
            # an empty frame is not decoded at all upstream: it would be an EVENT without data
            self.packet_type, self.data, self.id, self.namespace = packet.EVENT, [MALFORMED_EVENT], None, "/"

    def _to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = super()._to_dict()
        if self.packet_type == packet.DISCONNECT and d.get("data") is None:
            del d["data"]
        return d

    def encode(self) -> bytes:
        d = self._to_dict()
        try:
            return msgpack.packb(d)
        except (OverflowError, TypeError, ValueError):  # our bug, never the client's to hang on
            if self.packet_type not in (packet.ACK, packet.EVENT):
                raise
            log.exception("could not encode a %s packet for %s", packet.packet_names[self.packet_type], self.namespace)
            if self.packet_type == packet.ACK:
                return msgpack.packb({**d, "data": [error(ErrorCode.UNAVAILABLE, "the server could not encode its reply")]})
            name = d["data"][0] if isinstance(d.get("data"), list) and d["data"] and isinstance(d["data"][0], str) else "?"
            return msgpack.packb({**d, "data": ["error", _unencodable(name)]})

    def decode(self, encoded_packet: bytes) -> None:
        try:
            decoded = msgpack.unpackb(encoded_packet, ext_hook=_ext_hook, strict_map_key=False)
            if not isinstance(decoded, dict) or not isinstance(decoded.get("type"), int):
                raise ValueError("not a socket.io packet")
            self.packet_type = decoded["type"]
            self.data = decoded.get("data")
            self.id = decoded.get("id") if isinstance(decoded.get("id"), int) else None
            nsp = decoded.get("nsp")
            self.namespace = nsp if isinstance(nsp, str) else "/"
        except Exception:  # anything a client can send must be survivable
            self.packet_type, self.data, self.id, self.namespace = packet.EVENT, [MALFORMED_EVENT], None, "/"
            return
        if self.packet_type in (packet.EVENT, packet.ACK, packet.BINARY_EVENT, packet.BINARY_ACK):
            if self.packet_type == packet.BINARY_EVENT:
                self.packet_type = packet.EVENT  # msgpack carries binary inline; no attachments
            elif self.packet_type == packet.BINARY_ACK:
                self.packet_type = packet.ACK
            if self.packet_type == packet.EVENT:
                if not (isinstance(self.data, list) and self.data and isinstance(self.data[0], str)):
                    self.data = [MALFORMED_EVENT]
                elif len(encoded_packet) > MAX_PAYLOAD_BYTES:
                    self.data = [self.data[0], Oversized(len(encoded_packet))]
        elif self.packet_type not in (packet.CONNECT, packet.DISCONNECT):
            self.packet_type, self.data, self.id = packet.EVENT, [MALFORMED_EVENT], None


def _unencodable(event: str) -> dict[str, Any]:
    """What is sent instead of an event that could not be encoded."""
    return {"code": ErrorCode.UNAVAILABLE.value, "event": event[:64], "message": "the server could not encode this message"}


def event_packet(event: str, data: Any, namespace: str = "/") -> bytes:
    """A ready-to-send EVENT packet, so hot paths encode once and bypass per-emit layers.
    Never raises: a payload msgpack cannot pack becomes an ``error`` event naming ``event``."""
    try:
        return msgpack.packb({"type": packet.EVENT, "data": [event, data], "nsp": namespace})
    except (OverflowError, TypeError, ValueError):
        log.exception("could not encode a %r event", event)
        return msgpack.packb({"type": packet.EVENT, "data": ["error", _unencodable(event)], "nsp": namespace})


_EMPTY = msgpack.packb([])
_pack = msgpack.Packer().pack  # one reusable packer: packb builds a new one per call (2x slower)


class TickEncoder:
    """Encodes every viewer's tick packet of one tick; the shared head is packed once.

    The bytes equal ``msgpack.packb({"type": 2, "data": ["tick", {"t", "n", "enter", "leave",
    "pos"}], "nsp": "/"})``: a socket.io EVENT for namespace "/" (tests check the equality);
    a tick with VR poses has a sixth key ``"pose"`` after ``"pos"``.
    """

    def __init__(self, t: int, n: int) -> None:
        self.t, self.n = t, n
        pack = msgpack.packb
        tail = b"".join((b"\xa1t", pack(t), b"\xa1n", pack(n), b"\xa5enter"))
        self.head = b"\x83\xa4type\x02\xa4data\x92\xa4tick\x85" + tail
        self.head_pose = b"\x83\xa4type\x02\xa4data\x92\xa4tick\x86" + tail  # the same with "pose"

    def encode(self, enter: list[Any], leave: list[int], pos: bytes, reset: bool = False, pose: bytes = b"") -> bytes:
        pack = _pack
        if reset:  # rare: a sixth key, so the plain encoder does it
            body: dict[str, Any] = {"t": self.t, "n": self.n, "enter": enter, "leave": leave, "pos": pos}
            if pose:
                body["pose"] = pose
            return event_packet("tick", {**body, "reset": True})
        return b"".join((
            self.head_pose if pose else self.head,
            pack(enter) if enter else _EMPTY,
            b"\xa5leave",
            pack(leave) if leave else _EMPTY,
            b"\xa3pos",
            pack(pos),
            b"\xa4pose" + pack(pose) if pose else b"",
            b"\xa3nsp\xa1/",
        ))
