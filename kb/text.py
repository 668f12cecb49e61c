"""Vietnamese text normalisation shared by the model, the store keys and the search analyzer.

- `nfc` normalises to NFC and removes control characters (keeping newlines and tabs).
- `canonical_tones` moves a tone mark written in the old style on the second vowel of the open
  syllables oa, oe, uy (hoà, thoả, uỷ) to the first vowel (hòa, thỏa, ủy). NFC does not merge
  these spellings; both occur hundreds of times in real legal text.
- `fold` removes every diacritic and folds đ/Đ to d/D (Unicode decomposition leaves đ alone).
"""

from __future__ import annotations

import re
import unicodedata

# control characters (newlines and tabs kept) and zero-width characters
_DROPPED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")

# Bidirectional controls: embeddings, overrides, isolates and the direction marks. In a title they make
# "fdp.exe" display as "exe.pdf"; Vietnamese needs none of them.
BIDI_CONTROLS = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
LINK_SCHEMES = ("http", "https")

_TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng
_PAIRS = ("oa", "oe", "uy")


def strip_bidi(text: str | None) -> str | None:
    """`text` without bidirectional control characters (for titles, numbers and names; not body text)."""
    return BIDI_CONTROLS.sub("", text) if text else text


def safe_link(url: str | None) -> str | None:
    """`url` when it is an http or https address, else None (javascript:, data:, a file path, …)."""
    if not url:
        return None
    text = "".join(url.split())  # browsers ignore spaces and line breaks inside a scheme
    scheme, sep, _ = text.partition(":")
    return text if sep and scheme.lower() in LINK_SCHEMES else None


def nfc(text: str) -> str:
    """NFC-normalise, drop control and zero-width characters, turn NBSP into a space.

    Each step runs only when the text needs it (one search for the characters to drop, the C check
    of NFC): stored text is normalised already and passes through several times on import."""
    if not text:
        return ""
    if _DROPPED.search(text):  # removed before composing: "e\x01\u0301" must become "é"
        text = _DROPPED.sub("", text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if "\u00a0" in text:
        text = text.replace("\u00a0", " ")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _build_tone_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for first, second in _PAIRS:
        for tone in _TONES:
            for f, s in ((first, second), (first.upper(), second.upper()), (first.upper(), second)):
                old = unicodedata.normalize("NFC", f + s + tone)
                new = unicodedata.normalize("NFC", f + tone + s)
                table[old] = new
    return table


_TONE_TABLE = _build_tone_table()
# An old-style pair is only rewritten at the end of a syllable (no final consonant follows:
# "hoàn" is correct as written) and "uy" after q keeps its mark on y ("quý" is standard).
_TONE_RE = re.compile("(?<![qQ])(" + "|".join(sorted(map(re.escape, _TONE_TABLE), key=len, reverse=True)) + r")(?!\w)")


def canonical_tones(text: str) -> str:
    """Rewrite old-style tone placement (hoà, thoả, uỷ) to the new style (hòa, thỏa, ủy). Input must be NFC."""
    return _TONE_RE.sub(lambda m: _TONE_TABLE[m.group(1)], text)


_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "D", "\u00d0": "D", "\u00f0": "d"})


def fold(text: str) -> str:
    """Remove diacritics: 'Nghị quyết Đồng Nai' -> 'Nghi quyet Dong Nai'."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def search_form(text: str) -> str:
    """The accented form used for matching: NFC, canonical tone placement, lowercase."""
    return canonical_tones(nfc(text)).lower()


def slug(text: str) -> str:
    """An ASCII slug: 'Điều 15a' -> 'dieu-15a'."""
    return re.sub(r"[^a-z0-9]+", "-", fold(nfc(text)).lower()).strip("-")


def thousands(value: int) -> str:
    """A count as Vietnamese writes it: 12345 -> '12.345' (never for years or số ký hiệu)."""
    return f"{value:,}".replace(",", ".")
