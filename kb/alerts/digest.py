"""The weekly "Văn bản mới" digest: what entered the knowledge base in one ISO week (Monday to Sunday,
Vietnam time), for the e-mail sent by `kb digest` and for the web page of each past week.

Sections: new central documents grouped by loại văn bản and lĩnh vực; new documents of the province;
changes of status (came into force, expired, replaced, repealed or amended); documents coming into
force in the next `upcoming_days` days after the week; new central documents that assign a task to
the provincial HĐND, quoting the clause (kb.legal.delegation.find_delegations).

    digest = build_digest(store, "2026-W10", province="Lai Châu")
    render_text(digest, config); render_html(digest, config)       # from templates/digest_email.*
    send_digest(store, config, digest, mailer)                       # to the digest subscribers, once per week

The e-mail and the web page (web/digest.py) render the sections with one partial,
templates/_digest_sections.html.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage

from markupsafe import Markup

from kb import vocab
from kb.alerts import records, review
from kb.alerts.links import Links
from kb.alerts.mail import Mailer, MailError
from kb.alerts.render import render, render_message
from kb.alerts.subscriptions import DIGEST, list_subscriptions, normalise_email
from kb.config import Config
from kb.dates import VN_TZ, iso_week, vn_date
from kb.errors import KBError
from kb.legal.delegation import find_delegations
from kb.legal.validity import validity
from kb.locks import instance_lock
from kb.model import Document
from kb.store import NEW, REL_ADDED, STATUS, Store
from kb.summary import DocSummary
from kb.text import fold, thousands

NO_FIELD = "Chưa phân loại lĩnh vực"
REPLACING = {vocab.REL_REPLACES, vocab.REL_REPEALS, vocab.REL_AMENDS, vocab.REL_SUSPENDS}
QUOTE_MAX = 600
_WEEK = re.compile(r"^\s*(\d{4})-?[Ww](\d{1,2})\s*$")


class DigestError(KBError):
    """The digest cannot be built as asked (a week that is not one); the message says why."""


@dataclass
class DigestItem(DocSummary):
    """A document as the digest lists it: its summary, and what happened to it."""

    note: str = ""  # what happened to it, in Vietnamese
    link_uid: str | None = None  # the other document of the note (replaced by …)


@dataclass
class Assignment:
    """A clause of a new central document that assigns the provincial HĐND to regulate or decide."""

    item: DigestItem
    provision: str  # "khoản 2 Điều 5"
    heading: str | None
    anchor: str
    quote: str  # the clause (or, when long, the sentence that delegates)
    verb: str


@dataclass
class Digest:
    week: str  # "2026-W10"
    start: dt.date  # Monday
    end: dt.date  # Sunday
    province: str
    central: list[tuple[str, list[tuple[str, list[DigestItem]]]]] = field(default_factory=list)
    local: list[tuple[str, list[DigestItem]]] = field(default_factory=list)
    in_force: list[DigestItem] = field(default_factory=list)
    expired: list[DigestItem] = field(default_factory=list)
    replaced: list[DigestItem] = field(default_factory=list)
    other_status: list[DigestItem] = field(default_factory=list)
    upcoming: list[DigestItem] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    review: list = field(default_factory=list)  # kb/alerts/review.py: the province's documents to review
    older_added: int = 0  # new in the store but issued long before the week (a backfill)
    upcoming_days: int = 30
    complete: bool = True  # False while the week is not over

    @property
    def central_count(self) -> int:
        return sum(len(items) for _, groups in self.central for _, items in groups)

    @property
    def local_count(self) -> int:
        return sum(len(items) for _, items in self.local)

    @property
    def status_count(self) -> int:
        return len(self.in_force) + len(self.expired) + len(self.replaced) + len(self.other_status)

    @property
    def is_empty(self) -> bool:
        """Nothing new and no change of status in the week (upcoming dates may still be listed)."""
        return not (self.central_count or self.local_count or self.status_count)

    @property
    def title(self) -> str:
        year, week = self.week.split("-W")
        return (
            f"Văn bản mới – tuần {int(week)}/{year} ({self.start.strftime('%d/%m')} – {self.end.strftime('%d/%m/%Y')})"
        )

    @property
    def headings(self) -> dict[str, str]:
        """The headings of the five sections."""
        place = f"tỉnh {self.province}" if self.province else "tỉnh"
        return {
            "central": "1. Văn bản trung ương mới",
            "local": f"2. Văn bản mới của {place}",
            "status": "3. Thay đổi hiệu lực",
            "upcoming": f"4. Sắp có hiệu lực ({self.upcoming_days} ngày tới)",
            "assignments": "5. Văn bản trung ương giao HĐND tỉnh quy định, quyết định",
        }

    @property
    def status_sections(self) -> list[tuple[str, list[DigestItem]]]:
        """The parts of section 3 that have documents: [(label, items)]."""
        return [(label, getattr(self, attr)) for attr, label in STATUS_PARTS if getattr(self, attr)]

    @property
    def summary(self) -> str:
        """One sentence of counts, or the sentence of an empty week."""
        if self.is_empty:
            return EMPTY_WEEK
        parts = [
            f"{thousands(self.central_count)} văn bản trung ương mới",
            f"{thousands(self.local_count)} văn bản mới của tỉnh",
            f"{thousands(self.status_count)} thay đổi hiệu lực",
            f"{thousands(len(self.upcoming))} văn bản sắp có hiệu lực",
            f"{thousands(len(self.assignments))} quy định giao HĐND tỉnh",
        ]
        return "Trong tuần: " + ", ".join(parts) + "."

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(
            start=self.start.isoformat(),
            end=self.end.isoformat(),
            title=self.title,
            is_empty=self.is_empty,
            central_count=self.central_count,
            local_count=self.local_count,
            status_count=self.status_count,
        )
        return data


# --- weeks --------------------------------------------------------------------------------------
def parse_week(text: str) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of an ISO week written YYYY-Www; DigestError otherwise."""
    m = _WEEK.match(text or "")
    if not m:
        raise DigestError(f"Tuần “{text}” không hợp lệ: viết theo dạng năm-W số tuần, ví dụ 2026-W10.")
    try:
        monday = dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        return monday, monday + dt.timedelta(days=6)
    except (ValueError, OverflowError):
        raise DigestError(f"Năm {m.group(1)} không có tuần {int(m.group(2))}.") from None


def last_week(today: dt.date) -> str:
    """The last complete ISO week before `today`."""
    return iso_week(today - dt.timedelta(days=today.isoweekday()))


def _utc_bound(day: dt.date) -> str:
    """Local midnight at the start of `day`, as the store writes event times (UTC ISO)."""
    return dt.datetime.combine(day, dt.time(0), VN_TZ).astimezone(dt.UTC).isoformat(timespec="seconds")


# --- building -----------------------------------------------------------------------------------
def _is_local(doc: Document) -> bool:
    return (doc.scope or vocab.scope_of(doc.issuer)) == vocab.LOCAL


def _of_province(doc: Document, province: str) -> bool:
    place = fold(province).lower().strip()
    return bool(place) and (place in fold(doc.province or "").lower() or place in fold(doc.issuer or "").lower())


def _relevant(doc: Document, province: str) -> bool:
    return not _is_local(doc) or _of_province(doc, province)


def _dated(store: Store, column: str, low: str, high: str) -> list[Document]:
    """Documents whose date `column` (effective, expires) is within [low, high]."""
    docs = [store.get(d.uid) for d in store.dated(column, low, high)]
    return [d for d in docs if d is not None]


def _order(items: list[DigestItem]) -> list[DigestItem]:
    return sorted(items, key=lambda i: (i.issued or "", i.number), reverse=True)


def build_digest(
    store: Store,
    week: str | None = None,
    province: str = "",
    today: dt.date | None = None,
    issued_within_days: int = 120,
    upcoming_days: int = 30,
) -> Digest:
    """The digest of `week` (default: the last complete week before `today`, local time)."""
    today = today or dt.datetime.now(VN_TZ).date()

    def item_of(doc: Document, note: str = "", link: str | None = None) -> DigestItem:
        """The digest's item, its status from kb.legal.validity on the digest's day."""
        return DigestItem.of(doc, note=note, link_uid=link, status=validity(store, doc, today).status)

    week = week or last_week(today)
    start, end = parse_week(week)
    if start > today:
        raise DigestError(f"Tuần {week} chưa bắt đầu (hôm nay là {today.strftime('%d/%m/%Y')}).")
    digest = Digest(iso_week(start), start, end, province, upcoming_days=upcoming_days, complete=end < today)
    low, high = _utc_bound(start), _utc_bound(end + dt.timedelta(days=1))
    events = [e for e in store.events(since=low) if e.at < high]
    oldest = (start - dt.timedelta(days=issued_within_days)).isoformat()

    central: dict[str, dict[str, list[DigestItem]]] = {}
    local: dict[str, list[DigestItem]] = {}
    new_central: list[Document] = []
    seen: set[str] = set()
    for event in events:
        if event.kind != NEW or event.uid in seen:
            continue
        seen.add(event.uid)
        doc = store.get(event.uid)
        if doc is None or not _relevant(doc, province):
            continue
        if not doc.issued or doc.issued < oldest:  # without ngày ban hành it is never a new document of the week
            digest.older_added += 1
            continue
        item = item_of(doc)
        if _is_local(doc):
            local.setdefault(doc.doc_type or "Khác", []).append(item)
        else:
            central.setdefault(doc.doc_type or "Khác", {}).setdefault(
                doc.fields[0] if doc.fields else NO_FIELD, []
            ).append(item)
            new_central.append(doc)
    rank = {t: i for i, t in enumerate(vocab.DOC_TYPES)}
    digest.central = [
        (
            t,
            sorted(
                ((f, _order(items)) for f, items in central[t].items()),
                key=lambda fi: (fi[0] == NO_FIELD, fold(fi[0]).lower()),
            ),
        )
        for t in sorted(central, key=lambda t: (rank.get(t, len(rank)), t))
    ]
    digest.local = [(t, _order(local[t])) for t in sorted(local, key=lambda t: (rank.get(t, len(rank)), t))]

    # status: the changes the sources reported, then the dates that fell in the week
    statuses: dict[str, tuple[str, str]] = {}
    reasons: dict[str, str] = {}  # uid -> why a derived status changed (kb.legal.transitions)
    for event in events:
        if event.kind == STATUS:
            first = statuses.get(event.uid, (event.detail.get("old"), None))[0]
            statuses[event.uid] = (first, event.detail.get("new"))
            if event.detail.get("derived") and event.detail.get("reason"):
                reasons[event.uid] = event.detail["reason"]
    listed: set[tuple[str, str]] = set()

    def put(bucket: list[DigestItem], name: str, doc: Document, note: str, link: str | None = None) -> None:
        if (name, doc.uid) not in listed and _relevant(doc, province):
            listed.add((name, doc.uid))
            bucket.append(item_of(doc, note, link))

    for uid, (old, new) in statuses.items():
        doc = store.get(uid)
        if doc is None or old == new:
            continue
        note = f"{reasons[uid]}: “{old}” → “{new}”" if uid in reasons else f"“{old}” → “{new}”"
        if new == vocab.IN_FORCE:
            put(
                digest.in_force,
                "in_force",
                doc,
                note + (f", từ ngày {vn_date(doc.effective)}" if doc.effective else ""),
            )
        elif new in (vocab.EXPIRED, vocab.PARTLY_EXPIRED):
            put(digest.expired, "expired", doc, note + (f", từ ngày {vn_date(doc.expires)}" if doc.expires else ""))
        else:
            put(digest.other_status, "other", doc, note)
    for doc in _dated(store, "effective", start.isoformat(), end.isoformat()):
        if validity(store, doc, doc.effective).status != vocab.EXPIRED:
            put(digest.in_force, "in_force", doc, f"Có hiệu lực từ ngày {vn_date(doc.effective)}")
    for doc in _dated(store, "expires", start.isoformat(), end.isoformat()):
        put(digest.expired, "expired", doc, f"Hết hiệu lực từ ngày {vn_date(doc.expires)}")
    for event in events:
        d = event.detail
        if event.kind != REL_ADDED or d.get("direction") != "incoming" or d.get("type") not in REPLACING:
            continue
        doc = store.get(event.uid)
        if doc is None:
            continue
        other = " – ".join(x for x in (d.get("from_number"), d.get("from_title")) if x)
        note = f"{vocab.relation_label(d['type'], inverse=True)} {other}".strip()
        if (("replaced", doc.uid)) in listed:
            for item in digest.replaced:
                if item.uid == doc.uid and note not in item.note:
                    item.note += f"; {note}"
            continue
        put(digest.replaced, "replaced", doc, note, d.get("from_uid") if d.get("from_uid") in store else None)
    for bucket in (digest.in_force, digest.expired):
        bucket.sort(key=lambda i: (i.effective if bucket is digest.in_force else i.expires) or "")

    after = end + dt.timedelta(days=1)
    for doc in _dated(store, "effective", after.isoformat(), (end + dt.timedelta(days=upcoming_days)).isoformat()):
        if validity(store, doc, doc.effective).status != vocab.EXPIRED and _relevant(doc, province):
            digest.upcoming.append(item_of(doc, f"Có hiệu lực từ ngày {vn_date(doc.effective)}"))
    digest.upcoming.sort(key=lambda i: (i.effective, i.heading))

    for doc in sorted(new_central, key=lambda d: (d.issued or "", d.number or ""), reverse=True):
        for found in find_delegations(doc):
            quote = found.text if len(found.text) <= QUOTE_MAX else found.excerpt
            digest.assignments.append(
                Assignment(item_of(doc), found.provision, found.heading, found.anchor, quote, found.verb)
            )
    return digest


def digest_for(store: Store, config: Config, week: str | None = None, today: dt.date | None = None) -> Digest:
    """build_digest with the instance's settings (province.name, digest.issued_within_days, digest.upcoming_days)."""
    digest = build_digest(
        store,
        week,
        province=str(config.get("province", "name")),
        today=today,
        issued_within_days=int(config.get("digest", "issued_within_days")),
        upcoming_days=int(config.get("digest", "upcoming_days")),
    )
    digest.review = review.digest_section(store, config, digest.week).items
    return digest


# --- rendering ----------------------------------------------------------------------------------
EMPTY_WEEK = "Trong tuần này không có văn bản mới và không có thay đổi hiệu lực nào được ghi nhận."
NOTHING = "Không có văn bản nào."
STATUS_PARTS = (
    ("in_force", "Có hiệu lực"),
    ("expired", "Hết hiệu lực"),
    ("replaced", "Bị thay thế, bãi bỏ, đình chỉ hoặc được sửa đổi"),
    ("other_status", "Thay đổi khác"),
)


def _context(digest: Digest, config: Config) -> dict:
    return {
        "digest": digest,
        "links": Links(config),
        "site_name": str(config.get("site", "name")),
        "to": None,
        # section 6, the province's documents to review (kb/alerts/review.py renders it from its templates)
        "review_text": review.digest_text(config, digest.review).rstrip("\n"),
        "review_html": Markup(review.digest_html(config, digest.review)),
    }


def render_text(digest: Digest, config: Config) -> str:
    """The digest as plain text (a .txt file; the e-mail's text part adds its footer)."""
    return render("digest_email.txt", **_context(digest, config))


def render_html(digest: Digest, config: Config) -> str:
    """The digest as a complete HTML document (an .html file)."""
    return render("digest_email.html", subject=digest.title, delegations_url=None, **_context(digest, config))


def digest_message(
    config: Config, digest: Digest, to: str, unsubscribe: str, now: dt.datetime | None = None
) -> EmailMessage:
    context = {**_context(digest, config), "unsubscribe": unsubscribe, "delegations_url": None}
    context.pop("to")  # render_message sets the recipient
    return render_message(config, to, "digest", context, unsubscribe=unsubscribe, now=now)


# --- sending ------------------------------------------------------------------------------------
@dataclass
class DigestReport:
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # subscribers who already received this week
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def send_digest(
    store: Store,
    config: Config,
    digest: Digest,
    mailer: Mailer,
    to: list[str] | None = None,
    now: dt.datetime | None = None,
) -> DigestReport:
    """Mail the digest: to the addresses `to` (every time), or else to every confirmed digest subscriber
    that has not received this week's (each is recorded after its message is sent, so a second run
    sends nothing again). Holds the instance's digest lock (AlreadyRunning when it is held)."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    at = moment.isoformat(timespec="seconds")
    report = DigestReport()
    with instance_lock(config, "digest", "kb digest"):
        if to:
            for address in dict.fromkeys(normalise_email(a) for a in to):
                msg = digest_message(config, digest, address, Links(config).unsubscribe_all(address), moment)
                if _send(mailer, msg, address, report):
                    with store.transaction():
                        _delivery(store, address, msg, at)
            return report
        for sub in list_subscriptions(store, kind=DIGEST):
            if not sub.active:
                continue
            if (sub.sent_through or "") >= digest.week:
                report.skipped.append(sub.email)
                continue
            msg = digest_message(config, digest, sub.email, Links(config).unsubscribe(sub), moment)
            if _send(mailer, msg, sub.email, report):
                with store.transaction():
                    _delivery(store, sub.email, msg, at)
                    records.update_subscription(
                        store, sub.id, sent_through=digest.week, last_sent_at=at, last_run_at=at
                    )
    return report


def _send(mailer: Mailer, msg: EmailMessage, address: str, report: DigestReport) -> bool:
    try:
        mailer.send(msg)
    except MailError as exc:
        report.errors.append(f"{address}: {exc}")
        return False
    report.sent.append(address)
    return True


def _delivery(store: Store, email: str, msg: EmailMessage, at: str) -> None:
    records.insert_delivery(store, email, "digest", str(msg["Message-ID"]), str(msg["Subject"]), at)
