"""The query language specialists type, parsed into a small tree and then into Whoosh queries.

    ngân sách địa phương            all words must match (ranked; adjacent words rank higher)
    "hội đồng nhân dân"             a phrase
    -"thông tư" -phí                exclusion
    học phí OR lệ phí               either
    loai:"Thông tư" coquan:"Bộ Tài chính" nam:2025 nam:2020..2025 hieuluc:"còn hiệu lực"
    linhvuc:"Giáo dục" phamvi:"địa phương" ngay:2025-01-01..2025-06-30 so:15/2025/NQ-HĐND
    taingay:01/06/2025              hieuluc:, the status facet and the badges on that date (default today)

A query that is a số ký hiệu goes straight to that document. Unbalanced quotes are closed at
the end. An unknown field or an invalid year or date is a QueryError with a message in Vietnamese.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.analysis import folded_syllables, has_diacritics, syllables
from index.errors import QueryError
from kb.errors import RecordError
from kb.model import parse_date
from kb.numbers import parse_number

FIELDS = {
    "loai": "doc_type",
    "coquan": "issuer",
    "hieuluc": "status",
    "linhvuc": "linhvuc",
    "phamvi": "scope",
    "nam": "year",
    "ngay": "issued",
    "so": "number",
    "taingay": "on",
}
MAX_QUERY_LENGTH = 1000

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<field>[A-Za-z]+):(?:"(?P<fquoted>[^"]*)"?|(?P<fvalue>[^\s"]+))
      | (?P<neg>-)?"(?P<phrase>[^"]*)"?
      | (?P<word>[^\s"]+)
    )""",
    re.X,
)


@dataclass
class Clause:
    """A word or phrase: its accented and folded syllables."""

    text: str
    syllables: list[str]
    folded: list[str]
    phrase: bool = False


@dataclass
class ParsedQuery:
    text: str
    groups: list[list[Clause]] = field(default_factory=list)  # AND of groups, each an OR of clauses
    excluded: list[Clause] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    ranges: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    number: str | None = None  # a số ký hiệu in the query (so: or the whole query)
    number_only: bool = False  # the query is nothing but that number
    accented: bool = False  # the user typed diacritics
    on: str | None = None  # taingay: the ISO date on which validity is read (None: today)

    @property
    def clauses(self) -> list[Clause]:
        return [c for group in self.groups for c in group]

    @property
    def is_empty(self) -> bool:
        return not self.groups and self.number is None


def _clause(text: str, phrase: bool = False) -> Clause | None:
    syl = syllables(text)
    if not syl:
        return None
    return Clause(text, syl, folded_syllables(text), phrase and len(syl) > 1)


def parse(text: str) -> ParsedQuery:
    """Parse the user's query. Raises QueryError when a part cannot be understood."""
    text = (text or "").replace("\x00", " ")
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"Câu truy vấn quá dài ({len(text)} ký tự); tối đa {MAX_QUERY_LENGTH} ký tự.")
    text = " ".join(text.split())
    query = ParsedQuery(text=text, accented=has_diacritics(text))
    stripped = re.sub(r"^\s*(?:số|so)\s*:?\s*", "", text, flags=re.I)
    number = parse_number(stripped)
    if (
        number
        and re.fullmatch(r"[\w./&()\s–—-]+", stripped)
        and len(stripped.split()) <= 3
        and ("/" in stripped or number.dashed)
    ):
        query.number = number.canonical
        query.number_only = True
    pending_or = False
    for match in _TOKEN.finditer(text):
        if match.group("field"):
            name = match.group("field").lower()
            value = match.group("fquoted") if match.group("fquoted") is not None else match.group("fvalue")
            _add_filter(query, name, (value or "").strip())
            continue
        if match.group("phrase") is not None:
            clause = _clause(match.group("phrase"), phrase=True)
            negative = bool(match.group("neg"))
        else:
            word = match.group("word")
            if word == "OR":
                pending_or = bool(query.groups)
                continue
            negative = word.startswith("-") and len(word) > 1
            clause = _clause(word[1:] if negative else word, phrase=True)  # "NQ-HĐND" keeps its parts together
        if clause is None:
            continue  # a lone "-" or punctuation
        if negative:
            query.excluded.append(clause)
        elif pending_or:
            query.groups[-1].append(clause)
            pending_or = False
        else:
            query.groups.append([clause])
    return query


def _add_filter(query: ParsedQuery, name: str, value: str) -> None:
    if name not in FIELDS:
        known = ", ".join(f"{k}:" for k in FIELDS)
        raise QueryError(f"Không hiểu trường “{name}:”. Các trường dùng được: {known}")
    if not value:
        raise QueryError(f'Trường “{name}:” cần một giá trị, ví dụ {name}:"…"')
    target = FIELDS[name]
    if target == "number":
        parsed = parse_number(value)
        if not parsed:
            raise QueryError(f"“{value}” không phải là số ký hiệu văn bản (ví dụ 15/2025/NQ-HĐND).")
        query.number = parsed.canonical
    elif target == "year":
        low, sep, high = value.partition("..")
        high = high if sep else low
        for part in (low, high):
            if part and not re.fullmatch(r"(19|20)\d\d", part):
                raise QueryError(f"Năm “{part}” không hợp lệ; viết nam:2025 hoặc nam:2020..2025.")
        query.ranges["year"] = (low or None, high or None)
    elif target == "on":
        try:
            query.on = parse_date(value, "taingay")
        except RecordError:
            raise QueryError(f"Ngày “{value}” không hợp lệ; viết taingay:01/06/2025 hoặc taingay:2025-06-01.") from None
    elif target == "issued":
        low, sep, high = value.partition("..")
        high = high if sep else low
        try:
            bounds = [parse_date(part, "ngay") if part else None for part in (low, high)]
        except RecordError:
            raise QueryError(
                f"Ngày “{value}” không hợp lệ; viết ngay:2025-01-01..2025-12-31 hoặc ngay:01/07/2025."
            ) from None
        query.ranges["issued"] = (bounds[0], bounds[1])
    else:
        query.filters.setdefault(target, []).append(value)
