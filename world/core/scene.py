"""Room definitions as data: scene geometry, spawn points, zones and tick settings.

Coordinates are room-local metres with ``y`` up (the three.js convention); the
floor is the ``x``/``z`` plane. Rooms are loaded from JSON files in ``assets/rooms``
(server/assets.py) through these models, so a broken file fails with a message naming the field.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from world.commerce.catalog import Catalog
from world.shows.concert import Setlist
from world.insight.triggers import Rule

Vec3 = tuple[float, float, float]
Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]

# The binary tick packs coordinates as int16 centimetres.
MAX_COORD_M = 327.0


class Box(BaseModel):
    """An axis-aligned box in metres; colliders, stands and zones are boxes."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    min: Vec3
    max: Vec3

    @model_validator(mode="after")
    def _ordered(self) -> "Box":
        if any(lo >= hi for lo, hi in zip(self.min, self.max)):
            raise ValueError(f"box {self.id!r}: every min must be below its max")
        return self

    def contains(self, p: Vec3) -> bool:
        return all(lo <= v <= hi for lo, v, hi in zip(self.min, p, self.max))


class Collider(Box):
    """A solid box avatars cannot enter: a wall, a product stand, a stage."""

    kind: Literal["wall", "stand", "stage", "prop"] = "wall"
    color: Colour = "#b8b2a7"
    label: str | None = Field(default=None, max_length=64)


class Zone(Box):
    """A named region of the floor (entrance, booth area, pit) used by triggers and analytics."""

    name: str = Field(min_length=1, max_length=64)
    color: Colour | None = None


class Scene(BaseModel):
    """Everything the client needs to draw a room and the server needs to police movement."""

    model_config = ConfigDict(extra="forbid")

    bounds: tuple[Vec3, Vec3]
    floor_color: Colour = "#d9d4cc"
    sky_color: Colour = "#f3efe8"
    spawn: list[Vec3] = Field(min_length=1)
    colliders: list[Collider] = []
    zones: list[Zone] = []

    @field_validator("bounds")
    @classmethod
    def _bounds_fit_the_tick(cls, b: tuple[Vec3, Vec3]) -> tuple[Vec3, Vec3]:
        lo, hi = b
        if any(a >= c for a, c in zip(lo, hi)):
            raise ValueError("bounds: every min must be below its max")
        if any(abs(v) > MAX_COORD_M for v in (*lo, *hi)):
            raise ValueError(f"bounds must stay within ±{MAX_COORD_M} m (int16 centimetres on the wire)")
        return b

    @model_validator(mode="after")
    def _spawn_is_walkable(self) -> "Scene":
        for p in self.spawn:
            if not self.inside_bounds(p):
                raise ValueError(f"spawn point {p} lies outside the bounds")
            for c in self.colliders:
                if c.contains(p):
                    raise ValueError(f"spawn point {p} lies inside collider {c.id!r}")
        return self

    def inside_bounds(self, p: Vec3) -> bool:
        lo, hi = self.bounds
        return all(a <= v <= c for a, v, c in zip(lo, p, hi))


class PoseLod(BaseModel):
    """VR pose level of detail (metres): hands shown within ``hands_m`` of a viewer, the head
    within ``head_m`` (capped at the room's view radius), no pose beyond."""

    model_config = ConfigDict(extra="forbid")

    hands_m: float = Field(default=4.0, ge=0, le=300)
    head_m: float = Field(default=15.0, ge=0, le=300)


class RoomConfig(BaseModel):
    """One room: its identity, its scene and the simulation settings that govern it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")
    kind: Literal["showroom", "concert", "wheel", "lobby"]
    name: str = Field(min_length=1, max_length=80)
    tick_hz: float = Field(default=10.0, gt=0, le=60)
    view_radius: float = Field(default=30.0, gt=0, le=300)
    view_k: int = Field(default=64, ge=1, le=512)
    max_speed: float = Field(default=6.0, gt=0, le=50, description="metres per second")
    capacity: int = Field(default=5000, ge=1, le=100_000)
    reactions: list[str] = Field(default=["❤️", "👏", "🔥", "😂", "😮"], max_length=16)
    scene: Scene
    catalog: Catalog = Field(default_factory=Catalog, description="from assets/catalogs/<id>.json")
    setlist: Setlist | None = Field(default=None, description="a concert's cues, from assets/shows/<id>.json")
    triggers: list[Rule] = Field(default=[], description="marketing rules, from assets/triggers/<id>.json")
    shard_size: int | None = Field(
        default=None, ge=10, le=100_000,
        description="a large room: split into audience shards of at most this many avatars (server/shards.py)",
    )
    pose: PoseLod = Field(default_factory=PoseLod, description="VR pose level-of-detail radii")
    tag: str = Field(
        default="", max_length=32, pattern=r"^[A-Za-z0-9_.-]*$",
        description="set by the server: this node's tag, so message and drop ids are unique across nodes",
    )

    def pose_lod(self) -> dict[str, float]:
        """The pose radii in effect: the head within the view radius, the hands within the head's."""
        head = min(self.pose.head_m, self.view_radius)
        return {"hands_m": min(self.pose.hands_m, head), "head_m": head}

    def info(self, occupancy: int, *, full: bool = True) -> dict[str, object]:
        """RoomInfo as PROTOCOL.md fixes it; ``full=False`` drops the scene (for /api/rooms)."""
        out: dict[str, object] = {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "bounds": [list(self.scene.bounds[0]), list(self.scene.bounds[1])],
            "tick_hz": self.tick_hz,
            "view_radius": self.view_radius,
            "view_k": self.view_k,
            "max_speed": self.max_speed,
            "reactions": list(self.reactions),
            "occupancy": occupancy,
            "pose": self.pose_lod(),
        }
        if full:
            out["scene"] = self.scene.model_dump(mode="json")
            if self.catalog.products:
                out["catalog"] = [p.model_dump(mode="json") for p in self.catalog.products]
        return out
