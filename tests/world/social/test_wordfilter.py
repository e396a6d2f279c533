"""The chat word filter: whole words, any case or accent, Italian and English lists."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT
from server.assets import load_wordfilter
from world.social.wordfilter import WordFilter

WORDS = load_wordfilter(ROOT / "assets/wordfilter")


def test_listed_words_are_masked_keeping_length_and_surroundings() -> None:
    assert WORDS.clean("What the FUCK is this?") == ("What the **** is this?", True)
    assert WORDS.clean("che cazzata!") == ("che *******!", True)
    assert WORDS.clean("Stronzo.") == ("*******.", True)


def test_phrases_match_across_spacing_and_accents_fold() -> None:
    masked, hit = WORDS.clean("porco   dio")
    assert hit and masked == "*****   ***"
    assert WordFilter(["perché"]).clean("PERCHE no") == ("****** no", True)


def test_innocent_words_containing_listed_ones_pass() -> None:
    for text in ("Scunthorpe classic", "shitake risotto", "assassin", "Perché è così bello", "cocktail"):
        assert WORDS.clean(text) == (text, False)


def test_no_lists_means_no_filter(tmp_path: Path) -> None:
    f = load_wordfilter(tmp_path / "missing")
    assert f.size == 0 and f.clean("anything at all") == ("anything at all", False)
