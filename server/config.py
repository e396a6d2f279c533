"""Settings: one pydantic-settings object, from CLI flags and ``VETRINA_*`` environment variables."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.auth import DEFAULT_SECRET

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VETRINA_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    rooms: Path = ASSETS / "rooms"
    client_dir: Path = ROOT / "client_web"
    tick_hz: float | None = Field(default=None, gt=0, le=60, description="overrides every room's tick rate")
    resume_grace_s: float = Field(default=30.0, ge=0)
    session_ttl_s: float | None = Field(
        default=None, gt=0, le=86400,
        description="with Redis: how long a visitor's session and carried state outlive its node (default grace + 60)",
    )
    move_rate: float = Field(default=30.0, gt=0, description="moves per second a client may send before throttling")
    move_burst: float = Field(default=30.0, gt=0)
    inbox_limit: int = Field(
        default=50_000, ge=1,
        description="inputs queued per room and tick before new ones are refused (joins and leaves always get in)",
    )
    request_timeout_s: float = Field(default=5.0, gt=0)
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 20.0
    cors_origins: str = "*"
    slow_client_bytes: int = Field(
        default=256 * 1024, ge=1024, description="unsent bytes for one client before its ticks are skipped"
    )
    ws_compression: bool = Field(
        default=False, description="negotiate permessage-deflate (costs ~2.6x socket CPU; see docs/benchmarks.md)"
    )
    room_processes: bool = Field(default=True, description="run each room's simulation in its own process")
    tick_part_viewers: int = Field(
        default=500, ge=0, description="a room worker sends a big tick in parts of this many viewers (0: whole)"
    )
    secret: str = Field(default=DEFAULT_SECRET, min_length=32, description="signs staff tokens (VETRINA_SECRET)")
    chat_rate: float = Field(default=1.0, gt=0, description="chat messages per second per visitor, after the burst")
    chat_burst: float = Field(default=5.0, ge=1)
    react_rate: float = Field(default=10.0, gt=0, description="reactions per second per visitor, after the burst")
    react_burst: float = Field(default=20.0, ge=1)
    wordfilter: Path = ASSETS / "wordfilter"
    demo: bool = False
    autopilot: bool = Field(default=True, description="with --demo: keep the demo's shows and drops running")
    crowd: int = Field(default=0, ge=0, le=5000, description="simulated visitors wandering the demo")
    crowd_room: str = "showroom"
    shard_size: int | None = Field(
        default=None, ge=0, le=100_000,
        description="audience shard size for rooms declared large (0: never split; default: as the room file says)",
    )
    redis_url: str | None = Field(default=None, description="join other nodes through Redis (VETRINA_REDIS_URL)")
    data_dir: Path = Field(
        default=Path("data"), description="where this node keeps what must survive a restart (created on first write)",
    )
    node_id: str = Field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}"[:32].replace(" ", "-"),
        max_length=32, pattern=r"^[A-Za-z0-9_.-]+$", description="this node's name in the cluster",
    )
    trusted_proxies: str = Field(
        default="", description="proxies whose X-Forwarded-For names the client (comma-separated addresses or CIDRs)",
    )
    visitor_days: float = Field(
        default=180.0, gt=0, le=3650, description="how long a device keeps its visitor identity (cookie and token)",
    )
    signed_hours: float = Field(
        default=168.0, gt=0, le=24 * 365, description="how long a brand's signed-in customer stays signed in here",
    )
    log_level: str = "info"
