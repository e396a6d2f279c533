"""What every namespace's event handlers share: the table-driven wrapper and error counting.

The wrapper counts the message, refuses oversized or malformed payloads, validates with the
event's pydantic model, and turns any failure into the uniform ``{"ok": false, "error":
{code, message}}`` ack — a handler that raised would never ack, and a client waiting on it
would hang.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from server.metrics import Metrics
from server.packets import Oversized
from world.protocol import ErrorCode, WireError, error

log = logging.getLogger(__name__)

Reply = dict[str, Any] | None
Handler = Callable[[str, Any], Awaitable[Reply]]


def first_error(exc: ValidationError) -> str:
    e = exc.errors()[0]
    where = ".".join(str(p) for p in e["loc"]) or "payload"
    return f"{where}: {e['msg']}"


class Namespace:
    """Base of the socket.io namespaces: counters and the validating wrapper."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._rejected: dict[tuple[str, str], Any] = {}

    def _count_rejected(self, event: str, code: ErrorCode) -> None:
        child = self._rejected.get((code.value, event))
        if child is None:
            child = self._rejected[(code.value, event)] = self.metrics.rejected.labels(code.value, event)
        child.inc()

    def _reject(self, event: str, code: ErrorCode, message: str) -> dict[str, Any]:
        self._count_rejected(event, code)
        return error(code, message)

    def _wrap(self, event: str, model: type[BaseModel], fn: Handler, *, label: str | None = None) -> Callable[..., Awaitable[Reply]]:
        name = label or event
        counter = self.metrics.messages_in.labels(name)

        async def handle(sid: str, *args: Any) -> Reply:
            counter.inc()
            payload = args[0] if args else {}
            if isinstance(payload, Oversized):
                return self._reject(name, ErrorCode.BAD_REQUEST, f"payload of {payload.size} bytes is over 64 KiB")
            try:
                request = model.model_validate(payload if payload is not None else {})
                reply = await fn(sid, request)
            except ValidationError as exc:
                return self._reject(name, ErrorCode.BAD_REQUEST, first_error(exc))
            except WireError as exc:
                return self._reject(name, exc.code, exc.message)
            except Exception:
                log.exception("handler for %r failed", event)
                return self._reject(name, ErrorCode.UNAVAILABLE, "the server could not handle this request")
            if reply is not None and reply.get("ok") is False:
                self._count_rejected(name, ErrorCode(reply["error"]["code"]))
            return reply

        return handle
