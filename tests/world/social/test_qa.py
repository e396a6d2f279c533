"""The Q&A board: shadow questions, taking questions down, the top list each viewer sees."""

from __future__ import annotations

from world.social.qa import QABoard


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
