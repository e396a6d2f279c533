"""Marketing triggers: which rule fires for which visitor, when, and how often.

(Cooldown and once-per-stay dwell for one visitor are also in test_analytics.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from world.insight.triggers import Notice, Rule, Triggers

ZONES = ["door", "booth"]
HI = Notice(text="hi")


def rule(rule_id: str, on: str, **fields: object) -> Rule:
    return Rule.model_validate({"id": rule_id, "on": on, "notice": {"text": rule_id}, **fields})


def fired(trig: Triggers, t: int, where: dict[int, set[str]]) -> list[tuple[int, str]]:
    """Sample at ``t`` with each avatar in the zones named; the (avatar, rule) pairs that fired."""
    ids = np.array(list(where), dtype=np.int64)
    inside = np.array([[z in zones for z in ZONES] for zones in where.values()], dtype=bool).reshape(len(ids), len(ZONES))
    return sorted((a, r.id) for a, r in trig.on_sample(t, ids, inside))


def test_entering_fires_for_each_visitor_on_its_own_cooldown() -> None:
    trig = Triggers([rule("hello", "enter_zone", zone="door", cooldown_s=60)], ZONES)
    assert fired(trig, 0, {1: {"door"}, 2: set()}) == [(1, "hello")]
    assert fired(trig, 1000, {1: {"door"}, 2: {"door"}}) == [(2, "hello")]  # 1 is still in: no new entry
    assert fired(trig, 2000, {1: set(), 2: set()}) == []
    assert fired(trig, 59_000, {1: {"door"}, 2: set()}) == []  # back within its minute
    assert fired(trig, 60_000, {1: set(), 2: set()}) == []
    assert fired(trig, 60_500, {1: {"door"}, 2: {"door"}}) == [(1, "hello")]  # 1's minute is over, not 2's
    assert fired(trig, 60_600, {2: set()}) == [] and fired(trig, 61_000, {2: {"door"}}) == [(2, "hello")]


def test_dwelling_fires_after_its_seconds_in_the_zone_and_not_for_a_short_stay() -> None:
    trig = Triggers([rule("stay", "dwell", zone="booth", seconds=5, cooldown_s=0)], ZONES)
    assert fired(trig, 0, {1: {"booth"}}) == [] and fired(trig, 4000, {1: {"booth"}}) == []
    assert fired(trig, 4999, {1: set()}) == []  # left just before: the next stay starts from zero
    assert fired(trig, 6000, {1: {"booth"}}) == [] and fired(trig, 10_000, {1: {"booth"}}) == []
    assert fired(trig, 11_000, {1: {"booth"}}) == [(1, "stay")]
    assert fired(trig, 60_000, {1: {"booth"}}) == []  # once per stay, however long


def test_a_dwell_rule_with_a_cooldown_fires_again_only_after_it() -> None:
    trig = Triggers([rule("stay", "dwell", zone="booth", seconds=0, cooldown_s=30)], ZONES)
    assert fired(trig, 0, {1: {"booth"}}) == [(1, "stay")]
    assert fired(trig, 1000, {1: set()}) == [] and fired(trig, 2000, {1: {"booth"}}) == []  # a new stay, in the cooldown
    assert fired(trig, 3000, {1: set()}) == [] and fired(trig, 30_000, {1: {"booth"}}) == [(1, "stay")]


def test_viewing_a_product_fires_its_rules_per_visitor_and_cooldown() -> None:
    rules = [rule("seen", "view_product", product="tee", cooldown_s=60),
             rule("always", "view_product", product="tee", cooldown_s=0),
             rule("other", "view_product", product="cap")]
    trig = Triggers(rules, ZONES)
    assert [r.id for _, r in trig.on_view(1, "tee", 0)] == ["seen", "always"]
    assert [r.id for _, r in trig.on_view(1, "tee", 1000)] == ["always"]
    assert [(a, r.id) for a, r in trig.on_view(2, "tee", 1000)] == [(2, "seen"), (2, "always")]
    assert [r.id for _, r in trig.on_view(1, "tee", 60_000)] == ["seen", "always"]
    assert trig.on_view(1, "hat", 0) == []
    assert fired(trig, 0, {1: {"door", "booth"}}) == []  # product rules never fire from zones


def test_a_rule_for_a_zone_the_scene_lacks_never_fires() -> None:
    trig = Triggers([rule("lost", "enter_zone", zone="cellar")], ZONES)
    assert fired(trig, 0, {1: {"door", "booth"}}) == [] and fired(trig, 10_000, {1: {"door", "booth"}}) == []


@pytest.mark.parametrize(("fields", "needs"), [
    ({"on": "view_product", "zone": "door"}, "view_product needs a product"),
    ({"on": "enter_zone", "product": "tee"}, "enter_zone needs a zone"),
    ({"on": "dwell"}, "dwell needs a zone"),
])
def test_a_rule_without_its_target_is_refused_naming_the_rule(fields: dict[str, str], needs: str) -> None:
    with pytest.raises(ValidationError, match=f"rule 'r1': {needs}"):
        Rule.model_validate({"id": "r1", "notice": HI.model_dump(), **fields})


def test_bad_rule_fields_are_refused_naming_the_field() -> None:
    for bad, field in (({"on": "click"}, "on"), ({"seconds": -1}, "seconds"), ({"cooldown_s": 8 * 86400}, "cooldown_s"),
                       ({"id": "Not An Id"}, "id"), ({"notice": {"text": ""}}, "notice")):
        with pytest.raises(ValidationError) as err:
            Rule.model_validate({"id": "r1", "on": "enter_zone", "zone": "door", "notice": HI.model_dump(), **bad})
        assert err.value.errors()[0]["loc"][0] == field, bad
