"""Rà soát: the province's own normative documents whose legal basis has changed (docs/REVIEW.md).

For every normative document of the province (HĐND and UBND of `province.name` and of the provinces in
`province.predecessors`) that is itself in force and has text, the "Căn cứ …" lines are read with the
citation extractor, each basis is resolved to a stored document as the checker does, and its validity on
the review date is taken from the one validity function (`basis_validity`, the seam below). A document is
listed when a basis was replaced, repealed, suspended or expired after the document's issue date, or
amended after it in an article the document cites or implements (an amendment whose articles are unknown
is listed as "sửa đổi — cần xem điều khoản"); a basis missing from the store is listed under "cần xác
minh". Each reason names the basis, what happened, from when, by which document, the law in force now
(following chains of replacements) and a suggestion.

    entries = ReviewBuilder(store, province_names("Lai Châu")).build(on="2026-01-01")
    [e.to_dict() for e in entries if e.listed]

Marks ("đã rà soát — còn phù hợp", "đã đề xuất sửa đổi") are kept with their history in the store table
`review_marks`; a marked entry leaves the list until a reason it did not have when marked appears.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import weakref
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from kb import vocab
from kb.dates import vn_date
from kb.errors import KBError
from kb.legal import checker as checker_mod
from kb.legal import derived
from kb.legal.checker import NON_NORMATIVE, Checker, name_key
from kb.legal.citations import ArticleRef, Citation, extract_citations, is_party_number, parse_locator
from kb.legal.delegation import find_delegations
from kb.legal.validity import Impact, validity
from kb.model import Document
from kb.numbers import number_key
from kb.store import Store, now
from kb.text import fold

# --- vocabulary ------------------------------------------------------------------------------------

REPLACED, REPEALED, EXPIRED, SUSPENDED = "replaced", "repealed", "expired", "suspended"
AMENDED, AMENDED_UNKNOWN, VERIFY = "amended", "amended_unknown", "verify"
CAUSES = (REPLACED, REPEALED, EXPIRED, SUSPENDED, AMENDED, AMENDED_UNKNOWN, VERIFY)
CAUSE_LABELS = {
    REPLACED: "Căn cứ bị thay thế",
    REPEALED: "Căn cứ bị bãi bỏ",
    EXPIRED: "Căn cứ hết hiệu lực",
    SUSPENDED: "Căn cứ bị ngưng hiệu lực",
    AMENDED: "Căn cứ được sửa đổi, bổ sung, bãi bỏ ở điều, khoản viện dẫn",
    AMENDED_UNKNOWN: "Căn cứ được sửa đổi — cần xem điều khoản",
    VERIFY: "Cần xác minh",
}
# Suggestions, strongest first (the document's suggestion is the strongest of its reasons).
REPLACE, REPEAL, AMEND, CHECK = "thay_the", "bai_bo", "sua_doi", "xac_minh"
SUGGESTIONS = (REPLACE, REPEAL, AMEND, CHECK)
SUGGESTION_LABELS = {REPLACE: "Thay thế", REPEAL: "Bãi bỏ", AMEND: "Sửa đổi", CHECK: "Xác minh"}
# Verdicts of a review mark.
STILL_FITS, PROPOSED = "con_phu_hop", "de_xuat_sua_doi"
VERDICTS = (STILL_FITS, PROPOSED)
VERDICT_LABELS = {STILL_FITS: "Đã rà soát — còn phù hợp", PROPOSED: "Đã đề xuất sửa đổi"}
HDND, UBND = "HĐND", "UBND"
ISSUER_KINDS = (HDND, UBND)
UNASSIGNED = "Chưa phân Ban"

# The Ban of the HĐND and which lĩnh vực each examines (config [review]; docs/REVIEW.md).
DEFAULT_BANS = ["Ban Pháp chế", "Ban Kinh tế – Ngân sách", "Ban Văn hóa – Xã hội", "Ban Dân tộc"]
DEFAULT_FIELD_BANS = {
    # keys are matched, accents and case ignored, as substrings of the document's lĩnh vực
    "tổ chức bộ máy": "Ban Pháp chế",
    "bộ máy hành chính": "Ban Pháp chế",
    "nội vụ": "Ban Pháp chế",
    "cán bộ": "Ban Pháp chế",
    "tư pháp": "Ban Pháp chế",
    "vi phạm hành chính": "Ban Pháp chế",
    "an ninh": "Ban Pháp chế",
    "quốc phòng": "Ban Pháp chế",
    "trật tự": "Ban Pháp chế",
    "thanh tra": "Ban Pháp chế",
    "khiếu nại": "Ban Pháp chế",
    "thi đua": "Ban Pháp chế",
    "tài chính": "Ban Kinh tế – Ngân sách",
    "ngân sách": "Ban Kinh tế – Ngân sách",
    "thuế": "Ban Kinh tế – Ngân sách",
    "phí": "Ban Kinh tế – Ngân sách",
    "đầu tư": "Ban Kinh tế – Ngân sách",
    "xây dựng": "Ban Kinh tế – Ngân sách",
    "giao thông": "Ban Kinh tế – Ngân sách",
    "đất đai": "Ban Kinh tế – Ngân sách",
    "tài nguyên": "Ban Kinh tế – Ngân sách",
    "môi trường": "Ban Kinh tế – Ngân sách",
    "nông nghiệp": "Ban Kinh tế – Ngân sách",
    "lâm nghiệp": "Ban Kinh tế – Ngân sách",
    "thương mại": "Ban Kinh tế – Ngân sách",
    "công thương": "Ban Kinh tế – Ngân sách",
    "doanh nghiệp": "Ban Kinh tế – Ngân sách",
    "kế hoạch": "Ban Kinh tế – Ngân sách",
    "bất động sản": "Ban Kinh tế – Ngân sách",
    "giáo dục": "Ban Văn hóa – Xã hội",
    "đào tạo": "Ban Văn hóa – Xã hội",
    "y tế": "Ban Văn hóa – Xã hội",
    "văn hóa": "Ban Văn hóa – Xã hội",
    "thể thao": "Ban Văn hóa – Xã hội",
    "du lịch": "Ban Văn hóa – Xã hội",
    "lao động": "Ban Văn hóa – Xã hội",
    "chính sách xã hội": "Ban Văn hóa – Xã hội",
    "bảo hiểm": "Ban Văn hóa – Xã hội",
    "khoa học": "Ban Văn hóa – Xã hội",
    "thông tin": "Ban Văn hóa – Xã hội",
    "dân tộc": "Ban Dân tộc",
    "tôn giáo": "Ban Dân tộc",
    "miền núi": "Ban Dân tộc",
}

_LOCAL_NORMATIVE = frozenset({"Nghị quyết", "Quyết định", "Chỉ thị"})
_PREAMBLE_END = re.compile(r"quyet\s+nghi\s*:|quyet\s+dinh\s*:|\n[ \t]*dieu\s+1\s*[.:]")
_PREAMBLE_MAX = 12_000


class ReviewError(KBError):
    """A review request that cannot be carried out (a bad date, an unknown document or verdict)."""


# --- the records -------------------------------------------------------------------------------


@dataclass
class DocLink:
    """A stored document as an entry shows it: enough to link it and name it."""

    uid: str
    number: str | None
    label: str

    @classmethod
    def of(cls, doc: Document) -> DocLink:
        return cls(doc.uid, doc.number, checker_mod.DocRef.of(doc).label)


@dataclass
class Reason:
    """Why one basis of a document needs review."""

    cause: str  # one of CAUSES
    basis: str  # the basis as the document cites it
    basis_doc: DocLink | None  # the stored basis, when resolved
    articles: list[str]  # the provisions of the basis the document cites or implements
    since: str | None  # from when (ISO)
    by: DocLink | None  # the replacing, repealing, amending or suspending document
    current: list[DocLink]  # the law in force now: the chain of replacements, last one in force
    suggestion: str  # one of SUGGESTIONS
    detail: str  # one Vietnamese sentence: what happened
    delegation: str | None = None  # the delegation clause this document answers, when it is concerned
    amending: list[DocLink] = field(default_factory=list)

    @property
    def key(self) -> str:
        """What identifies this change: a mark covers the keys it saw; a new key brings the entry back."""
        who = self.basis_doc.uid if self.basis_doc else fold(self.basis).lower()
        extra = ",".join(sorted(d.uid for d in self.amending)) or (self.by.uid if self.by else "")
        last = self.current[-1].uid if self.current else ""
        return f"{self.cause}|{who}|{extra}|{last}"

    @property
    def cause_label(self) -> str:
        return CAUSE_LABELS[self.cause]

    @property
    def suggestion_label(self) -> str:
        return SUGGESTION_LABELS[self.suggestion]

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(key=self.key, cause_label=self.cause_label, suggestion_label=self.suggestion_label)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Reason:
        def link(d):
            return DocLink(**d) if d else None

        return cls(
            cause=data["cause"],
            basis=data["basis"],
            basis_doc=link(data.get("basis_doc")),
            articles=list(data.get("articles") or []),
            since=data.get("since"),
            by=link(data.get("by")),
            current=[DocLink(**d) for d in data.get("current") or []],
            suggestion=data["suggestion"],
            detail=data["detail"],
            delegation=data.get("delegation"),
            amending=[DocLink(**d) for d in data.get("amending") or []],
        )


@dataclass
class Entry:
    """One provincial document and the reasons it needs review (none: its bases are all in order)."""

    uid: str
    number: str | None
    doc_type: str | None
    title: str
    issuer: str | None
    province: str | None
    issuer_kind: str | None  # HĐND or UBND
    issued: str | None
    effective: str | None
    fields: list[str]
    in_force: bool
    status: str  # its own status on `on` (kb.vocab.STATUSES)
    has_text: bool
    bases: int  # how many bases were read
    reasons: list[Reason] = field(default_factory=list)
    on: str = ""  # the date the validity was taken on
    depends: list[str] = field(default_factory=list)  # uids whose change may change this entry
    unresolved: list[str] = field(default_factory=list)  # look-up keys of bases not found ("n:…", "t:…")
    next_change: str | None = None  # the first later date on which a basis' validity changes

    @property
    def changes(self) -> list[Reason]:
        return [r for r in self.reasons if r.cause != VERIFY]

    @property
    def to_verify(self) -> list[Reason]:
        return [r for r in self.reasons if r.cause == VERIFY]

    @property
    def listed(self) -> bool:
        return bool(self.reasons)

    @property
    def cause(self) -> str | None:
        """The main cause: the first of CAUSES among the reasons."""
        present = {r.cause for r in self.reasons}
        return next((c for c in CAUSES if c in present), None)

    @property
    def suggestion(self) -> str | None:
        present = {r.suggestion for r in self.reasons}
        return next((s for s in SUGGESTIONS if s in present), None)

    @property
    def changed_on(self) -> str:
        """The latest date of change among the reasons (for sorting)."""
        return max((r.since or "" for r in self.reasons), default="")

    @property
    def keys(self) -> list[str]:
        return sorted({r.key for r in self.reasons})

    @property
    def label(self) -> str:
        head = " ".join(x for x in (self.doc_type, f"số {self.number}" if self.number else None) if x)
        return f"{head} {self.title}".strip()

    @property
    def year(self) -> int | None:
        return int(self.issued[:4]) if self.issued else None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["reasons"] = [r.to_dict() for r in self.reasons]
        data.update(
            cause=self.cause,
            cause_label=CAUSE_LABELS.get(self.cause or "", ""),
            suggestion=self.suggestion,
            suggestion_label=SUGGESTION_LABELS.get(self.suggestion or "", ""),
            changed_on=self.changed_on,
            keys=self.keys,
            label=self.label,
        )
        return data

    def to_row(self) -> dict:
        """What the derived row keeps: the fields (without the look-ups, which have rows of their own) and the
        keys; labels and computed values are made again when read."""
        data = asdict(self)
        del data["depends"], data["unresolved"]
        data["keys"] = self.keys
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Entry:
        names = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in names}
        values["reasons"] = [Reason.from_dict(r) for r in data.get("reasons") or []]
        return cls(**values)


# --- validity: the one validity function (kb.legal.validity) --------------------------------------

IN_FORCE, NOT_IN_FORCE_YET, UNKNOWN_STATE = "in_force", "not_yet", "unknown"


@dataclass
class BasisValidity:
    """What the one validity function says of a document on a date, in the review's terms."""

    state: str  # IN_FORCE, REPLACED, REPEALED, EXPIRED, SUSPENDED, NOT_IN_FORCE_YET, UNKNOWN_STATE
    status: str  # the status label (kb.vocab.STATUSES)
    since: str | None
    by: DocLink | None  # the replacing, repealing or suspending document
    by_uid: str | None  # when it is stored
    amendments: list[tuple[DocLink, str | None, str | None]]  # (amending document, articles, from when)
    upcoming: str | None  # the first later date on which the validity changes
    article_ends: list[tuple[DocLink, str | None, str | None, str]] = field(default_factory=list)
    # (document, articles, from when, relation type): articles replaced or repealed while the rest is in force


def _impact_link(store: Store, impact: Impact) -> DocLink:
    holder = store.get(impact.by_uid) if impact.by_uid else None
    return DocLink.of(holder) if holder is not None else DocLink("", impact.by_number, impact.by_label)


def basis_validity(store: Store, doc: Document, on: str) -> BasisValidity:
    """The validity of `doc` on `on`, from `kb.legal.validity.validity` (THE validity function)."""
    v = validity(store, doc, on)
    by = v.by
    if v.status == vocab.EXPIRED:
        if by is not None and by.type == vocab.REL_REPLACES:
            state = REPLACED
        elif by is not None and by.type == vocab.REL_REPEALS:
            state = REPEALED
        else:
            state = EXPIRED
    elif v.status == vocab.SUSPENDED:
        state = SUSPENDED
    elif v.status in (vocab.IN_FORCE, vocab.PARTLY_EXPIRED):
        state = IN_FORCE
    elif v.status == vocab.NOT_YET:
        state = NOT_IN_FORCE_YET
    else:
        state = UNKNOWN_STATE
    later = [i.effective for i in v.upcoming if i.effective]
    if doc.expires and doc.expires > on:
        later.append(doc.expires)
    if doc.effective and doc.effective > on:
        later.append(doc.effective)
    return BasisValidity(
        state=state,
        status=v.status,
        since=v.since,
        by=_impact_link(store, by) if by is not None else None,
        by_uid=by.by_uid if by is not None else None,
        amendments=[(_impact_link(store, i), i.articles, i.effective) for i in v.amendments],
        upcoming=min(later) if later else None,
        article_ends=[
            (_impact_link(store, e.impact), e.impact.articles, e.impact.effective, e.impact.type)
            for e in v.evidence
            if e.impact is not None
            and e.impact.partial
            and e.impact.type in (vocab.REL_REPLACES, vocab.REL_REPEALS)
            and e.impact.effective
        ],
    )


# --- which documents are the province's ----------------------------------------------------------


def province_names(province: str, predecessors: Iterable[str] = ()) -> list[str]:
    return [fold(p).lower().strip() for p in [province, *predecessors] if p and p.strip()]


def issuer_kind(number: str | None, issuer: str | None) -> str | None:
    """HĐND or UBND, from the số ký hiệu's code or the issuing body."""
    code = (number or "").upper()
    if code.endswith("HĐND") or code.endswith("HDND"):
        return HDND
    if code.endswith("UBND"):
        return UBND
    text = fold(issuer or "").lower()
    if "hoi dong nhan dan" in text or "hdnd" in text:
        return HDND
    if "uy ban nhan dan" in text or "ubnd" in text:
        return UBND
    return None


def is_own(doc_type, number, issuer, province, places: list[str] | None) -> bool:
    """A normative document of the HĐND or UBND of one of `places` (folded province names; None: of any)."""
    if doc_type not in _LOCAL_NORMATIVE:
        return False
    if issuer_kind(number, issuer) is None:
        return False
    if places is None:
        return True
    where = fold(f"{province or ''} | {issuer or ''}").lower()
    return any(p and p in where for p in places)


def own_uids(store: Store, places: list[str] | None) -> list[str]:
    """The uids of the province's normative documents (one SQL scan of the metadata)."""
    rows = store.db.execute(
        "SELECT uid, json_extract(data, '$.doc_type'), json_extract(data, '$.number'),"
        " json_extract(data, '$.issuer'), json_extract(data, '$.province') FROM documents"
    ).fetchall()
    return [r[0] for r in rows if is_own(r[1], r[2], r[3], r[4], places)]


def bans_of(fields: Iterable[str], field_bans: dict[str, str]) -> list[str]:
    """The Ban examining a document of these lĩnh vực (several when its fields span them)."""
    found: list[str] = []
    keys = [(fold(k).lower(), ban) for k, ban in field_bans.items()]
    for name in fields:
        low = fold(name).lower()
        for key, ban in keys:
            if key and key in low and ban not in found:
                found.append(ban)
    return found


# --- building the entries --------------------------------------------------------------------------


def preamble(text: str) -> str:
    """The part of a document holding its "Căn cứ …" lines: up to "QUYẾT NGHỊ:", "QUYẾT ĐỊNH:" or Điều 1."""
    head = text[:_PREAMBLE_MAX]
    m = _PREAMBLE_END.search(fold(head).lower())
    return head[: m.start()] if m else head


@dataclass
class _Basis:
    citation: Citation | None
    label: str
    articles: list[ArticleRef]
    doc: Document | None
    why_not: str | None = None  # not found / ambiguous


class ReviewBuilder:
    """Computes entries for one store. Keep one per run: it caches validity and delegations per basis."""

    def __init__(self, store: Store, places: list[str] | None = None, checker: Checker | None = None):
        self.store = store
        self.places = places  # folded province names (province_names); None: every province
        self.checker = checker or Checker(store)
        self._validity: dict[tuple[str, str], BasisValidity] = {}
        self._delegations: dict[str, list] = {}

    def own(self) -> list[str]:
        return own_uids(self.store, self.places)

    def local_uids(self) -> set[str]:
        """Every local normative document of any province (cached for this builder)."""
        if not hasattr(self, "_local"):
            self._local = set(own_uids(self.store, None))
        return self._local

    def build(self, on: str, uids: Iterable[str] | None = None) -> list[Entry]:
        """Entries for `uids` (default: every document of the province) on the date `on`."""
        self.checker.catalogue.refresh()
        out = []
        for uid in self.own() if uids is None else uids:
            doc = self.store.get(uid)
            if doc is not None and is_own(doc.doc_type, doc.number, doc.issuer, doc.province, self.places):
                out.append(self.entry(doc, on))
        return out

    def validity(self, doc: Document, on: str) -> BasisValidity:
        key = (doc.uid, on)
        if key not in self._validity:
            self._validity[key] = basis_validity(self.store, doc, on)
        return self._validity[key]

    def entry(self, doc: Document, on: str) -> Entry:
        own = self.validity(doc, on)
        text = (
            doc.text
            or "\n".join(f"Điều {a.number}. {a.heading or ''}\n{a.text}" for a in doc.articles)
            or "\n".join(a.text for a in doc.attachments if a.text and not a.scanned)  # a PDF's text layer
        )
        entry = Entry(
            uid=doc.uid,
            number=doc.number,
            doc_type=doc.doc_type,
            title=doc.title,
            issuer=doc.issuer,
            province=doc.province,
            issuer_kind=issuer_kind(doc.number, doc.issuer),
            issued=doc.issued,
            effective=doc.effective,
            fields=list(doc.fields),
            in_force=own.state in (IN_FORCE, UNKNOWN_STATE),  # not known to have ended
            status=own.status,
            has_text=bool(text.strip()),
            bases=0,
            on=on,
        )
        depends: set[str] = set()
        nexts: list[str] = [own.upcoming] if own.upcoming else []
        if not entry.has_text:
            return entry
        bases = self._bases(doc, text)
        entry.bases = len(bases)
        issued = doc.issued or doc.effective or ""
        for basis in bases:
            if basis.doc is None:
                if basis.citation is not None:
                    c = basis.citation
                    if c.number:
                        entry.unresolved.append("n:" + number_key(c.number))
                    if c.name:
                        entry.unresolved.append("t:" + name_key(c.name, c.doc_type))
                entry.reasons.append(
                    Reason(VERIFY, basis.label, None, [a.label() for a in basis.articles], None, None, [], CHECK,
                           basis.why_not or "Không có trong cơ sở dữ liệu: cần kiểm tra thủ công.")
                )  # fmt: skip
                continue
            depends.add(basis.doc.uid)
            reasons, seen, upcoming = self._judge(doc, basis, issued, on)
            depends.update(seen)
            if upcoming:
                nexts.append(upcoming)
            entry.reasons.extend(reasons)
        if not bases:
            entry.reasons.append(
                Reason(VERIFY, "Căn cứ ban hành", None, [], None, None, [], CHECK,
                       "Không đọc được dòng “Căn cứ …” nào trong nội dung văn bản: cần kiểm tra thủ công.")
            )  # fmt: skip
        entry.depends = sorted(depends)
        entry.unresolved = sorted(set(entry.unresolved))
        entry.next_change = min(nexts) if nexts else None
        return entry

    def _bases(self, doc: Document, text: str) -> list[_Basis]:
        """The document's bases: its "Căn cứ" citations, resolved, and stored `can_cu` relations."""
        out: list[_Basis] = []
        seen: set[str] = set()
        on_issue = doc.issued or doc.effective or "1900-01-01"
        for c in extract_citations(preamble(text)):
            if c.role not in ("basis", "amending") or c.parent is not None:
                continue
            if (c.number and is_party_number(c.number)) or c.doc_type in NON_NORMATIVE:
                continue
            if c.doc_type == "Hiến pháp" and not c.number:
                continue  # "Căn cứ Hiến pháp …": not a basis a provincial document is reviewed against
            # A basis cited by name alone is the version in force when the document was issued.
            found, candidates = _resolve(self.checker, c, on_issue)
            if found is not None and found.uid in seen:
                # the same document cited again for other articles ("Căn cứ Điều 4 …; khoản 3 Điều 12 …")
                first = next(b for b in out if b.doc is not None and b.doc.uid == found.uid)
                if first.articles and c.articles:
                    first.articles += [a for a in c.articles if a not in first.articles]
                else:
                    first.articles = []  # cited whole once: the whole document is its basis
                continue
            why = None
            if found is None:
                if candidates:
                    why = (
                        "Không xác định được văn bản được viện dẫn (có thể là: "
                        + "; ".join(d.label for d in candidates[:3])
                        + "): cần kiểm tra thủ công."
                    )
                else:
                    why = "Không có trong cơ sở dữ liệu: cần kiểm tra thủ công số, ngày ban hành và hiệu lực."
            else:
                seen.add(found.uid)
            out.append(_Basis(c, c.label, list(c.articles), found, why))
        for rel in doc.relations:
            if rel.type != "can_cu":
                continue
            target = self.store.resolve_target(rel)
            if target is None or target in seen:
                continue
            found = self.store.get(target)
            if found is None:
                continue
            seen.add(target)
            label = checker_mod.DocRef.of(found).label
            out.append(_Basis(None, label, parse_locator(rel.note or ""), found))
        return out

    def _delegations_of(self, basis: Document) -> list:
        if basis.uid not in self._delegations:
            self._delegations[basis.uid] = find_delegations(basis)
        return self._delegations[basis.uid]

    def _answered(self, basis: _Basis) -> list:
        """The delegation clauses of the basis this document answers (the tracker's rules)."""
        items = self._delegations_of(basis.doc)
        if not items:
            return []
        if basis.articles:
            return [
                d
                for d in items
                if any(
                    a.article.lower() == d.article.lower()
                    and (a.clause is None or d.clause is None or a.clause == d.clause)
                    for a in basis.articles
                )
            ]
        return items if len(items) == 1 else []

    def _judge(self, doc: Document, basis: _Basis, issued: str, on: str):
        """(reasons, uids looked at, next date of change) for one resolved basis."""
        b = basis.doc
        v = self.validity(b, on)
        seen = {b.uid}
        answered = self._answered(basis)
        implemented = [ArticleRef(d.article, d.clause) for d in answered]
        articles = [a.label() for a in basis.articles] or [ArticleRef(d.article, d.clause).label() for d in answered]
        deleg = "; ".join(f"{d.provision} {d.parent_label}" for d in answered) or None
        reasons: list[Reason] = []
        link = DocLink.of(b)
        if v.state in (REPLACED, REPEALED, EXPIRED, SUSPENDED):
            cause = v.state
            by = v.by
            if v.by_uid:
                seen.add(v.by_uid)
            chain = self._chain(v.by_uid, by, on, seen) if cause == REPLACED else []
            if v.since and issued and v.since <= issued:
                reasons.append(
                    Reason(VERIFY, basis.label, link, articles, v.since, by, chain, CHECK,
                           f"{_happened(cause, by, v.since)[:-1]} — trước ngày ban hành văn bản ({vn_date(issued)}): "
                           "cần kiểm tra căn cứ đã viện dẫn.", deleg)
                )  # fmt: skip
            else:
                suggestion = {REPLACED: REPLACE, REPEALED: REPEAL, EXPIRED: REPEAL, SUSPENDED: CHECK}[cause]
                detail = _happened(cause, by, v.since)
                if cause == REPLACED and chain and chain[-1].uid:
                    last = self.store.get(chain[-1].uid)
                    end = self.validity(last, on) if last is not None else None
                    if end is not None and end.state == REPEALED:
                        suggestion = REPEAL  # the chain ends in a repeal: nothing replaces the basis now
                        detail += f" {chain[-1].label} cũng đã bị bãi bỏ."
                    elif end is not None and end.state != IN_FORCE:
                        detail += (
                            f" {chain[-1].label} cũng không còn hiệu lực ({end.status.lower()}) nhưng cơ sở dữ liệu "
                            "chưa có văn bản thay thế: cần xác minh văn bản đang có hiệu lực."
                        )
                if deleg:
                    detail += f" Văn bản này quy định nội dung được giao tại {deleg}."
                reasons.append(
                    Reason(cause, basis.label, link, articles, v.since, by, chain, suggestion, detail, deleg)
                )
            return reasons, seen, v.upcoming
        # In force: amendments made after the document was issued.
        later = [(h, note, start) for h, note, start in v.amendments if not issued or (start or "") > issued]
        later = [(h, note, start) for h, note, start in later if h.uid != doc.uid]
        unknown = [(h, note, start) for h, note, start in later if not parse_locator(note or "")]
        cited = list(basis.articles) + implemented
        verbs = {
            vocab.REL_AMENDS: "được sửa đổi, bổ sung",
            vocab.REL_REPLACES: "bị thay thế",
            vocab.REL_REPEALS: "bị bãi bỏ",
        }
        changes = [(h, note, start, vocab.REL_AMENDS) for h, note, start in later] + [
            (h, note, start, kind)
            for h, note, start, kind in v.article_ends
            if h.uid != doc.uid and (not issued or (start or "") > issued)
        ]
        hits: list[tuple[DocLink, str | None, str | None, list[str], str]] = []
        for h, note, start, kind in changes:
            touched = parse_locator(note or "")
            if not touched:
                continue
            hit = [a for a in cited if any(_overlaps(a, t) for t in touched)]
            if hit:
                hits.append((h, note, start, [a.label() for a in hit], verbs[kind]))
        for h, *_rest in v.article_ends:
            if h.uid:
                seen.add(h.uid)
        for h, _note, _start in later:
            if h.uid:
                seen.add(h.uid)
        if hits:
            amending = [h for h, *_ in hits]
            since = max(s or "" for _h, _n, s, _a, _v in hits) or None
            provisions = sorted({a for _h, _n, _s, arts, _v in hits for a in arts})
            detail = " ".join(
                f"{', '.join(arts)} {verb} bởi {d.label}" + (f" từ ngày {vn_date(s)}." if s else ".")
                for d, _n, s, arts, verb in hits
            )
            delegated = [d for d in answered if any(p == ArticleRef(d.article, d.clause).label() for p in provisions)]
            if delegated:
                detail += " Đây là nội dung giao văn bản này quy định."
            reasons.append(
                Reason(AMENDED, basis.label, link, provisions, since, amending[-1], [link], AMEND, detail, deleg,
                       amending)
            )  # fmt: skip
        if unknown:
            amending = [h for h, *_ in unknown]
            since = max(s or "" for _h, _n, s in unknown) or None
            detail = (
                "Được sửa đổi, bổ sung bởi "
                + "; ".join(
                    f"{d.label} (từ ngày {vn_date(s)})" if s else d.label for d, (_h, _n, s) in zip(amending, unknown)
                )
                + "; chưa rõ điều, khoản được sửa đổi: cần xem điều khoản."
            )
            reasons.append(
                Reason(AMENDED_UNKNOWN, basis.label, link, articles, since, amending[-1], [link], AMEND, detail, deleg,
                       amending)
            )  # fmt: skip
        if v.state in (UNKNOWN_STATE, NOT_IN_FORCE_YET):
            reasons.append(
                Reason(VERIFY, basis.label, link, articles, None, None, [], CHECK,
                       f"Tình trạng hiệu lực trong cơ sở dữ liệu: {v.status.lower()} — cần xác minh.", deleg)
            )  # fmt: skip
        return reasons, seen, v.upcoming

    def _chain(self, uid: str | None, first: DocLink | None, on: str, seen: set[str]) -> list[DocLink]:
        """The replacing document, then what replaced it in turn, … up to the one in force on `on`."""
        chain: list[DocLink] = [first] if first is not None else []
        while uid and len(chain) < 12:
            doc = self.store.get(uid)
            if doc is None:
                break
            seen.add(doc.uid)
            v = self.validity(doc, on)
            if v.state != REPLACED or v.by is None or any(d.uid and d.uid == v.by_uid for d in chain):
                break
            chain.append(v.by)
            uid = v.by_uid
        return chain


def _resolve(checker: Checker, c: Citation, on: str) -> tuple[Document | None, list]:
    """(document, candidates) of one citation, resolved by the checker's rules (number, number + date, name +
    date, name + year, typos): its resolution step returns a tuple here and a `Resolution` in newer code."""
    got = checker._resolve(c, on)
    if isinstance(got, tuple):
        return got[2], got[3]
    return got.document, got.candidates


def _overlaps(cited: ArticleRef, changed: ArticleRef) -> bool:
    """The cited provision and the changed one meet (same article; clause and point when both say)."""
    if cited.article.lower() != changed.article.lower():
        return False
    if cited.clause and changed.clause and cited.clause != changed.clause:
        return False
    return not (cited.point and changed.point and cited.point != changed.point)


def _happened(cause: str, by: DocLink | None, since: str | None) -> str:
    when = f" từ ngày {vn_date(since)}" if since else ""
    if cause == REPLACED:
        return f"Bị thay thế{' bởi ' + by.label if by else ''}{when}."
    if cause == REPEALED:
        return f"Bị bãi bỏ{' bởi ' + by.label if by else ''}{when}."
    if cause == SUSPENDED:
        return f"Bị ngưng hiệu lực{' theo ' + by.label if by else ''}{when}."
    return f"Hết hiệu lực{when}." if since else "Hết hiệu lực (theo tình trạng trong cơ sở dữ liệu)."


def review_date(on: str | dt.date | None) -> str:
    """ISO date from a date, 'YYYY-MM-DD', 'dd/mm/yyyy' or None (today in Vietnam)."""
    if on is None or on == "":
        from kb.dates import today_vn

        return today_vn().isoformat()
    try:
        return checker_mod.planned_date(on)
    except checker_mod.CheckError:
        raise ReviewError(f"Ngày rà soát không hợp lệ: {on!r} (dùng dd/mm/yyyy hoặc yyyy-mm-dd).") from None


# --- marks ------------------------------------------------------------------------------------------

_MARKS_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_marks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reviewed_on TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    keys TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS review_marks_uid ON review_marks(uid, id);
"""


@dataclass
class Mark:
    id: int
    uid: str
    verdict: str
    reviewed_on: str
    reviewer: str
    note: str
    keys: list[str]
    created_at: str

    @property
    def verdict_label(self) -> str:
        return VERDICT_LABELS.get(self.verdict, self.verdict)

    def covers(self, keys: Iterable[str]) -> bool:
        return set(keys) <= set(self.keys)

    def to_dict(self) -> dict:
        return asdict(self) | {"verdict_label": self.verdict_label}


def ensure_tables(store: Store) -> None:
    if store.db.execute("SELECT 1 FROM sqlite_master WHERE name='review_marks'").fetchone():
        return
    with store.transaction():
        for statement in _MARKS_SCHEMA.split(";"):
            if statement.strip():
                store.db.execute(statement)


def _mark(row) -> Mark:
    return Mark(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]), row[7])


def marks(store: Store, uid: str | None = None) -> list[Mark]:
    """The marks of one document (or all), oldest first."""
    ensure_tables(store)
    sql = "SELECT id, uid, verdict, reviewed_on, reviewer, note, keys, created_at FROM review_marks"
    rows = store.db.execute(sql + (" WHERE uid=? ORDER BY id" if uid else " ORDER BY id"), (uid,) if uid else ())
    return [_mark(r) for r in rows]


def latest_marks(store: Store) -> dict[str, Mark]:
    out: dict[str, Mark] = {}
    for m in marks(store):
        out[m.uid] = m
    return out


def mark_reviewed(
    store: Store, entry: Entry, verdict: str, reviewer: str, note: str = "", reviewed_on: str | None = None
) -> Mark:
    """Record that `entry` was reviewed; it leaves the list until a reason it does not have now appears."""
    if verdict not in VERDICTS:
        raise ReviewError(f"Kết quả rà soát “{verdict}” không có; dùng: {', '.join(VERDICTS)}.")
    reviewer = " ".join((reviewer or "").split())[:200]
    if not reviewer:
        raise ReviewError("Cần ghi tên người rà soát.")
    day = review_date(reviewed_on)
    ensure_tables(store)
    with store.transaction():
        cur = store.db.execute(
            "INSERT INTO review_marks(uid, verdict, reviewed_on, reviewer, note, keys, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (entry.uid, verdict, day, reviewer, (note or "").strip()[:4000], json.dumps(entry.keys), now()),
        )
        row = store.db.execute(
            "SELECT id, uid, verdict, reviewed_on, reviewer, note, keys, created_at FROM review_marks WHERE id=?",
            (cur.lastrowid,),
        ).fetchone()
    return _mark(row)


def pending(
    entries: Iterable[Entry], latest: dict[str, Mark], include_reviewed: bool = False, include_ended: bool = False
) -> list[Entry]:
    """The entries still to review: listed, in force (unless `include_ended`), not covered by their latest mark."""
    out = []
    for e in entries:
        if not e.listed or not (e.in_force or include_ended):
            continue
        mark = latest.get(e.uid)
        if mark is not None and mark.covers(e.keys) and not include_reviewed:
            continue
        out.append(e)
    return out


# --- settings --------------------------------------------------------------------------------------


@dataclass
class Settings:
    """The review's configuration: whose documents, and which Ban examines which lĩnh vực."""

    province: str
    predecessors: list[str] = field(default_factory=list)
    bans: list[str] = field(default_factory=lambda: list(DEFAULT_BANS))
    field_bans: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELD_BANS))

    def __post_init__(self):
        # a lĩnh vực mapped to a Ban that is not in the list is unassigned
        self.field_bans = {k: v for k, v in self.field_bans.items() if v in self.bans}

    @classmethod
    def from_config(cls, config) -> Settings:
        province = config.section("province")
        review = config.section("review")
        bans = [b for b in review.get("bans") or DEFAULT_BANS if isinstance(b, str) and b.strip()]
        mapping = parse_field_bans(review.get("field_bans")) or dict(DEFAULT_FIELD_BANS)
        return cls(
            province=province.get("name") or "",
            predecessors=[p for p in province.get("predecessors") or [] if isinstance(p, str) and p.strip()],
            bans=bans,
            field_bans=mapping,
        )

    @property
    def places(self) -> list[str]:
        return province_names(self.province, self.predecessors)

    def owns(self, entry: Entry) -> bool:
        """Whether an entry is a document of the province (or of a predecessor); kept per issuer and place."""
        cache = self.__dict__.setdefault("_owns", {})
        key = (entry.doc_type, entry.issuer_kind, entry.issuer, entry.province)
        if key not in cache:
            cache[key] = is_own(entry.doc_type, entry.number, entry.issuer, entry.province, self.places)
        return cache[key]

    def bans_of(self, entry: Entry) -> list[str]:
        """The Ban of an entry's lĩnh vực (folded keys and each lĩnh vực's answer kept: a list of thousands
        of entries shares a few dozen lĩnh vực)."""
        cache = self.__dict__.setdefault("_bans", {})
        key = tuple(entry.fields)
        if key not in cache:
            cache[key] = bans_of(entry.fields, self.field_bans)
        return cache[key]


def parse_field_bans(value) -> dict[str, str]:
    """The lĩnh vực → Ban mapping of the settings: a list of "lĩnh vực=Ban" (as config.toml and KB_REVIEW_FIELD_BANS
    write it), or a TOML table {lĩnh vực = Ban}; entries without "=" are ignored."""
    if isinstance(value, dict):
        return {str(k).strip(): str(v).strip() for k, v in value.items() if str(k).strip() and str(v).strip()}
    out: dict[str, str] = {}
    for item in value or []:
        key, sep, ban = str(item).partition("=")
        if sep and key.strip() and ban.strip():
            out[key.strip()] = " ".join(ban.split())
    return out


# --- choosing, grouping and sorting ------------------------------------------------------------------

SORTS = ("moi", "cu", "ban-hanh")
SORT_LABELS = {"moi": "Thay đổi mới nhất trước", "cu": "Thay đổi cũ nhất trước", "ban-hanh": "Ngày ban hành"}


@dataclass
class Filters:
    """What a reader asks of the list; every field is in the page's URL."""

    issuer: str | None = None  # HĐND or UBND
    linhvuc: str = ""  # accent-insensitive substring of a lĩnh vực
    year: int | None = None  # year of issue
    ban: str = ""  # one Ban of the list, or UNASSIGNED
    cause: str | None = None  # one of CAUSES
    sort: str = "moi"
    reviewed: bool = False  # also the entries covered by their latest mark
    ended: bool = False  # also documents no longer in force (on request)


def select(
    entries: Iterable[Entry], f: Filters, settings: Settings, latest: dict[str, Mark] | None = None
) -> list[Entry]:
    """The entries of the province still to review that pass the filters, sorted."""
    key = fold(f.linhvuc).lower().strip()
    chosen = []
    for e in pending(entries, latest or {}, include_reviewed=f.reviewed, include_ended=f.ended):
        if not settings.owns(e):
            continue
        if f.issuer and e.issuer_kind != f.issuer:
            continue
        if key and not any(key in fold(x).lower() for x in e.fields):
            continue
        if f.year and e.year != f.year:
            continue
        if f.ban:
            bans = settings.bans_of(e)
            if (f.ban == UNASSIGNED and bans) or (f.ban != UNASSIGNED and f.ban not in bans):
                continue
        if f.cause and f.cause not in {r.cause for r in e.reasons}:
            continue
        chosen.append(e)
    if f.sort == "ban-hanh":
        chosen.sort(key=lambda e: (e.issued or "", e.number or ""), reverse=True)
    else:
        chosen.sort(key=lambda e: (e.changed_on, e.issued or ""), reverse=f.sort != "cu")
    return chosen


def grouped(entries: list[Entry]) -> list[tuple[str, str, list[Entry]]]:
    """[(cause, label, entries)] in the order of CAUSES; each entry under its main cause, order kept."""
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        groups.setdefault(e.cause or VERIFY, []).append(e)
    return [(c, CAUSE_LABELS[c], groups[c]) for c in CAUSES if c in groups]


# --- the annex of a review report: rows for CSV and DOCX -------------------------------------------

ANNEX_HEADERS = (
    "STT",
    "Tên loại văn bản",
    "Số, ký hiệu",
    "Ngày ban hành",
    "Trích yếu",
    "Căn cứ đã thay đổi",
    "Lý do",
    "Kiến nghị",
)


def annex_rows(entries: Iterable[Entry]) -> list[list[str]]:
    """One row per document, the columns of ANNEX_HEADERS (a rà soát report's annex)."""
    rows = []
    for i, e in enumerate(entries, 1):
        bases, why = [], []
        for r in e.reasons:
            provisions = f"{', '.join(r.articles)} " if r.articles else ""
            bases.append(f"{provisions}{r.basis}")
            now_ = f" Văn bản đang có hiệu lực: {r.current[-1].label}." if r.cause == REPLACED and r.current else ""
            why.append(f"{r.cause_label}: {r.detail}{now_}")
        rows.append(
            [
                str(i),
                e.doc_type or "",
                e.number or "",
                vn_date(e.issued),
                e.title,
                "; ".join(bases),
                " ".join(why),
                SUGGESTION_LABELS.get(e.suggestion or "", ""),
            ]
        )
    return rows


# --- the derived list (kb/legal/derived.py): kept up to date by the writing commands ------------------

DERIVATION = "review"
_LOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL,
    at TEXT NOT NULL,
    keys TEXT NOT NULL,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS review_log_at ON review_log(at);
"""


def ensure_log(store: Store) -> None:
    if store.db.execute("SELECT 1 FROM sqlite_master WHERE name='review_log'").fetchone():
        return
    with store.transaction():
        for statement in _LOG_SCHEMA.split(";"):
            if statement.strip():
                store.db.execute(statement)


class ReviewDerivation(derived.Derivation):
    """Per local normative document (of any province: the province is chosen when reading), its entry
    on the day of computation, with the look-ups that say which change concerns it:

    - "e:<uid>": the entry;  "d:<basis uid>|<uid>": it depends on that document (basis, replacing,
      amending, chain);  "u:<key>|<uid>": a basis not found, by number ("n:…") or name ("t:…");
    - "w:<date>|<uid>": the first later date on which a basis' validity changes (recomputed then).

    An incremental update that gives an entry a reason it did not have (a newly recorded change) appends
    it to `review_log`, which the alerts and the digest read; a full rebuild logs nothing."""

    name = DERIVATION
    version = 2  # 2: lean entry rows (Entry.to_row)
    label = "văn bản của tỉnh cần rà soát"

    def __init__(self):
        self._builder: tuple[weakref.ref, int, ReviewBuilder] | None = None

    def builder(self, store: Store) -> ReviewBuilder:
        """One builder per store and state of it: the batches of a rebuild share its caches (the catalogue of
        names, validities, delegations)."""
        event = store.last_event_id()
        if self._builder is None or self._builder[0]() is not store or self._builder[1] != event:
            self._builder = (weakref.ref(store), event, ReviewBuilder(store))
            self._builder[2].checker.catalogue.refresh()
        return self._builder[2]

    def update(self, store: Store, uids: set[str]) -> None:
        affected = self._affected(store, uids)
        if affected:
            self._compute(store, affected, log=True)

    def rebuild(self, store: Store, uids: list[str]) -> None:
        wanted = set(uids)
        own = [u for u in self.builder(store).local_uids() if u in wanted]
        self._compute(store, own, log=False)

    def _affected(self, store: Store, uids: set[str]) -> set[str]:
        affected: set[str] = set()
        for uid in uids:
            affected.update(r.uid for r in derived.rows(store, self.name, prefix=f"d:{uid}|"))
            if _entry_row(store, uid) is not None:
                affected.add(uid)  # its own entry (also when it was deleted)
            doc = store.get(uid)
            if doc is None:
                continue
            if is_own(doc.doc_type, doc.number, doc.issuer, doc.province, None):
                affected.add(doc.uid)
            keys = []
            if doc.number_key:
                keys.append("n:" + doc.number_key)
            title_key = name_key(doc.title, doc.doc_type)
            if title_key:
                keys.append("t:" + title_key)
            for key in keys:
                affected.update(r.uid for r in derived.rows(store, self.name, prefix=f"u:{key}|"))
        today = _today()
        for row in derived.rows(store, self.name, prefix="w:"):
            if row.key[2:12] <= today:
                affected.add(row.uid)
        return affected

    def _compute(self, store: Store, uids: Iterable[str], log: bool) -> None:
        builder = self.builder(store)
        today = _today()
        if log:
            ensure_log(store)
        for uid in sorted(set(uids)):
            old = _entry_row(store, uid)
            old_keys = set(old.data.get("keys") or []) if old else set()
            derived.delete(store, self.name, uid=uid)
            doc = store.get(uid)
            if doc is None or not is_own(doc.doc_type, doc.number, doc.issuer, doc.province, None):
                continue
            entry = builder.entry(doc, today)
            data = entry.to_row()
            derived.put(store, self.name, f"e:{doc.uid}", doc.uid, data)
            for dep in entry.depends:
                if dep != doc.uid:
                    derived.put(store, self.name, f"d:{dep}|{doc.uid}", doc.uid, {})
            for key in entry.unresolved:
                derived.put(store, self.name, f"u:{key}|{doc.uid}", doc.uid, {})
            if entry.next_change:
                derived.put(store, self.name, f"w:{entry.next_change}|{doc.uid}", doc.uid, {})
            new_keys = [k for k in entry.keys if k not in old_keys and not k.startswith(VERIFY + "|")]
            if log and old and new_keys and entry.in_force:
                store.db.execute(
                    "INSERT INTO review_log(uid, at, keys, entry) VALUES (?, ?, ?, ?)",
                    (doc.uid, now(), json.dumps(new_keys), json.dumps(data, ensure_ascii=False)),
                )


derived.register(ReviewDerivation())


def _today() -> str:
    from kb.dates import today_vn

    return today_vn().isoformat()


def stored_entries(store: Store) -> list[Entry]:
    """Every entry of the derived list (computes nothing; `derived.state(store, DERIVATION)` says how current)."""
    return [Entry.from_dict(r.data) for r in derived.rows(store, DERIVATION, prefix="e:")]


def _entry_row(store: Store, uid: str):
    return next((r for r in derived.rows(store, DERIVATION, uid=uid) if r.key == f"e:{uid}"), None)


def stored_entry(store: Store, uid: str) -> Entry | None:
    """The derived entry of one document (None: not a local normative document, or not computed)."""
    row = _entry_row(store, uid)
    return Entry.from_dict(row.data) if row else None


@dataclass
class LogItem:
    """A newly recorded change that put (or kept, with a new reason) a document on the list."""

    id: int
    uid: str
    at: str
    keys: list[str]
    entry: Entry

    @property
    def new_reasons(self) -> list[Reason]:
        return [r for r in self.entry.reasons if r.key in self.keys]


def log_items(store: Store, after_id: int = 0, since: str | None = None, until: str | None = None) -> list[LogItem]:
    """The review log after `after_id` (and recorded in [since, until) when given), oldest first."""
    ensure_log(store)
    sql, params = "SELECT id, uid, at, keys, entry FROM review_log WHERE id > ?", [after_id]
    if since:
        sql += " AND at >= ?"
        params.append(since)
    if until:
        sql += " AND at < ?"
        params.append(until)
    rows = store.db.execute(sql + " ORDER BY id", params).fetchall()
    return [LogItem(r[0], r[1], r[2], json.loads(r[3]), Entry.from_dict(json.loads(r[4]))) for r in rows]


def last_log_id(store: Store) -> int:
    ensure_log(store)
    return store.db.execute("SELECT coalesce(max(id), 0) FROM review_log").fetchone()[0]
