"""The features of a room, listed once: what a room of a given config runs besides its avatars.

Adding a feature is one module implementing world.feature.Feature and one line below. The
order is the order of each tick's hooks and of what the features send within a tick.
"""

from __future__ import annotations

import random

from world.commerce.shop import Commerce
from world.core.scene import RoomConfig
from world.feature import Context, Feature, Hooks
from world.insight.feature import Insight
from world.shows.concert_show import ConcertShow
from world.shows.wheel_show import WheelShow
from world.social.layer import Social


def build_features(config: RoomConfig, ctx: Context, rng: random.Random) -> list[Feature]:
    """The room's features, in tick order, and the hooks between them (ctx.hooks)."""
    social = Social(config, ctx, rng)
    commerce = Commerce(config, ctx)
    insight = Insight(config, ctx)
    features: list[Feature] = [social, commerce]
    if config.kind == "wheel":
        features.append(WheelShow(config, ctx))
    if config.setlist is not None:
        features.append(ConcertShow(config, ctx))
    features.append(insight)  # last: its zone notices follow what the others sent
    ctx.hooks = Hooks(shopped=insight.shopped, activity=insight.count, running_drop=commerce.running_drop)
    return features
