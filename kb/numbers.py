"""Parsing of số ký hiệu (document numbers) in the forms real sources write them.

Format: ``<số>[/<năm>]/<ký hiệu loại>-<ký hiệu cơ quan>``: ``15/2025/NQ-HĐND``, ``72/2025/QH15``,
``66.14/2026/NQ-CP``, ``23/NQ-HĐND``, ``12/2003/QĐ/BGD&ĐT``, ``77/CP``. Real variants handled: a
"Số:" prefix, ``Ð`` (Eth) written for ``Đ``, spaces or dashes inside (``56/TTr – SCT``), lowercase
or unaccented codes (``nq-hdnd``), and numbers without a year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.text import fold, nfc

_ETH = str.maketrans({"\u00d0": "Đ", "\u00f0": "đ", "\u0189": "Đ"})
_DASHES = re.compile(r"\s*[\u2010-\u2015\u2212-]\s*")
_PREFIX = re.compile(r"^\s*(?:s[ốô]|so)\s*(?:hi[ệe]u|k[ýy]\s*hi[ệe]u)?\s*[:.]?\s*", re.I)

KEY_VERSION = 2  # 2: every letter in codes ("UBTƯMTTQVN"), old dash forms ("73-CP"), "NQ.HĐTP"

_L = r"[^\W\d_]"  # a letter, Vietnamese ones included (Ư, Ơ, Ê …)
_NUMBER_RE = re.compile(
    rf"""
    (?<![\w/.])
    (?P<so>\d{{1,5}}(?:\.\d{{1,3}})?[a-zA-Z]?)
    (?:\s*/\s*(?P<nam>(?:19|20)\d{{2}}))?
    \s*/\s*
    (?P<kyhieu>{_L}[^\W_]*(?:(?:-|/|&){_L}(?:[^\W_]|&)*)*)
    (?![\w])
    """,
    re.X,
)
# Before 1990s numbering: "73-CP", "23-L/CTN", "21-LCT/HĐNN8" (a whole number, never in running text)
_OLD_NUMBER_RE = re.compile(rf"(?P<so>\d{{1,5}})-(?P<kyhieu>{_L}{{1,8}}(?:[-/]{_L}[^\W_]*)*)")
_CODE_DOT = re.compile(rf"(?<={_L})\.(?={_L})")  # "NQ.HĐTP" is "NQ-HĐTP"

# Codes whose first part names the type (the rest names the issuer).
TYPE_CODES = {
    "NQ": "Nghị quyết",
    "NQLT": "Nghị quyết liên tịch",
    "NĐ": "Nghị định",
    "QĐ": "Quyết định",
    "TT": "Thông tư",
    "TTLT": "Thông tư liên tịch",
    "CT": "Chỉ thị",
    "PL": "Pháp lệnh",
    "L": "Lệnh",
    "VBHN": "Văn bản hợp nhất",
    "TTR": "Tờ trình",
    "BC": "Báo cáo",
    "KH": "Kế hoạch",
    "TB": "Thông báo",
    "HD": "Hướng dẫn",
    "SL": "Sắc lệnh",
    "CV": "Công văn",
}


@dataclass(frozen=True)
class DocNumber:
    """A parsed số ký hiệu. `canonical` is the display form; `key` the matching key."""

    number: str  # "15", "66.14"
    year: int | None  # 2025, or None for individual documents
    code: str  # "NQ-HĐND", "QH15", "QĐ/BGD&ĐT"
    type_code: str | None  # "NQ", "QĐ"; None for "QH15", "CP"
    issuer_code: str | None  # "HĐND", "CP", "QH15"
    dashed: bool = False  # the old form "73-CP", shown as written

    @property
    def canonical(self) -> str:
        if self.dashed:
            return f"{self.number}-{self.code}"
        parts = [self.number] + ([str(self.year)] if self.year else []) + [self.code]
        return "/".join(parts)

    @property
    def key(self) -> str:
        """Lowercase, unaccented, separator-free form: every written variant gives the same key."""
        code = re.sub(r"[^0-9a-z&]", "", fold(self.code).lower())
        return "/".join([self.number.lower()] + ([str(self.year)] if self.year else []) + [code])


def _clean(text: str) -> str:
    text = nfc(text).translate(_ETH)
    text = _PREFIX.sub("", text)
    text = _CODE_DOT.sub("-", text)
    return _DASHES.sub("-", text).strip()


def _upper_code(code: str) -> str:
    # Keep the mixed case of "TTr" as written by sources, but make codes typed in lowercase upper.
    return code.upper() if code == code.lower() else code


def _split(code: str) -> tuple[str | None, str | None]:
    """'NQ-HĐND' -> ('NQ', 'HĐND'); 'QĐ/BGD&ĐT' -> ('QĐ', 'BGD&ĐT'); 'QH15' -> (None, 'QH15')."""
    parts = re.split(r"[-/]", code, maxsplit=1)
    if len(parts) == 1:
        return None, code  # "QH15", "UBTVQH15", "CP": issuer (and term) only
    return parts[0], parts[1]


def parse_number(text: str) -> DocNumber | None:
    """Parse the first số ký hiệu in `text`; None when there is none ("Không số", a date)."""
    if not text:
        return None
    cleaned = _clean(text)
    match = _NUMBER_RE.search(cleaned) or _OLD_NUMBER_RE.fullmatch(cleaned)
    if not match:
        return None
    return _from_match(match)


def find_numbers(text: str) -> list[DocNumber]:
    """Every số ký hiệu in a running text, in order."""
    cleaned = nfc(text).translate(_ETH)
    cleaned = re.sub(r"\s*[\u2010-\u2015\u2212]\s*(?=[A-ZĐ])", "-", cleaned)
    return [_from_match(m) for m in _NUMBER_RE.finditer(cleaned)]


def _from_match(match: re.Match) -> DocNumber:
    code = _upper_code(match.group("kyhieu"))
    type_code, issuer_code = _split(code)
    year = int(match.group("nam")) if match.groupdict().get("nam") else None
    number = match.group("so")
    return DocNumber(
        number=number,
        year=year,
        code=code,
        type_code=type_code,
        issuer_code=issuer_code,
        dashed=match.re is _OLD_NUMBER_RE,
    )


def number_key(text: str) -> str:
    """Matching key of a số ký hiệu: '15/2025/NQ-HĐND' and 'Số: 15/2025/nq – hdnd' agree.

    Text that does not parse as a number gets a folded, lowercase, space-free form."""
    parsed = parse_number(text)
    if parsed:
        return parsed.key
    return re.sub(r"\s+", "", fold(_clean(text)).lower())


def normalize_number(text: str | None) -> str | None:
    """The số ký hiệu as documents store it: the canonical form of a number that parses, else the text
    (NFC) with its spaces collapsed; None for empty text. (kb.model normalises every stored number with it.)"""
    if not text:
        return None
    parsed = parse_number(text)
    return parsed.canonical if parsed else " ".join(nfc(text).split()) or None
