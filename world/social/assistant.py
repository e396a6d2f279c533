"""The assistant: a bot that answers from the room's catalog and FAQ, and hands over to staff.

Retrieval is fuzzy matching (rapidfuzz's token-set ratio, so word order and extra words matter
little) of the question against every FAQ entry and every product's name, tags and
description. The best score is the bot's confidence; below the catalog's threshold, or when
the visitor asks for a person, the ticket goes to operators. One ticket per visitor and room
holds the whole conversation; while staff have it, the bot stays out. Time is server ms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process, utils

from world.commerce.catalog import Catalog, Product

# Words that carry no meaning for matching (English and Italian).
STOPWORDS = frozenset(
    "a an the is are am be do does did can could would should will i you we it my your our me to of in on"
    " for with and or at by from this that these those what which how much many when where why who any"
    " there here please hi hello hey thanks thank tell about have has get"
    " il lo la i gli le un una uno di da del della dei delle in con su per tra fra e o che chi come quando"
    " dove perché perche quanto quanta quanti quante è sono ho hai ha mi ti si ci vi ne non ciao grazie"
    " posso puoi può potete vorrei voglio".split()
)
# Asking for a person, in English or Italian.
HUMAN = re.compile(
    r"\b(human|person|people|operator|agent|staff|someone|somebody|real person|talk to|speak to|"
    r"persona|operatore|operatrice|umano|commesso|commessa|assistenza|parlare con)\b",
    re.IGNORECASE,
)
HANDOFF_TEXT = "I'm passing you to a member of staff; they will answer here shortly."
MAX_TICKETS = 2000


def _key(text: str) -> str:
    words = utils.default_process(text).split()
    return " ".join(w for w in words if w not in STOPWORDS)


def describe(p: Product) -> str:
    parts = [f"{p.name}: {p.price:.2f} {p.currency}.", p.description]
    colors = sorted({v.color for v in p.variants if v.color})
    sizes = sorted({v.size for v in p.variants if v.size})
    if colors:
        parts.append("Colours: " + ", ".join(colors) + ".")
    if sizes:
        parts.append("Sizes: " + ", ".join(sizes) + ".")
    return " ".join(s for s in parts if s)


class Knowledge:
    """What the bot knows: (matching key, answer) pairs built from a catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.threshold = catalog.assistant.threshold
        self.name = catalog.assistant.name
        entries: list[tuple[str, str]] = [(f.q, f.a) for f in catalog.faq]
        for p in catalog.products:
            entries.append((" ".join([p.name, *p.tags, p.description]), describe(p)))
            entries += [(f.q, f.a) for f in p.faq]
        self._keys = [_key(k) for k, _ in entries]
        self._answers = [a for _, a in entries]

    def answer(self, question: str) -> tuple[str | None, float]:
        """The best answer and how sure the bot is (0..1)."""
        query = _key(question)
        if not query or not self._keys:
            return None, 0.0
        best = process.extractOne(query, self._keys, scorer=fuzz.token_set_ratio, processor=None)
        if best is None:
            return None, 0.0
        _, score, index = best
        return self._answers[index], round(score / 100.0, 3)


@dataclass(slots=True)
class Ticket:
    id: str
    avatar: int
    name: str
    t: int
    status: str = "bot"  # "bot": only the bot answered; "open": waiting for staff; "answered"
    messages: list[dict[str, Any]] = field(default_factory=list)
    undelivered: list[dict[str, Any]] = field(default_factory=list)  # staff replies not yet sent

    def wire(self, room: str) -> dict[str, Any]:
        return {"ticket": self.id, "room": room, "avatar": self.avatar, "name": self.name,
                "status": self.status, "t": self.t, "messages": list(self.messages)}


@dataclass(slots=True)
class Reply:
    """What the visitor's ``assist`` is answered with."""

    ticket: Ticket
    answer: str | None
    confidence: float
    handoff: bool


class Assistant:
    def __init__(self, room: str, catalog: Catalog, *, tag: str = "") -> None:
        self._tag = tag  # the node's (and shard's) id tag: ticket ids unique across them
        self.room = room
        self.knowledge = Knowledge(catalog)
        self._tickets: dict[str, Ticket] = {}
        self._of_avatar: dict[int, Ticket] = {}
        self._count = 0

    def ask(self, avatar: int, name: str, text: str, now: int) -> Reply:
        ticket = self._of_avatar.get(avatar)
        if ticket is None:
            ticket = self._open(avatar, name, now)
        ticket.messages.append({"ticket": ticket.id, "from": "visitor", "text": text, "t": now})
        if ticket.status in ("open", "answered"):  # staff have it: no bot in between
            ticket.status = "open"
            return Reply(ticket, None, 0.0, True)
        answer, confidence = self.knowledge.answer(text)
        wants_person = HUMAN.search(text) is not None
        if wants_person or answer is None or confidence < self.knowledge.threshold:
            ticket.status = "open"
            ticket.messages.append({"ticket": ticket.id, "from": "bot", "text": HANDOFF_TEXT, "t": now,
                                    "confidence": confidence})
            return Reply(ticket, HANDOFF_TEXT, confidence, True)
        ticket.messages.append({"ticket": ticket.id, "from": "bot", "text": answer, "t": now,
                                "confidence": confidence})
        return Reply(ticket, answer, confidence, False)

    def reply(self, ticket_id: str, staff_name: str, text: str, now: int) -> tuple[Ticket, dict[str, Any]] | None:
        ticket = self._tickets.get(ticket_id)
        if ticket is None:
            return None
        msg = {"ticket": ticket.id, "from": "staff", "text": text, "t": now, "name": staff_name}
        ticket.messages.append(msg)
        ticket.status = "answered"
        return ticket, msg

    def conversation(self, avatar: int) -> list[dict[str, Any]]:
        ticket = self._of_avatar.get(avatar)
        return [] if ticket is None else [{k: v for k, v in m.items() if k != "confidence"} for m in ticket.messages]

    def tickets(self) -> list[Ticket]:
        return sorted(self._tickets.values(), key=lambda t: (t.status != "open", -t.t))

    def open_count(self) -> int:
        return sum(1 for t in self._tickets.values() if t.status == "open")

    def of_avatar(self, avatar: int) -> Ticket | None:
        return self._of_avatar.get(avatar)

    def _open(self, avatar: int, name: str, now: int) -> Ticket:
        if len(self._tickets) >= MAX_TICKETS:  # bounded: the oldest closed-ish ticket goes
            old = min(self._tickets.values(), key=lambda t: (t.status == "open", t.t))
            del self._tickets[old.id]
            self._of_avatar.pop(old.avatar, None)
        self._count += 1
        ticket = Ticket(f"{self.room}:t{self._tag}{now:x}-{self._count}", avatar, name, now)
        self._tickets[ticket.id] = ticket
        self._of_avatar[avatar] = ticket
        return ticket


def ticket_room(ticket_id: str) -> str:
    """The room a ticket id belongs to (room ids never contain ':')."""
    return ticket_id.split(":", 1)[0]
