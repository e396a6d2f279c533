"""The social layer of a room: chat, reactions, live Q&A, the assistant and moderation.

Inputs come from visitors (``Say``, ``React``, ``Ask``, ``Vote``, ``AssistAsk``) and from staff
(``StaffAct``, already checked against the staff member's role by the transport). They are
applied in the room's ``step`` like everything else; what they produce goes into the outbox as
*events* (an event name, a payload and who gets it) and *staff* messages (the feed of the
room's host consoles). Time is server ms.

Every public post of a visitor (a chat message, a question, a reaction — and whatever is added
next) goes through one check, :meth:`Social._public_post`: a muted visitor is refused, a
shadow-muted one is *shadowed*: its post is acknowledged as usual and shown to itself and to
staff (flagged ``shadow``), never to anyone else, and crosses to other nodes only as a
``shadow.post`` staff item (for their staff and its own view), never as a public item.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from world.social.assistant import Assistant
from world.commerce.catalog import Catalog
from world.social.chat import STAFF_ID, Chat, ChatMessage
from world.replication.mirror import Mirror, Shared
from world.social.moderation import Moderation
from world.protocol import ErrorCode, error, ok
from world.social.qa import QABoard, Question
from world.social.reactions import Reactions

MINUTE_MS = 60_000
Recipients = tuple[int, ...] | None  # None: every avatar in the room


class Event(NamedTuple):
    to: Recipients
    name: str
    payload: dict[str, Any]


class Staff(NamedTuple):
    name: str
    role: str


@dataclass(slots=True)
class Say:
    ref: int
    avatar: int
    text: str
    scope: str
    filtered: bool = False


@dataclass(slots=True)
class React:
    avatar: int
    emoji: str


@dataclass(slots=True)
class Ask:
    ref: int
    avatar: int
    text: str


@dataclass(slots=True)
class Vote:
    ref: int
    avatar: int
    question: str


@dataclass(slots=True)
class AssistAsk:
    ref: int
    avatar: int
    text: str


@dataclass(slots=True)
class StaffAct:
    """A staff action (``mod.mute``, ``chat.pin``, ``qa.answer``, ``host.watch`` ...)."""

    ref: int
    staff: Staff
    action: str
    params: dict[str, Any]
    mirrored: bool = False  # done on another node's shard of this room: applied here too


# Staff actions every shard of a room applies (the staff member's node shares them): a mute or
# a ban holds on every node, a pin, a deletion or an answer shows everywhere.
SHARED_STAFF = frozenset({
    "mod.mute", "mod.shadow", "mod.unmute", "mod.kick", "mod.ban", "mod.unban", "mod.slow",
    "chat.pin", "chat.delete", "qa.answer", "qa.delete",
})
# Staff actions whose reach staff choose (``scope``): this room, or every room they cover.
SCOPED = frozenset({"mod.mute", "mod.shadow", "mod.unmute", "mod.ban", "mod.unban"})
# A shadowed post on another node's shard (a ``staff`` shared item that nodes before it ignore):
# ``params`` is ``{"kind": "chat" | "qa", "item": ChatMsg | Question}``.
SHADOW_POST = "shadow.post"


def default_scope(action: str) -> str:
    """A ban (or unban) covers the whole event unless staff say otherwise; a mute one room."""
    return "event" if action in ("mod.ban", "mod.unban") else "room"

SocialInput = Say | React | Ask | Vote | AssistAsk | StaffAct


class Members(Protocol):
    """What the social layer needs to know about the room's avatars."""

    def name_of(self, avatar: int) -> str | None: ...

    def session_of(self, avatar: int) -> str | None: ...

    def is_viewing(self, avatar: int) -> bool: ...

    def near(self, avatar: int) -> list[int]: ...

    def viewer_ids(self) -> list[int]: ...

    def remove(self, avatar: int) -> bool: ...


class Social:
    def __init__(self, room: str, catalog: Catalog, members: Members, *, tag: str = "") -> None:
        self.room = room
        self.members = members
        self.chat = Chat(tag)
        self.mod = Moderation()
        self.qa = QABoard(tag)
        self.reactions = Reactions()
        self.assistant = Assistant(room, catalog, tag=tag)
        self._chat_times: deque[int] = deque()
        self._names: dict[int, str] = {}  # everyone who spoke here, for moderating them after they left
        # filled by the room's step: what to send
        self.events: list[Event] = []
        self.staff: list[tuple[str, dict[str, Any]]] = []
        self.removed: list[int] = []
        self.shared: list[Shared] = []  # for this room's shards on other nodes (world/mirror.py)

    # ---- membership hooks --------------------------------------------------------------

    def refused(self, avatar: int, session: str | None) -> dict[str, Any] | None:
        if self.mod.is_banned(avatar, session):
            return error(ErrorCode.BANNED, f"you are banned from room {self.room!r}")
        return None

    def join_extras(self, avatar: int, now: int) -> dict[str, Any]:
        """What the ``join`` ack carries for the social layer."""
        return {
            "chat": self.chat.history(),
            "pinned": self.chat.pinned,
            "slow": self.chat.slow_s,
            "qa": {"top": self.qa.top(avatar)},
            "assist": self.assistant.conversation(avatar),
        }

    def attached(self, avatar: int) -> None:
        """The avatar's visitor is back: hand over staff replies it missed."""
        ticket = self.assistant.of_avatar(avatar)
        if ticket is not None and ticket.undelivered:
            for msg in ticket.undelivered:
                self.events.append(Event((avatar,), "assist", msg))
            ticket.undelivered.clear()

    # ---- inputs ------------------------------------------------------------------------

    def apply(self, item: SocialInput, now: int) -> tuple[int, dict[str, Any]] | None:
        """Apply one input; returns (ref, reply) for inputs that are answered."""
        if isinstance(item, React):
            # a muted visitor may still react (an emoji is not speech); a shadowed reaction is
            # in no one's counts or sample (the sender's client floats its own at once)
            if self.members.name_of(item.avatar) is not None and not self._public_post(item.avatar, now, speech=False):
                self.reactions.add(item.avatar, item.emoji)
            return None
        if isinstance(item, Say):
            return item.ref, self._say(item, now)
        if isinstance(item, Ask):
            return item.ref, self._ask(item, now)
        if isinstance(item, Vote):
            return item.ref, self._vote(item)
        if isinstance(item, AssistAsk):
            return item.ref, self._assist(item, now)
        return item.ref, self._staff(item, now)

    def _member(self, avatar: int) -> str:
        name = self.members.name_of(avatar)
        if name is None:
            raise _Refusal(ErrorCode.NOT_JOINED, f"you are not in room {self.room!r}")
        self._names[avatar] = name
        return name

    def _public_post(self, avatar: int, now: int, *, speech: bool = True) -> bool:
        """The one check every public post of a visitor goes through. Raises a ``muted``
        refusal for a muted visitor's speech; True when the post is shadowed (the visitor is
        shadow-muted): the caller shows it to the poster and staff only and shares it with
        :meth:`_share_shadow`, never as a public item."""
        mute = self.mod.mute_of(avatar, now)
        if mute is None:
            return False
        if mute.shadow:
            return True
        if speech:
            raise _Refusal(ErrorCode.MUTED, _muted_text(mute.until, now), until=mute.until)
        return False

    def _share_shadow(self, kind: str, item: dict[str, Any], name: str) -> None:
        """A shadowed post, for the staff of this room's shards on other nodes."""
        self.shared.append(("staff", {"action": SHADOW_POST, "params": {"kind": kind, "item": item},
                                      "by": name, "role": "visitor"}))

    def _say(self, s: Say, now: int) -> dict[str, Any]:
        try:
            name = self._member(s.avatar)
            shadow = self._public_post(s.avatar, now)
        except _Refusal as r:
            return r.reply
        wait = self.chat.slow_wait(s.avatar, now)
        if wait > 0:
            return error(ErrorCode.RATE_LIMITED, f"slow mode: wait {wait:.0f} s before your next message")
        msg = ChatMessage(self.chat.next_id(now), s.avatar, name, s.text, s.scope, now,
                          shadow=shadow, filtered=s.filtered)
        self.chat.add(msg)
        self._chat_times.append(now)
        if msg.shadow:
            to: Recipients = (s.avatar,)  # the sender believes it went out
        elif s.scope == "near":
            to = tuple(self.members.near(s.avatar))
        else:
            to = None
        self.events.append(Event(to, "chat", msg.wire()))
        self.staff.append(("chat", msg.staff_wire(self.room)))
        if msg.shadow:
            self._share_shadow("chat", msg.wire(), name)
        elif to is None:
            self.shared.append(("chat", msg.wire()))
        return ok(id=msg.id, filtered=True) if s.filtered else ok(id=msg.id)

    def _ask(self, a: Ask, now: int) -> dict[str, Any]:
        try:
            name = self._member(a.avatar)
            shadow = self._public_post(a.avatar, now)
        except _Refusal as r:
            return r.reply
        q = self.qa.ask(a.avatar, name, a.text, now, shadow=shadow)
        if shadow:
            self._share_shadow("qa", q.staff_wire(), name)
        else:
            self.shared.append(("qa", {"op": "ask", **q.staff_wire()}))
        return ok(id=q.id)

    def _vote(self, v: Vote) -> dict[str, Any]:
        try:
            self._member(v.avatar)
        except _Refusal as r:
            return r.reply
        q = self.qa.get(v.question)
        if q is None:
            return error(ErrorCode.NOT_FOUND, f"no question {v.question[:64]!r}")
        if v.avatar not in q.voters:
            self.shared.append(("qa", {"op": "vote", "id": q.id, "avatar": v.avatar}))
        return ok(votes=self.qa.vote(q, v.avatar))

    def _assist(self, a: AssistAsk, now: int) -> dict[str, Any]:
        try:
            name = self._member(a.avatar)
        except _Refusal as r:
            return r.reply
        got = self.assistant.ask(a.avatar, name, a.text, now)
        self.staff.append(("ticket", got.ticket.wire(self.room)))
        reply = ok(ticket=got.ticket.id, handoff=got.handoff, confidence=got.confidence)
        if got.answer is not None:
            reply["answer"] = got.answer
        return reply

    def mirror(self, m: Mirror, now: int) -> None:
        """Chat, reactions, Q&A and staff actions from this room's shards on other nodes."""
        if m.kind == "staff":
            p = m.payload
            if p.get("action") == SHADOW_POST:
                self._mirror_shadow(p["params"], m.history, now)
                return
            act = StaffAct(0, Staff(str(p["by"]), str(p["role"])), str(p["action"]), dict(p["params"]), mirrored=True)
            if act.action in SHARED_STAFF:
                self._staff(act, now)
            return
        if m.kind == "qa":
            self._mirror_qa(m.payload)
            return
        if m.kind == "reactions":
            counts = m.payload.get("counts")
            if isinstance(counts, dict):
                self.reactions.add_counts(counts)
            return
        p = m.payload
        sender = p.get("from") or {}
        msg = ChatMessage(str(p["id"]), int(sender.get("id", STAFF_ID)), str(sender.get("name", "")), str(p["text"]),
                          "room", int(p.get("t", now)), staff=bool(sender.get("staff")))
        if self.chat.has(msg.id):
            return  # seen already (history overlapping live messages)
        self.chat.add(msg)
        if not msg.staff:
            self._names[msg.avatar] = msg.name  # staff here may moderate a speaker from another node
        if m.history:
            return
        self._chat_times.append(now)
        self.events.append(Event(None, "chat", msg.wire()))
        self.staff.append(("chat", {**msg.staff_wire(self.room), "remote": True}))

    def _mirror_shadow(self, p: dict[str, Any], history: bool, now: int) -> None:
        """A shadowed post from another node: for staff here (and its poster, should it
        resume here), never for anyone else."""
        item = p["item"]
        sender = item["from"]
        if p["kind"] == "qa":
            if self.qa.get(str(item["id"])) is None:
                self.qa.add(Question(str(item["id"]), str(item["text"]), int(sender["id"]), str(sender["name"]),
                                     int(item["t"]), shadow=True))
            return
        msg = ChatMessage(str(item["id"]), int(sender["id"]), str(sender["name"]), str(item["text"]),
                          str(item.get("scope", "room")), int(item.get("t", now)), shadow=True)
        if p["kind"] != "chat" or self.chat.has(msg.id):
            return
        self.chat.add(msg)
        self._names[msg.avatar] = msg.name
        if not history:
            self.staff.append(("chat", {**msg.staff_wire(self.room), "remote": True}))

    def _mirror_qa(self, p: dict[str, Any]) -> None:
        if p["op"] == "ask":
            if self.qa.get(str(p["id"])) is None:
                sender = p["from"]
                self.qa.add(Question(str(p["id"]), str(p["text"]), int(sender["id"]), str(sender["name"]), int(p["t"])))
        elif p["op"] == "vote":
            q = self.qa.get(str(p["id"]))
            if q is not None:
                self.qa.vote(q, int(p["avatar"]))

    # ---- staff -------------------------------------------------------------------------

    def _staff(self, act: StaffAct, now: int) -> dict[str, Any]:
        handler = _STAFF_ACTIONS.get(act.action)
        if handler is None:
            return error(ErrorCode.BAD_REQUEST, f"unknown staff action {act.action[:64]!r}")
        sent = len(self.events)
        target = int(act.params["avatar"]) if act.params.get("avatar") is not None else None
        # the target is elsewhere (another node, or another room of an event-wide action): it
        # hears of it where it is, not from here
        away = (act.mirrored or _scope(act) == "event") and target is not None and self.members.name_of(target) is None
        try:
            reply = handler(self, act, now)
        except _Refusal as r:
            return r.reply
        if away:
            self.events[sent:] = [e for e in self.events[sent:] if e.to is None or target not in e.to]
        if not act.mirrored and reply.get("ok") and act.action in SHARED_STAFF:
            params = dict(act.params)
            if "avatar" in params:  # the other shards may not know the target's name
                avatar = int(params["avatar"])
                params["name"] = self._names.get(avatar) or self.members.name_of(avatar) or params.get("name")
            self.shared.append(("staff", {"action": act.action, "params": params, "by": act.staff.name,
                                          "role": act.staff.role}))
        return reply

    def _log(self, act: StaffAct, now: int, **fields: Any) -> None:
        entry = {"t": now, "by": act.staff.name, "role": act.staff.role, "action": act.action, "room": self.room}
        if act.mirrored:
            entry["remote"] = True  # done on another node
        entry.update({k: v for k, v in fields.items() if v is not None})
        self.staff.append(("modlog", self.mod.record(entry)))

    def _target(self, act: StaffAct) -> tuple[int, str]:
        avatar = int(act.params["avatar"])
        name = self.members.name_of(avatar) or self._names.get(avatar)
        # on another node, or (an event-wide action, named by the room it was asked in) in
        # another room: applies here if the avatar comes
        if name is None and (act.mirrored or act.params.get("name")):
            name = str(act.params.get("name") or f"#{avatar}")
        if name is None:
            raise _Refusal(ErrorCode.NOT_FOUND, f"no avatar {avatar} in room {self.room!r}")
        return avatar, name

    def _staff_say(self, act: StaffAct, now: int) -> dict[str, Any]:
        msg = ChatMessage(self.chat.next_id(now), STAFF_ID, act.staff.name, act.params["text"], "room", now,
                          staff=True, filtered=bool(act.params.get("filtered")))
        self.chat.add(msg)
        self._chat_times.append(now)
        self.events.append(Event(None, "chat", msg.wire()))
        self.staff.append(("chat", msg.staff_wire(self.room)))
        self.shared.append(("chat", msg.wire()))
        self._log(act, now, id=msg.id, text=msg.text)
        return ok(id=msg.id)

    def _pin(self, act: StaffAct, now: int) -> dict[str, Any]:
        text = act.params.get("text") or ""
        self.chat.pinned = {"text": text, "by": act.staff.name, "t": now} if text else None
        self.events.append(Event(None, "pin", self.chat.pinned or {"text": None}))
        self.staff.append(("pin", {"room": self.room, **(self.chat.pinned or {"text": None})}))
        self._log(act, now, text=text or None)
        return ok()

    def _delete(self, act: StaffAct, now: int) -> dict[str, Any]:
        msg = self.chat.delete(act.params["id"])
        if msg is None:
            return error(ErrorCode.NOT_FOUND, f"no message {act.params['id'][:64]!r}")
        self.events.append(Event(None, "chat.delete", {"id": msg.id}))
        self.staff.append(("chat.delete", {"room": self.room, "id": msg.id}))
        self._log(act, now, id=msg.id, avatar=msg.avatar or None, name=msg.name, text=msg.text)
        return ok()

    def _mute(self, act: StaffAct, now: int) -> dict[str, Any]:
        avatar, name = self._target(act)
        shadow = act.action == "mod.shadow"
        minutes = float(act.params.get("minutes") or (60 if shadow else 10))
        scope = _scope(act)
        mute = self.mod.mute(avatar, name, now + int(minutes * MINUTE_MS), shadow=shadow, scope=scope)
        if shadow:  # not told; what it asked before is now hidden from everyone else too
            self.qa.shadow_by(avatar)
        else:
            self.events.append(Event((avatar,), "moderation", {"action": "muted", "until": mute.until}))
        self._log(act, now, avatar=avatar, name=name, minutes=minutes, scope=scope)
        return ok(until=mute.until, name=name)

    def _unmute(self, act: StaffAct, now: int) -> dict[str, Any]:
        avatar = int(act.params["avatar"])
        was = self.mod.mute_of(avatar, now)
        name = was.name if was is not None else self._target(act)[1]
        if not self.mod.unmute(avatar):
            return error(ErrorCode.NOT_FOUND, f"{name} is not muted")
        if was is not None and not was.shadow:
            self.events.append(Event((avatar,), "moderation", {"action": "unmuted"}))
        self._log(act, now, avatar=avatar, name=name, scope=_scope(act))
        return ok(name=name)

    def _remove(self, act: StaffAct, now: int) -> dict[str, Any]:
        avatar, name = self._target(act)
        banned = act.action == "mod.ban"
        scope = _scope(act) if banned else None
        if banned:
            self.mod.ban(avatar, name, self.members.session_of(avatar), scope=_scope(act))
            for q in self.qa.remove_by(avatar):  # a banned visitor's questions go with it
                self.staff.append(("qa.delete", {"room": self.room, "id": q.id}))
        self.events.append(Event((avatar,), "moderation", {"action": "banned" if banned else "kicked"}))
        if self.members.remove(avatar):
            self.removed.append(avatar)
        self._log(act, now, avatar=avatar, name=name, scope=scope)
        return ok(name=name)

    def _unban(self, act: StaffAct, now: int) -> dict[str, Any]:
        avatar = int(act.params["avatar"])
        if not self.mod.unban(avatar):
            return error(ErrorCode.NOT_FOUND, f"avatar {avatar} is not banned")
        self._log(act, now, avatar=avatar, name=self._names.get(avatar), scope=_scope(act))
        return ok()

    def _slow(self, act: StaffAct, now: int) -> dict[str, Any]:
        seconds = int(act.params["seconds"])
        self.chat.slow_s = seconds
        self.events.append(Event(None, "moderation", {"action": "slow", "seconds": seconds}))
        self._log(act, now, seconds=seconds)
        return ok()

    def _qa_delete(self, act: StaffAct, now: int) -> dict[str, Any]:
        q = self.qa.delete(act.params["id"])
        if q is None:
            return error(ErrorCode.NOT_FOUND, f"no question {act.params['id'][:64]!r}")
        self.staff.append(("qa.delete", {"room": self.room, "id": q.id}))
        self._log(act, now, id=q.id, avatar=q.avatar, name=q.name, text=q.text)
        return ok()

    def _answer(self, act: StaffAct, now: int) -> dict[str, Any]:
        q = self.qa.get(act.params["id"])
        if q is None:
            return error(ErrorCode.NOT_FOUND, f"no question {act.params['id'][:64]!r}")
        self.qa.answer(q, act.params["text"])
        self._log(act, now, id=q.id, text=act.params["text"])
        return ok()

    def _reply(self, act: StaffAct, now: int) -> dict[str, Any]:
        got = self.assistant.reply(act.params["ticket"], act.staff.name, act.params["text"], now)
        if got is None:
            return error(ErrorCode.NOT_FOUND, f"no ticket {act.params['ticket'][:80]!r}")
        ticket, msg = got
        delivered = self.members.is_viewing(ticket.avatar)
        if delivered:
            self.events.append(Event((ticket.avatar,), "assist", msg))
        else:
            ticket.undelivered.append(msg)  # sent when the visitor resumes
        self.staff.append(("ticket", ticket.wire(self.room)))
        self._log(act, now, id=ticket.id, avatar=ticket.avatar, name=ticket.name)
        return ok(delivered=delivered)

    def _watch(self, act: StaffAct, now: int) -> dict[str, Any]:
        return ok(
            chat=self.chat.staff_history(self.room),
            qa=self.qa.queue(),
            tickets=[t.wire(self.room) for t in self.assistant.tickets()],
            log=list(self.mod.log),
            muted=self.mod.muted(now),
            banned=self.mod.banned(),
            slow=self.chat.slow_s,
            pinned=self.chat.pinned,
        )

    # ---- once per tick -----------------------------------------------------------------

    def finish(self, now: int, rng: random.Random) -> None:
        """Per-tick aggregates: one ``reactions`` message, the (rate-limited) Q&A list."""
        local = self.reactions.pending_counts()
        if local:
            self.shared.append(("reactions", {"counts": local}))
        burst = self.reactions.drain(now, rng)
        if burst is not None:
            self.events.append(Event(None, "reactions", burst))
        if self.qa.due(now):
            self._send_top()
            self.staff.append(("qa.queue", {"room": self.room, "questions": self.qa.queue()}))

    def _send_top(self) -> None:
        """The Q&A top list to everyone; a visitor with shadowed questions gets its own
        (with them), and only that one, so it believes they are up."""
        askers = self.qa.shadow_askers()
        if not askers:
            self.events.append(Event(None, "qa", {"top": self.qa.top()}))
            return
        others = tuple(v for v in self.members.viewer_ids() if v not in askers)
        self.events.append(Event(others, "qa", {"top": self.qa.top()}))
        for avatar in sorted(askers):
            if self.members.is_viewing(avatar):
                self.events.append(Event((avatar,), "qa", {"top": self.qa.top(avatar)}))

    def stats(self, now: int, attendees: int) -> dict[str, Any]:
        while self._chat_times and self._chat_times[0] <= now - MINUTE_MS:
            self._chat_times.popleft()
        return {
            "room": self.room,
            "t": now,
            "attendees": attendees,
            "chat_per_min": len(self._chat_times),
            "reactions_per_min": self.reactions.per_minute(now),
            "questions": len(self.qa),
            "open_tickets": self.assistant.open_count(),
        }


def _muted_text(until: int, now: int) -> str:
    minutes = max(1, -(-(until - now) // MINUTE_MS))  # rounded up
    return f"a moderator muted you for {minutes} more minute{'s' if minutes > 1 else ''}"


def _scope(act: StaffAct) -> str:
    """``"room"`` or ``"event"`` for a scoped moderation action (see :data:`SCOPED`)."""
    if act.action not in SCOPED:
        return "room"
    scope = act.params.get("scope")
    return scope if scope in ("room", "event") else default_scope(act.action)


class _Refusal(Exception):
    def __init__(self, code: ErrorCode, message: str, **extra: Any) -> None:
        self.reply = error(code, message)
        self.reply["error"].update(extra)  # e.g. a mute's ``until`` (server ms: shown in local time)


_STAFF_ACTIONS = {
    "chat": Social._staff_say,
    "chat.pin": Social._pin,
    "chat.delete": Social._delete,
    "mod.mute": Social._mute,
    "mod.shadow": Social._mute,
    "mod.unmute": Social._unmute,
    "mod.kick": Social._remove,
    "mod.ban": Social._remove,
    "mod.unban": Social._unban,
    "mod.slow": Social._slow,
    "qa.answer": Social._answer,
    "qa.delete": Social._qa_delete,
    "assist.reply": Social._reply,
    "host.watch": Social._watch,
}
