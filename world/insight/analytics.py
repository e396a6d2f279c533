"""Analytics for the brand: attendance, dwell per zone and per booth, an occupancy heatmap,
the shopping funnel and chat / reactions per minute. Time is server ms; distances metres.

:meth:`Analytics.sample` is called about once a second with every avatar's position (the
grid's arrays): it accumulates dwell and the heatmap with a few vectorised numpy operations,
whatever the crowd's size. The funnel counts distinct visitors per stage:
near a booth → viewed → tried on → added to cart → claimed a drop.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, deque
from typing import Any

import numpy as np
from numpy.typing import NDArray

from world.commerce.catalog import Catalog
from world.core.scene import Scene

STAGES = ("near", "viewed", "tried", "cart", "claimed")
NEAR_BOOTH_M = 4.0
ATTENDANCE_EVERY_MS = 10_000
ATTENDANCE_KEEP = 24 * 360  # a day of 10 s samples
MINUTES_KEEP = 24 * 60


class Analytics:
    def __init__(self, room: str, scene: Scene, catalog: Catalog, *, cell_m: float = 2.0) -> None:
        self.room = room
        lo, hi = np.array(scene.bounds[0], float), np.array(scene.bounds[1], float)
        self.origin = (float(lo[0]), float(lo[2]))
        self.cell_m = cell_m
        self.shape = (int(np.ceil((hi[2] - lo[2]) / cell_m)), int(np.ceil((hi[0] - lo[0]) / cell_m)))  # rows z, cols x
        self.heat = np.zeros(self.shape, np.uint64)  # avatar-seconds per cell
        self.live = np.zeros(self.shape, np.uint16)  # avatars per cell at the last sample
        self.zone_ids = [z.id for z in scene.zones]
        self._zone_lo = np.array([z.min for z in scene.zones], float).reshape(-1, 3)
        self._zone_hi = np.array([z.max for z in scene.zones], float).reshape(-1, 3)
        self.zone_seconds = np.zeros(len(self.zone_ids))
        stands = {c.id: c for c in scene.colliders}
        self.booths = [(p.id, stands[p.booth]) for p in catalog.products if p.booth in stands]
        self._booth_lo = np.array([c.min for _, c in self.booths], float).reshape(-1, 3)
        self._booth_hi = np.array([c.max for _, c in self.booths], float).reshape(-1, 3)
        self.booth_seconds = np.zeros(len(self.booths))
        self.funnel: dict[str, dict[str, set[int]]] = {p.id: {s: set() for s in STAGES} for p in catalog.products}
        self.attendance: deque[tuple[int, int]] = deque(maxlen=ATTENDANCE_KEEP)
        self.per_minute: dict[str, Counter[int]] = {"chat": Counter(), "reactions": Counter()}
        self.peak = 0
        self.visitors: set[int] = set()
        self._last_sample: int | None = None

    # ---- inputs ------------------------------------------------------------------------

    def sample(self, now: int, ids: NDArray[Any], pos: NDArray[Any]) -> NDArray[np.bool_]:
        """Accumulate since the last sample; returns which avatar is in which zone (n × zones)."""
        dt = 0.0 if self._last_sample is None else (now - self._last_sample) / 1000.0
        self._last_sample = now
        n = len(ids)
        self.visitors.update(ids.tolist())
        self.peak = max(self.peak, n)
        if not self.attendance or now - self.attendance[-1][0] >= ATTENDANCE_EVERY_MS:
            self.attendance.append((now, n))
        rows = np.clip(((pos[:, 2] - self.origin[1]) / self.cell_m).astype(np.int64), 0, self.shape[0] - 1)
        cols = np.clip(((pos[:, 0] - self.origin[0]) / self.cell_m).astype(np.int64), 0, self.shape[1] - 1)
        counts = np.bincount(rows * self.shape[1] + cols, minlength=self.shape[0] * self.shape[1])
        self.live = np.minimum(counts, 65535).astype(np.uint16).reshape(self.shape)
        inside = ((pos[:, None, :] >= self._zone_lo[None]) & (pos[:, None, :] <= self._zone_hi[None])).all(axis=2)
        if dt > 0:
            self.heat += (counts.reshape(self.shape) * dt).astype(np.uint64)
            self.zone_seconds += inside.sum(axis=0) * dt
        if len(self.booths):
            # distance from each avatar to each booth's box, on the floor plan
            gap = np.maximum(np.maximum(self._booth_lo[None] - pos[:, None, :], pos[:, None, :] - self._booth_hi[None]), 0)
            near = np.hypot(gap[:, :, 0], gap[:, :, 2]) <= NEAR_BOOTH_M
            if dt > 0:
                self.booth_seconds += near.sum(axis=0) * dt
            for b, (product, _) in enumerate(self.booths):
                self.funnel[product]["near"].update(ids[near[:, b]].tolist())
        return np.asarray(inside, bool)

    def mark(self, stage: str, avatar: int, product: str) -> None:
        stages = self.funnel.get(product)
        if stages is not None:
            stages[stage].add(avatar)

    def count(self, kind: str, now: int, n: int = 1) -> None:
        minutes = self.per_minute[kind]
        minutes[now // 60_000] += n
        if len(minutes) > MINUTES_KEEP:
            del minutes[min(minutes)]

    # ---- outputs -----------------------------------------------------------------------

    def funnel_totals(self) -> dict[str, int]:
        return {s: len(set().union(*(f[s] for f in self.funnel.values()))) for s in STAGES} if self.funnel else {}

    def top_products(self, n: int = 5) -> list[dict[str, Any]]:
        ranked = sorted(self.funnel.items(), key=lambda kv: (-len(kv[1]["viewed"]), kv[0]))[:n]
        return [{"product": p, **{s: len(v) for s, v in f.items()}} for p, f in ranked]

    def heatmap(self) -> dict[str, Any]:
        """The live occupancy grid: uint16 little-endian, row-major (rows along z)."""
        return {"shape": list(self.shape), "cell": self.cell_m, "origin": list(self.origin),
                "data": self.live.astype("<u2").tobytes()}

    def report(self, now: int) -> dict[str, Any]:
        """Everything, JSON-ready, for the export."""
        return {
            "room": self.room,
            "t": now,
            "visitors": len(self.visitors),
            "peak": self.peak,
            "attendance": [{"t": t, "visitors": n} for t, n in self.attendance],
            "zones": [{"zone": z, "seconds": round(float(s), 1)} for z, s in zip(self.zone_ids, self.zone_seconds)],
            "booths": [{"product": p, "stand": c.id, "seconds": round(float(s), 1)}
                       for (p, c), s in zip(self.booths, self.booth_seconds)],
            "funnel": {"total": self.funnel_totals(),
                       "products": {p: {s: len(v) for s, v in f.items()} for p, f in self.funnel.items()}},
            "per_minute": [{"minute": m * 60_000, "chat": self.per_minute["chat"].get(m, 0),
                            "reactions": self.per_minute["reactions"].get(m, 0)}
                           for m in sorted(set(self.per_minute["chat"]) | set(self.per_minute["reactions"]))],
            "heatmap": {"shape": list(self.shape), "cell": self.cell_m, "origin": list(self.origin),
                        "seconds": self.heat.astype(int).tolist()},
        }


    # ---- adding up shards and nodes ------------------------------------------------------

    def tally(self) -> dict[str, Any]:
        """The raw sums behind :meth:`report`, in a form that adds up across the room's shards
        and nodes (:func:`add_tallies`) and packs into msgpack (lists, bytes, string keys)."""
        return {
            "visitors": sorted(self.visitors),
            "peak": self.peak,
            "attendance": [[t, n] for t, n in self.attendance],
            "zones": self.zone_seconds.tolist(),
            "booths": self.booth_seconds.tolist(),
            "heat": self.heat.astype("<u8").tobytes(),
            "funnel": {p: {s: sorted(v) for s, v in f.items()} for p, f in self.funnel.items()},
            "per_minute": {k: [[m, n] for m, n in sorted(c.items())] for k, c in self.per_minute.items()},
        }

    def absorb(self, tally: dict[str, Any]) -> "Analytics":
        """Take a tally's numbers (a fresh Analytics then reports for the whole event)."""
        self.visitors = set(tally["visitors"])
        self.peak = int(tally["peak"])
        self.attendance.extend((int(t), int(n)) for t, n in tally["attendance"])
        if len(tally["zones"]) == len(self.zone_seconds):
            self.zone_seconds = np.array(tally["zones"], float)
        if len(tally["booths"]) == len(self.booth_seconds):
            self.booth_seconds = np.array(tally["booths"], float)
        heat = np.frombuffer(tally["heat"], "<u8")
        if heat.size == self.heat.size:
            self.heat = heat.reshape(self.shape).astype(np.uint64)
        for product, stages in tally["funnel"].items():
            if product in self.funnel:
                for stage, ids in stages.items():
                    if stage in self.funnel[product]:
                        self.funnel[product][stage] = set(ids)
        for kind, minutes in tally["per_minute"].items():
            if kind in self.per_minute:
                self.per_minute[kind] = Counter({int(m): int(n) for m, n in minutes})
        return self


def add_tallies(tallies: list[dict[str, Any]]) -> dict[str, Any]:
    """Several shards' (or nodes') tallies of one room as one: distinct visitors and funnel
    stages as unions (avatar ids are unique across nodes, and a visitor who moved counts once),
    dwell, heat and per-minute counts as sums, attendance summed per 10 s sample."""
    first = tallies[0]
    out: dict[str, Any] = {
        "visitors": sorted(set().union(*(t["visitors"] for t in tallies))),
        "zones": np.sum([t["zones"] for t in tallies if len(t["zones"]) == len(first["zones"])], axis=0).tolist(),
        "booths": np.sum([t["booths"] for t in tallies if len(t["booths"]) == len(first["booths"])], axis=0).tolist(),
        "heat": np.sum([np.frombuffer(t["heat"], "<u8") for t in tallies if len(t["heat"]) == len(first["heat"])],
                       axis=0, dtype=np.uint64).astype("<u8").tobytes(),
    }
    samples: Counter[int] = Counter()
    for t in tallies:  # each tally's last sample in each 10 s window, summed across tallies
        last = {int(at) // ATTENDANCE_EVERY_MS: int(n) for at, n in t["attendance"]}
        samples.update(last)
    out["attendance"] = [[w * ATTENDANCE_EVERY_MS, n] for w, n in sorted(samples.items())][-ATTENDANCE_KEEP:]
    out["peak"] = max([int(t["peak"]) for t in tallies] + [n for _, n in out["attendance"]])
    funnel: dict[str, dict[str, set[int]]] = {}
    for t in tallies:
        for product, stages in t["funnel"].items():
            for stage, ids in stages.items():
                funnel.setdefault(product, {}).setdefault(stage, set()).update(ids)
    out["funnel"] = {p: {s: sorted(v) for s, v in f.items()} for p, f in funnel.items()}
    minutes: dict[str, Counter[int]] = {}
    for t in tallies:
        for kind, counts in t["per_minute"].items():
            minutes.setdefault(kind, Counter()).update({int(m): int(n) for m, n in counts})
    out["per_minute"] = {k: sorted(c.items()) for k, c in minutes.items()}
    return out


def to_csv(report: dict[str, Any]) -> str:
    """The report as one CSV table: ``section,key,metric,value`` rows (spreadsheet-friendly)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["section", "key", "metric", "value"])
    w.writerow(["summary", report["room"], "visitors", report["visitors"]])
    w.writerow(["summary", report["room"], "peak", report["peak"]])
    for a in report["attendance"]:
        w.writerow(["attendance", a["t"], "visitors", a["visitors"]])
    for z in report["zones"]:
        w.writerow(["zone", z["zone"], "dwell_seconds", z["seconds"]])
    for b in report["booths"]:
        w.writerow(["booth", b["product"], "dwell_seconds", b["seconds"]])
    for stage, n in report["funnel"]["total"].items():
        w.writerow(["funnel", "total", stage, n])
    for product, stages in report["funnel"]["products"].items():
        for stage, n in stages.items():
            w.writerow(["funnel", product, stage, n])
    for m in report["per_minute"]:
        w.writerow(["per_minute", m["minute"], "chat", m["chat"]])
        w.writerow(["per_minute", m["minute"], "reactions", m["reactions"]])
    return out.getvalue()
