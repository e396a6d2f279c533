"""The visitor namespace: sessions (session.py), the namespace itself (namespace.py) and one
module per feature family with its events (core, social, shop, shows)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from server.handlers import Reply

if TYPE_CHECKING:
    from server.visitor.namespace import VisitorGateway

# A feature's event handler: (the gateway, socket.io sid, the validated request) -> the ack.
FeatureHandler = Callable[["VisitorGateway", str, Any], Awaitable[Reply]]
# A feature's events: event name -> (its request model, its handler).
Events = dict[str, tuple[type[BaseModel], FeatureHandler]]
