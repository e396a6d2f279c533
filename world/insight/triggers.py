"""Real-time marketing: rules that send a visitor a ``notice`` for what they do.

A rule fires on entering a zone, on dwelling in a zone for some seconds, or on viewing a
product, at most once per visitor per rule per cooldown (a dwell fires once per stay). Rules
are data: ``assets/triggers/<room id>.json``. Time is server ms.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator


class Notice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=300)
    product: str | None = None
    offer: bool = False  # attach the product's running drop, if there is one


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")
    on: Literal["enter_zone", "dwell", "view_product"]
    zone: str | None = None
    product: str | None = None
    seconds: float = Field(default=0, ge=0, le=3600)
    cooldown_s: float = Field(default=600, ge=0, le=7 * 86400)
    notice: Notice

    @model_validator(mode="after")
    def _target(self) -> "Rule":
        if self.on == "view_product" and not self.product:
            raise ValueError(f"rule {self.id!r}: view_product needs a product")
        if self.on != "view_product" and not self.zone:
            raise ValueError(f"rule {self.id!r}: {self.on} needs a zone")
        return self


class Triggers:
    def __init__(self, rules: list[Rule], zone_ids: list[str]) -> None:
        self.rules = rules
        self.zone_ids = zone_ids
        self._fired: dict[tuple[int, str], int] = {}  # (avatar, rule) -> when
        self._since: dict[tuple[int, int], int] = {}  # (avatar, zone index) -> entered at
        self._dwelt: set[tuple[int, str]] = set()  # (avatar, rule) already fired in this stay

    def _fire(self, avatar: int, rule: Rule, now: int) -> bool:
        last = self._fired.get((avatar, rule.id))
        if last is not None and now - last < rule.cooldown_s * 1000:
            return False
        self._fired[(avatar, rule.id)] = now
        return True

    def on_sample(self, now: int, ids: NDArray[Any], inside: NDArray[np.bool_]) -> list[tuple[int, Rule]]:
        """Zone rules, from who is in which zone now (``inside``: avatars × zones)."""
        fired: list[tuple[int, Rule]] = []
        now_in = {(int(ids[a]), int(z)) for a, z in zip(*np.nonzero(inside))}
        for key in list(self._since):
            if key not in now_in:  # left the zone: a new stay may dwell again
                del self._since[key]
                zone_id = self.zone_ids[key[1]]
                self._dwelt -= {(key[0], r.id) for r in self.rules if r.zone == zone_id}
        entered = [k for k in now_in if k not in self._since]
        for key in entered:
            self._since[key] = now
        for rule in self.rules:
            if rule.on == "view_product" or rule.zone not in self.zone_ids:
                continue
            z = self.zone_ids.index(rule.zone)
            if rule.on == "enter_zone":
                for avatar, zone in entered:
                    if zone == z and self._fire(avatar, rule, now):
                        fired.append((avatar, rule))
            else:
                for (avatar, zone), since in self._since.items():
                    if zone == z and now - since >= rule.seconds * 1000 and (avatar, rule.id) not in self._dwelt:
                        self._dwelt.add((avatar, rule.id))
                        if self._fire(avatar, rule, now):
                            fired.append((avatar, rule))
        return fired

    def on_view(self, avatar: int, product: str, now: int) -> list[tuple[int, Rule]]:
        return [(avatar, r) for r in self.rules
                if r.on == "view_product" and r.product == product and self._fire(avatar, r, now)]

