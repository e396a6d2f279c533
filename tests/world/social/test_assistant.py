"""The assistant bot: retrieval from the demo catalog and FAQ, confidence, handoff, tickets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT
from world.social.assistant import Assistant, Knowledge, ticket_room
from server.assets import load_catalog
from server.assets import RoomFileError, load_rooms

SHOWROOM = load_catalog(ROOT / "assets/catalogs/showroom.json")


@pytest.mark.parametrize(
    "question,expect",
    [
        ("How much is the Aria sneaker?", "149.00 EUR"),
        ("is the orbita watch waterproof", "100 m"),
        ("how long does shipping take", "2 working days"),
        ("quanto costa la spedizione", "gratuita"),
        ("do you have the linen jacket in navy", "navy"),
        ("return policy", "30 days"),
    ],
)
def test_catalog_and_faq_questions_are_answered_confidently(question: str, expect: str) -> None:
    answer, confidence = Knowledge(SHOWROOM).answer(question)
    assert answer is not None and expect in answer and confidence >= SHOWROOM.assistant.threshold


@pytest.mark.parametrize("question", ["can I bring my dog", "hello", "???", "what's the weather in Milan tomorrow"])
def test_unrelated_questions_score_below_the_threshold(question: str) -> None:
    _, confidence = Knowledge(SHOWROOM).answer(question)
    assert confidence < SHOWROOM.assistant.threshold


def test_one_ticket_per_visitor_and_staff_take_over() -> None:
    bot = Assistant("showroom", SHOWROOM)
    first = bot.ask(1, "Ada", "What is the return policy?", 1000)
    assert not first.handoff and first.ticket.status == "bot"
    person = bot.ask(1, "Ada", "I want to talk to a person please", 2000)
    assert person.handoff and person.ticket is first.ticket and person.ticket.status == "open"
    assert bot.open_count() == 1 and ticket_room(person.ticket.id) == "showroom"
    got = bot.reply(first.ticket.id, "Sara", "Hi Ada, how can I help?", 3000)
    assert got is not None and got[0].status == "answered"
    after = bot.ask(1, "Ada", "How long does shipping take?", 4000)
    assert after.handoff and after.answer is None  # staff have the conversation now
    assert [m["from"] for m in bot.conversation(1)] == ["visitor", "bot", "visitor", "bot", "staff", "visitor"]
    assert bot.reply("showroom:none", "Sara", "x", 5000) is None


def test_rooms_load_their_catalogs_and_a_broken_catalog_names_its_file(tmp_path: Path) -> None:
    rooms = {r.id: r for r in load_rooms(ROOT / "assets/rooms")}
    assert [p.id for p in rooms["showroom"].catalog.products][:2] == ["aria-sneaker", "luna-bag"]
    info = rooms["showroom"].info(0)
    assert info["catalog"][0]["price"] == 149.0 and "catalog" not in rooms["showroom"].info(0, full=False)
    (tmp_path / "rooms").mkdir()
    (tmp_path / "catalogs").mkdir()
    (tmp_path / "rooms/showroom.json").write_text((ROOT / "assets/rooms/showroom.json").read_text())
    (tmp_path / "catalogs/showroom.json").write_text(json.dumps({"products": [{"id": "x", "name": "X", "price": -1}]}))
    with pytest.raises(RoomFileError, match="catalogs/showroom.json"):
        load_rooms(tmp_path / "rooms")
