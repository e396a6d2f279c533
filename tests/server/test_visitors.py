"""Visitor identity and resume within the grace period."""

from __future__ import annotations

from server.visitors import Visitors


def test_resume_within_grace_gives_back_the_same_visitor() -> None:
    vs = Visitors(grace_ms=30_000)
    a = vs.connect("s1", "Ada", {}, None, now=0).visitor
    a.room = "showroom"
    vs.disconnect("s1", now=1_000)
    back = vs.connect("s2", "Someone else", {}, a.session, now=20_000)
    assert back.resumed and back.visitor is a and a.room == "showroom" and a.name == "Ada"
    assert vs.by_sid("s2") is a and vs.by_sid("s1") is None


def test_after_the_grace_period_the_visitor_is_gone() -> None:
    vs = Visitors(grace_ms=30_000)
    a = vs.connect("s1", "Ada", {}, None, now=0).visitor
    vs.disconnect("s1", now=0)
    assert vs.expire(now=29_000) == []
    assert vs.expire(now=31_000) == [a]
    fresh = vs.connect("s2", "Ada", {}, a.session, now=32_000)
    assert not fresh.resumed and fresh.visitor.id != a.id


def test_resume_while_still_connected_takes_over_the_old_connection() -> None:
    vs = Visitors()
    a = vs.connect("s1", "Ada", {}, None, now=0).visitor
    again = vs.connect("s2", "Ada", {}, a.session, now=10)
    assert again.replaced_sid == "s1" and again.visitor is a
    assert vs.disconnect("s1", now=20) is None  # the old socket closing does not detach Ada
    assert a.sid == "s2" and a.disconnected_at is None


def test_unknown_tokens_start_a_new_visitor() -> None:
    vs = Visitors()
    assert not vs.connect("s1", "Ada", {}, "forged-token", now=0).resumed
