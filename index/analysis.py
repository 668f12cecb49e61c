"""Vietnamese analysis, shared by indexing and querying.

Text is NFC-normalised, tone placement is made canonical (hoà → hòa, thoả → thỏa, uỷ → ủy) and
lowercased; it is then cut into syllables. Three token streams are derived from the syllables:
accented syllables (to rank exactly-accented matches first), folded syllables (đ → d, accents
removed: "nghi quyet" finds "Nghị quyết") and folded syllable bigrams ("hoi_dong", "dong_nhan") that
stand in for phrases: Vietnamese words span several syllables, and word segmenters split the same
compound differently in different contexts (measured: recall lost), while bigrams keep recall.

Whoosh pickles analyzers into the index, so the classes here must stay at this import path.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from whoosh.analysis import Filter, Token, Tokenizer

from kb.text import canonical_tones, nfc

_SYLLABLE = re.compile(r"\w+")


def _fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {ord("đ"): "d", ord("Đ"): "D", 0xD0: "D", 0xF0: "d"}
    for code in range(0xC0, 0x2000):
        ch = chr(code)
        base = unicodedata.normalize("NFD", ch)
        if len(base) > 1 and all(unicodedata.combining(c) for c in base[1:]) and base[0].isascii():
            table[code] = base[0]
    for code in range(0x300, 0x370):  # stray combining marks
        table[code] = None
    return table


FOLD = _fold_table()


def normalise(text: str) -> str:
    """The searchable form of a text: NFC, canonical tones, lowercase. Keeps length for NFC input."""
    return canonical_tones(nfc(text)).lower()


def fold_syllable(syllable: str) -> str:
    return syllable.translate(FOLD)


@lru_cache(maxsize=8)
def _syllables(text: str) -> tuple[tuple[str, int, int], ...]:
    # Cached: the same text is analysed for several fields in a row when a record is indexed.
    norm = normalise(text)
    return tuple((m.group(), m.start(), m.end()) for m in _SYLLABLE.finditer(norm))


def syllables(text: str) -> list[str]:
    return [s for s, _, _ in _syllables(text)]


def folded_syllables(text: str) -> list[str]:
    return [fold_syllable(s) for s, _, _ in _syllables(text)]


def bigrams(tokens: list[str]) -> list[str]:
    return [f"{a}_{b}" for a, b in zip(tokens, tokens[1:])]


def has_diacritics(text: str) -> bool:
    norm = normalise(text)
    return norm.translate(FOLD) != norm


class SyllableTokenizer(Tokenizer):
    """Yields the syllables of a text: accented (fold=False) or folded (fold=True)."""

    def __init__(self, fold: bool = False):
        self.fold = fold

    def __eq__(self, other):
        return type(self) is type(other) and self.fold == other.fold

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        items = _syllables(value) if tokenize else ((normalise(value), 0, len(value)),)
        for pos, (text, start, end) in enumerate(items):
            token.text = fold_syllable(text) if self.fold else text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = token.text
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


class BigramFilter(Filter):
    """Joins each pair of neighbouring tokens: hoi dong nhan dan -> hoi_dong dong_nhan nhan_dan.

    A text of a single token yields that token, so a one-syllable title is still findable."""

    def __eq__(self, other):
        return type(self) is type(other)

    def __call__(self, tokens):
        previous = None
        emitted = False
        for token in tokens:
            text = token.text
            if previous is not None:
                token.text = f"{previous}_{text}"
                emitted = True
                yield token
                token.text = text
            previous = text
        if not emitted and previous is not None:
            token.text = previous
            yield token


def accented_analyzer():
    return SyllableTokenizer(fold=False)


def folded_analyzer():
    return SyllableTokenizer(fold=True)


def bigram_analyzer():
    return SyllableTokenizer(fold=True) | BigramFilter()
