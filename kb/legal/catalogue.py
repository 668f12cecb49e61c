"""The catalogue of stored documents by name and by date (what the checker's and the delegation
tracker's name and date look-ups need, read once), and `name_key`, the matching key of a document's name."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from kb.store import Store
from kb.text import canonical_tones, fold, nfc


@dataclass
class Entry:
    """One stored document's metadata, as the catalogue holds it."""

    uid: str
    number: str | None
    title: str
    doc_type: str | None
    issued: str | None
    issuer: str | None
    province: str | None


class Catalogue:
    """Metadata of every stored document, indexed by name and by date; rebuilt when the store changes.

    The store offers look-ups by number only, so this reads the metadata of all documents once (one SQL
    scan of the JSON) and keeps it until `Store.last_event_id()` moves."""

    def __init__(self, store: Store):
        self.store = store
        self.version: int | None = None
        self.by_name: dict[str, list[Entry]] = {}
        self.by_date: dict[str, list[Entry]] = {}
        self.refresh()

    def refresh(self) -> None:
        version = self.store.last_event_id()
        if version == self.version:
            return
        self.by_name, self.by_date = {}, {}
        for entry in self._entries():
            key = name_key(entry.title, entry.doc_type)
            if key:
                self.by_name.setdefault(key, []).append(entry)
            if entry.issued:
                self.by_date.setdefault(entry.issued, []).append(entry)
        self.version = version

    def _entries(self):
        try:
            rows = self.store.db.execute(
                "SELECT uid, json_extract(data, '$.number'), json_extract(data, '$.title'),"
                " json_extract(data, '$.doc_type'), json_extract(data, '$.issued'), json_extract(data, '$.issuer'),"
                " json_extract(data, '$.province') FROM documents"
            ).fetchall()
        except (sqlite3.Error, AttributeError):  # a store without JSON1, or another implementation
            for doc in self.store.iter_documents():
                yield Entry(doc.uid, doc.number, doc.title, doc.doc_type, doc.issued, doc.issuer, doc.province)
            return
        for row in rows:
            yield Entry(*[row[i] for i in range(7)])

    def named(self, key: str) -> list[Entry]:
        return self.by_name.get(key, [])

    def dated(self, iso: str) -> list[Entry]:
        return self.by_date.get(iso, [])


_ABBREVIATIONS = (
    (r"\bhdnd\b", "hoi dong nhan dan"),
    (r"\bubnd\b", "uy ban nhan dan"),
    (r"\bvbqppl\b", "van ban quy pham phap luat"),
    (r"\bqppl\b", "quy pham phap luat"),
    (r"\bubtvqh\b", "uy ban thuong vu quoc hoi"),
    (r"\bnsnn\b", "ngan sach nha nuoc"),
)
_TYPE_PREFIX = re.compile(r"^(?:bo luat|luat|phap lenh|hien phap|nghi quyet|nghi dinh|quyet dinh|thong tu)\s+")
_NAME_NOISE = re.compile(
    r"\bso\s+\S*\d\S*|\bnam\s+(?:19|20)\d{2}\b|\b(?:19|20)\d{2}\b|\bnuoc cong hoa xa hoi chu nghia viet nam\b"
    r"|\bngay\s+\d{1,2}\s*(?:thang\s+\d{1,2}\s+nam|/\d{1,2}/)\s*\d{4}\b|\bcua quoc hoi\b$"
)


def name_key(title: str | None, doc_type: str | None = None) -> str:
    """Matching key of a document's name: 'Luật Tổ chức chính quyền địa phương số 72/2025/QH15' and
    'luat to chuc chinh quyen dia phuong nam 2025' both give 'to chuc chinh quyen dia phuong'."""
    if not title:
        return ""
    text = fold(canonical_tones(nfc(title))).lower()
    text = _NAME_NOISE.sub(" ", text)
    for pattern, repl in _ABBREVIATIONS:
        text = re.sub(pattern, repl, text)
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    text = " ".join(text.split())
    text = _TYPE_PREFIX.sub("", text)
    return text
