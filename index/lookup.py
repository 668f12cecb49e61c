"""Lookups: a query that names a document (by số ký hiệu in any written form, or by name) and
perhaps one of its articles resolves to those documents and that article.

    Điều 9 Luật Ngân sách nhà nước        khoản 2 Điều 5 Nghị định 163/2016/NĐ-CP
    Điều 9 83/2015/QH13                   điều 15 luat vien chuc
    83-2015-QH13  83.2015.QH13  83 2015 QH13  83/2015/QH 13  163/NĐ-CP (no year: every candidate)
    NĐ 163/2016   Nghị định 163/2016   TT 342/2016/BTC   QĐ 1636      Luật Viên chức   Bộ luật Lao động 2019

The catalog is read from the index's document records. A number is matched part by part against
each document's number as `kb.numbers` parses it (number, year, type code, issuer code), so the
separators between the parts, spaces inside the code, case and diacritics do not matter; the
query's code is read only as far as it is a prefix of some document's code, so words after it
("… quy định gì") are not taken for code. A name is the title of a Luật, Bộ luật, Pháp lệnh or
Hiến pháp without its year. Several fitting documents are ordered: in force before not (through
`in_force`, the one place that reads the status), the province's own before other provinces',
then newest first.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from kb import vocab
from kb.numbers import parse_number
from kb.text import fold, nfc

# Words that name a type, folded, with the type code that numbers use for it.
TYPE_WORDS = {
    "bo luat": ("Bộ luật", None),
    "luat": ("Luật", None),
    "phap lenh": ("Pháp lệnh", "pl"),
    "hien phap": ("Hiến pháp", None),
    "nghi dinh": ("Nghị định", "nd"),
    "nghi quyet lien tich": ("Nghị quyết liên tịch", "nqlt"),
    "nghi quyet": ("Nghị quyết", "nq"),
    "thong tu lien tich": ("Thông tư liên tịch", "ttlt"),
    "thong tu": ("Thông tư", "tt"),
    "quyet dinh": ("Quyết định", "qd"),
    "chi thi": ("Chỉ thị", "ct"),
    "van ban hop nhat": ("Văn bản hợp nhất", "vbhn"),
    "sac lenh": ("Sắc lệnh", "sl"),
}
TYPE_CODES = {code: name for name, code in TYPE_WORDS.values() if code}
NAMED_TYPES = ("Luật", "Bộ luật", "Pháp lệnh", "Hiến pháp")

# "điều 2006" is a year ("Luật Đê điều 2006"): articles have at most three digits
_ARTICLE = re.compile(r"(?:diem\s+([a-z])\s+)?(?:khoan\s+(\d{1,3})\s+)?dieu\s+(\d{1,3}[a-z]?)\b")
_TOKEN = re.compile(r"[a-z0-9]+")
_YEAR = re.compile(r"(19|20)\d\d")
_FILLER = {"so", "cua", "theo", "tai", "trong", "thuoc", "ve", "nam", "ban", "hanh"}
_NOT_NUMBER_BEFORE = {"thang", "ngay", "nam", "khoan", "diem", "dieu", "muc", "chuong", "phan", "tuoi", "lan"}


def _fold(text: str) -> str:
    return " ".join(fold(nfc(text)).lower().replace("\u00d0", "d").split())


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _fold(text))  # "BGD&ĐT" and "BGDĐT" are written for the same


def in_force(status: str) -> int:
    """0 for a document in force, 1 when not known or not yet, 2 when no longer in force.

    The status is the document's validity on the search date (kb.legal.validity, read from the index's
    timeline column by the search service and handed to `Catalog.resolve` as `status_of`)."""
    if status in (vocab.IN_FORCE, vocab.PARTLY_EXPIRED):
        return 0
    if status in (vocab.EXPIRED, vocab.OBSOLETE, getattr(vocab, "SUSPENDED", "")):
        return 2
    return 1


@dataclass(frozen=True)
class Entry:
    """One document of the catalog, with the parts of its number and its name, folded."""

    row: int  # its document record in the index
    uid: str
    number: str
    doc_type: str
    status: str
    issued: str
    own: bool  # issued in the configured province
    so: str = ""  # "83", leading zeros dropped
    year: int | None = None
    code: str = ""  # "qh13", "ndcp", "ttbtc"
    issuer_code: str = ""  # "qh13", "cp", "btc"
    type_code: str = ""  # "", "nd", "tt"
    name: str = ""  # "luat ngan sach nha nuoc" (Luật, Bộ luật, Pháp lệnh, Hiến pháp)
    compact: str = ""  # the whole number, folded, letters and digits only: "832015qh13"
    years: frozenset = frozenset()  # years that may follow its name

    def order(self, status: str | None = None) -> tuple:
        """Best first: in force (on the search date when `status` is given), the province's own, newest."""
        return (in_force(self.status if status is None else status), not self.own, _negate(self.issued), self.uid)


def _negate(date: str) -> str:
    return "".join(chr(0x7F - ord(c)) if c.isdigit() else c for c in (date or "0000"))


@dataclass
class Reference:
    """What a query names: the documents (best first), the article, and whether that is all it says."""

    entries: list[Entry]
    article: str | None = None
    clause: str | None = None
    point: str | None = None
    by: str = "number"  # "number" or "name"
    only: bool = False  # nothing in the query but the reference
    rest: list[str] = field(default_factory=list)  # the query's other words, folded


class Catalog:
    """The documents of one index generation, looked up by number parts and by name."""

    def __init__(self, entries: list[Entry]):
        self.entries = entries
        self.by_so: dict[str, list[Entry]] = defaultdict(list)
        self.by_name: dict[str, list[Entry]] = defaultdict(list)
        self.code_prefixes: set[str] = set()
        for entry in entries:
            if entry.so:
                self.by_so[entry.so].append(entry)
                for code in (entry.code, entry.issuer_code):
                    for i in range(1, len(code) + 1):
                        self.code_prefixes.add(code[:i])
            if entry.name:
                self.by_name[entry.name].append(entry)
        self.name_starts = {name.split()[0] for name in self.by_name}
        self.longest_name = max((len(n.split()) for n in self.by_name), default=0)

    @classmethod
    def from_records(cls, records: list[dict], province: str = "") -> Catalog:
        """`records`: dicts with row, uid, number, doc_type, title, issuer, status, issued."""
        own = _fold(province) if province else ""
        return cls([make_entry(r, own) for r in records])

    # --- resolving ------------------------------------------------------------------------------
    def resolve(self, query: str, status_of=None) -> Reference | None:
        """The documents and article `query` names, or None when it names none. `status_of(entry)`: the
        document's status on the search date (default: the status stored when the index was built)."""
        order = Entry.order if status_of is None else (lambda e: e.order(status_of(e)))
        text = _fold(query)
        if not text:
            return None
        # A name may hold what looks like an article or a number ("Pháp lệnh Sửa đổi điều 10 của
        # Pháp lệnh Dân số", "Luật Sửa đổi … Bộ luật Hình sự số 100/2015/QH13"): the whole text
        # is read as a name first, and wins when the name covers the whole reference.
        whole = _TOKEN.findall(text)
        named = self._by_name(whole)
        if named and _holds_reference(named[1], whole, self._by_number(whole, _compact(text), order)):
            entries, used = named
            article = None
            for i in range(len(whole) - 1):  # an article named outside the name: "Điều 41 Pháp lệnh …"
                if whole[i] == "dieu" and {i, i + 1}.isdisjoint(used) and re.fullmatch(r"\d{1,3}[a-z]?", whole[i + 1]):
                    article = whole[i + 1]
                    used = used | {i, i + 1}
                    break
            rest = [t for i, t in enumerate(whole) if i not in used and t not in _FILLER]
            return Reference(sorted(entries, key=order), article, None, None, "name", not rest, rest)
        article = clause = point = None
        match = _ARTICLE.search(text)
        if match:
            point, clause, article = match.group(1), match.group(2), match.group(3)
            text = f"{text[: match.start()]} {text[match.end() :]}"
        tokens = _TOKEN.findall(text)
        by = "number"
        found = self._by_number(tokens, _compact(text), order)
        if not found:
            by, found = "name", self._by_name(tokens)
        if not found:
            return None
        entries, used = found
        rest = [t for i, t in enumerate(tokens) if i not in used and t not in _FILLER]
        if by == "name":
            entries = sorted(entries, key=order)
        return Reference(entries, article, clause, point, by, not rest, rest)

    def _by_number(
        self, tokens: list[str], compact: str = "", order=Entry.order
    ) -> tuple[list[Entry], set[int]] | None:
        """Documents by number parts, best first: the documents whose number the query writes out
        exactly (separators aside: "13/CP" before 13/2024/NĐ-CP), then the others that fit."""
        for i, token in enumerate(tokens):
            so = _so(token)
            if so is None or so not in self.by_so or (i and tokens[i - 1] in _NOT_NUMBER_BEFORE):
                continue
            type_name, type_code, used = _type_before(tokens, i)
            used.add(i)
            k = i + 1
            year = None
            if k < len(tokens) and _YEAR.fullmatch(tokens[k]):
                year = int(tokens[k])
                used.add(k)
                k += 1
            parts: list[str] = []  # the code, read while it is a prefix of some document's code
            while k < len(tokens) and "".join(parts) + tokens[k] in self.code_prefixes:
                parts.append(tokens[k])
                k += 1
            for n in range(len(parts), -1, -1):  # the longest reading of the code that fits
                code = "".join(parts[:n])
                if not (year or code or type_name):
                    break
                if not code and not type_name and len(tokens) > len(used) + 2:
                    break  # "7/2020" inside a sentence is a date, not a document
                candidates = [
                    e
                    for e in self.by_so[so]
                    if (year is None or e.year == year)
                    and (not code or code in (e.code, e.issuer_code) or e.type_code + code == e.code)
                    and (type_name is None or e.doc_type == type_name or (type_code and e.type_code == type_code))
                ]
                if candidates:
                    longest = max((len(e.compact) for e in candidates if e.compact and e.compact in compact), default=0)
                    candidates.sort(key=lambda e: (len(e.compact) != longest or e.compact not in compact, order(e)))
                    return candidates, used | set(range(k - len(parts), k - len(parts) + n))
        return None

    def _by_name(self, tokens: list[str]) -> tuple[list[Entry], set[int]] | None:
        for i, token in enumerate(tokens):
            if token not in self.name_starts:
                continue
            for j in range(min(len(tokens), i + self.longest_name), i, -1):
                candidates = self.by_name.get(" ".join(tokens[i:j]))
                if not candidates:
                    continue
                used = set(range(i, j))
                if j < len(tokens) and _YEAR.fullmatch(tokens[j]):
                    dated = [e for e in candidates if int(tokens[j]) in e.years]
                    if dated:
                        candidates = dated
                        used.add(j)
                return candidates, used
        return None


def _holds_reference(name: set[int], tokens: list[str], number: tuple | None) -> bool:
    """Whether the positions of a name hold an article reference ("điều 10") or the number found."""
    article = any(tokens[i] == "dieu" and i + 1 in name and tokens[i + 1][:1].isdigit() for i in name)
    return article or bool(number and number[1] & name)


def _type_before(tokens: list[str], i: int) -> tuple[str | None, str | None, set[int]]:
    """The type named just before position i ("Nghị định (số)", "NĐ"): (name, code, positions)."""
    j = i - 1
    used = set()
    if j >= 0 and tokens[j] == "so":
        used.add(j)
        j -= 1
    for width in (4, 3, 2, 1):
        start = j - width + 1
        if start < 0:
            continue
        words = " ".join(tokens[start : j + 1])
        if words in TYPE_WORDS:
            name, code = TYPE_WORDS[words]
            return name, code, used | set(range(start, j + 1))
        if width == 1 and words in TYPE_CODES:
            return TYPE_CODES[words], words, used | {j}
    return None, None, set()


def _so(token: str) -> str | None:
    if not re.fullmatch(r"\d{1,5}[a-z]?", token):
        return None
    return token.lstrip("0") or "0"


def make_entry(record: dict, own_province: str = "") -> Entry:
    number = record.get("number") or ""
    doc_type = record.get("doc_type") or ""
    title = record.get("title") or ""
    issued = record.get("issued") or ""
    # "50/2022/NĐ_CP": an underscore typed for the dash
    parsed = parse_number(number.replace("_", "-")) if number else None
    so = year = None
    code = issuer_code = type_code = ""
    if parsed:
        so = parsed.number.lower().lstrip("0") or "0"
        year = parsed.year
        code = _compact(parsed.code)
        issuer_code = _compact(parsed.issuer_code or "")
        type_code = _compact(parsed.type_code or "")
    name = ""
    years = set()
    if doc_type in NAMED_TYPES and title:
        folded = re.sub(r"\(.*?\)", " ", _fold(title))
        words = _TOKEN.findall(folded)
        while words and _YEAR.fullmatch(words[-1]):
            years.add(int(words.pop()))
        name = " ".join(words)
    if year:
        years.add(year)
    if issued[:4].isdigit():
        years.add(int(issued[:4]))
    own = bool(own_province) and own_province in _fold(record.get("issuer") or "")
    return Entry(
        row=record["row"],
        uid=record["uid"],
        number=number,
        doc_type=doc_type,
        status=record.get("status") or "",
        issued=issued,
        own=own,
        so=so or "",
        year=year,
        code=code,
        issuer_code=issuer_code,
        type_code=type_code,
        name=name,
        years=frozenset(years),
        compact=_compact(number),
    )
