"""Graceful degradation: how much detail a room can afford, from how late its ticks run.

The runner reports, after every tick, its *utilisation* (seconds spent stepping and sending
divided by the tick period) and its *lag* (how late the tick started). The governor keeps a
smoothed view of both and moves between levels with hysteresis:

====== ============================================================ ========= ==========
level  what viewers get                                             far every tick rate
====== ============================================================ ========= ==========
0      everything every tick                                        1         full
1      avatars beyond ``near_m`` updated every 2nd tick              2         full
2      avatars beyond ``near_m`` updated every 4th tick              4         full
3      as 2, and the room ticks at half rate                        4         half
====== ============================================================ ========= ==========

Near avatars always move every tick, so the people you are talking to stay smooth; the room
never falls behind by replaying missed ticks. Time is passed in (seconds).
"""

from __future__ import annotations

from dataclasses import dataclass

FAR_STRIDE = (1, 2, 4, 4)  # per level: far avatars are sent every n-th tick
RATE_DIVISOR = (1, 1, 1, 2)  # per level: tick period multiplier
MAX_LEVEL = len(FAR_STRIDE) - 1


@dataclass
class LoadGovernor:
    up_utilisation: float = 0.8  # smoothed share of the period spent working that means "too busy"
    down_utilisation: float = 0.35
    up_lag_periods: float = 0.5  # ticks starting half a period late also mean "too busy"
    hold_s: float = 2.0  # stay at least this long at a level before moving again
    smoothing: float = 0.2  # EWMA weight of the newest tick
    level: int = 0
    utilisation: float = 0.0
    lag: float = 0.0  # in periods
    _since: float = 0.0

    def update(self, utilisation: float, lag_periods: float, now_s: float) -> int:
        a = self.smoothing
        self.utilisation += a * (utilisation - self.utilisation)
        self.lag += a * (lag_periods - self.lag)
        if now_s - self._since < self.hold_s:
            return self.level
        busy = self.utilisation > self.up_utilisation or self.lag > self.up_lag_periods
        idle = self.utilisation < self.down_utilisation and self.lag < self.up_lag_periods / 4
        if busy and self.level < MAX_LEVEL:
            self.level += 1
            self._since = now_s
        elif idle and self.level > 0:
            self.level -= 1
            self._since = now_s
        return self.level

    @property
    def far_stride(self) -> int:
        return FAR_STRIDE[self.level]

    @property
    def rate_divisor(self) -> int:
        return RATE_DIVISOR[self.level]
