"""Insight: the room's analytics (world/insight/analytics.py) and its zone and product
triggers (world/insight/triggers.py) as one feature of the room.

Once a second it samples where everyone stands (the heatmap, the booths' funnel, zone
triggers) and gives staff its numbers; it hears of shopping (``hooks.shopped``) and of chat
and reactions sent (``hooks.activity``) from the other features, and answers staff's
``AnalyticsAsk``. A trigger's ``notice`` goes to the one visitor it fired for. Time is server ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from world.core.scene import RoomConfig
from world.feature import Context, FeatureBase, Reply
from world.insight.analytics import Analytics
from world.insight.triggers import Rule, Triggers
from world.protocol import ok


@dataclass(slots=True)
class AnalyticsAsk:
    """Staff want the room's analytics report (the export); ``tally``: its raw sums instead,
    to be added up with the other shards' (world.insight.analytics.Analytics.tally)."""

    ref: int
    tally: bool = False


class Insight(FeatureBase):
    name = "insight"

    def __init__(self, config: RoomConfig, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.analytics = Analytics(config.id, config.scene, config.catalog)
        self.triggers = Triggers(config.triggers, self.analytics.zone_ids)
        self.inputs = {AnalyticsAsk: self._ask}

    def _ask(self, item: AnalyticsAsk, now: int) -> Reply:
        return ok(tally=self.analytics.tally()) if item.tally else ok(report=self.analytics.report(now))

    # ---- hooks the other features call (world.feature.Hooks) ----------------------------

    def shopped(self, stage: str, avatar: int, product: str, now: int) -> None:
        """A step of the funnel (viewed, tried, cart, claimed); a view may fire a trigger."""
        self.analytics.mark(stage, avatar, product)
        if stage == "viewed":
            for who, rule in self.triggers.on_view(avatar, product, now):
                self._notice(who, rule)

    def count(self, kind: str, now: int, n: int) -> None:
        """Chat messages or reactions sent (per minute, for the report)."""
        self.analytics.count(kind, now, n)

    # ---- once a second -----------------------------------------------------------------

    def each_second(self, now: int) -> dict[str, Any]:
        ids, pos = self.ctx.positions()
        inside = self.analytics.sample(now, ids, pos)
        for avatar, rule in self.triggers.on_sample(now, ids, inside):
            self._notice(avatar, rule)
        a = self.analytics
        return {"visitors": len(a.visitors), "top_products": a.top_products(), "funnel": a.funnel_totals(),
                "heatmap": a.heatmap()}

    def _notice(self, avatar: int, rule: Rule) -> None:
        body: dict[str, Any] = {"text": rule.notice.text, "rule": rule.id}
        if rule.notice.product:
            body["product"] = rule.notice.product
            offer = self.ctx.hooks.running_drop(rule.notice.product) if rule.notice.offer else None
            if offer is not None:
                body["offer"] = offer
        self.feed.send((avatar,), "notice", body)
