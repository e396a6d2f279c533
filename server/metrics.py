"""Prometheus metrics, one registry per app so several servers can live in one test process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

TICK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.connections = Gauge("vetrina_connections", "Open socket.io connections", ["namespace"], registry=r)
        self.rooms = Gauge("vetrina_rooms", "Rooms served by this process", registry=r)
        self.avatars = Gauge("vetrina_avatars", "Avatars in a room (connected or within grace)", ["room"], registry=r)
        self.visitors = Gauge("vetrina_visitors", "Known visitors, including those within the resume grace", registry=r)
        self.tick_seconds = Histogram(
            "vetrina_tick_seconds", "Time to step a room and encode its ticks (compute only)", ["room"],
            buckets=TICK_BUCKETS, registry=r,
        )
        self.tick_send_seconds = Histogram(
            "vetrina_tick_send_seconds", "Time to hand a tick's packets to the sockets", ["room"],
            buckets=TICK_BUCKETS, registry=r,
        )
        self.tick_lag_seconds = Histogram(
            "vetrina_tick_lag_seconds", "How late a tick started (event loop busy)", ["room"],
            buckets=TICK_BUCKETS, registry=r,
        )
        self.load_level = Gauge(
            "vetrina_room_load_level", "Degradation level: 0 full detail, 1-2 far avatars thinned, 3 half tick rate",
            ["room"], registry=r,
        )
        self.level_changes = Counter("vetrina_room_load_level_changes_total", "Degradation level changes", ["room"], registry=r)
        self.slow_ticks = Counter("vetrina_slow_ticks_total", "Ticks that took longer than the tick period", ["room"], registry=r)
        self.skipped_ticks = Counter(
            "vetrina_skipped_ticks_total", "Ticks not run because the room was running late", ["room"], registry=r
        )
        self.messages_in = Counter("vetrina_messages_in_total", "Messages received from clients", ["event"], registry=r)
        self.messages_out = Counter("vetrina_messages_out_total", "Messages sent to clients", ["event"], registry=r)
        self.bytes_out = Counter("vetrina_bytes_out_total", "Socket.IO payload bytes sent in ticks", registry=r)
        self.rejected = Counter(
            "vetrina_rejected_total", "Inputs refused, by error code and event", ["code", "event"], registry=r
        )
        self.corrections = Counter("vetrina_corrections_total", "Moves refused and answered with correct", ["room"], registry=r)
        self.dropped = Counter(
            "vetrina_dropped_inputs_total", "Inputs dropped by an overload policy", ["room", "reason"], registry=r
        )
        self.background_tasks = Gauge("vetrina_background_tasks", "Background tasks running, by set", ["set"], registry=r)
        self.background_refused = Counter(
            "vetrina_background_tasks_refused_total", "Background tasks not started: their set was full", ["set"],
            registry=r,
        )

        self.redis_up = Gauge("vetrina_redis_up", "1 while this node reaches Redis (0: down or not clustered)", registry=r)
        self.cluster_messages = Counter(
            "vetrina_cluster_messages_total", "Items shared with (out) or taken from (in) other nodes", ["direction", "kind"],
            registry=r,
        )
        self.cluster_dropped = Counter(
            "vetrina_cluster_dropped_total", "Items not shared with other nodes (Redis down, queue full)", ["reason"],
            registry=r,
        )
        # the bounded queues and stores of replication (server/replication/, server/cluster/)
        self.replication_dropped = Counter(
            "vetrina_replication_dropped_total", "Items a bounded replication queue or store let go, by policy",
            ["reason"], registry=r,
        )
        self.replication_size = Gauge(
            "vetrina_replication_items", "Items in a bounded replication queue or store", ["store"], registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
