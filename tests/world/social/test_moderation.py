"""Moderation state of a room: mutes and bans keep the scope staff chose."""

from __future__ import annotations

from world.social.moderation import Moderation

T = 1_000_000


def test_scope_is_kept_for_the_console_and_lifted_with_the_ban() -> None:
    mod = Moderation()
    mod.mute(3, "Cy", 5000, shadow=False, scope="event")
    mod.ban(4, "Di", "session-4", scope="event")
    mod.ban(5, "Ed", None)
    assert mod.muted(1000) == [{"avatar": 3, "name": "Cy", "until": 5000, "shadow": False, "scope": "event"}]
    assert mod.banned() == [{"avatar": 4, "name": "Di", "scope": "event"}, {"avatar": 5, "name": "Ed", "scope": "room"}]
    assert mod.is_banned(99, "session-4") and mod.unban(4) and not mod.is_banned(4, "session-4")
    assert mod.muted(5000) == []  # ran out


def test_a_mute_holds_until_its_time_and_then_is_gone() -> None:
    mod = Moderation()
    m = mod.mute(1, "Ada", T + 5 * 60_000, shadow=False)  # five minutes
    assert mod.mute_of(1, T) is m and mod.mute_of(1, T + 5 * 60_000 - 1) is m
    assert mod.mute_of(1, T + 5 * 60_000) is None and mod.muted(T) == []  # expired entries are dropped
    assert mod.mute_of(2, T) is None


def test_a_new_mute_replaces_the_old_one_and_unmute_lifts_it_once() -> None:
    mod = Moderation()
    mod.mute(1, "Ada", T + 60_000, shadow=False)
    shadow = mod.mute(1, "Ada", T + 600_000, shadow=True)
    assert mod.mute_of(1, T + 120_000) is shadow and shadow.shadow
    assert mod.muted(T) == [{"avatar": 1, "name": "Ada", "until": T + 600_000, "shadow": True, "scope": "room"}]
    assert mod.unmute(1) and not mod.unmute(1) and mod.mute_of(1, T) is None


def test_a_ban_holds_against_the_avatar_and_its_session_until_unbanned() -> None:
    mod = Moderation()
    mod.ban(1, "Ada", "tok-1")
    assert mod.is_banned(1, None) and mod.is_banned(1, "tok-other")
    assert mod.is_banned(42, "tok-1")  # resuming the banned session under a new avatar
    assert not mod.is_banned(2, "tok-2") and not mod.is_banned(2, None)
    assert mod.unban(1) and not mod.unban(1)
    assert not mod.is_banned(1, None) and not mod.is_banned(42, "tok-1")
    assert mod.banned() == []


def test_the_log_keeps_the_newest_staff_actions() -> None:
    from world.social.moderation import LOG_SIZE

    mod = Moderation()
    entry = {"action": "mute", "avatar": 1}
    assert mod.record(entry) is entry
    for i in range(LOG_SIZE):
        mod.record({"action": "ban", "avatar": i})
    assert len(mod.log) == LOG_SIZE and mod.log[0] == {"action": "ban", "avatar": 0}
