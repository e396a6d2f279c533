"""Locust load test for Vetrina: visitors and staff speaking the real protocol (Socket.IO v5, msgpack).

    locust -f loadtests/locustfile.py --headless -u 50 -r 10 -t 60s --host http://127.0.0.1:8080

See ``loadtests/README.md`` for personas, environment variables and what every stats row means.

Every visitor persona is a :class:`VetrinaUser`: one python-socketio ``Client`` (websocket only,
msgpack) on namespace ``/``, wrapped by ``locust.contrib.socketio``, under gevent. A persona's
whole life is one Locust task (:meth:`VetrinaUser.session`): connect, wait for ``welcome``,
``join`` the room, then :meth:`VetrinaUser.live` until the connection ends; Locust's
``wait_time`` is only the pause before the next session after a dropped connection. Periodic
behaviour (10 Hz walking, clock sync, chat bursts) runs in plain gevent loops inside the user,
never through ``wait_time``.

The :class:`Host` is brand staff, not a visitor: it connects to namespace ``/host`` with a JWT
minted from ``VETRINA_SECRET`` (the server's secret; :data:`server.auth.DEFAULT_SECRET` for a
``vetrina serve --demo`` without one) and moderates the room the visitors are in. Both share
:class:`ProtocolUser` (reporting, acks, background loops, a bounded close).

Where things are: this file is the entry point (the personas and their weights);
``loadtests/locust_config.py`` reads every environment variable; ``loadtests/protocol_user.py``
holds :class:`ProtocolUser`, ``loadtests/visitor_user.py`` :class:`VetrinaUser` and the
``move→seen`` :class:`MoveProbe`; the personas are in ``loadtests/personas.py`` (Wanderer,
Lurker, Fan, Shopper, Player) and ``loadtests/host_user.py`` (Host).

Adding a persona: subclass :class:`VetrinaUser` in ``loadtests/personas.py`` and give it a
``persona`` name, then import it here and give it a ``weight`` below (Locust runs only the User
classes it finds in this module). Override :meth:`~VetrinaUser.on_joined` (state from the join
ack) and :meth:`~VetrinaUser.live` (what it does while connected; return when
``self.connected`` goes false). Use :meth:`~ProtocolUser.ack` for every request with an ack
(a ``WSC`` row per event, ``ok: false`` and timeouts count as failures unless the persona says
the refusal was expected), :meth:`~ProtocolUser.every` for background loops, and
:meth:`~ProtocolUser.fail` for anything else a real visitor would notice.

What lands in Locust's statistics:

* ``WS connect`` -- engine.io handshake + Socket.IO CONNECT (failure: refused / timed out).
* ``WS welcome`` -- CONNECT until ``welcome`` arrived; ``WS resume`` the same for a resume,
  failed when the avatar id or room differs from before the drop.
* ``WS disconnect`` -- only failures: the server or the network dropped a connection.
* ``WSC <event>`` -- ack round trip per event (``join``, ``time``, ``chat``, ...); ``ok: false``
  fails. A refusal the persona expected (a Fan's chat in a slow mode that had just started, or
  while a Host had muted it) is a success in its own row, ``WSC <event> <code> (expected)``.
* ``WSE move`` / ``WSE react`` -- events sent without an ack (response time 0; the row's rate
  is events/s).
* ``TICK move→seen`` -- a Wanderer's move until another visitor receives it in a ``tick``.
* ``TICK age`` -- per received tick: its server timestamp ``t`` until it was handled here,
  on the clock synced with ``time``; response length is the size of ``pos`` in bytes.
* ``CHAT sent→seen`` -- a Fan's chat message from emit until the ``chat`` event with its id
  came back to it (the sender receives its own room messages); failed when it never does.
* ``WSR chat`` / ``WSR reactions`` / ``WSR qa`` / ``WSR moderation`` -- server events received
  (for ``reactions`` the response length is the number of reactions in the message).
* ``WSR correct`` -- corrections received; ``WSR correct storm`` fails when a legal walker
  gets more than VETRINA_MAX_CORRECTIONS_PER_MIN in a minute.
* ``WSC bet`` -- a Player's accepted bet; ``WSC bet (same id)`` the same bet again (once per
  session: it must answer the same balance); ``WSC bet closed (expected)`` /
  ``WSC bet insufficient_funds (expected)`` the refusals a Player can meet legitimately.
* ``WHEEL payout`` / ``WHEEL verify`` -- a Player's books after a round (the payout is what its
  bets won) and the commit–reveal check of the round's seed; ``WHEEL balance`` and
  ``WHEEL closed early`` only as failures.
* ``WSR <event>`` -- any other server event (show, pin, ...), counted by the contrib handler.
* ``WS host:connect`` / ``WS host:welcome`` / ``WSC host:<event>`` / ``WSR host:<event>`` --
  the same for the Host on ``/host`` (its actions, and the staff feed it receives).
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:  # `loadtests` importable from any working directory, as world/ and server/ are
    sys.path.append(_ROOT)

# Every User class Locust should offer must be an attribute of this module; this order is the
# order of `locust --list` and the web UI. The bases (ProtocolUser, VetrinaUser) are abstract.
from loadtests.personas import Wanderer, Lurker, Fan, Shopper, Player  # noqa: E402, I001
from loadtests.host_user import Host  # noqa: E402

__all__ = ["Wanderer", "Lurker", "Fan", "Shopper", "Player", "Host"]

# ---- the mix ---------------------------------------------------------------------------------
# With -u N the Host is always exactly one user; the other N - 1 are split 5 : 2 : 3 : 3 : 2.

Wanderer.weight = 5
Lurker.weight = 2
Fan.weight = 3
Shopper.weight = 3  # in VETRINA_SHOP_ROOM (default showroom), the others in VETRINA_ROOM
Player.weight = 2  # in VETRINA_WHEEL_ROOM (default studio): bets on the Host's wheel rounds
Host.fixed_count = 1
