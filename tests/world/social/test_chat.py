"""Room chat: ids, the history a joining visitor gets, staff's view, deletes and slow mode."""

from __future__ import annotations

from world.social.chat import HISTORY, STAFF_HISTORY, STAFF_ID, Chat, ChatMessage

T = 1_000_000


def say(chat: Chat, avatar: int, text: str, now: int, *, scope: str = "room", shadow: bool = False,
        filtered: bool = False) -> ChatMessage:
    msg = ChatMessage(chat.next_id(now), avatar, f"P{avatar}", text, scope, now, shadow=shadow, filtered=filtered)
    chat.add(msg)
    return msg


def test_ids_are_unique_carry_the_nodes_tag_and_survive_a_restart_at_a_later_time() -> None:
    here, there = Chat("a"), Chat("b")
    ids = [here.next_id(T) for _ in range(3)] + [there.next_id(T)]
    assert len(set(ids)) == 4 and ids[0] == f"ma{T:x}-1" and ids[3] == f"mb{T:x}-1"
    restarted = Chat("a")  # a restarted worker counts from 1 again, at a later time
    assert restarted.next_id(T + 5) not in ids


def test_history_is_the_last_room_messages_everyone_saw_oldest_first() -> None:
    chat = Chat()
    say(chat, 1, "near only", T, scope="near")
    say(chat, 2, "from a shadow-muted visitor", T + 1, shadow=True)
    gone = say(chat, 3, "deleted", T + 2)
    for i in range(HISTORY + 5):
        say(chat, 4, f"hello {i}", T + 10 + i)
    assert chat.delete(gone.id) is gone
    history = chat.history()
    assert len(history) == HISTORY
    assert [m["text"] for m in history[:2]] == ["hello 5", "hello 6"] and history[-1]["text"] == f"hello {HISTORY + 4}"
    assert history[0] == {"id": history[0]["id"], "from": {"id": 4, "name": "P4"}, "text": "hello 5",
                          "scope": "room", "t": T + 15}


def test_staff_see_shadow_and_filtered_messages_flagged_and_never_deleted_ones() -> None:
    chat = Chat()
    say(chat, 1, "ok", T)
    say(chat, 2, "hidden", T + 1, shadow=True)
    say(chat, 3, "*** you", T + 2, filtered=True)
    staff = ChatMessage(chat.next_id(T + 3), STAFF_ID, "Host", "welcome", "room", T + 3, staff=True)
    chat.add(staff)
    gone = say(chat, 4, "oops", T + 4)
    chat.delete(gone.id)
    seen = chat.staff_history("hall")
    assert [(m["text"], m.get("shadow"), m.get("filtered"), m["room"]) for m in seen] == [
        ("ok", None, None, "hall"), ("hidden", True, None, "hall"), ("*** you", None, True, "hall"),
        ("welcome", None, None, "hall")]
    assert seen[3]["from"] == {"id": STAFF_ID, "name": "Host", "staff": True}
    assert "shadow" not in chat.history()[0] and [m["text"] for m in chat.history()] == ["ok", "*** you", "welcome"]


def test_a_message_is_deleted_once_and_unknown_ids_are_not_found() -> None:
    chat = Chat()
    msg = say(chat, 1, "hi", T)
    assert chat.has(msg.id) and chat.delete(msg.id) is msg
    assert chat.delete(msg.id) is None and chat.delete("m-nope") is None and not chat.has("m-nope")


def test_staff_history_keeps_the_newest_and_forgets_the_ids_it_dropped() -> None:
    chat = Chat()
    first = say(chat, 1, "first", T)
    for i in range(STAFF_HISTORY):
        say(chat, 2, f"m{i}", T + 1 + i)
    assert len(chat.staff_history("r")) == STAFF_HISTORY and chat.staff_history("r")[0]["text"] == "m0"
    assert not chat.has(first.id) and chat.delete(first.id) is None


def test_slow_mode_counts_from_the_last_accepted_message_per_visitor() -> None:
    chat = Chat()
    say(chat, 1, "before slow mode", T)
    assert chat.slow_wait(1, T + 1) == 0.0  # slow mode is off
    chat.slow_s = 10
    assert chat.slow_wait(1, T + 4000) == 6.0
    assert chat.slow_wait(2, T + 4000) == 0.0  # never spoke
    assert chat.slow_wait(1, T + 10_000) == 0.0
    staff = ChatMessage(chat.next_id(T), 2, "Host", "staff are never slowed", "room", T + 10_000, staff=True)
    chat.add(staff)
    assert chat.slow_wait(2, T + 10_001) == 0.0
    chat.forget(1)  # it left: a new visitor with the same id starts afresh
    assert chat.slow_wait(1, T + 5) == 0.0
