"""The chat word filter: configurable word lists (``assets/wordfilter/*.txt``), masked with ``*``.

One word or phrase per line, ``#`` comments; a trailing ``*`` matches any ending. Matching is
case-insensitive, accent-insensitive and on whole words, so "Scunthorpe" and "classic" pass.
Masking keeps the message's length and everything around the word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable


def _fold(text: str) -> str:
    """Lower-case without accents, one character per input character (so spans line up)."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFD", ch)[0]
        out.append(base.lower() if len(base.lower()) == 1 else ch)
    return "".join(out)


class WordFilter:
    def __init__(self, words: Iterable[str]) -> None:
        patterns = []
        for raw in words:
            word = _fold(raw.strip())
            if not word or word.startswith("#"):
                continue
            prefix = word.endswith("*")
            body = r"\s+".join(re.escape(part) for part in word.rstrip("*").split())
            patterns.append(body + (r"\w*" if prefix else ""))
        self.size = len(patterns)
        # longest first, so a phrase wins over a word inside it
        patterns.sort(key=len, reverse=True)
        self._re = re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)") if patterns else None

    def clean(self, text: str) -> tuple[str, bool]:
        """``text`` with listed words masked, and whether anything was masked."""
        if self._re is None:
            return text, False
        folded = _fold(text)
        spans = [m.span() for m in self._re.finditer(folded)]
        if not spans:
            return text, False
        chars = list(text)
        for start, end in spans:
            for i in range(start, end):
                if not chars[i].isspace():
                    chars[i] = "*"
        return "".join(chars), True
