"""The social layer through Room.step, without sockets: chat, reactions, Q&A, assistant, moderation."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from world.catalog import FAQ, Catalog, Product
from world.room import Attach, Detach, Join, Room
from world.scene import RoomConfig, Scene
from world.social import Ask, AssistAsk, React, Say, Staff, StaffAct, Vote

HOST = Staff("Sara", "host")


def make_room(**over: Any) -> Room:
    scene = Scene(bounds=((-50, 0, -50), (50, 5, 50)), spawn=[(0, 0, 0)])
    catalog = Catalog(
        products=[Product(id="aria", name="Aria Sneaker", price=149, description="Leather sneaker", tags=["shoes"])],
        faq=[FAQ(q="How long does shipping take?", a="Two working days.")],
    )
    cfg = RoomConfig(id="r", kind="showroom", name="R", scene=scene, view_radius=10.0, catalog=catalog, **over)
    return Room(cfg, rng=random.Random(3))


class Steps:
    """Drives a room tick by tick with a growing clock; remembers each tick's outbox."""

    def __init__(self, room: Room) -> None:
        self.room, self.now, self.ref = room, 10_000, 100

    def __call__(self, *inputs: Any) -> Any:
        self.now += 100
        return self.room.step(self.now, list(inputs))

    def reply(self, make: Any) -> dict[str, Any]:
        self.ref += 1
        return self(make(self.ref)).replies[self.ref]  # type: ignore[no-any-return]


def crowd(n: int) -> tuple[Room, Steps]:
    room = make_room()
    step = Steps(room)
    step(*(Join(i, i, f"V{i}", {}, f"session-{i}") for i in range(1, n + 1)))
    return room, step


def events(out: Any, name: str) -> list[Any]:
    return [e for e in out.events if e.name == name]


def test_room_chat_goes_to_everyone_near_chat_to_the_near_only() -> None:
    room, step = crowd(3)
    far = np.array([room.avatars[3].slot])
    room.grid.place(far, np.array([[40.0, 0.0, 40.0]], np.float32), np.zeros(1, np.float32))
    out = step(Say(1, 1, "hello", "room"), Say(2, 1, "psst", "near"))
    assert out.replies[1]["ok"] and out.replies[2]["ok"]
    room_msg, near_msg = events(out, "chat")
    assert room_msg.to is None and room_msg.payload["text"] == "hello"
    assert sorted(near_msg.to) == [1, 2]  # V3 is 56 m away, the view radius is 10 m
    assert [m["text"] for m in room.social.join_extras(9, step.now)["chat"]] == ["hello"]


def test_reactions_in_one_tick_become_one_message() -> None:
    room, step = crowd(4)
    out = step(*(React(a, "❤️") for a in (1, 2, 3, 4) for _ in range(5)), React(1, "🔥"))
    (burst,) = events(out, "reactions")
    assert burst.to is None and burst.payload["counts"] == {"❤️": 20, "🔥": 1}
    assert len(burst.payload["near"]) <= 20
    assert events(step(), "reactions") == []  # nobody reacted since


def test_mute_refuses_shadow_mute_echoes_to_self_only() -> None:
    room, step = crowd(2)
    ack = step.reply(lambda r: StaffAct(r, HOST, "mod.mute", {"avatar": 1, "minutes": 1}))
    assert ack["ok"]
    refused = step.reply(lambda r: Say(r, 1, "hi", "room"))
    assert refused["error"]["code"] == "muted"
    step.now += 61_000  # the mute runs out
    assert step.reply(lambda r: Say(r, 1, "back", "room"))["ok"]

    step.reply(lambda r: StaffAct(r, HOST, "mod.shadow", {"avatar": 2}))
    out = step(Say(7, 2, "spam", "room"))
    assert out.replies[7]["ok"]
    (msg,) = events(out, "chat")
    assert msg.to == (2,)
    assert [s for s in out.staff if s[0] == "chat"][0][1]["shadow"] is True


def test_slow_mode_lets_one_message_through_per_interval() -> None:
    room, step = crowd(1)
    step.reply(lambda r: StaffAct(r, HOST, "mod.slow", {"seconds": 10}))
    assert step.reply(lambda r: Say(r, 1, "one", "room"))["ok"]
    assert step.reply(lambda r: Say(r, 1, "two", "room"))["error"]["code"] == "rate_limited"
    step.now += 10_000
    assert step.reply(lambda r: Say(r, 1, "three", "room"))["ok"]


def test_ban_holds_against_the_avatar_and_its_session() -> None:
    room, step = crowd(2)
    out = step(StaffAct(1, HOST, "mod.ban", {"avatar": 2}))
    assert out.replies[1]["ok"] and out.removed == [2] and 2 in out.left and room.occupancy == 1
    assert events(out, "moderation")[0].payload == {"action": "banned"}
    assert step.reply(lambda r: Join(r, 2, "V2", {}, "session-2"))["error"]["code"] == "banned"
    assert step.reply(lambda r: Join(r, 99, "New", {}, "session-2"))["error"]["code"] == "banned"
    assert step.reply(lambda r: Join(r, 98, "Other", {}, "session-98"))["ok"]
    log = [s[1] for s in out.staff if s[0] == "modlog"]
    assert log[0]["action"] == "mod.ban" and log[0]["avatar"] == 2 and log[0]["by"] == "Sara"


def test_qa_votes_once_and_the_list_goes_out_at_most_once_a_second() -> None:
    room, step = crowd(3)
    qid = step.reply(lambda r: Ask(r, 1, "Sizes?"))["id"]
    assert step.reply(lambda r: Vote(r, 2, qid)) == {"ok": True, "votes": 1}
    assert step.reply(lambda r: Vote(r, 2, qid)) == {"ok": True, "votes": 1}
    assert step.reply(lambda r: Vote(r, 3, qid)) == {"ok": True, "votes": 2}
    assert step.reply(lambda r: Vote(r, 3, "nope"))["error"]["code"] == "not_found"
    sent = []
    for _ in range(20):  # 2 s of ticks with a vote changing the list in every one
        step.room.social.qa.changed = True
        sent += events(step(), "qa")
    assert 2 <= len(sent) <= 3


def test_assistant_answers_hands_off_and_keeps_staff_replies_for_an_absent_visitor() -> None:
    room, step = crowd(1)
    sure = step.reply(lambda r: AssistAsk(r, 1, "how long does shipping take"))
    assert sure["handoff"] is False and sure["answer"] == "Two working days." and sure["confidence"] == 1.0
    unsure = step.reply(lambda r: AssistAsk(r, 1, "can I pay in bitcoin"))
    assert unsure["handoff"] is True and unsure["ticket"] == sure["ticket"]
    step(Detach(1))
    reply = step.reply(lambda r: StaffAct(r, HOST, "assist.reply", {"ticket": sure["ticket"], "text": "No, sorry."}))
    assert reply == {"ok": True, "delivered": False}
    out = step(Attach(1))
    (msg,) = events(out, "assist")
    assert msg.to == (1,) and msg.payload["from"] == "staff" and msg.payload["name"] == "Sara"
    assert events(step(Attach(1)), "assist") == []  # delivered once


def test_unknown_targets_are_not_found() -> None:
    room, step = crowd(1)
    for action, params in (("mod.mute", {"avatar": 42}), ("mod.kick", {"avatar": 42}), ("chat.delete", {"id": "m1"}),
                           ("qa.answer", {"id": "q1", "text": "x"}), ("mod.unban", {"avatar": 42}),
                           ("assist.reply", {"ticket": "r:t1", "text": "x"})):
        assert step.reply(lambda r: StaffAct(r, HOST, action, params))["error"]["code"] == "not_found", action


def test_stats_count_the_last_minute() -> None:
    room, step = crowd(2)
    step(Say(1, 1, "a", "room"), Say(2, 2, "b", "room"), React(1, "❤️"), React(2, "❤️"))
    step.now += 1000  # rooms report their numbers about once a second
    out = step()
    assert out.stats["attendees"] == 2 and out.stats["chat_per_min"] == 2 and out.stats["reactions_per_min"] == 2
    step.now += 60_000
    assert step().stats["chat_per_min"] == 0
    assert step().stats == {}  # not again within the second
