"""The social layer of a room: chat, reactions, live Q&A, the assistant and moderation.

Inputs come from visitors (``Say``, ``React``, ``Ask``, ``Vote``, ``AssistAsk``) and from staff
(``StaffAct``, already checked against the staff member's role by the transport; the actions
are in world/social/staff.py). It is one feature of the room (world/feature.py): what it
produces goes into its feed as *events* (an event name, a payload and who gets it), *staff*
messages (the feed of the room's host consoles) and shared items for the room's other shards.
Time is server ms.

Every public post of a visitor (a chat message, a question, a reaction — and whatever is added
next) goes through one check, :meth:`Social._public_post`: a muted visitor is refused, a
shadow-muted one is *shadowed*: its post is acknowledged as usual and shown to itself and to
staff (flagged ``shadow``), never to anyone else, and crosses to other nodes only as a
``shadow.post`` staff item (for their staff and its own view), never as a public item.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

from world.core.scene import RoomConfig
from world.feature import Context, Event, FeatureBase, Recipients, Reply, Staff, Who
from world.protocol import ErrorCode, error, ok
from world.replication.items import (
    SHADOW_POST, ChatItem, QaAsk, QaVote, QuestionBody, ReactionsItem, ShadowChat, ShadowPost, StaffItem,
)
from world.social.assistant import Assistant
from world.social.chat import Chat, ChatMessage
from world.social.inputs import (
    SCOPED, SHARED_STAFF, Ask, AssistAsk, React, Refusal, Say, SocialInput, StaffAct, Vote, default_scope, muted_text,
    scope_of,
)
from world.social.moderation import Moderation
from world.social.qa import QABoard, Question
from world.social.reactions import Reactions
from world.social.staff import ACTIONS

MINUTE_MS = 60_000

# what other modules import from here
__all__ = [
    "SCOPED", "SHADOW_POST", "SHARED_STAFF", "Ask", "AssistAsk", "Event", "React", "Recipients", "Say", "Social",
    "SocialInput", "Staff", "StaffAct", "Vote", "default_scope",
]


class Social(FeatureBase):
    name = "social"

    def __init__(self, config: RoomConfig, ctx: Context, rng: random.Random) -> None:
        super().__init__()
        self.room = config.id
        self.ctx = ctx
        self.rng = rng
        self.chat = Chat(config.tag)
        self.mod = Moderation()
        self.qa = QABoard(config.tag)
        self.reactions = Reactions()
        self.assistant = Assistant(config.id, config.catalog, tag=config.tag)
        self._chat_times: deque[int] = deque()
        self.names: dict[int, str] = {}  # everyone who spoke here, for moderating them after they left
        self.inputs = {Say: self._say, React: self._react, Ask: self._ask, Vote: self._vote, AssistAsk: self._assist,
                       StaffAct: self._staff}
        self.replicas = {ChatItem: self._on_chat, ReactionsItem: self._on_reactions, QaAsk: self._on_ask,
                         QaVote: self._on_vote, StaffItem: self._on_staff, ShadowPost: self._on_shadow}

    # ---- membership hooks --------------------------------------------------------------

    def admit(self, avatar: int, who: Who) -> Reply | None:
        if self.mod.is_banned(avatar, who.key):
            return error(ErrorCode.BANNED, f"you are banned from room {self.room!r}")
        return None

    def join(self, avatar: int, now: int) -> dict[str, Any]:
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
                self.feed.send((avatar,), "assist", msg)
            ticket.undelivered.clear()

    def watch(self, now: int) -> dict[str, Any]:
        return {
            "chat": self.chat.staff_history(self.room),
            "qa": self.qa.queue(),
            "tickets": [t.wire(self.room) for t in self.assistant.tickets()],
            "log": self.ctx.modlog(),
            "muted": self.mod.muted(now),
            "banned": self.mod.banned(),
            "slow": self.chat.slow_s,
            "pinned": self.chat.pinned,
        }

    # ---- visitors' inputs --------------------------------------------------------------

    def _react(self, item: React, now: int) -> None:
        # a muted visitor may still react (an emoji is not speech); a shadowed reaction is
        # in no one's counts or sample (the sender's client floats its own at once)
        if self.ctx.name_of(item.avatar) is not None and not self._public_post(item.avatar, now, speech=False):
            self.reactions.add(item.avatar, item.emoji)

    def _member(self, avatar: int) -> str:
        name = self.ctx.name_of(avatar)
        if name is None:
            raise Refusal(ErrorCode.NOT_JOINED, f"you are not in room {self.room!r}")
        self.names[avatar] = name
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
            raise Refusal(ErrorCode.MUTED, muted_text(mute.until, now), until=mute.until)
        return False

    def _share_shadow(self, kind: str, item: dict[str, Any], name: str) -> None:
        """A shadowed post, for the staff of this room's shards on other nodes."""
        self.feed.share(ShadowPost.model_validate({"action": SHADOW_POST, "params": {"kind": kind, "item": item},
                                                   "by": name, "role": "visitor"}))

    def share_chat(self, msg: ChatMessage) -> None:
        self.feed.share_wire(ChatItem, msg.wire())

    def announce_chat(self, to: Recipients, msg: ChatMessage, now: int) -> None:
        """A chat message to its audience (counted per minute, for staff and the report)."""
        self._chat_times.append(now)
        self.feed.send(to, "chat", msg.wire())
        self.ctx.hooks.activity("chat", now, 1)

    def _say(self, s: Say, now: int) -> Reply:
        try:
            name = self._member(s.avatar)
            shadow = self._public_post(s.avatar, now)
        except Refusal as r:
            return r.reply
        wait = self.chat.slow_wait(s.avatar, now)
        if wait > 0:
            return error(ErrorCode.RATE_LIMITED, f"slow mode: wait {wait:.0f} s before your next message")
        msg = ChatMessage(self.chat.next_id(now), s.avatar, name, s.text, s.scope, now,
                          shadow=shadow, filtered=s.filtered)
        self.chat.add(msg)
        if msg.shadow:
            to: Recipients = (s.avatar,)  # the sender believes it went out
        elif s.scope == "near":
            to = tuple(self.ctx.near(s.avatar))
        else:
            to = None
        self.announce_chat(to, msg, now)
        self.feed.tell_staff("chat", msg.staff_wire(self.room))
        if msg.shadow:
            self._share_shadow("chat", msg.wire(), name)
        elif to is None:
            self.share_chat(msg)
        return ok(id=msg.id, filtered=True) if s.filtered else ok(id=msg.id)

    def _ask(self, a: Ask, now: int) -> Reply:
        try:
            name = self._member(a.avatar)
            shadow = self._public_post(a.avatar, now)
        except Refusal as r:
            return r.reply
        q = self.qa.ask(a.avatar, name, a.text, now, shadow=shadow)
        if shadow:
            self._share_shadow("qa", q.staff_wire(), name)
        else:
            self.feed.share(QaAsk.model_validate({"op": "ask", **q.staff_wire()}))
        return ok(id=q.id)

    def _vote(self, v: Vote, now: int) -> Reply:
        try:
            self._member(v.avatar)
        except Refusal as r:
            return r.reply
        q = self.qa.get(v.question)
        if q is None:
            return error(ErrorCode.NOT_FOUND, f"no question {v.question[:64]!r}")
        if self._public_post(v.avatar, now, speech=False):  # shadowed: acked as counted, never counted
            return ok(votes=len(q.voters | {v.avatar}))
        if v.avatar not in q.voters:
            self.feed.share(QaVote(op="vote", id=q.id, avatar=v.avatar))
        return ok(votes=self.qa.vote(q, v.avatar))

    def _assist(self, a: AssistAsk, now: int) -> Reply:
        try:
            name = self._member(a.avatar)
        except Refusal as r:
            return r.reply
        got = self.assistant.ask(a.avatar, name, a.text, now)
        self.feed.tell_staff("ticket", got.ticket.wire(self.room))
        reply = ok(ticket=got.ticket.id, handoff=got.handoff, confidence=got.confidence)
        if got.answer is not None:
            reply["answer"] = got.answer
        return reply

    # ---- items from this room's shards on other nodes ------------------------------------

    def _on_chat(self, item: ChatItem, history: bool, now: int) -> None:
        sender = item.sender
        msg = ChatMessage(item.id, sender.id, sender.name, item.text, "room", item.t, staff=sender.staff)
        if self.chat.has(msg.id):
            return  # seen already (history overlapping live messages)
        self.chat.add(msg)
        if not msg.staff:
            self.names[msg.avatar] = msg.name  # staff here may moderate a speaker from another node
        if history:
            return
        self.announce_chat(None, msg, now)
        self.feed.tell_staff("chat", {**msg.staff_wire(self.room), "remote": True})

    def _on_reactions(self, item: ReactionsItem, history: bool, now: int) -> None:
        self.reactions.add_counts(item.counts)

    def _on_ask(self, item: QaAsk, history: bool, now: int) -> None:
        if self.qa.get(item.id) is None:
            self.qa.add(Question(item.id, item.text, item.sender.id, item.sender.name, item.t))

    def _on_vote(self, item: QaVote, history: bool, now: int) -> None:
        q = self.qa.get(item.id)
        if q is not None:
            self.qa.vote(q, item.avatar)

    def _on_staff(self, item: StaffItem, history: bool, now: int) -> None:
        if item.action in SHARED_STAFF:
            self._staff(StaffAct(0, Staff(item.by, item.role), item.action, dict(item.params), replicated=True), now)

    def _on_shadow(self, item: ShadowPost, history: bool, now: int) -> None:
        """A shadowed post from another node: for staff here (and its poster, should it
        resume here), never for anyone else."""
        post = item.params
        if not isinstance(post, ShadowChat):
            q: QuestionBody = post.item
            if self.qa.get(q.id) is None:
                self.qa.add(Question(q.id, q.text, q.sender.id, q.sender.name, q.t, shadow=True))
            return
        c = post.item
        msg = ChatMessage(c.id, c.sender.id, c.sender.name, c.text, c.scope, c.t, shadow=True)
        if self.chat.has(msg.id):
            return
        self.chat.add(msg)
        self.names[msg.avatar] = msg.name
        if not history:
            self.feed.tell_staff("chat", {**msg.staff_wire(self.room), "remote": True})

    # ---- staff -------------------------------------------------------------------------

    def _staff(self, act: StaffAct, now: int) -> Reply:
        handler = ACTIONS.get(act.action)
        if handler is None:
            return error(ErrorCode.BAD_REQUEST, f"unknown staff action {act.action[:64]!r}")
        events = self.feed.events
        sent = len(events)
        target = int(act.params["avatar"]) if act.params.get("avatar") is not None else None
        # the target is elsewhere (another node, or another room of an event-wide action): it
        # hears of it where it is, not from here
        away = (act.replicated or scope_of(act) == "event") and target is not None and self.ctx.name_of(target) is None
        try:
            reply = handler(self, act, now)
        except Refusal as r:
            return r.reply
        if away:
            events[sent:] = [e for e in events[sent:] if e.to is None or target not in e.to]
        if not act.replicated and reply.get("ok") and act.action in SHARED_STAFF:
            params = dict(act.params)
            if "avatar" in params:  # the other shards may not know the target's name
                avatar = int(params["avatar"])
                params["name"] = self.names.get(avatar) or self.ctx.name_of(avatar) or params.get("name")
            self.feed.share(StaffItem.model_validate({"action": act.action, "params": params, "by": act.staff.name,
                                                      "role": act.staff.role}))
        return reply

    def log(self, act: StaffAct, now: int, **fields: Any) -> None:
        """A staff action into the room's moderation log (and the consoles' feed)."""
        entry = {"t": now, "by": act.staff.name, "role": act.staff.role, "action": act.action, "room": self.room}
        if act.replicated:
            entry["remote"] = True  # done on another node
        entry.update({k: v for k, v in fields.items() if v is not None})
        self.feed.log(self.ctx, entry)

    def target(self, act: StaffAct) -> tuple[int, str]:
        avatar = int(act.params["avatar"])
        name = self.ctx.name_of(avatar) or self.names.get(avatar)
        # on another node, or (an event-wide action, named by the room it was asked in) in
        # another room: applies here if the avatar comes
        if name is None and (act.replicated or act.params.get("name")):
            name = str(act.params.get("name") or f"#{avatar}")
        if name is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"no avatar {avatar} in room {self.room!r}")
        return avatar, name

    # ---- once per tick -----------------------------------------------------------------

    def finish(self, now: int) -> None:
        """Per-tick aggregates: one ``reactions`` message, the (rate-limited) Q&A list."""
        local = self.reactions.pending_counts()
        if local:
            self.feed.share_wire(ReactionsItem, {"counts": local})
        burst = self.reactions.drain(now, self.rng)
        if burst is not None:
            self.feed.send(None, "reactions", burst)
            self.ctx.hooks.activity("reactions", now, sum(burst["counts"].values()))
        if self.qa.due(now):
            self._send_top()
            self.feed.tell_staff("qa.queue", {"room": self.room, "questions": self.qa.queue()})

    def _send_top(self) -> None:
        """The Q&A top list to everyone; a visitor with shadowed questions gets its own
        (with them), and only that one, so it believes they are up."""
        askers = self.qa.shadow_askers()
        if not askers:
            self.feed.send(None, "qa", {"top": self.qa.top()})
            return
        others = tuple(v for v in self.ctx.viewer_ids() if v not in askers)
        self.feed.send(others, "qa", {"top": self.qa.top()})
        for avatar in sorted(askers):
            if self.ctx.is_viewing(avatar):
                self.feed.send((avatar,), "qa", {"top": self.qa.top(avatar)})

    def each_second(self, now: int) -> dict[str, Any]:
        while self._chat_times and self._chat_times[0] <= now - MINUTE_MS:
            self._chat_times.popleft()
        return {
            "chat_per_min": len(self._chat_times),
            "reactions_per_min": self.reactions.per_minute(now),
            "questions": len(self.qa),
            "open_tickets": self.assistant.open_count(),
        }
