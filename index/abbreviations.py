"""Abbreviations in questions, spelled out from the corpus itself: "thẻ BHYT" also asks for
"bảo hiểm y tế".

Citizens write "BHYT", "UBND", "NLĐ", "GDNN" where the articles that answer them spell the words
out. The table (`abbreviations.json`, package data) is learned from the legal corpora by
`bench/abbreviations.py`: every upper-case word of 3 to 6 letters that the texts themselves use
is matched with the phrases whose syllables' initials spell it ("b·h·y·t" → "bảo hiểm y tế"),
and kept when one phrase is frequent and clearly the most frequent of them. At query time an
abbreviation standing alone (not inside a số ký hiệu such as "01/2026/NQ-HĐND") becomes an OR of
itself and its expansion as a phrase (`BHYT OR "bảo hiểm y tế"`): an article may use either.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from index.analysis import fold_syllable

DATA = Path(__file__).with_name("abbreviations.json")
# an upper-case word of 3–6 letters, not part of a number or a code ("NQ-HĐND", "12/UBND")
WORD = re.compile(r"(?<![\w/.-])([A-ZĐ]{3,6})(?![\w/-])")


@lru_cache(maxsize=1)
def shipped() -> dict[str, str]:
    """The shipped table, folded abbreviation → expansion; empty when the file is absent."""
    try:
        with open(DATA, encoding="utf-8") as handle:
            return dict(json.load(handle)["expansions"])
    except (OSError, ValueError, KeyError):
        return {}


def expand(text: str, table: dict[str, str] | None = None) -> str:
    """`text` with each known abbreviation OR its expansion (a phrase, in the query syntax)."""
    table = shipped() if table is None else table
    if not table or not WORD.search(text):
        return text

    def spell(match: re.Match) -> str:
        full = table.get(fold_syllable(match.group(1).lower()))
        return f'{match.group(1)} OR "{full}"' if full else match.group(1)

    return WORD.sub(spell, text)
