"""Brand staff on /host over real sockets: tokens, roles, moderation, the assistant handoff."""

from __future__ import annotations

import asyncio

import pytest
import socketio

from tests.conftest import AppServer, StaffClient, Visitor, chat_marker, eventually
from tests.server.test_cluster import RedisServer, nodes, redis_server, visitor  # noqa: F401 (a fixture)


async def _visitor(server: AppServer, visitors: list[Visitor], name: str, room: str = "showroom") -> Visitor:
    v = Visitor(name)
    visitors.append(v)
    await v.connect(server.url)
    await v.join(room)
    return v


async def _staff(server: AppServer, staff: list[StaffClient], role: str = "host", rooms: list[str] | str = "*") -> StaffClient:
    s = StaffClient(role, rooms, name=f"{role.title()} Sara")
    staff.append(s)
    await s.connect(server.url)
    await eventually(lambda: s.got("welcome"))
    return s


@pytest.mark.parametrize("token", ["", "not-a-jwt", "forged"])
async def test_bad_tokens_are_refused(server: AppServer, token: str) -> None:
    client = StaffClient("host", secret="some-other-secret-entirely-0123456789abcdef")  # a forged signature
    with pytest.raises(socketio.exceptions.ConnectionError) as err:
        await client.connect(server.url, token=token if token != "forged" else client.token)
    assert "/host" in str(err.value)
    assert client.refused["message"].startswith("forbidden: ") and client.refused["data"] == {"code": "forbidden"}
    await client.close()


async def test_expired_token_is_refused(server: AppServer) -> None:
    client = StaffClient("host", ttl_s=-1)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(server.url)
    assert client.refused["message"] == "forbidden: token expired"
    await client.close()


async def test_staff_welcome_and_watch_snapshot(server: AppServer, visitors: list[Visitor], staff: list[StaffClient]) -> None:
    ada = await _visitor(server, visitors, "Ada")
    await ada.call("chat", {"text": "hello shop"})
    host = await _staff(server, staff, "host", ["showroom"])
    assert host.got("welcome")[0]["role"] == "host" and host.got("welcome")[0]["rooms"] == ["showroom"]
    snap = await host.call("host.watch", {"room": "showroom"})
    assert snap["ok"] and snap["room"]["id"] == "showroom" and "scene" not in snap["room"]
    assert [m["text"] for m in snap["chat"]] == ["hello shop"] and snap["chat"][0]["room"] == "showroom"
    assert snap["slow"] == 0 and snap["pinned"] is None and snap["log"] == [] and snap["muted"] == []
    assert (await host.call("host.watch", {"room": "concert"}))["error"]["code"] == "forbidden"
    await ada.call("chat", {"text": "live now"})
    await eventually(lambda: any(m["text"] == "live now" for m in host.got("chat")))
    stats = await eventually(lambda: [s for s in host.got("stats") if s["chat_per_min"] == 2], timeout=5)
    assert stats[-1]["room"] == "showroom" and stats[-1]["attendees"] == 1


async def test_mute_then_unmute(server: AppServer, visitors: list[Visitor], staff: list[StaffClient]) -> None:
    ada, bob = await _visitor(server, visitors, "Ada"), await _visitor(server, visitors, "Bob")
    mod = await _staff(server, staff, "moderator", ["showroom"])
    await mod.call("host.watch", {"room": "showroom"})
    muted = await mod.call("mod.mute", {"room": "showroom", "avatar": ada.welcome["id"], "minutes": 5})
    assert muted["ok"]
    note = await eventually(lambda: ada.events.get("moderation"))
    assert note[0]["action"] == "muted" and note[0]["until"] == muted["until"]
    refused = await ada.call("chat", {"text": "why?"})
    assert refused["ok"] is False and refused["error"]["code"] == "muted" and refused["error"]["until"] == muted["until"]
    await chat_marker(bob)  # Bob's message, handled after Ada's was refused
    assert not any(m["text"] == "why?" for m in bob.events.get("chat", []))  # reaches nobody
    log = await eventually(lambda: mod.got("modlog"))
    assert log[0]["action"] == "mod.mute" and log[0]["avatar"] == ada.welcome["id"] and log[0]["by"] == "Moderator Sara"
    assert (await mod.call("mod.unmute", {"room": "showroom", "avatar": ada.welcome["id"]}))["ok"]
    await eventually(lambda: any(n["action"] == "unmuted" for n in ada.events["moderation"]))
    assert (await ada.call("chat", {"text": "thanks"}))["ok"]


async def test_shadow_muted_visitor_sees_only_itself(server: AppServer, visitors: list[Visitor], staff: list[StaffClient]) -> None:
    troll, bob = await _visitor(server, visitors, "Troll"), await _visitor(server, visitors, "Bob")
    host = await _staff(server, staff)
    await host.call("host.watch", {"room": "showroom"})
    assert (await host.call("mod.shadow", {"room": "showroom", "avatar": troll.welcome["id"]}))["ok"]
    ack = await troll.call("chat", {"text": "buy my spam"})
    assert ack["ok"]  # not told
    await eventually(lambda: any(m["text"] == "buy my spam" for m in troll.events.get("chat", [])))
    staff_copy = await eventually(lambda: [m for m in host.got("chat") if m["text"] == "buy my spam"])
    assert staff_copy[0]["shadow"] is True
    await chat_marker(bob, troll)  # Bob's message, handled after the troll's
    assert not any(m["text"] == "buy my spam" for m in bob.events.get("chat", []))
    assert "moderation" not in troll.events
    late = await _visitor(server, visitors, "Late")
    assert all(m["text"] != "buy my spam" for m in (await late.call("join", {"room": "showroom"}))["chat"])


async def test_kick_ban_and_banned_rejoin(server: AppServer, visitors: list[Visitor], staff: list[StaffClient]) -> None:
    ada, bob = await _visitor(server, visitors, "Ada"), await _visitor(server, visitors, "Bob")
    host = await _staff(server, staff)
    await eventually(lambda: any(e[0] == bob.welcome["id"] for t in ada.ticks for e in t["enter"]))
    assert (await host.call("mod.kick", {"room": "showroom", "avatar": bob.welcome["id"]}))["ok"]
    await eventually(lambda: bob.events.get("moderation"))
    assert bob.events["moderation"][0] == {"action": "kicked"}
    await eventually(lambda: any(bob.welcome["id"] in t["leave"] for t in ada.ticks))
    assert (await bob.call("chat", {"text": "hey"}))["error"]["code"] == "not_joined"
    assert (await bob.call("join", {"room": "showroom"}))["ok"]  # a kick is not a ban

    assert (await host.call("mod.ban", {"room": "showroom", "avatar": bob.welcome["id"], "scope": "room"}))["ok"]
    await eventually(lambda: any(n["action"] == "banned" for n in bob.events["moderation"]))
    assert (await bob.call("join", {"room": "showroom"}))["error"]["code"] == "banned"
    assert (await bob.call("join", {"room": "concert"}))["ok"]  # only that room, as asked
    session = bob.welcome["session"]
    await bob.close()
    again = Visitor("Bob")
    visitors.append(again)
    await again.connect(server.url, resume=session)
    assert (await again.call("join", {"room": "showroom"}))["error"]["code"] == "banned"
    assert (await host.call("mod.unban", {"room": "showroom", "avatar": bob.welcome["id"]}))["ok"]
    assert (await again.call("join", {"room": "showroom"}))["ok"]


async def test_visitors_can_never_perform_host_actions(server: AppServer, visitors: list[Visitor]) -> None:
    ada, bob = await _visitor(server, visitors, "Ada"), await _visitor(server, visitors, "Bob")
    for event in ("mod.ban", "mod.mute", "mod.kick", "chat.pin", "chat.delete", "mod.slow", "qa.answer",
                  "assist.reply", "host.watch", "offer.start", "wheel.spin"):
        ack = await ada.call(event, {"room": "showroom", "avatar": bob.welcome["id"], "seconds": 30})
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", event
    # a visitor cannot open /host without a token either
    with pytest.raises(socketio.exceptions.ConnectionError):
        await ada.sio.connect(server.url, namespaces=["/host"], auth={}, transports=["websocket"], wait_timeout=3)
    assert (await bob.call("chat", {"text": "still here"}))["ok"]
    assert "moderation" not in bob.events
    async with __import__("aiohttp").ClientSession() as http:
        async with http.get(server.url + "/metrics") as r:
            text = await r.text()
    assert 'vetrina_rejected_total{code="forbidden",event="mod.ban"} 1.0' in text


async def test_roles_limit_what_staff_may_do(server: AppServer, visitors: list[Visitor], staff: list[StaffClient]) -> None:
    ada = await _visitor(server, visitors, "Ada")
    operator = await _staff(server, staff, "operator")
    ack = await operator.call("mod.ban", {"room": "showroom", "avatar": ada.welcome["id"]})
    assert ack["error"]["code"] == "forbidden"
    mod = await _staff(server, staff, "moderator", ["concert"])
    ack = await mod.call("mod.mute", {"room": "showroom", "avatar": ada.welcome["id"]})
    assert ack["error"]["code"] == "forbidden"  # not this moderator's room
    assert (await mod.call("mod.mute", {"room": "concert", "avatar": ada.welcome["id"]}))["error"]["code"] == "not_found"
    assert (await mod.call("mod.slow", {"room": "concert", "seconds": 9999}))["error"]["code"] == "bad_request"


async def test_slow_mode_pin_delete_and_staff_chat(server: AppServer, visitors: list[Visitor], staff: list[StaffClient]) -> None:
    ada, bob = await _visitor(server, visitors, "Ada"), await _visitor(server, visitors, "Bob")
    host = await _staff(server, staff)
    assert (await host.call("mod.slow", {"room": "showroom", "seconds": 30}))["ok"]
    await eventually(lambda: bob.events.get("moderation"))
    assert bob.events["moderation"][0] == {"action": "slow", "seconds": 30}
    first = await ada.call("chat", {"text": "one"})
    assert first["ok"]
    second = await ada.call("chat", {"text": "two"})
    assert second["error"]["code"] == "rate_limited" and "slow mode" in second["error"]["message"]
    assert (await host.call("chat.delete", {"room": "showroom", "id": first["id"]}))["ok"]
    await eventually(lambda: bob.events.get("chat.delete"))
    assert bob.events["chat.delete"][0] == {"id": first["id"]}
    assert (await host.call("chat.delete", {"room": "showroom", "id": first["id"]}))["error"]["code"] == "not_found"
    assert (await host.call("chat.pin", {"room": "showroom", "text": "Runway show at 18:00"}))["ok"]
    pin = await eventually(lambda: bob.events.get("pin"))
    assert pin[0]["text"] == "Runway show at 18:00" and pin[0]["by"] == "Host Sara"
    said = await host.call("chat", {"room": "showroom", "text": "Welcome everyone!"})
    assert said["ok"]
    msg = await eventually(lambda: [m for m in bob.events.get("chat", []) if m["id"] == said["id"]])
    assert msg[0]["from"] == {"id": 0, "name": "Host Sara", "staff": True}
    late = await _visitor(server, visitors, "Late")
    ack = await late.call("join", {"room": "showroom"})
    assert ack["pinned"]["text"] == "Runway show at 18:00" and ack["slow"] == 30
    assert [m["text"] for m in ack["chat"]] == ["Welcome everyone!"]  # the deleted one is gone


async def test_bot_answers_then_hands_off_and_staff_reply_survives_reconnect(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    ada = await _visitor(server, visitors, "Ada")
    answered = await ada.call("assist", {"text": "How long does shipping take?"})
    assert answered["ok"] and answered["handoff"] is False and answered["confidence"] >= 0.6
    assert "2 working days" in answered["answer"]
    operator = await _staff(server, staff, "operator", ["showroom"])
    await operator.call("host.watch", {"room": "showroom"})
    unsure = await ada.call("assist", {"text": "Can I bring my dog to the runway show?"})
    assert unsure["handoff"] is True and unsure["confidence"] < 0.6 and unsure["ticket"] == answered["ticket"]
    tickets = await eventually(lambda: [t for t in operator.got("ticket") if t["status"] == "open"])
    ticket = tickets[-1]
    assert ticket["avatar"] == ada.welcome["id"] and ticket["messages"][-2]["text"].startswith("Can I bring")

    # the visitor drops; the operator answers meanwhile; the visitor resumes and gets it
    session = ada.welcome["session"]
    await ada.close()
    await asyncio.sleep(0.2)
    reply = await operator.call("assist.reply", {"ticket": ticket["ticket"], "text": "Yes, dogs are welcome!"})
    assert reply == {"ok": True, "delivered": False}
    back = Visitor("Ada")
    visitors.append(back)
    await back.connect(server.url, resume=session)
    got = await eventually(lambda: back.events.get("assist"))
    assert got[0]["from"] == "staff" and got[0]["text"] == "Yes, dogs are welcome!" and got[0]["name"] == "Operator Sara"
    history = (await back.call("join", {"room": "showroom"}))["assist"]
    assert [m["from"] for m in history] == ["visitor", "bot", "visitor", "bot", "staff"]
    # staff have it now: the next message goes straight to them, online this time
    more = await back.call("assist", {"text": "And cats?"})
    assert more["handoff"] is True and "answer" not in more
    reply = await operator.call("assist.reply", {"ticket": ticket["ticket"], "text": "Cats too."})
    assert reply["delivered"] is True
    await eventually(lambda: len(back.events["assist"]) == 2)
    assert (await operator.call("assist.reply", {"ticket": "showroom:nope", "text": "x"}))["error"]["code"] == "not_found"
    assert (await operator.call("assist.reply", {"ticket": "concert:t1", "text": "x"}))["error"]["code"] == "forbidden"


async def test_asking_for_a_person_hands_off_at_once(server: AppServer, visitors: list[Visitor]) -> None:
    ada = await _visitor(server, visitors, "Ada")
    ack = await ada.call("assist", {"text": "Vorrei parlare con un operatore per la borsa Luna"})
    assert ack["handoff"] is True


async def test_bans_cover_the_event_by_default_mutes_the_room_unless_asked(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    ada, bob = await _visitor(server, visitors, "Ada"), await _visitor(server, visitors, "Bob")
    mod = await _staff(server, staff, "moderator", ["showroom", "concert"])
    await mod.call("host.watch", {"room": "showroom"})
    assert bob.welcome is not None and ada.welcome is not None
    banned = await mod.call("mod.ban", {"room": "showroom", "avatar": bob.welcome["id"]})
    assert banned["ok"] and sorted(banned["rooms"]) == ["concert", "showroom"]
    assert (await bob.call("join", {"room": "concert"}))["error"]["code"] == "banned"
    assert (await bob.call("join", {"room": "studio"}))["ok"]  # not a room this moderator covers
    unbanned = await mod.call("mod.unban", {"room": "showroom", "avatar": bob.welcome["id"]})
    assert unbanned["ok"] and sorted(unbanned["rooms"]) == ["concert", "showroom"]
    assert (await bob.call("join", {"room": "concert"}))["ok"]

    assert (await mod.call("mod.mute", {"room": "showroom", "avatar": ada.welcome["id"]}))["ok"]
    await ada.join("concert")
    assert (await ada.call("chat", {"text": "free over here"}))["ok"]  # a mute is for its room
    assert (await mod.call("mod.mute", {"room": "concert", "avatar": ada.welcome["id"], "scope": "event"}))["ok"]
    for room in ("showroom", "concert"):
        await ada.join(room)
        assert (await ada.call("chat", {"text": "still?"}))["error"]["code"] == "muted", room
    log = await eventually(lambda: [e for e in mod.got("modlog") if e.get("scope") == "event"])
    assert log[0]["action"] == "mod.ban"
    bad = await mod.call("mod.ban", {"room": "showroom", "avatar": bob.welcome["id"], "scope": "everywhere"})
    assert bad["error"]["code"] == "bad_request"
    typo = await mod.call("mod.ban", {"room": "showroom", "avatar": 424242})
    assert typo["error"]["code"] == "not_found"  # bans nobody anywhere


async def test_shadow_muted_questions_and_reactions_reach_only_the_sender_and_staff(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    troll, bob = await _visitor(server, visitors, "Troll"), await _visitor(server, visitors, "Bob")
    host = await _staff(server, staff)
    await host.call("host.watch", {"room": "showroom"})
    assert troll.welcome is not None
    assert (await host.call("mod.shadow", {"room": "showroom", "avatar": troll.welcome["id"]}))["ok"]
    spam = await troll.call("qa.ask", {"text": "visit my spam site"})
    assert spam["ok"]  # not told
    await eventually(lambda: any(q["id"] == spam["id"] for m in troll.events.get("qa", []) for q in m["top"]))
    queued = await eventually(lambda: [q for m in host.got("qa.queue") for q in m["questions"] if q["id"] == spam["id"]])
    assert queued[0]["shadow"] is True
    real = await bob.call("qa.ask", {"text": "Is there a size 44?"})
    tops = await eventually(lambda: [m["top"] for m in bob.events.get("qa", []) if any(q["id"] == real["id"] for q in m["top"])])
    assert all(q["id"] != spam["id"] for m in bob.events["qa"] for q in m["top"])
    assert [q["id"] for q in tops[-1]] == [real["id"]]

    await troll.call("react", {"emoji": "❤️"})
    await bob.call("react", {"emoji": "🔥"})
    await eventually(lambda: any([bob.welcome["id"], "🔥"] in m["near"] for m in bob.events.get("reactions", [])))
    seen = bob.events["reactions"]
    assert all(pair[0] != troll.welcome["id"] for m in seen for pair in m["near"])
    assert sum(n for m in seen for n in m["counts"].values()) == 1


async def test_staff_delete_a_question_and_a_ban_takes_questions_down(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    ada, bob = await _visitor(server, visitors, "Ada"), await _visitor(server, visitors, "Bob")
    mod = await _staff(server, staff, "moderator", ["showroom"])
    await mod.call("host.watch", {"room": "showroom"})
    off = (await ada.call("qa.ask", {"text": "off-topic"}))["id"]
    keep = (await ada.call("qa.ask", {"text": "on-topic"}))["id"]
    await eventually(lambda: any(q["id"] == off for m in bob.events.get("qa", []) for q in m["top"]))
    assert (await mod.call("qa.delete", {"room": "showroom", "id": off}))["ok"]
    await eventually(lambda: [q["id"] for q in bob.events["qa"][-1]["top"]] == [keep])
    assert await eventually(lambda: [d for d in mod.got("qa.delete") if d["id"] == off])
    assert (await mod.call("qa.delete", {"room": "showroom", "id": off}))["error"]["code"] == "not_found"
    operator = await _staff(server, staff, "operator")
    assert (await operator.call("qa.delete", {"room": "showroom", "id": keep}))["error"]["code"] == "forbidden"
    assert (await bob.call("qa.delete", {"room": "showroom", "id": keep}))["error"]["code"] == "forbidden"

    assert ada.welcome is not None
    assert (await mod.call("mod.ban", {"room": "showroom", "avatar": ada.welcome["id"]}))["ok"]
    await eventually(lambda: bob.events["qa"][-1]["top"] == [])


async def test_event_wide_ban_question_delete_and_shadow_posts_hold_across_nodes(
    redis_server: RedisServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    async with nodes(redis_server.url) as (a, b):
        ada = await visitor(a, visitors, "Ada", "showroom")
        troll = await visitor(b, visitors, "Troll", "showroom")
        host = StaffClient("host", "*", name="Mia")
        staff.append(host)
        await host.connect(a.url)
        assert (await host.call("host.watch", {"room": "showroom"}))["ok"] and troll.welcome is not None
        assert (await troll.call("chat", {"text": "hello from node b"}))["ok"]  # known on node A from now on
        await eventually(lambda: any(m["text"] == "hello from node b" for m in host.got("chat")), 5)
        watcher = StaffClient("host", "*", name="Bea")  # a console on node B: proof the mute got there
        staff.append(watcher)
        await watcher.connect(b.url)
        assert (await watcher.call("host.watch", {"room": "showroom"}))["ok"]
        assert (await host.call("mod.shadow", {"room": "showroom", "avatar": troll.welcome["id"]}))["ok"]
        # the mute crosses to node B through Redis: the troll posts once node B applied it
        await eventually(lambda: any(e["action"] == "mod.shadow" and e.get("remote") for e in watcher.got("modlog")), 5)
        spam = await troll.call("qa.ask", {"text": "spam from node b"})
        flagged = await eventually(lambda: [q for m in host.got("qa.queue") for q in m["questions"] if q["id"] == spam["id"]], 5)
        assert flagged[0]["shadow"] is True  # node A's staff see it, flagged
        said = await troll.call("chat", {"text": "spam chat from node b"})
        seen = await eventually(lambda: [m for m in host.got("chat") if m["id"] == said["id"]], 5)
        assert seen[0]["shadow"] is True and seen[0]["remote"] is True
        fine = (await (await visitor(b, visitors, "Bo", "showroom")).call("qa.ask", {"text": "Colours?"}))["id"]
        await eventually(lambda: any(q["id"] == fine for m in ada.events.get("qa", []) for q in m["top"]), 5)
        shown = {q["id"] for m in ada.events["qa"] for q in m["top"]}
        assert spam["id"] not in shown
        assert all(m["id"] != said["id"] for m in ada.events.get("chat", []))

        assert (await host.call("qa.delete", {"room": "showroom", "id": fine}))["ok"]
        await eventually(lambda: all(q["id"] != fine for q in troll.events["qa"][-1]["top"]), 5)

        await troll.join("studio")
        banned = await host.call("mod.ban", {"room": "showroom", "avatar": troll.welcome["id"]})
        assert banned["ok"] and sorted(banned["rooms"]) == ["concert", "showroom", "studio"]
        await eventually(lambda: any(n["action"] == "banned" for n in troll.events.get("moderation", [])), 5)
        for room in ("studio", "concert", "showroom"):  # on its own node, in every room
            assert (await troll.call("join", {"room": room}))["error"]["code"] == "banned", room
