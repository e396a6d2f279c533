"""Moderation state of a room: mutes and bans keep the scope staff chose."""

from __future__ import annotations

from world.social.moderation import Moderation


def test_scope_is_kept_for_the_console_and_lifted_with_the_ban() -> None:
    mod = Moderation()
    mod.mute(3, "Cy", 5000, shadow=False, scope="event")
    mod.ban(4, "Di", "session-4", scope="event")
    mod.ban(5, "Ed", None)
    assert mod.muted(1000) == [{"avatar": 3, "name": "Cy", "until": 5000, "shadow": False, "scope": "event"}]
    assert mod.banned() == [{"avatar": 4, "name": "Di", "scope": "event"}, {"avatar": 5, "name": "Ed", "scope": "room"}]
    assert mod.is_banned(99, "session-4") and mod.unban(4) and not mod.is_banned(4, "session-4")
    assert mod.muted(5000) == []  # ran out
