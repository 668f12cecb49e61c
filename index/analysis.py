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


class _Memo(dict):
    """A function of one syllable, remembered: a text has few distinct syllables, many times over."""

    def __init__(self, function, limit: int = 300_000):
        super().__init__()
        self.function = function
        self.limit = limit

    def __missing__(self, key: str) -> str:
        if len(self) >= self.limit:
            self.clear()
        value = self[key] = self.function(key)
        return value


# Tone placement is a property of one syllable (an old-style pair at a syllable's end, not after
# q), so it is made canonical syllable by syllable, after lowercasing.
_CANONICAL = _Memo(canonical_tones)
_FOLDED = _Memo(lambda syllable: syllable.translate(FOLD))


def fold_syllable(syllable: str) -> str:
    return _FOLDED[syllable]


def fold_each(syllables: list[str]) -> list[str]:
    """fold_syllable of each, with one C-level map (no Python call per syllable)."""
    return list(map(_FOLDED.__getitem__, syllables))


@lru_cache(maxsize=8)
def _syllables(text: str) -> tuple[tuple[str, int, int], ...]:
    # Cached: the same text is analysed for several fields in a row when a record is indexed.
    canonical = _CANONICAL
    return tuple((canonical[m.group()], m.start(), m.end()) for m in _SYLLABLE.finditer(nfc(text).lower()))


def syllables(text: str) -> list[str]:
    """The accented syllables of a text, as the index holds them."""
    return list(map(_CANONICAL.__getitem__, _SYLLABLE.findall(nfc(text).lower())))


def folded_syllables(text: str) -> list[str]:
    return list(map(_FOLDED.__getitem__, syllables(text)))


def bigrams(tokens: list[str]) -> list[str]:
    return list(map("_".join, zip(tokens, tokens[1:])))


def term_lists(text: str) -> tuple[list[str], list[str], list[str]]:
    """The tokens of a text as the three analyzers below give them: accented syllables, folded
    syllables, folded bigrams (index.segments indexes with this; tests compare the two)."""
    accented = syllables(text)
    folded = list(map(_FOLDED.__getitem__, accented))
    pairs = bigrams(folded) if len(folded) > 1 else folded[:]
    return accented, folded, pairs


def has_diacritics(text: str) -> bool:
    norm = normalise(text)
    return norm.translate(FOLD) != norm


class SyllableTokenizer(Tokenizer):
    """Yields the syllables of a text: accented (fold=False) or folded (fold=True)."""

    def __init__(self, fold: bool = False):
        self.fold = fold

    def __eq__(self, other):
        return type(self) is type(other) and self.fold == other.fold

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        items = _syllables(value) if tokenize else ((normalise(value), 0, len(value)),)
        folded = _FOLDED
        for pos, (text, start, end) in enumerate(items):
            token.text = folded[text] if self.fold else text
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
