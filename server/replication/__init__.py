"""Replication: what makes a room's shards (on this node and, with ``--redis``, on the other
nodes) one event. room.py is the one component (share, replay, carry, claim); ledger.py the
one drop-ledger interface; the Redis side is server/cluster/."""
