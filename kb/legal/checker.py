"""The legal-basis checker (kiểm tra căn cứ pháp lý): what the citations of a draft point at, and
whether each cited document can still be relied on on the draft's planned date of effect.

    report = check_text(text, store, on="2026-05-01")      # or Checker(store).check(text, on=...)
    report.to_dict()                                        # JSON for the API
    report.rows()                                           # the table for a báo cáo thẩm tra

For every citation found by `kb.legal.citations.extract_citations` the checker
1. resolves it to a stored document — by số ký hiệu (and date and issuer when the number is shared),
   by type + name + date when there is no number, and, when the number is not stored, by type + date
   (a typo in the number) — with a confidence and the candidates when it stays ambiguous;
2. says what the document's status is ON the planned date: in force, not yet in force (from when),
   expired, replaced or repealed (by which document, from when), suspended, partly expired;
3. lists the documents that amended it by that date and says whether the draft cites them too —
   an amendment left out is a finding; likewise a cited article that was amended or repealed;
4. flags a written date, number or type that does not match the stored document (a typo).
A document not in the knowledge base is a finding, never an error. Everything is read from the store
(relations held by other documents: `Store.incoming`), nothing is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from kb import vocab
from kb.dates import vn_date
from kb.errors import KBError, RecordError
from kb.legal.catalogue import Catalogue, Entry, name_key
from kb.legal.citations import ArticleRef, Citation, extract_citations, is_party_number, parse_locator
from kb.legal.validity import Impact, Validity, impacts_of, validity_of
from kb.model import Document, parse_date
from kb.numbers import number_key, parse_number
from kb.store import Store
from kb.text import fold

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_LABELS = {ERROR: "Lỗi", WARNING: "Cảnh báo", INFO: "Lưu ý"}


class State(StrEnum):
    """The checker's state of a cited document on the planned date (distinct from the status labels of
    kb.vocab: it also says how the document ended, or that it was not found or not checked)."""

    IN_FORCE = "in_force"
    NOT_YET = "not_yet"
    EXPIRED = "expired"
    REPLACED = "replaced"
    REPEALED = "repealed"
    SUSPENDED = "suspended"
    PARTLY = "partly_expired"
    UNKNOWN = "unknown"
    NOT_FOUND = "not_found"
    NOT_CHECKED = "not_checked"


# The names the report's users already import.
IN_FORCE, NOT_YET, EXPIRED, REPLACED, REPEALED = (
    State.IN_FORCE,
    State.NOT_YET,
    State.EXPIRED,
    State.REPLACED,
    State.REPEALED,
)
SUSPENDED, PARTLY, UNKNOWN, NOT_FOUND, NOT_CHECKED = (
    State.SUSPENDED,
    State.PARTLY,
    State.UNKNOWN,
    State.NOT_FOUND,
    State.NOT_CHECKED,
)
STATE_LABELS = {
    State.IN_FORCE: "Còn hiệu lực",
    State.NOT_YET: "Chưa có hiệu lực",
    State.EXPIRED: "Hết hiệu lực",
    State.REPLACED: "Bị thay thế",
    State.REPEALED: "Bị bãi bỏ",
    State.SUSPENDED: "Ngưng hiệu lực",
    State.PARTLY: "Hết hiệu lực một phần",
    State.UNKNOWN: "Chưa xác định",
    State.NOT_FOUND: "Không có trong CSDL",
    State.NOT_CHECKED: "Không kiểm tra",
}
# From a status label of kb.vocab (as kb.legal.validity gives it) to the checker's state.
_STATE_OF_STATUS = {
    vocab.IN_FORCE: State.IN_FORCE,
    vocab.PARTLY_EXPIRED: State.PARTLY,
    vocab.EXPIRED: State.EXPIRED,
    vocab.NOT_YET: State.NOT_YET,
    vocab.SUSPENDED: State.SUSPENDED,
    vocab.OBSOLETE: State.UNKNOWN,
    vocab.UNKNOWN: State.UNKNOWN,
}
_ARTICLE_VERBS = {
    vocab.REL_AMENDS: "đã được sửa đổi, bổ sung",
    vocab.REL_REPLACES: "đã bị thay thế",
    vocab.REL_REPEALS: "đã bị bãi bỏ",
}
_UPCOMING_VERBS = {
    vocab.REL_REPLACES: "thay thế",
    vocab.REL_REPEALS: "bãi bỏ",
    vocab.REL_AMENDS: "sửa đổi, bổ sung",
    vocab.REL_SUSPENDS: "đình chỉ",
}
ROLE_LABELS = {"basis": "Căn cứ", "amending": "Căn cứ (văn bản sửa đổi)", "considered": "Xét", "body": "Nội dung"}

# Documents that are not legal bases: reported, but not looked up as such.
NON_NORMATIVE = {"Tờ trình", "Báo cáo", "Kế hoạch", "Thông báo", "Công văn", "Kết luận", "Hướng dẫn"}
_LAW_FAMILY = {"Luật": "Luật", "Bộ luật": "Luật"}


class CheckError(KBError):
    """The check cannot run (a bad planned date); the message is for the user."""


# --- the report -------------------------------------------------------------------------------


@dataclass
class DocRef:
    """A stored document as the report shows it."""

    uid: str | None  # None: a document named by a note but not stored
    number: str | None
    title: str
    doc_type: str | None
    issuer: str | None
    issued: str | None
    effective: str | None
    expires: str | None
    status: str  # on the planned date, from kb.legal.validity (the stored label when not computed)

    @classmethod
    def of(cls, doc: Document, status: str | None = None) -> DocRef:
        return cls(
            doc.uid,
            doc.number,
            doc.title,
            doc.doc_type,
            doc.issuer,
            doc.issued,
            doc.effective,
            doc.expires,
            status or doc.status,
        )

    @property
    def label(self) -> str:
        if self.number and self.title and self.number in self.title:
            return self.title if len(self.title) < 120 else self.title[:117] + "…"
        if self.number:
            head = f"{self.doc_type} số {self.number}" if self.doc_type else f"Văn bản số {self.number}"
            if self.title:
                return f"{head} ({self.title})" if len(self.title) < 90 else f"{head} ({self.title[:87]}…)"
            return head
        return self.title + (f" ngày {vn_date(self.issued)}" if self.issued else "")

    def to_dict(self) -> dict:
        return asdict(self) | {"label": self.label}


@dataclass
class Finding:
    code: str  # stable identifier: "replaced", "amended_not_cited", "date_mismatch", …
    severity: str  # "error", "warning" or "info"
    message: str  # Vietnamese, for the report
    related: list[DocRef] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "severity_label": SEVERITY_LABELS[self.severity],
            "message": self.message,
            "related": [r.to_dict() for r in self.related],
        }


@dataclass
class Amendment:
    """A document that amended (sửa đổi, bổ sung) the cited one, effective by the planned date."""

    document: DocRef
    effective: str | None
    note: str | None
    cited: bool
    by_articles: list[str] = field(default_factory=list)  # the amending articles: ["Điều 2"]

    @property
    def label(self) -> str:
        """'Điều 2 Luật số 52/2019/QH14 (có hiệu lực từ ngày 01/07/2020)'."""
        head = ", ".join(self.by_articles) + " " if self.by_articles else ""
        when = f" (có hiệu lực từ ngày {vn_date(self.effective)})" if self.effective else ""
        return f"{head}{self.document.label}{when}"

    def to_dict(self) -> dict:
        return {
            "document": self.document.to_dict(),
            "effective": self.effective,
            "note": self.note,
            "cited": self.cited,
            "by_articles": self.by_articles,
        }


@dataclass
class CitationCheck:
    citation: Citation
    match: str  # number, number+date, name+date, name+year, name, number_typo, date_typo, none, skipped
    confidence: float  # 0..1: how sure the resolution is
    document: DocRef | None
    candidates: list[DocRef]
    state: State
    since: str | None  # from when the state holds (ISO), when known
    by: DocRef | None  # the replacing / repealing document
    amendments: list[Amendment]
    findings: list[Finding]
    reason: str = ""  # why: kb.legal.validity's explanation of the status on the planned date

    @property
    def state_label(self) -> str:
        label = STATE_LABELS[self.state]
        if self.state == NOT_YET and self.since:
            return f"{label} (từ ngày {vn_date(self.since)})"
        if self.state in (EXPIRED, REPLACED, REPEALED, SUSPENDED) and self.since:
            return f"{label} từ ngày {vn_date(self.since)}"
        return label

    @property
    def severity(self) -> str | None:
        for level in (ERROR, WARNING, INFO):
            if any(f.severity == level for f in self.findings):
                return level
        return None

    def to_dict(self) -> dict:
        return {
            "citation": self.citation.to_dict(),
            "match": self.match,
            "confidence": round(self.confidence, 2),
            "document": self.document.to_dict() if self.document else None,
            "candidates": [c.to_dict() for c in self.candidates],
            "state": self.state.value,
            "state_label": self.state_label,
            "reason": self.reason,
            "since": self.since,
            "by": self.by.to_dict() if self.by else None,
            "amendments": [a.to_dict() for a in self.amendments],
            "findings": [f.to_dict() for f in self.findings],
            "severity": self.severity,
        }


@dataclass
class CheckReport:
    on: str  # planned date of effect, ISO
    checks: list[CitationCheck]
    text_chars: int
    source: str | None = None  # file name, when the text came from one

    @property
    def findings(self) -> list[tuple[int, Finding]]:
        """Every finding with the 1-based number of its citation row."""
        return [(i, f) for i, check in enumerate(self.checks, 1) for f in check.findings]

    def counts(self) -> dict[str, int]:
        counts = {
            "citations": len(self.checks),
            ERROR: 0,
            WARNING: 0,
            INFO: 0,
            "resolved": sum(1 for c in self.checks if c.document),
        }
        for _, f in self.findings:
            counts[f.severity] += 1
        return counts

    def rows(self) -> list[dict[str, str]]:
        """One row per citation, with Vietnamese column names, ready for a table in a báo cáo thẩm tra."""
        on = vn_date(self.on)
        rows = []
        for i, check in enumerate(self.checks, 1):
            c = check.citation
            cited = c.label
            if c.articles:
                cited = ", ".join(a.label() for a in c.articles) + " " + cited
            stored = check.document.label if check.document else ""
            if check.document and check.confidence < 0.9:
                stored += f" (độ tin cậy {check.confidence:.0%})"
            if not check.document and check.candidates:
                stored = "Gần đúng trong CSDL: " + "; ".join(d.label for d in check.candidates[:3])
            notes = [f"[{SEVERITY_LABELS[f.severity]}] {f.message}" for f in check.findings]
            rows.append(
                {
                    "STT": str(i),
                    "Văn bản được viện dẫn": cited,
                    "Vị trí": ROLE_LABELS.get(c.role, c.role),
                    "Văn bản trong CSDL": stored,
                    f"Tình trạng ngày {on}": check.state_label,
                    "Nhận xét": " ".join(notes) if notes else "Không phát hiện vấn đề",
                }
            )
        return rows

    def to_dict(self) -> dict:
        return {
            "on": self.on,
            "source": self.source,
            "text_chars": self.text_chars,
            "counts": self.counts(),
            "citations": [c.to_dict() for c in self.checks],
        }


# --- the steps' results ---------------------------------------------------------------------------


@dataclass
class Resolution:
    """How a citation resolved: the document (or None), how sure, the candidates, findings so far."""

    match: str  # number, number+date, name+date, name+year, name, number_typo, date_typo, none, skipped
    confidence: float
    document: Document | None
    candidates: list[DocRef]
    findings: list[Finding]


@dataclass
class DocState:
    """A cited document on the planned date: its state and what kb.legal.validity says about it."""

    state: State
    since: str | None
    by: Impact | None  # what replaced, repealed or suspended it
    validity: Validity
    amendments: list[Impact]  # amendments in effect by the date
    article_changes: list[Impact]  # impacts on named articles in effect by the date
    upcoming: list[Impact]  # impacts after the date
    expires_later: bool  # in force, with a known expiry date after the date


@dataclass
class _Context:
    """What every citation of one check shares."""

    on: str
    cited_uids: set[str]
    cited_keys: set[str]
    amendments_reported: set[str] = field(default_factory=set)


# --- the checker --------------------------------------------------------------------------------


def _no_budget() -> None:
    pass


class Checker:
    """Checks drafts against one store. Keep one per process (the web app): it caches the catalogue."""

    def __init__(self, store: Store, province: str | None = None):
        self.store = store
        self.province = province
        self.catalogue = Catalogue(store)
        self._validities: dict[tuple[str, str], tuple[Validity, list[Impact]]] = {}

    def check(self, text: str, on: str | dt.date | None = None, source: str | None = None, budget=None) -> CheckReport:
        """budget: a kb.legal.bounds.Budget (told the citations, then called once per citation), or None."""
        planned = planned_date(on)
        self.catalogue.refresh()
        citations = extract_citations(text)
        self._validities = {}
        tick = budget if budget is not None else _no_budget
        if budget is not None:
            budget.citations(len(citations))
        resolved = []
        for c in citations:
            tick()
            resolved.append(self._resolve(c, planned))
        context = _Context(
            on=planned,
            cited_uids={r.document.uid for r in resolved if r.document is not None},
            cited_keys={number_key(c.number) for c in citations if c.number},
        )
        checks = []
        for c, r in zip(citations, resolved):
            tick()
            checks.append(self._check_one(c, r, context))
        return CheckReport(on=planned, checks=checks, text_chars=len(text), source=source)

    # resolution ---------------------------------------------------------------------------
    def _resolve(self, c: Citation, on: str) -> Resolution:
        """How one citation resolves to a stored document."""
        findings: list[Finding] = []
        if c.number and is_party_number(c.number):
            return Resolution(
                "skipped",
                0.0,
                None,
                [],
                [
                    Finding(
                        "party_document", INFO, "Văn bản của Đảng: không thuộc phạm vi cơ sở dữ liệu văn bản pháp luật."
                    )
                ],
            )
        if c.number:
            docs = self.store.find_by_number(number_key(c.number))
            if docs:
                return self._pick_numbered(c, docs, on)
            # The number is not stored: a typo in it, when the type and date (or the name) point elsewhere.
            typo = self._number_typo(c)
            if typo is not None:
                doc = typo
                findings.append(
                    Finding(
                        "number_mismatch",
                        ERROR,
                        f"Số ký hiệu ghi trong dự thảo ({c.number}) khác số ký hiệu của văn bản trong CSDL "
                        f"({doc.number}) có cùng loại và ngày ban hành.",
                        [DocRef.of(doc)],
                    )
                )
                return Resolution("number_typo", 0.6, doc, [], findings)
            others = self._same_name(c)
            if others:
                findings.append(
                    Finding(
                        "same_name_other_date",
                        INFO,
                        "CSDL chỉ có văn bản cùng tên khác số: " + "; ".join(d.label for d in others[:4]) + ".",
                        others,
                    )
                )
            return Resolution("none", 0.0, None, others, findings)
        if c.name:
            return self._by_name(c, on)
        return Resolution("none", 0.0, None, [], findings)

    def _pick_numbered(self, c: Citation, docs: list[Document], on: str) -> Resolution:
        findings: list[Finding] = []
        if len(docs) > 1:
            narrowed = (
                [d for d in docs if c.date and d.issued == c.date]
                or [d for d in docs if c.issuer and _same_issuer(c.issuer, d.issuer)]
                or [d for d in docs if self.province and _same_place(self.province, d)]
            )
            if len(narrowed) == 1:
                docs = narrowed
            else:
                candidates = [DocRef.of(d) for d in (narrowed or docs)]
                findings.append(
                    Finding(
                        "ambiguous",
                        WARNING,
                        f"Có {len(candidates)} văn bản cùng số {c.number} trong CSDL; cần ghi rõ ngày ban hành và "
                        "cơ quan ban hành để xác định văn bản được viện dẫn.",
                        candidates,
                    )
                )
                return Resolution("number", 0.3, None, candidates, findings)
        doc = docs[0]
        confidence = 1.0 if c.date == doc.issued else 0.9
        match = "number+date" if c.date and c.date == doc.issued else "number"
        if c.date_text and doc.issued and c.date != doc.issued:
            written = vn_date(c.date) if c.date else c.date_text
            other = self._same_date_other(c, doc)
            extra = f" Văn bản ban hành đúng ngày ghi trong dự thảo là {other.label}." if other else ""
            findings.append(
                Finding(
                    "date_mismatch",
                    ERROR,
                    f"Ngày ban hành ghi trong dự thảo ({written}) khác ngày ban hành của văn bản trong CSDL "
                    f"({vn_date(doc.issued)}).{extra}",
                    [DocRef.of(doc)] + ([other] if other else []),
                )
            )
            confidence = 0.8
        elif c.year and not c.date and doc.issued and int(doc.issued[:4]) != c.year:
            findings.append(
                Finding(
                    "date_mismatch",
                    ERROR,
                    f"Năm ghi trong dự thảo ({c.year}) khác năm ban hành của văn bản trong CSDL ({doc.issued[:4]}).",
                    [DocRef.of(doc)],
                )
            )
            confidence = 0.8
        if (
            c.doc_type
            and doc.doc_type
            and _family(c.doc_type) != _family(doc.doc_type)
            and c.doc_type not in NON_NORMATIVE
        ):
            findings.append(
                Finding(
                    "type_mismatch",
                    WARNING,
                    f"Dự thảo ghi là {c.doc_type} nhưng văn bản số {doc.number} trong CSDL là {doc.doc_type}.",
                    [DocRef.of(doc)],
                )
            )
        if c.effective and doc.effective and c.effective != doc.effective:
            findings.append(
                Finding(
                    "effective_mismatch",
                    WARNING,
                    f"Ngày có hiệu lực ghi trong dự thảo ({vn_date(c.effective)}) khác ngày có hiệu lực "
                    f"trong CSDL ({vn_date(doc.effective)}).",
                    [DocRef.of(doc)],
                )
            )
        return Resolution(match, confidence, doc, [], findings)

    def _same_date_other(self, c: Citation, doc: Document) -> DocRef | None:
        """Another stored document of the same type issued on the written date: the number may be the typo."""
        if not c.date:
            return None
        others = [
            e
            for e in self.catalogue.dated(c.date)
            if e.uid != doc.uid
            and _family(e.doc_type) == _family(c.doc_type or doc.doc_type)
            and e.number
            and _similar_number(number_key(e.number), number_key(c.number or ""))
        ]
        if len(others) == 1:
            other = self.store.get(others[0].uid)
            return DocRef.of(other) if other else None
        return None

    def _number_typo(self, c: Citation) -> Document | None:
        key = number_key(c.number)
        pool: list[Entry] = []
        if c.date:
            pool = [
                e
                for e in self.catalogue.dated(c.date)
                if (not c.doc_type or _family(e.doc_type) == _family(c.doc_type))
                and e.number
                and _similar_number(number_key(e.number), key)
            ]
        if not pool and c.name:
            # Same name: a typo only when the number's year (or the written date) agrees; "Luật X số
            # 121/2025/QH15" is not the stored "Luật X" of 2015 with a mistyped number.
            parsed = parse_number(c.number)
            year = parsed.year if parsed else None
            pool = [
                e
                for e in self.catalogue.named(name_key(c.name, c.doc_type))
                if (c.date and e.issued == c.date) or (not c.date and year and e.issued and int(e.issued[:4]) == year)
            ]
        if len(pool) == 1:
            return self.store.get(pool[0].uid)
        return None

    def _same_name(self, c: Citation) -> list[DocRef]:
        if not c.name:
            return []
        entries = [
            e for e in self.catalogue.named(name_key(c.name, c.doc_type)) if _family(e.doc_type) == _family(c.doc_type)
        ]
        docs = [self.store.get(e.uid) for e in entries]
        return [DocRef.of(d) for d in docs if d is not None]

    def _by_name(self, c: Citation, on: str) -> Resolution:
        key = name_key(c.name, c.doc_type)
        entries = [
            e
            for e in self.catalogue.named(key)
            if _family(e.doc_type) == _family(c.doc_type) or not e.doc_type or not c.doc_type
        ]
        if not entries:
            return Resolution("none", 0.0, None, [], [])
        docs = [d for d in (self.store.get(e.uid) for e in entries) if d is not None]
        if c.date:
            exact = [d for d in docs if d.issued == c.date]
            if len(exact) == 1:
                return Resolution("name+date", 0.9, exact[0], [], [])
            close = [d for d in docs if d.issued and _likely_date_typo(c.date, d.issued)]
            if len(close) == 1:
                doc = close[0]
                return Resolution(
                    "date_typo",
                    0.6,
                    doc,
                    [],
                    [
                        Finding(
                            "date_mismatch",
                            ERROR,
                            f"Ngày ban hành ghi trong dự thảo ({vn_date(c.date)}) khác ngày ban hành của "
                            f"{doc.doc_type or 'văn bản'} cùng tên trong CSDL ({vn_date(doc.issued)}).",
                            [DocRef.of(doc)],
                        )
                    ],
                )
            return Resolution(
                "none",
                0.0,
                None,
                [DocRef.of(d) for d in docs],
                [
                    Finding(
                        "same_name_other_date",
                        INFO,
                        "CSDL có văn bản cùng tên nhưng khác ngày ban hành: "
                        + "; ".join(DocRef.of(d).label for d in docs[:4])
                        + ".",
                        [DocRef.of(d) for d in docs],
                    )
                ],
            )
        if c.year:
            same_year = [d for d in docs if d.issued and int(d.issued[:4]) == c.year]
            if len(same_year) == 1:
                return Resolution("name+year", 0.8, same_year[0], [], [])
            if not same_year:
                return Resolution(
                    "none",
                    0.0,
                    None,
                    [DocRef.of(d) for d in docs],
                    [
                        Finding(
                            "same_name_other_date",
                            INFO,
                            f"CSDL có văn bản cùng tên nhưng không ban hành năm {c.year}: "
                            + "; ".join(DocRef.of(d).label for d in docs[:4])
                            + ".",
                            [DocRef.of(d) for d in docs],
                        )
                    ],
                )
            docs = same_year
        if len(docs) == 1:
            return Resolution("name", 0.6, docs[0], [], [])
        # Several documents of that name: the one in force on the planned date is the likely one.
        in_force = [
            d
            for d in docs
            if (d.effective or d.issued or "") <= on
            and self._state(d, on).state in (State.IN_FORCE, State.PARTLY, State.UNKNOWN)
        ]
        candidates = [DocRef.of(d) for d in sorted(docs, key=lambda d: d.issued or "", reverse=True)]
        if len(in_force) == 1:
            return Resolution(
                "name",
                0.5,
                in_force[0],
                candidates,
                [
                    Finding(
                        "ambiguous",
                        WARNING,
                        f"Dự thảo viện dẫn {c.name} không ghi số, ngày ban hành; CSDL có {len(docs)} văn bản cùng tên, "
                        f"đã chọn văn bản chưa bị thay thế, bãi bỏ ({DocRef.of(in_force[0]).label}).",
                        candidates,
                    )
                ],
            )
        return Resolution(
            "name",
            0.3,
            None,
            candidates,
            [
                Finding(
                    "ambiguous",
                    WARNING,
                    f"Dự thảo viện dẫn {c.name} không ghi số, ngày ban hành; CSDL có {len(docs)} văn bản cùng tên.",
                    candidates,
                )
            ],
        )

    # status on the planned date -----------------------------------------------------------------
    def _validity(self, doc: Document, on: str) -> tuple[Validity, list[Impact]]:
        key = (doc.uid, on)
        if key not in self._validities:
            impacts = impacts_of(self.store, doc)
            self._validities[key] = (validity_of(doc, impacts, on), impacts)
        return self._validities[key]

    def _ref(self, doc: Document, on: str) -> DocRef:
        """The report's view of a stored document, its status computed on the planned date."""
        return DocRef.of(doc, self._validity(doc, on)[0].status)

    def _impact_ref(self, impact: Impact, on: str) -> DocRef:
        """The acting document of an impact: the stored one when stored, else what the note says of it."""
        holder = self.store.get(impact.by_uid) if impact.by_uid else None
        if holder is not None:
            return self._ref(holder, on)
        return DocRef(
            None, impact.by_number, impact.by_title or "", impact.by_type, None, None, impact.effective, None, ""
        )

    def _state(self, doc: Document, on: str) -> DocState:
        """The state of `doc` on `on`, read from kb.legal.validity (the one place that decides status)."""
        v, impacts = self._validity(doc, on)
        by = v.by
        if v.status == vocab.NOT_YET:
            state, since = State.NOT_YET, v.until
        elif v.status == vocab.EXPIRED and by is not None:
            state, since = (State.REPLACED if by.type == vocab.REL_REPLACES else State.REPEALED), v.since
        else:
            state, since = _STATE_OF_STATUS[v.status], v.since
        if state not in (State.REPLACED, State.REPEALED, State.SUSPENDED):
            by = None
        article_changes = [
            i for i in impacts if i.partial and i.effective and i.effective <= on and i.type in _ARTICLE_VERBS
        ]
        upcoming = [i for i in v.upcoming if i.type in _UPCOMING_VERBS]
        expires_later = bool(doc.expires and doc.expires > on and state == State.IN_FORCE)
        return DocState(state, since, by, v, list(v.amendments), article_changes, upcoming, expires_later)

    def _check_one(self, c: Citation, resolution: Resolution, context: _Context) -> CitationCheck:
        findings = resolution.findings
        if resolution.match == "skipped":
            return CitationCheck(
                c, resolution.match, resolution.confidence, None, [], State.NOT_CHECKED, None, None, [], findings
            )
        doc = resolution.document
        if doc is None:
            return self._unresolved(c, resolution)
        on = context.on
        ref = self._ref(doc, on)
        st = self._state(doc, on)
        by_ref = self._impact_ref(st.by, on) if st.by is not None else None
        if c.doc_type not in NON_NORMATIVE:
            findings += self._status_findings(st, ref, by_ref, on)
            findings += self._guidance_findings(doc, ref, on)
        amendments = self._amendments(st, context, on)
        findings += self._amendment_findings(c, doc, st, amendments, context)
        findings += self._article_findings(c, doc, st, ref, on)
        findings += self._upcoming_findings(st, ref, on)
        return CitationCheck(
            c,
            resolution.match,
            resolution.confidence,
            ref,
            resolution.candidates,
            st.state,
            st.since,
            by_ref,
            amendments,
            _cap(c, findings),
            st.validity.reason,
        )

    def _unresolved(self, c: Citation, resolution: Resolution) -> CitationCheck:
        findings = resolution.findings
        match, confidence, candidates = resolution.match, resolution.confidence, resolution.candidates
        if c.doc_type in NON_NORMATIVE:
            findings.append(
                Finding(
                    "not_checked",
                    INFO,
                    f"{c.doc_type} không phải văn bản quy phạm pháp luật; không kiểm tra hiệu lực.",
                )
            )
            return CitationCheck(c, match, confidence, None, candidates, State.NOT_CHECKED, None, None, [], findings)
        if not any(f.code == "ambiguous" for f in findings):
            findings.insert(
                0,
                Finding(
                    "not_found",
                    WARNING,
                    "Không tìm thấy văn bản này trong cơ sở dữ liệu: cần kiểm tra thủ công số, ngày ban hành "
                    "và hiệu lực.",
                    [],
                ),
            )
        return CitationCheck(c, match, confidence, None, candidates, State.NOT_FOUND, None, None, [], _cap(c, findings))

    def _status_findings(self, st: DocState, ref: DocRef, by_ref: DocRef | None, on: str) -> list[Finding]:
        """Not yet in force, replaced, repealed, expired, suspended, partly expired, or unknown on `on`."""
        when = vn_date(on)
        since = f" từ ngày {vn_date(st.since)}" if st.since else ""
        if st.state == State.NOT_YET:
            return [
                Finding(
                    "not_yet_in_force",
                    ERROR,
                    f"Chưa có hiệu lực vào ngày {when}"
                    + (f" (có hiệu lực từ ngày {vn_date(st.since)})." if st.since else "."),
                    [ref],
                )
            ]
        if st.state in (State.REPLACED, State.REPEALED):
            verb = "thay thế" if st.state == State.REPLACED else "bãi bỏ"
            return [
                Finding(
                    st.state.value,
                    ERROR,
                    f"Đã bị {verb} bởi {by_ref.label}{since}; không còn là căn cứ vào ngày {when}.",
                    [by_ref],
                )
            ]
        if st.state == State.EXPIRED:
            return [
                Finding(
                    "expired",
                    ERROR,
                    "Đã hết hiệu lực" + (since if st.since else " (theo tình trạng trong CSDL)") + ".",
                    [ref],
                )
            ]
        if st.state == State.SUSPENDED:
            return [
                Finding(
                    "suspended",
                    ERROR,
                    "Đang bị ngưng hiệu lực" + (f" theo {by_ref.label}" if by_ref else "") + ".",
                    [by_ref] if by_ref else [ref],
                )
            ]
        if st.state == State.PARTLY and not st.article_changes:
            return [
                Finding(
                    "partly_expired",
                    WARNING,
                    "Hết hiệu lực một phần: cần kiểm tra nội dung được viện dẫn còn hiệu lực.",
                    [ref],
                )
            ]
        if st.state == State.UNKNOWN:
            return [
                Finding(
                    "status_unknown",
                    WARNING,
                    f"Chưa xác định được hiệu lực vào ngày {when}: {st.validity.reason}. Cần xác minh tình trạng "
                    "hiệu lực trước khi viện dẫn.",
                    [ref],
                )
            ]
        return []

    def _guidance_findings(self, doc: Document, ref: DocRef, on: str) -> list[Finding]:
        """A document guiding (huong_dan) a law that has been replaced or repealed by `on`: to verify."""
        findings = []
        for rel in doc.relations:
            if rel.type != vocab.REL_GUIDES:
                continue
            target_uid = self.store.resolve_target(rel)
            target = self.store.get(target_uid) if target_uid else None
            if target is None:
                continue
            st = self._state(target, on)
            if st.state not in (State.REPLACED, State.REPEALED, State.EXPIRED):
                continue
            target_ref = self._ref(target, on)
            what = f"{target_ref.label}: {st.validity.reason}"
            findings.append(
                Finding(
                    "guided_law_replaced",
                    WARNING,
                    f"Cần xác minh: văn bản hướng dẫn của luật đã bị thay thế ({what}).",
                    [target_ref] + ([self._impact_ref(st.by, on)] if st.by is not None else []),
                )
            )
        return findings

    def _amendments(self, st: DocState, context: _Context, on: str) -> list[Amendment]:
        amendments: list[Amendment] = []
        for impact in st.amendments:
            holder = self._impact_ref(impact, on)
            key = number_key(holder.number) if holder.number else None
            cited = (holder.uid in context.cited_uids if holder.uid else False) or bool(
                key and key in context.cited_keys
            )
            same = [a for a in amendments if (a.document.uid, a.document.number) == (holder.uid, holder.number)]
            if same:
                if impact.by_article and impact.by_article not in same[0].by_articles:
                    same[0].by_articles.append(impact.by_article)
                continue
            by_articles = [impact.by_article] if impact.by_article else []
            amendments.append(Amendment(holder, impact.effective, impact.articles, cited, by_articles))
        return amendments

    def _amendment_findings(
        self, c: Citation, doc: Document, st: DocState, amendments: list[Amendment], context: _Context
    ) -> list[Finding]:
        """Amendments in effect by the planned date that the draft does not cite (once per document)."""
        if (
            c.role not in ("basis", "amending", "body")
            or c.parent is not None
            or doc.uid in context.amendments_reported
        ):
            return []
        missing = [a for a in amendments if not a.cited]
        if not missing or st.state in (State.REPLACED, State.REPEALED, State.EXPIRED):
            return []
        context.amendments_reported.add(doc.uid)
        names = "; ".join(a.label for a in missing)
        return [
            Finding(
                "amended_not_cited",
                WARNING,
                f"Văn bản đã được sửa đổi, bổ sung bởi {names}; dự thảo chưa viện dẫn "
                + ("văn bản này." if len(missing) == 1 else "các văn bản này."),
                [a.document for a in missing],
            )
        ]

    def _article_findings(self, c: Citation, doc: Document, st: DocState, ref: DocRef, on: str) -> list[Finding]:
        """Cited articles amended, replaced or repealed by then, and cited articles the document does not have."""
        findings = []
        for impact in st.article_changes:
            touched = parse_locator(impact.articles or "")
            hit = [a for a in c.articles if any(_overlaps(a, t) for t in touched)]
            if not hit:
                continue
            holder = self._impact_ref(impact, on)
            repealed = impact.type == vocab.REL_REPEALS and impact.whole
            when = f" từ ngày {vn_date(impact.effective)}" if impact.effective else ""
            findings.append(
                Finding(
                    "article_repealed" if repealed else "article_changed",
                    ERROR if repealed else WARNING,
                    f"{', '.join(a.label() for a in hit)} {'' if impact.whole else 'có nội dung '}"
                    f"{_ARTICLE_VERBS[impact.type]} bởi "
                    + (f"{impact.by_article} " if impact.by_article else "")
                    + f"{holder.label}{when}"
                    + (f" ({impact.articles})" if impact.articles else "")
                    + ".",
                    [holder],
                )
            )
        if c.articles and doc.articles:
            present = {a.number.lower() for a in doc.articles}
            absent = [a for a in c.articles if a.article.lower() not in present]
            if absent:
                findings.append(
                    Finding(
                        "article_missing",
                        WARNING,
                        f"Văn bản trong CSDL không có {', '.join('Điều ' + a.article for a in absent)}: "
                        "cần kiểm tra lại điều, khoản được viện dẫn.",
                        [ref],
                    )
                )
        return findings

    def _upcoming_findings(self, st: DocState, ref: DocRef, on: str) -> list[Finding]:
        findings = []
        for impact in st.upcoming:
            holder = self._impact_ref(impact, on)
            findings.append(
                Finding(
                    "upcoming",
                    INFO,
                    f"Sẽ bị {_UPCOMING_VERBS[impact.type]} bởi {holder.label} từ ngày {vn_date(impact.effective)}.",
                    [holder],
                )
            )
        if st.expires_later:
            findings.append(Finding("upcoming", INFO, f"Sẽ hết hiệu lực từ ngày {vn_date(ref.expires)}.", [ref]))
        return findings


def check_text(
    text: str, store: Store, on: str | dt.date | None = None, province: str | None = None, source: str | None = None
) -> CheckReport:
    """Check the citations of `text` against `store` on the planned date `on` (default: today)."""
    return Checker(store, province).check(text, on, source=source)


def planned_date(on: str | dt.date | None) -> str:
    """ISO date from a date, 'YYYY-MM-DD', 'dd/mm/yyyy' or None (today)."""
    if on is None or on == "":
        return dt.date.today().isoformat()
    if isinstance(on, dt.date):
        return on.isoformat()
    try:
        return parse_date(str(on), "ngày dự kiến có hiệu lực")
    except RecordError:
        raise CheckError(f"Ngày dự kiến có hiệu lực không hợp lệ: {on!r} (dùng dd/mm/yyyy hoặc yyyy-mm-dd).") from None


# --- helpers ------------------------------------------------------------------------------------


def _cap(c: Citation, findings: list[Finding]) -> list[Finding]:
    """A document named inside another citation's trích yếu is context, not a basis: at most a warning."""
    if c.parent is not None:
        for f in findings:
            if f.severity == ERROR:
                f.severity = WARNING
    return findings


def _from(doc: Document) -> str | None:
    return doc.effective or doc.issued


def _family(doc_type: str | None) -> str | None:
    return _LAW_FAMILY.get(doc_type, doc_type) if doc_type else None


def _overlaps(cited: ArticleRef, changed: ArticleRef) -> bool:
    if cited.article.lower() != changed.article.lower():
        return False
    if cited.clause and changed.clause and cited.clause != changed.clause:
        return False
    if cited.point and changed.point and cited.point != changed.point:
        return False
    return True


def _same_issuer(written: str, stored: str | None) -> bool:
    if not stored:
        return False
    a, b = name_key(written), name_key(stored)
    return bool(a and b) and (a in b or b in a)


def _same_place(province: str, doc: Document) -> bool:
    p = fold(province).lower()
    return p in fold(doc.province or "").lower() or p in fold(doc.issuer or "").lower()


def _similar_number(a: str, b: str) -> bool:
    """Keys that differ by one typo in the sequence number, or by a missing year/code part ('77/cp', '77/2003/ndcp')."""
    if not a or not b or a == b:
        return False
    pa, pb = a.split("/"), b.split("/")
    if pa[0] == pb[0]:
        return True  # same sequence number: the year or the code was written differently
    if pa[1:] != pb[1:]:
        return False
    return _edit_distance_at_most_one(pa[0], pb[0])


def _edit_distance_at_most_one(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _likely_date_typo(written: str, stored: str) -> bool:
    """One wrong digit, or day and month swapped, in dd/mm/yyyy."""
    w, s = dt.date.fromisoformat(written), dt.date.fromisoformat(stored)
    if (w.day, w.month, w.year) == (s.month, s.day, s.year):
        return True
    a, b = w.strftime("%d%m%Y"), s.strftime("%d%m%Y")
    return sum(x != y for x, y in zip(a, b)) == 1 or _edit_distance_at_most_one(a, b)
