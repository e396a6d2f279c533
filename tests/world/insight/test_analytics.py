"""Analytics and marketing triggers, without sockets."""

from __future__ import annotations

import numpy as np

from world.insight.analytics import Analytics, to_csv
from world.commerce.catalog import Catalog, Product
from world.core.scene import Collider, Scene, Zone
from world.insight.triggers import Notice, Rule, Triggers

SCENE = Scene(
    bounds=((-10, 0, -10), (10, 4, 10)),
    spawn=[(0, 0, 0)],
    colliders=[Collider(id="stand-a", min=(6, 0, 6), max=(8, 1, 8), kind="stand")],
    zones=[Zone(id="door", name="Door", min=(-10, 0, 8), max=(10, 4, 10)),
           Zone(id="booth", name="Booth", min=(4, 0, 4), max=(10, 4, 10))],
)
CATALOG = Catalog(products=[Product(id="a", name="A", price=1, booth="stand-a")])


def test_dwell_heatmap_and_the_funnel() -> None:
    stats = Analytics("r", SCENE, CATALOG, cell_m=5.0)
    ids = np.array([1, 2, 3])
    pos = np.array([[0.0, 0, 9], [5.0, 0, 5], [-9.0, 0, -9]])
    for t in range(0, 11_000, 1000):  # 10 s of samples
        inside = stats.sample(1_000_000 + t, ids, pos)
    assert inside.tolist() == [[True, False], [False, True], [False, False]]
    report = stats.report(1_011_000)
    assert {z["zone"]: z["seconds"] for z in report["zones"]} == {"door": 10.0, "booth": 10.0}
    assert report["booths"] == [{"product": "a", "stand": "stand-a", "seconds": 10.0}]  # avatar 2 is ~1.4 m away
    assert int(np.array(report["heatmap"]["seconds"]).sum()) == 30 and report["peak"] == 3
    assert stats.heatmap()["shape"] == [4, 4] and len(stats.heatmap()["data"]) == 4 * 4 * 2
    stats.mark("viewed", 2, "a")
    stats.mark("viewed", 3, "a")
    stats.mark("tried", 2, "a")
    stats.mark("viewed", 2, "nope")  # unknown products are ignored
    assert stats.funnel_totals() == {"near": 1, "viewed": 2, "tried": 1, "cart": 0, "claimed": 0}
    stats.count("chat", 1_000_000, 3)
    stats.count("reactions", 1_000_000, 40)
    text = to_csv(stats.report(1_011_000))
    assert "funnel,a,viewed,2" in text and "per_minute,960000,reactions,40" in text and "zone,door,dwell_seconds,10.0" in text


def test_triggers_fire_once_per_cooldown_and_dwell_once_per_stay() -> None:
    rules = [
        Rule(id="hello", on="enter_zone", zone="door", cooldown_s=60, notice=Notice(text="hi")),
        Rule(id="stay", on="dwell", zone="booth", seconds=3, cooldown_s=0, notice=Notice(text="like it?")),
        Rule(id="seen", on="view_product", product="a", cooldown_s=60, notice=Notice(text="a!")),
    ]
    trig = Triggers(rules, ["door", "booth"])
    ids = np.array([1])

    def at(t: int, door: bool, booth: bool) -> list[str]:
        return [r.id for _, r in trig.on_sample(t, ids, np.array([[door, booth]]))]

    assert at(0, True, False) == ["hello"]
    assert at(1000, True, False) == []
    assert at(2000, False, False) == [] and at(3000, True, False) == []  # back within the cooldown
    assert at(70_000, False, False) == [] and at(71_000, True, False) == ["hello"]  # after it
    assert at(80_000, False, True) == [] and at(82_000, False, True) == []
    assert at(83_000, False, True) == ["stay"] and at(90_000, False, True) == []  # once per stay
    assert at(91_000, False, False) == [] and at(92_000, False, True) == [] and at(95_000, False, True) == ["stay"]
    assert [r.id for _, r in trig.on_view(1, "a", 100_000)] == ["seen"]
    assert trig.on_view(1, "a", 110_000) == []


def test_tallies_of_two_shards_add_up_to_one_report() -> None:
    import msgpack

    from world.insight.analytics import add_tallies

    a, b = Analytics("r", SCENE, CATALOG, cell_m=5.0), Analytics("r", SCENE, CATALOG, cell_m=5.0)
    for t in range(0, 11_000, 1000):
        a.sample(1_000_000 + t, np.array([1, 2]), np.array([[0.0, 0, 9], [5.0, 0, 5]]))
        b.sample(1_000_400 + t, np.array([7]), np.array([[0.0, 0, 9]]))
    a.mark("viewed", 1, "a")
    b.mark("viewed", 7, "a")
    b.mark("viewed", 1, "a")  # a visitor who moved between shards counts once
    a.count("chat", 1_000_000, 2)
    b.count("chat", 1_000_000, 5)
    # tallies travel through Redis as msgpack
    tallies = [msgpack.unpackb(msgpack.packb(x.tally())) for x in (a, b)]
    whole = Analytics("r", SCENE, CATALOG, cell_m=5.0).absorb(add_tallies(tallies)).report(1_020_000)
    assert whole["visitors"] == 3 and whole["peak"] == 3  # 2 + 1 at the same time
    assert [s["visitors"] for s in whole["attendance"]] == [3, 3]
    assert {z["zone"]: z["seconds"] for z in whole["zones"]} == {"door": 20.0, "booth": 10.0}
    assert int(np.array(whole["heatmap"]["seconds"]).sum()) == 30
    assert whole["funnel"]["products"]["a"]["viewed"] == 2
    assert whole["per_minute"] == [{"minute": 960_000, "chat": 7, "reactions": 0}]
