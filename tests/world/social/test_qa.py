"""The Q&A board: shadow questions, taking questions down, the top list each viewer sees."""

from __future__ import annotations

from world.social.qa import MAX_QUESTIONS, TOP, QABoard


def test_a_shadow_question_is_in_its_askers_top_list_and_the_staff_queue_only() -> None:
    board = QABoard()
    public = board.ask(1, "Ada", "Sizes?", 1000)
    hidden = board.ask(2, "Troll", "spam", 2000, shadow=True)
    board.vote(hidden, 2)
    assert [q["id"] for q in board.top()] == [public.id]
    assert [q["id"] for q in board.top(2)] == [hidden.id, public.id]
    assert [q["id"] for q in board.top(1)] == [public.id]
    assert {q["id"]: q.get("shadow") for q in board.queue()} == {public.id: None, hidden.id: True}
    assert "shadow" not in board.top(2)[0]  # visitors are never told
    assert board.shadow_askers() == {2}


def test_delete_remove_by_and_shadow_by_change_the_board_once() -> None:
    board = QABoard()
    a = board.ask(1, "Ada", "one", 1000)
    board.ask(1, "Ada", "two", 1100)
    b = board.ask(2, "Bob", "three", 1200)
    assert board.due(5000) and not board.due(7000)
    assert board.delete(a.id) is a and board.delete(a.id) is None and board.due(7000)
    assert [q.text for q in board.shadow_by(2)] == ["three"] and board.shadow_by(2) == []
    assert b.shadow and board.due(9000)
    assert [q.text for q in board.remove_by(1)] == ["two"] and len(board) == 1 and board.due(11000)
    assert board.remove_by(1) == [] and not board.due(13000)


def test_each_avatar_votes_once_and_the_top_list_is_ordered_by_votes_then_age() -> None:
    board = QABoard()
    old = board.ask(1, "Ada", "Is it waterproof?", 1000)
    new = board.ask(2, "Bob", "Which sizes?", 2000)
    tie = board.ask(3, "Cy", "Shipping?", 3000)
    assert board.vote(new, 5) == 1 and board.vote(new, 5) == 1  # again (or after a resume): no change
    assert board.vote(new, 6) == 2 and board.vote(tie, 7) == 1 and board.vote(old, 8) == 1
    top = board.top()
    assert [(q["text"], q["votes"]) for q in top] == [("Which sizes?", 2), ("Is it waterproof?", 1), ("Shipping?", 1)]
    assert top[0] == {"id": new.id, "text": "Which sizes?", "votes": 2, "from": {"id": 2, "name": "Bob"}}


def test_question_ids_are_unique_per_node_and_unknown_ids_are_not_found() -> None:
    a, b = QABoard("a"), QABoard("b")
    ids = {a.ask(1, "Ada", "x?", 1000).id, a.ask(1, "Ada", "y?", 1000).id, b.ask(1, "Ada", "x?", 1000).id}
    assert len(ids) == 3 and all(i.startswith(("qa", "qb")) for i in ids)
    assert a.get("q-nope") is None and a.delete("q-nope") is None


def test_an_answer_shows_in_the_top_list_and_the_list_goes_out_at_most_once_a_second() -> None:
    board = QABoard()
    q = board.ask(1, "Ada", "Price?", 1000)
    assert board.due(1000) and not board.due(1500)  # nothing changed
    board.answer(q, "49 EUR")
    assert not board.due(1999)  # changed, but the last list went out under a second ago
    assert board.due(2000) and board.top()[0]["answer"] == "49 EUR"
    assert board.queue()[0]["t"] == 1000 and board.queue()[0]["answer"] == "49 EUR"


def test_the_top_list_holds_ten_and_a_full_board_drops_its_oldest_unvoted_question() -> None:
    board = QABoard()
    voted = board.ask(2, "Bob", "voted", 1)
    board.vote(voted, 9)
    stale = board.ask(3, "Cy", "oldest unvoted", 2)
    for i in range(MAX_QUESTIONS - 2):
        board.ask(4, "Di", f"q{i}", 10 + i)
    assert len(board) == MAX_QUESTIONS and len(board.top()) == TOP
    board.ask(5, "Ed", "one more", 5000)
    assert len(board) == MAX_QUESTIONS and board.get(stale.id) is None and board.get(voted.id) is voted


def test_a_full_board_keeps_an_answered_top_voted_question_over_an_unvoted_one() -> None:
    board = QABoard()
    answered = board.ask(1, "Ada", "answered and wanted", 0)
    for voter in range(50):
        board.vote(answered, 100 + voter)
    board.answer(answered, "yes")
    for i in range(MAX_QUESTIONS - 1):
        board.ask(4, "Di", f"unvoted {i}", 10 + i)
    board.ask(5, "Ed", "one more", 5000)
    assert board.get(answered.id) is answered
