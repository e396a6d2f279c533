"""The social layer through Room.step, without sockets: chat, reactions, Q&A, assistant, moderation."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from world.commerce.catalog import FAQ, Catalog, Product
from world.replication.shared import Replicated
from world.core.room import Attach, Detach, Join, Room
from world.feature import Who
from world.core.scene import RoomConfig, Scene
from world.social.layer import Ask, AssistAsk, React, Say, Staff, StaffAct, Vote

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
    step(*(Join(i, i, f"V{i}", {}, Who(f"session-{i}")) for i in range(1, n + 1)))
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
    assert [m["text"] for m in room.social.join(9, step.now)["chat"]] == ["hello"]


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
    assert step.reply(lambda r: Join(r, 2, "V2", {}, Who("session-2")))["error"]["code"] == "banned"
    assert step.reply(lambda r: Join(r, 99, "New", {}, Who("session-2")))["error"]["code"] == "banned"
    assert step.reply(lambda r: Join(r, 98, "Other", {}, Who("session-98")))["ok"]
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


# ---- shadow mute covers every public post; staff take questions down; scope -------------


def _tops(out: Any) -> dict[Any, list[str]]:
    """Who got which Q&A top list in this tick (recipients -> question texts)."""
    return {e.to: [q["text"] for q in e.payload["top"]] for e in events(out, "qa")}


def _next_qa(step: Steps, *inputs: Any) -> Any:
    """The tick (of the next 2 s) in which the Q&A list goes out (at most once a second)."""
    out = step(*inputs)
    for _ in range(20):
        if events(out, "qa"):
            return out
        out = step()
    raise AssertionError("the Q&A list did not go out")


def test_a_shadow_muted_question_is_on_its_askers_board_and_staffs_queue_only() -> None:
    room, step = crowd(3)
    step.reply(lambda r: StaffAct(r, HOST, "mod.shadow", {"avatar": 1}))
    asked = _next_qa(step, Ask(5, 1, "spam question"), Ask(6, 2, "real question"))
    assert asked.replies[5]["ok"] and asked.replies[6]["ok"]  # the shadow-muted asker is not told
    assert not [s for s in asked.shared if s[0] == "qa" and s[1]["text"] == "spam question"]
    (shadowed,) = [s[1] for s in asked.shared if s[0] == "staff"]
    assert shadowed["action"] == "shadow.post" and shadowed["params"]["kind"] == "qa"
    out = asked
    tops = _tops(out)
    assert tops[(1,)] == ["real question", "spam question"] or tops[(1,)] == ["spam question", "real question"]
    assert sorted(tops) == [(1,), (2, 3)] and tops[(2, 3)] == ["real question"]
    queue = [s[1]["questions"] for s in out.staff if s[0] == "qa.queue"][0]
    assert {q["text"]: q.get("shadow", False) for q in queue} == {"spam question": True, "real question": False}
    assert [q["text"] for q in room.social.join(2, step.now)["qa"]["top"]] == ["real question"]
    assert len(room.social.join(1, step.now)["qa"]["top"]) == 2


def test_a_shadow_muted_visitors_vote_is_acknowledged_but_never_counted_or_shared() -> None:
    room, step = crowd(3)
    qid = step.reply(lambda r: Ask(r, 3, "Sizes?"))["id"]
    step.reply(lambda r: StaffAct(r, HOST, "mod.shadow", {"avatar": 1}))
    out = step(Vote(7, 1, qid))
    assert out.replies[7] == {"ok": True, "votes": 1}  # the troll is not told
    assert not [s for s in out.shared if s[0] == "qa"]  # no other node counts it either
    assert step.reply(lambda r: Vote(r, 2, qid)) == {"ok": True, "votes": 1}  # everyone else: one vote
    assert [q["votes"] for q in room.social.join(2, step.now)["qa"]["top"]] == [1]


def test_shadow_muting_hides_the_visitors_earlier_questions_too() -> None:
    room, step = crowd(2)
    assert step.reply(lambda r: Ask(r, 1, "asked before the mute"))["ok"]
    step.reply(lambda r: StaffAct(r, HOST, "mod.shadow", {"avatar": 1}))
    tops = _tops(_next_qa(step))
    assert tops[(2,)] == [] and tops[(1,)] == ["asked before the mute"]


def test_a_shadow_muted_visitors_reactions_reach_no_one_a_muted_one_still_reacts() -> None:
    room, step = crowd(3)
    step.reply(lambda r: StaffAct(r, HOST, "mod.shadow", {"avatar": 1}))
    step.reply(lambda r: StaffAct(r, HOST, "mod.mute", {"avatar": 2}))
    out = step(React(1, "❤️"), React(1, "🔥"), React(2, "❤️"), React(3, "❤️"))
    (burst,) = events(out, "reactions")
    assert burst.payload["counts"] == {"❤️": 2} and sorted(a for a, _ in burst.payload["near"]) == [2, 3]
    assert [s[1] for s in out.shared if s[0] == "reactions"] == [{"counts": {"❤️": 2}}]
    assert events(step(React(1, "❤️")), "reactions") == []  # nothing at all for a shadowed one alone


def test_staff_take_a_question_down_everywhere() -> None:
    room, step = crowd(2)
    out = _next_qa(step, Ask(8, 1, "off-topic"))
    qid = out.replies[8]["id"]
    assert _tops(out)[None] == ["off-topic"]
    out = step(StaffAct(9, HOST, "qa.delete", {"id": qid}))
    assert out.replies[9] == {"ok": True}
    assert ("qa.delete", {"room": "r", "id": qid}) in out.staff
    assert [s[1]["action"] for s in out.shared if s[0] == "staff"] == ["qa.delete"]  # to every shard and node
    log = [s[1] for s in out.staff if s[0] == "modlog"][0]
    assert log["action"] == "qa.delete" and log["text"] == "off-topic" and log["avatar"] == 1
    assert _tops(_next_qa(step))[None] == []
    assert step.reply(lambda r: StaffAct(r, HOST, "qa.delete", {"id": qid}))["error"]["code"] == "not_found"


def test_a_ban_takes_the_visitors_questions_down() -> None:
    room, step = crowd(2)
    step(Ask(5, 1, "mine"), Ask(6, 2, "theirs"))
    out = step(StaffAct(7, HOST, "mod.ban", {"avatar": 1}))
    assert out.replies[7]["ok"] and [s[0] for s in out.staff].count("qa.delete") == 1
    assert _tops(_next_qa(step))[None] == ["theirs"]


def test_shadowed_posts_from_another_node_reach_its_staff_flagged_and_no_visitor() -> None:
    here, step = crowd(2)
    there, other = crowd(1)
    other.reply(lambda r: StaffAct(r, HOST, "mod.shadow", {"avatar": 1}))
    shared = other(Say(5, 1, "spam", "room"), Ask(6, 1, "spam?")).shared
    items = [Replicated(kind, payload) for kind, payload in shared]
    assert [m.kind for m in items] == ["staff", "staff"]  # never a public chat or qa item
    out = step(*items)
    assert events(out, "chat") == []
    (msg,) = [s[1] for s in out.staff if s[0] == "chat"]
    assert msg["text"] == "spam" and msg["shadow"] is True and msg["remote"] is True
    assert here.social.chat.history() == []
    queue = here.social.qa.queue()
    assert [(q["text"], q["shadow"]) for q in queue] == [("spam?", True)] and here.social.qa.top() == []


def test_event_wide_actions_hold_in_a_room_the_visitor_has_not_been_to() -> None:
    room, step = crowd(1)
    typo = step.reply(lambda r: StaffAct(r, HOST, "mod.ban", {"avatar": 77, "scope": "event"}))
    assert typo["error"]["code"] == "not_found"  # unnamed: the room it was asked in must know it
    ack = step.reply(lambda r: StaffAct(r, HOST, "mod.ban", {"avatar": 77, "scope": "event", "name": "Troll"}))
    assert ack == {"ok": True, "name": "Troll"}
    assert step.reply(lambda r: Join(r, 77, "Troll", {}, Who("session-77")))["error"]["code"] == "banned"
    assert room.social.mod.banned() == [{"avatar": 77, "name": "Troll", "scope": "event"}]
    muted = step.reply(lambda r: StaffAct(r, HOST, "mod.mute", {"avatar": 78, "scope": "event", "name": "Loud"}))
    assert muted["ok"]
    step(Join(1, 78, "Loud", {}, Who("session-78")))
    assert step.reply(lambda r: Say(r, 78, "hi", "room"))["error"]["code"] == "muted"
    assert step.reply(lambda r: StaffAct(r, HOST, "mod.unmute", {"avatar": 78, "scope": "event"}))["ok"]
    assert step.reply(lambda r: Say(r, 78, "hi", "room"))["ok"]


def test_a_watching_host_gets_every_features_part_and_one_moderation_log() -> None:
    from world.commerce.shop import CommerceAct

    room, step = crowd(2)
    step(StaffAct(1, HOST, "mod.mute", {"avatar": 2, "minutes": 5}),
         CommerceAct(2, HOST, "spotlight", {"product": "aria"}))
    watch = step.reply(lambda ref: StaffAct(ref, HOST, "host.watch", {}))
    assert watch["ok"] and watch["spotlight"]["product"]["id"] == "aria" and watch["offers"] == []
    assert [e["action"] for e in watch["log"]] == ["mod.mute", "spotlight"]  # the shop's action is in the one log
    assert [m["avatar"] for m in watch["muted"]] == [2] and "chat" in watch and "qa" in watch


def test_a_banned_visitor_is_refused_on_joining_again() -> None:
    room, step = crowd(2)
    step(StaffAct(1, HOST, "mod.ban", {"avatar": 2, "scope": "room"}))
    again = step.reply(lambda ref: Join(ref, 2, "V2", {}, Who("session-2")))
    assert again["error"]["code"] == "banned" and room.occupancy == 1
