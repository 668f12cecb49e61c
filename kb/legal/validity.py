"""Validity (tình trạng hiệu lực) of a document, and of each of its articles, on any date: the one place
that decides a status, with its reason and its evidence (docs/VALIDITY.md).

    v = validity(store, doc, on="2027-01-01")     # reads what other stored documents did to `doc`
    v.status        # a label of kb.vocab.STATUSES: "Hết hiệu lực toàn bộ"
    v.since, v.until  # ISO dates bounding the status, when known
    v.evidence      # [Evidence]: the source and its update stamp, or the relation and its effective date
    v.reason        # Vietnamese: "Bị thay thế bởi Luật 89/2025/QH15 từ ngày 01/01/2026"

The pure core is `validity_of(doc, impacts, on)`: `impacts` are what other documents did to `doc`
(`impacts_of(store, doc)` gathers them from the relations other documents hold and from the document's
own `changed_by` notes). `timeline(doc, impacts)` gives the status over all dates as periods, for the
index to store (a date filter is then an interval test).

Evidence, not presumption: "Còn hiệu lực" needs positive evidence — the source says so (as of its update
stamp) and no known later event contradicts it, or the period in force is bounded by what the store knows
(effective from D1 and replaced, repealed or expired from D2). Otherwise the status is "Chưa xác định",
with what is known in the reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from kb import vocab
from kb.dates import today_vn, vn_date
from kb.model import Document, Relation

# Kinds of evidence.
SOURCE, RELATION, NOTE, DATES = "source", "relation", "note", "dates"

# Impacts that end the whole document (or the articles named), and those that only amend it.
_ENDING = (vocab.REL_REPLACES, vocab.REL_REPEALS)
_LOCATOR = re.compile(r"(?i)\b(?:điều|dieu|khoản|khoan|điểm|diem|chương|chuong|mục|muc|phần|phan)\s+[0-9IVXLC]")


@dataclass(frozen=True)
class Impact:
    """What another document did to this one: replaced, repealed, suspended or amended it (or some articles)."""

    type: str  # vocab.REL_REPLACES, REL_REPEALS, REL_SUSPENDS, REL_AMENDS
    effective: str | None  # ISO date from which it applies; None when the store does not know it
    by_uid: str | None = None  # the acting document, when stored
    by_number: str | None = None
    by_title: str | None = None
    by_type: str | None = None  # its loại văn bản
    by_article: str | None = None  # "Điều 2": the article of the acting document that does it
    articles: str | None = None  # "khoản 2 Điều 5": the part of this document concerned; None: all of it
    origin: str = RELATION  # RELATION (held by the other document) or NOTE (a note on this document)
    source: str | None = None  # the source that reported it
    whole: bool = True  # False: only part of the articles named ("có nội dung bị bãi bỏ")

    @property
    def partial(self) -> bool:
        return bool(self.articles and _LOCATOR.search(self.articles))

    @property
    def by_label(self) -> str:
        """'Luật số 52/2019/QH14' (or its title when it has no number)."""
        if self.by_number:
            return f"{self.by_type} số {self.by_number}" if self.by_type else f"văn bản số {self.by_number}"
        return self.by_title or "văn bản khác"

    def describe(self) -> str:
        """'Bị thay thế bởi Luật số 89/2025/QH15 từ ngày 01/01/2026'."""
        verb = vocab.relation_label(self.type, inverse=True)
        if not self.whole:
            verb = "Có nội dung " + verb[:1].lower() + verb[1:]
        by = f"{self.by_article} {self.by_label}" if self.by_article else self.by_label
        when = f" từ ngày {vn_date(self.effective)}" if self.effective else " (CSDL chưa có ngày có hiệu lực)"
        return f"{verb} {by}{when}"


@dataclass(frozen=True)
class Evidence:
    """Where a status comes from: a source and its update stamp, a relation (or note) and its date, or dates."""

    kind: str  # SOURCE, RELATION, NOTE, DATES
    source: str | None = None  # SOURCE: the source that said the status
    stamp: str | None = None  # SOURCE: the source's own update stamp
    said: str | None = None  # SOURCE: the status it said
    impact: Impact | None = None  # RELATION / NOTE
    field: str | None = None  # DATES: "effective", "issued" or "expires"
    date: str | None = None  # DATES: its value

    def describe(self) -> str:
        if self.kind == SOURCE:
            stamp = f", cập nhật {vn_date(self.stamp)}" if self.stamp else ""
            return f"theo nguồn {self.source}{stamp}: {self.said}"
        if self.impact is not None:
            return self.impact.describe()
        what = {"effective": "có hiệu lực", "issued": "ban hành"}.get(self.field or "", "hết hiệu lực")
        return f"{what} từ ngày {vn_date(self.date)}"

    def to_dict(self) -> dict:
        data = {"kind": self.kind, "description": self.describe()}
        if self.kind == SOURCE:
            data |= {"source": self.source, "stamp": self.stamp, "status": self.said}
        elif self.impact is not None:
            i = self.impact
            data |= {
                "type": i.type,
                "uid": i.by_uid,
                "number": i.by_number,
                "title": i.by_title,
                "article": i.by_article,
                "articles": i.articles,
                "effective": i.effective,
            }
        else:
            data |= {"field": self.field, "date": self.date}
        return data


@dataclass(frozen=True)
class Validity:
    """The status of a document (or an article) on one date, with its reason and evidence."""

    status: str  # a label of vocab.STATUSES
    on: str  # ISO date asked about
    since: str | None = None  # from when the status holds, when known
    until: str | None = None  # the first day it no longer holds, when known
    reason: str = ""  # Vietnamese explanation, for every status
    evidence: tuple[Evidence, ...] = ()
    by: Impact | None = None  # the replacing / repealing / suspending act, when that is the reason
    amendments: tuple[Impact, ...] = ()  # amendments in effect by `on`
    upcoming: tuple[Impact, ...] = ()  # impacts that take effect after `on`

    @property
    def known(self) -> bool:
        return self.status != vocab.UNKNOWN

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "on": self.on,
            "since": self.since,
            "until": self.until,
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class Period:
    """A stretch of dates with one status: [start, end) — None for an open end."""

    start: str | None
    end: str | None
    status: str


# --- gathering impacts ---------------------------------------------------------------------------


def impact_of_relation(holder: Document, rel: Relation) -> Impact | None:
    """The impact a relation held by `holder` has on its target; None for relations that change no status."""
    if rel.type not in (vocab.REL_REPLACES, vocab.REL_REPEALS, vocab.REL_SUSPENDS, vocab.REL_AMENDS):
        return None
    return Impact(
        type=rel.type,
        effective=holder.effective or holder.issued,
        by_uid=holder.uid,
        by_number=holder.number,
        by_title=holder.title,
        by_type=holder.doc_type,
        articles=rel.note,
        origin=RELATION,
        source=rel.source or holder.source,
    )


def impacts_of(store, doc: Document) -> list[Impact]:
    """Every impact on `doc` the store knows: relations other documents hold, and the document's own notes."""
    found: list[Impact] = []
    for holder_uid, rel in store.incoming(doc.uid):
        holder = store.get(holder_uid)
        if holder is not None:
            impact = impact_of_relation(holder, rel)
            if impact is not None:
                found.append(impact)
    for note in getattr(doc, "changed_by", None) or []:
        by_uid = store.resolve_target(Relation(type=note.type, target_uid=note.by_uid, target_number=note.by_number))
        holder = store.get(by_uid) if by_uid else None
        found.append(
            Impact(
                type=note.type,
                effective=note.effective or (holder.effective if holder else None),
                by_uid=by_uid,
                by_number=note.by_number or (holder.number if holder else None),
                by_title=note.by_title or (holder.title if holder else None),
                by_type=note.by_type or (holder.doc_type if holder else None),
                by_article=note.by_article,
                articles=f"Điều {note.article}" if note.article else None,
                origin=NOTE,
                source=note.source or doc.source,
                whole=note.whole,
            )
        )
    return found


# --- the status on a date --------------------------------------------------------------------------


def validity(store, doc: Document, on: str | dt.date | None = None) -> Validity:
    """The status of `doc` on `on` (default: today in Vietnam), reading its impacts from `store`."""
    return validity_of(doc, impacts_of(store, doc), on)


def validity_of(doc: Document, impacts: list[Impact], on: str | dt.date | None = None) -> Validity:
    """The status of `doc` on `on` given what other documents did to it. Pure: the rules of docs/VALIDITY.md."""
    on = _iso(on)
    whole = [i for i in impacts if not i.partial and i.whole]
    done = sorted((i for i in whole if i.effective and i.effective <= on), key=lambda i: i.effective)
    ahead = sorted((i for i in impacts if i.effective and i.effective > on), key=lambda i: i.effective)
    amendments = tuple(i for i in impacts if i.type == vocab.REL_AMENDS and i.effective and i.effective <= on)
    partial_done = [i for i in impacts if i.partial and i.type in _ENDING and i.effective and i.effective <= on]
    upcoming = tuple(ahead)
    common = {"on": on, "amendments": amendments, "upcoming": upcoming}
    source_ev = Evidence(SOURCE, doc.provenance.get("status", doc.source), doc.source_updated, doc.status)

    # 1. Not yet in force.
    if doc.effective and on < doc.effective:
        return Validity(
            vocab.NOT_YET,
            until=doc.effective,
            reason=f"Có hiệu lực từ ngày {vn_date(doc.effective)}",
            evidence=(Evidence(DATES, field="effective", date=doc.effective),),
            **common,
        )
    if not doc.effective and doc.issued and on < doc.issued:
        return Validity(
            vocab.NOT_YET,
            until=doc.issued,
            reason=f"Ban hành ngày {vn_date(doc.issued)} (CSDL chưa có ngày có hiệu lực)",
            evidence=(Evidence(DATES, field="issued", date=doc.issued),),
            **common,
        )
    # 2. Ended by a relation, a note, or its own expiry date.
    ends = [i for i in done if i.type in _ENDING]
    if doc.expires and doc.expires <= on and not any(i.effective <= doc.expires for i in ends):
        return Validity(
            vocab.EXPIRED,
            since=doc.expires,
            reason=f"Hết hiệu lực từ ngày {vn_date(doc.expires)} (ngày hết hiệu lực của văn bản)",
            evidence=(Evidence(DATES, field="expires", date=doc.expires),),
            **common,
        )
    if ends:
        first = ends[0]
        return Validity(
            vocab.EXPIRED,
            since=first.effective,
            reason=first.describe(),
            evidence=(Evidence(first.origin, impact=first),),
            by=first,
            **common,
        )
    suspends = [i for i in done if i.type == vocab.REL_SUSPENDS]
    if suspends:
        last = suspends[-1]
        return Validity(
            vocab.SUSPENDED,
            since=last.effective,
            reason=last.describe(),
            evidence=(Evidence(last.origin, impact=last),),
            by=last,
            **common,
        )
    # 3. Inside its period: what positive evidence is there?
    next_end = next((i for i in ahead if i.type in _ENDING + (vocab.REL_SUSPENDS,) and not i.partial and i.whole), None)
    bounds = [d for d in (next_end.effective if next_end else None, doc.expires) if d and d > on]
    until = min(bounds) if bounds else None
    in_force_label = vocab.PARTLY_EXPIRED if partial_done or doc.status == vocab.PARTLY_EXPIRED else vocab.IN_FORCE
    partial_ev = tuple(Evidence(i.origin, impact=i) for i in partial_done)
    since = doc.effective
    if partial_done and in_force_label == vocab.PARTLY_EXPIRED:
        since = max(i.effective for i in partial_done)
    if doc.status in (vocab.IN_FORCE, vocab.PARTLY_EXPIRED):
        return Validity(
            in_force_label,
            since=since,
            until=until,
            reason=_join(
                f"{doc.status} theo nguồn {source_ev.source}" + _stamp(doc.source_updated),
                _known_from(doc),
                *(i.describe() for i in partial_done),
                _next(next_end, doc, on),
            ),
            evidence=(source_ev, *partial_ev),
            **common,
        )
    if until and (doc.effective or partial_done):
        bound = (
            Evidence(next_end.origin, impact=next_end)
            if next_end and next_end.effective == until
            else Evidence(DATES, field="expires", date=doc.expires)
        )
        start = (Evidence(DATES, field="effective", date=doc.effective),) if doc.effective else ()
        return Validity(
            in_force_label,
            since=since,
            until=until,
            reason=_join(_known_from(doc), *(i.describe() for i in partial_done), _next(next_end, doc, on)),
            evidence=(*start, *partial_ev, bound),
            **common,
        )
    if doc.status == vocab.EXPIRED:
        return Validity(
            vocab.EXPIRED,
            reason=f"Hết hiệu lực toàn bộ theo nguồn {source_ev.source}{_stamp(doc.source_updated)}"
            "; CSDL chưa có ngày hết hiệu lực",
            evidence=(source_ev,),
            **common,
        )
    if doc.status in (vocab.SUSPENDED, vocab.OBSOLETE) or (doc.status == vocab.NOT_YET and not doc.effective):
        return Validity(
            doc.status,
            reason=f"{doc.status} theo nguồn {source_ev.source}{_stamp(doc.source_updated)}",
            evidence=(source_ev,),
            **common,
        )
    if partial_done:
        return Validity(
            vocab.PARTLY_EXPIRED,
            since=since,
            reason=_join(_known_from(doc), *(i.describe() for i in partial_done)),
            evidence=partial_ev,
            **common,
        )
    return Validity(vocab.UNKNOWN, reason=_unknown_reason(doc), **common)


def timeline(doc: Document, impacts: list[Impact]) -> list[Period]:
    """The status of `doc` over all dates, as consecutive periods (the first starts at None: the past)."""
    points = sorted({d for d in (doc.effective, doc.issued, doc.expires, *(i.effective for i in impacts)) if d})
    starts: list[str | None] = [None, *points]
    periods: list[Period] = []
    for n, start in enumerate(starts):
        if start is not None:
            probe = start
        else:
            probe = _day_before(points[0]) if points else today_vn().isoformat()
        status = validity_of(doc, impacts, probe).status
        end = starts[n + 1] if n + 1 < len(starts) else None
        if periods and periods[-1].status == status:
            periods[-1] = Period(periods[-1].start, end, status)
        else:
            periods.append(Period(start, end, status))
    return periods


def status_in(periods: list[Period], on: str | dt.date | None = None) -> str:
    """The status a timeline gives on `on`: the interval test the index applies."""
    on = _iso(on)
    for period in periods:
        if (period.start is None or period.start <= on) and (period.end is None or on < period.end):
            return period.status
    return vocab.UNKNOWN


# --- articles ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleValidity:
    """The status of one article on a date: the document's, unless the article itself was ended."""

    article: str  # "28"
    status: str
    reason: str
    ended_by: Impact | None = None  # repealed or replaced (this article) by
    amended_by: tuple[Impact, ...] = ()  # amendments of this article in effect by the date


def article_validity(doc_validity: Validity, impacts: list[Impact], article: str) -> ArticleValidity:
    """The status of Điều `article` on the date of `doc_validity`, from the impacts naming that article."""
    on = doc_validity.on
    mine = [i for i in impacts if i.partial and _names_article(i.articles or "", article)]
    in_effect = sorted((i for i in mine if i.effective and i.effective <= on), key=lambda i: i.effective)
    ended = next((i for i in in_effect if i.type in _ENDING and i.whole), None)
    amended = tuple(i for i in in_effect if i.type == vocab.REL_AMENDS)
    if ended is not None and doc_validity.status not in (vocab.NOT_YET, vocab.EXPIRED):
        return ArticleValidity(article, vocab.EXPIRED, ended.describe(), ended, amended)
    return ArticleValidity(article, doc_validity.status, doc_validity.reason, None, amended)


def _names_article(locator: str, article: str) -> bool:
    numbers = re.findall(r"(?i)(?:điều|dieu)\s+(\d+[a-zđ]?)", locator)
    return article.lower() in (n.lower() for n in numbers)


# --- helpers ------------------------------------------------------------------------------------------


def _iso(on: str | dt.date | None) -> str:
    if on is None or on == "":
        return today_vn().isoformat()
    if isinstance(on, dt.date):
        return on.isoformat()
    return dt.date.fromisoformat(str(on)[:10]).isoformat()


def _day_before(iso: str) -> str:
    return (dt.date.fromisoformat(iso) - dt.timedelta(days=1)).isoformat()


def _stamp(stamp: str | None) -> str:
    return f" (cập nhật {vn_date(stamp)})" if stamp else ""


def _known_from(doc: Document) -> str:
    return f"có hiệu lực từ ngày {vn_date(doc.effective)}" if doc.effective else ""


def _next(next_end: Impact | None, doc: Document, on: str) -> str:
    """What ends the period in force after `on`, when the store knows it."""
    expiry = doc.expires if doc.expires and doc.expires > on else None
    if next_end is not None and not (expiry and expiry < next_end.effective):
        return "sẽ " + next_end.describe()[:1].lower() + next_end.describe()[1:]
    if expiry:
        return f"hết hiệu lực từ ngày {vn_date(expiry)}"
    return ""


def _unknown_reason(doc: Document) -> str:
    if doc.effective:
        return f"Có hiệu lực từ ngày {vn_date(doc.effective)}; CSDL chưa có thông tin về văn bản thay thế, bãi bỏ"
    if doc.issued:
        return f"Ban hành ngày {vn_date(doc.issued)}; CSDL chưa có ngày có hiệu lực và thông tin về văn bản thay thế, bãi bỏ"
    return "CSDL chưa có ngày có hiệu lực và thông tin về văn bản thay thế, bãi bỏ"


def _join(*parts: str) -> str:
    text = "; ".join(p for p in parts if p)
    return text[:1].upper() + text[1:]


__all__ = [
    "ArticleValidity",
    "Evidence",
    "Impact",
    "Period",
    "Validity",
    "article_validity",
    "impact_of_relation",
    "impacts_of",
    "status_in",
    "timeline",
    "validity",
    "validity_of",
]
