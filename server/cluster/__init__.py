"""Several ``vetrina serve`` processes as one event, joined by Redis (``--redis``).

Every node runs its own instance of each room — an audience shard — for the visitors
connected to it; avatar positions and ticks never leave the node. What makes the shards one
event goes through each room's replication component (server/replication/room.py), whose
remote side is here:

- relay.py: shared items (world/replication/shared.py) published on ``vetrina:room:<room>``
  and applied by the other nodes' rooms; what a late node replays kept in
  ``vetrina:chat:<room>`` and ``vetrina:replay:<room>``; items held while Redis is down;
- ledger.py: drop claims decided by one Lua script (the rules of world/commerce/ledger.py);
- sessions.py: resume sessions (``vetrina:session:<token>``) and each visitor's carried state
  (``vetrina:carry:<avatar>``), kept alive while this node holds the visitor, so a visitor whose
  node dies resumes on another node with the same avatar id, room, cart, orders, balance and
  open bets; analytics tallies (``vetrina:analytics:<room>``);
- leases.py: each room's owner node (``vetrina:owner:<room>``), which runs what must happen
  once per event (the demo's autopilot);
- seal.py: the wheel's seed sealed (AES-GCM) before it crosses Redis;
- link.py: the connection, whether Redis is up, and the pub/sub listen loop;
- node.py: :class:`Cluster`, the parts together, the health check and the heal.

Redis outage policy: the node keeps serving its own visitors; chat and reactions are dropped
for the other nodes (counted in ``vetrina_cluster_dropped_total``); the other replayed kinds
are held (at most ``HELD_LIMIT``) and published when Redis is back; claims answer
``unavailable``, starting a drop is refused (a drop must never exist on one node only),
``/healthz`` says ``degraded``. When Redis is reachable again — or turns out to have restarted
(its ``run_id`` changed, or a claim finds the ``vetrina:alive`` mark gone) — the node *heals*
before it says ``up`` again: it raises ``vetrina:id_block`` to at least its own block,
re-creates the stock of its running drops from the lowest stock it has seen (never up), rebuilds
an empty replay list from what it saw and adds its running drops to it, rewrites its held
visitors' sessions, carried state and orders, publishes what it held, and sets the mark again.
Every step is idempotent, so a Redis that kept its data loses nothing by it. What a restart
without persistence can still lose is listed in docs/deploy.md ("When Redis is down").
"""

from server.cluster.link import ClusterUnavailable
from server.cluster.node import ID_BLOCK, Cluster
from server.cluster.seal import SeedSeal
from server.cluster.sessions import split_carry

__all__ = ["Cluster", "ClusterUnavailable", "ID_BLOCK", "SeedSeal", "split_carry"]
