"""The drop rules, driven synchronously with an explicit ``now``."""

from __future__ import annotations

from world.commerce.ledger import Claim, MemoryLedger, order_id


def test_order_ids_have_one_format() -> None:
    assert order_id("dn1-1", 3) == "dn1-1-o3"
    assert order_id("dn1-1", 3, "a1b2c3") == "dn1-1-o3-a1b2c3"


def test_a_repeated_claim_answers_the_same_order() -> None:
    ledger = MemoryLedger()
    ledger.open("d", 5, 10_000)
    first = ledger.claim("d", 7, 1000)
    assert first == Claim("ok", "d-o1", 4)
    assert ledger.claim("d", 7, 1001) == first
    assert ledger.claim("d", 8, 1002) == Claim("ok", "d-o2", 3)
    # after the end, the visitor who has an order still gets it; a new one is closed
    assert ledger.claim("d", 7, 20_000) == Claim("ok", "d-o1", 3)
    assert ledger.claim("d", 9, 20_000) == Claim("closed", "", 3)


def test_never_oversold_and_sold_out_wins_over_closed() -> None:
    ledger = MemoryLedger()
    ledger.open("d", 3, 10_000)
    granted = [ledger.claim("d", a, 1000) for a in range(10)]
    assert [c.outcome for c in granted].count("ok") == 3
    assert {c.order for c in granted if c.outcome == "ok"} == {"d-o1", "d-o2", "d-o3"}
    assert granted[-1] == Claim("sold_out", "", 0)
    assert ledger.claim("d", 99, 50_000) == Claim("sold_out", "", 0)


def test_open_is_idempotent_and_unknown_drops_are_not_found() -> None:
    ledger = MemoryLedger()
    ledger.open("d", 2, 10_000)
    ledger.claim("d", 1, 0)
    ledger.open("d", 2, 10_000)  # announced again by another shard: nothing resets
    assert ledger.claim("d", 2, 0) == Claim("ok", "d-o2", 0)
    assert ledger.claim("nope", 1, 0) == Claim("not_found", "", 0)


def test_granted_lists_every_order_with_the_stock_now() -> None:
    ledger = MemoryLedger()
    ledger.open("a", 3, 10_000)
    ledger.open("b", 1, 10_000)
    ledger.claim("a", 1, 0)
    ledger.claim("a", 2, 0)
    ledger.claim("b", 1, 0)
    assert sorted(ledger.granted()) == [("a", 1, "a-o1", 1), ("a", 2, "a-o2", 1), ("b", 1, "b-o1", 0)]


def test_an_order_recorded_from_elsewhere_holds_and_lowers_the_stock() -> None:
    ledger = MemoryLedger()
    ledger.open("d", 5, 10_000)
    ledger.record("d", 7, "d-o3", 2)
    assert ledger.claim("d", 7, 0) == Claim("ok", "d-o3", 2)
    assert ledger.stock("d") == 2


def test_past_the_bound_the_drop_that_ended_first_is_forgotten() -> None:
    ledger = MemoryLedger(max_drops=2)
    ledger.open("early", 1, 1000)
    ledger.open("late", 1, 9000)
    ledger.open("new", 1, 5000)
    assert len(ledger) == 2 and "early" not in ledger and ledger.evicted == 1
    assert ledger.claim("early", 1, 0).outcome == "not_found"
    assert ledger.claim("new", 1, 0).outcome == "ok"
