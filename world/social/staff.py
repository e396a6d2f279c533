"""Staff actions on the social layer (``StaffAct``): chat as staff, pin, delete, mute, shadow-mute,
kick, ban, slow mode, Q&A answers and deletions, assistant replies, and what a host console gets
when it starts watching. Each is a function of the room's :class:`world.social.layer.Social`;
:data:`ACTIONS` maps the action name to it. Time is server ms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from world.protocol import ErrorCode, error, ok
from world.social.chat import STAFF_ID, ChatMessage
from world.social.inputs import MINUTE_MS, StaffAct, scope_of

if TYPE_CHECKING:
    from world.social.layer import Social

Reply = dict[str, Any]


def staff_say(s: Social, act: StaffAct, now: int) -> Reply:
    msg = ChatMessage(s.chat.next_id(now), STAFF_ID, act.staff.name, act.params["text"], "room", now,
                      staff=True, filtered=bool(act.params.get("filtered")))
    s.chat.add(msg)
    s.announce_chat(None, msg, now)
    s.feed.tell_staff("chat", msg.staff_wire(s.room))
    s.share_chat(msg)
    s.log(act, now, id=msg.id, text=msg.text)
    return ok(id=msg.id)


def pin(s: Social, act: StaffAct, now: int) -> Reply:
    text = act.params.get("text") or ""
    s.chat.pinned = {"text": text, "by": act.staff.name, "t": now} if text else None
    s.feed.send(None, "pin", s.chat.pinned or {"text": None})
    s.feed.tell_staff("pin", {"room": s.room, **(s.chat.pinned or {"text": None})})
    s.log(act, now, text=text or None)
    return ok()


def delete(s: Social, act: StaffAct, now: int) -> Reply:
    msg = s.chat.delete(act.params["id"])
    if msg is None:
        return error(ErrorCode.NOT_FOUND, f"no message {act.params['id'][:64]!r}")
    s.feed.send(None, "chat.delete", {"id": msg.id})
    s.feed.tell_staff("chat.delete", {"room": s.room, "id": msg.id})
    s.log(act, now, id=msg.id, avatar=msg.avatar or None, name=msg.name, text=msg.text)
    return ok()


def mute(s: Social, act: StaffAct, now: int) -> Reply:
    avatar, name = s.target(act)
    shadow = act.action == "mod.shadow"
    minutes = float(act.params.get("minutes") or (60 if shadow else 10))
    scope = scope_of(act)
    muted = s.mod.mute(avatar, name, now + int(minutes * MINUTE_MS), shadow=shadow, scope=scope)
    if shadow:  # not told; what it asked before is now hidden from everyone else too
        s.qa.shadow_by(avatar)
    else:
        s.feed.send((avatar,), "moderation", {"action": "muted", "until": muted.until})
    s.log(act, now, avatar=avatar, name=name, minutes=minutes, scope=scope)
    return ok(until=muted.until, name=name)


def unmute(s: Social, act: StaffAct, now: int) -> Reply:
    avatar = int(act.params["avatar"])
    was = s.mod.mute_of(avatar, now)
    name = was.name if was is not None else s.target(act)[1]
    if not s.mod.unmute(avatar):
        return error(ErrorCode.NOT_FOUND, f"{name} is not muted")
    if was is not None and not was.shadow:
        s.feed.send((avatar,), "moderation", {"action": "unmuted"})
    s.log(act, now, avatar=avatar, name=name, scope=scope_of(act))
    return ok(name=name)


def remove(s: Social, act: StaffAct, now: int) -> Reply:
    avatar, name = s.target(act)
    banned = act.action == "mod.ban"
    scope = scope_of(act) if banned else None
    if banned:
        who = s.ctx.who_of(avatar)
        s.mod.ban(avatar, name, who.key if who is not None else None, scope=scope_of(act))
        for q in s.qa.remove_by(avatar):  # a banned visitor's questions go with it
            s.feed.tell_staff("qa.delete", {"room": s.room, "id": q.id})
    s.feed.send((avatar,), "moderation", {"action": "banned" if banned else "kicked"})
    if s.ctx.remove(avatar):
        s.feed.removed.append(avatar)
    s.log(act, now, avatar=avatar, name=name, scope=scope)
    return ok(name=name)


def unban(s: Social, act: StaffAct, now: int) -> Reply:
    avatar = int(act.params["avatar"])
    if not s.mod.unban(avatar):
        return error(ErrorCode.NOT_FOUND, f"avatar {avatar} is not banned")
    s.log(act, now, avatar=avatar, name=s.names.get(avatar), scope=scope_of(act))
    return ok()


def slow(s: Social, act: StaffAct, now: int) -> Reply:
    seconds = int(act.params["seconds"])
    s.chat.slow_s = seconds
    s.feed.send(None, "moderation", {"action": "slow", "seconds": seconds})
    s.log(act, now, seconds=seconds)
    return ok()


def qa_delete(s: Social, act: StaffAct, now: int) -> Reply:
    q = s.qa.delete(act.params["id"])
    if q is None:
        return error(ErrorCode.NOT_FOUND, f"no question {act.params['id'][:64]!r}")
    s.feed.tell_staff("qa.delete", {"room": s.room, "id": q.id})
    s.log(act, now, id=q.id, avatar=q.avatar, name=q.name, text=q.text)
    return ok()


def answer(s: Social, act: StaffAct, now: int) -> Reply:
    q = s.qa.get(act.params["id"])
    if q is None:
        return error(ErrorCode.NOT_FOUND, f"no question {act.params['id'][:64]!r}")
    s.qa.answer(q, act.params["text"])
    s.log(act, now, id=q.id, text=act.params["text"])
    return ok()


def reply(s: Social, act: StaffAct, now: int) -> Reply:
    got = s.assistant.reply(act.params["ticket"], act.staff.name, act.params["text"], now)
    if got is None:
        return error(ErrorCode.NOT_FOUND, f"no ticket {act.params['ticket'][:80]!r}")
    ticket, msg = got
    delivered = s.ctx.is_viewing(ticket.avatar)
    if delivered:
        s.feed.send((ticket.avatar,), "assist", msg)
    else:
        ticket.undelivered.append(msg)  # sent when the visitor resumes
    s.feed.tell_staff("ticket", ticket.wire(s.room))
    s.log(act, now, id=ticket.id, avatar=ticket.avatar, name=ticket.name)
    return ok(delivered=delivered)


def watch(s: Social, act: StaffAct, now: int) -> Reply:
    """A host console starts watching: what every feature of the room gives it."""
    return ok(**s.ctx.watching(now))


ACTIONS: dict[str, Callable[[Social, StaffAct, int], Reply]] = {
    "chat": staff_say,
    "chat.pin": pin,
    "chat.delete": delete,
    "mod.mute": mute,
    "mod.shadow": mute,
    "mod.unmute": unmute,
    "mod.kick": remove,
    "mod.ban": remove,
    "mod.unban": unban,
    "mod.slow": slow,
    "qa.answer": answer,
    "qa.delete": qa_delete,
    "assist.reply": reply,
    "host.watch": watch,
}
