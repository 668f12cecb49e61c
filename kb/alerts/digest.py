"""The weekly "Văn bản mới" digest: what entered the knowledge base in one ISO week (Monday to Sunday,
Vietnam time), for the e-mail sent by `kb digest` and for the web page of each past week.

Sections: new central documents grouped by loại văn bản and lĩnh vực; new documents of the province;
changes of status (came into force, expired, replaced, repealed or amended); documents coming into
force in the next `upcoming_days` days after the week; new central documents that assign a task to
the provincial HĐND, quoting the clause (kb.legal.delegation.find_delegations).

    digest = build_digest(store, "2026-W10", province="Lai Châu")
    render_text(digest, config); render_html(digest, config)       # or digest.to_dict() for a template
    send_digest(store, config, digest, mailer)                       # to the digest subscribers, once per week
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage

from kb import vocab
from kb.alerts import review
from kb.alerts.mail import Mailer, MailError, build_message, esc, html_document
from kb.alerts.subscriptions import (
    DIGEST,
    digest_url,
    document_url,
    list_subscriptions,
    manage_url,
    normalise_email,
    unsubscribe_all_url,
    unsubscribe_url,
)
from kb.config import Config
from kb.dates import VN_TZ, iso_week, vn_date
from kb.errors import KBError
from kb.legal.delegation import find_delegations
from kb.locks import instance_lock
from kb.model import Document
from kb.store import NEW, REL_ADDED, STATUS, Store
from kb.text import fold, thousands

NO_FIELD = "Chưa phân loại lĩnh vực"
REPLACING = {"thay_the", "bai_bo", "sua_doi", "dinh_chi"}
QUOTE_MAX = 600
_WEEK = re.compile(r"^\s*(\d{4})-?[Ww](\d{1,2})\s*$")


class DigestError(KBError):
    """The digest cannot be built as asked (a week that is not one); the message says why."""


@dataclass
class Item:
    uid: str
    number: str = ""
    title: str = ""
    doc_type: str = ""
    issuer: str = ""
    issued: str = ""
    effective: str = ""
    expires: str = ""
    status: str = ""
    fields: list[str] = field(default_factory=list)
    note: str = ""  # what happened to it, in Vietnamese
    link_uid: str | None = None  # the other document of the note (replaced by …)

    @classmethod
    def of(cls, doc: Document, note: str = "", link_uid: str | None = None) -> Item:
        return cls(
            doc.uid,
            doc.number or "",
            doc.title,
            doc.doc_type or "",
            doc.issuer or "",
            doc.issued or "",
            doc.effective or "",
            doc.expires or "",
            doc.status,
            list(doc.fields),
            note,
            link_uid,
        )

    @property
    def heading(self) -> str:
        return " ".join(x for x in (self.doc_type, self.number) if x) or self.title


@dataclass
class Assignment:
    """A clause of a new central document that assigns the provincial HĐND to regulate or decide."""

    item: Item
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
    central: list[tuple[str, list[tuple[str, list[Item]]]]] = field(default_factory=list)
    local: list[tuple[str, list[Item]]] = field(default_factory=list)
    in_force: list[Item] = field(default_factory=list)
    expired: list[Item] = field(default_factory=list)
    replaced: list[Item] = field(default_factory=list)
    other_status: list[Item] = field(default_factory=list)
    upcoming: list[Item] = field(default_factory=list)
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
    rows = store.db.execute(
        f"SELECT uid FROM documents WHERE json_extract(data, '$.{column}') BETWEEN ? AND ? ORDER BY uid", (low, high)
    )
    docs = [store.get(r[0]) for r in rows]
    return [d for d in docs if d is not None]


def _order(items: list[Item]) -> list[Item]:
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
    week = week or last_week(today)
    start, end = parse_week(week)
    if start > today:
        raise DigestError(f"Tuần {week} chưa bắt đầu (hôm nay là {today.strftime('%d/%m/%Y')}).")
    digest = Digest(iso_week(start), start, end, province, upcoming_days=upcoming_days, complete=end < today)
    low, high = _utc_bound(start), _utc_bound(end + dt.timedelta(days=1))
    events = [e for e in store.events(since=low) if e.at < high]
    oldest = (start - dt.timedelta(days=issued_within_days)).isoformat()

    central: dict[str, dict[str, list[Item]]] = {}
    local: dict[str, list[Item]] = {}
    new_central: list[Document] = []
    seen: set[str] = set()
    for event in events:
        if event.kind != NEW or event.uid in seen:
            continue
        seen.add(event.uid)
        doc = store.get(event.uid)
        if doc is None or not _relevant(doc, province):
            continue
        if doc.issued and doc.issued < oldest:
            digest.older_added += 1
            continue
        item = Item.of(doc)
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
    for event in events:
        if event.kind == STATUS:
            first = statuses.get(event.uid, (event.detail.get("old"), None))[0]
            statuses[event.uid] = (first, event.detail.get("new"))
    listed: set[tuple[str, str]] = set()

    def put(bucket: list[Item], name: str, doc: Document, note: str, link: str | None = None) -> None:
        if (name, doc.uid) not in listed and _relevant(doc, province):
            listed.add((name, doc.uid))
            bucket.append(Item.of(doc, note, link))

    for uid, (old, new) in statuses.items():
        doc = store.get(uid)
        if doc is None or old == new:
            continue
        note = f"“{old}” → “{new}”"
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
        if doc.status != vocab.EXPIRED:
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
        if doc.status not in (vocab.EXPIRED,) and _relevant(doc, province):
            digest.upcoming.append(Item.of(doc, f"Có hiệu lực từ ngày {vn_date(doc.effective)}"))
    digest.upcoming.sort(key=lambda i: (i.effective, i.heading))

    for doc in sorted(new_central, key=lambda d: (d.issued or "", d.number or ""), reverse=True):
        for found in find_delegations(doc):
            quote = found.text if len(found.text) <= QUOTE_MAX else found.excerpt
            digest.assignments.append(
                Assignment(Item.of(doc), found.provision, found.heading, found.anchor, quote, found.verb)
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
LINK = "color:#0b4f8a;"
MUTED = "color:#666666;font-size:13px;"
EMPTY_WEEK = "Trong tuần này không có văn bản mới và không có thay đổi hiệu lực nào được ghi nhận."
NOTHING = "Không có văn bản nào."


def _headings(digest: Digest) -> dict[str, str]:
    place = f"tỉnh {digest.province}" if digest.province else "tỉnh"
    return {
        "central": "1. Văn bản trung ương mới",
        "local": f"2. Văn bản mới của {place}",
        "status": "3. Thay đổi hiệu lực",
        "upcoming": f"4. Sắp có hiệu lực ({digest.upcoming_days} ngày tới)",
        "assignments": "5. Văn bản trung ương giao HĐND tỉnh quy định, quyết định",
    }


STATUS_PARTS = (
    ("in_force", "Có hiệu lực"),
    ("expired", "Hết hiệu lực"),
    ("replaced", "Bị thay thế, bãi bỏ, đình chỉ hoặc được sửa đổi"),
    ("other_status", "Thay đổi khác"),
)


def summary(digest: Digest) -> str:
    if digest.is_empty:
        return EMPTY_WEEK
    parts = [
        f"{thousands(digest.central_count)} văn bản trung ương mới",
        f"{thousands(digest.local_count)} văn bản mới của tỉnh",
        f"{thousands(digest.status_count)} thay đổi hiệu lực",
        f"{thousands(len(digest.upcoming))} văn bản sắp có hiệu lực",
        f"{thousands(len(digest.assignments))} quy định giao HĐND tỉnh",
    ]
    return "Trong tuần: " + ", ".join(parts) + "."


def _facts(item: Item) -> str:
    parts = [
        item.issuer,
        f"ban hành {vn_date(item.issued)}" if item.issued else "",
        f"hiệu lực {vn_date(item.effective)}" if item.effective else "",
        item.status,
    ]
    return " · ".join(p for p in parts if p)


def _item_text(config: Config, item: Item, indent: str = "  ") -> list[str]:
    head = item.heading + (f" – {item.title}" if item.title and item.title != item.heading else "")
    lines = [f"{indent}• {head}", f"{indent}  {_facts(item)}"]
    if item.note:
        lines.append(f"{indent}  {item.note}")
    lines.append(f"{indent}  {document_url(config, item.uid)}")
    return lines


def render_text(digest: Digest, config: Config) -> str:
    """The digest as plain text (the text part of the e-mail, or a .txt file)."""
    h = _headings(digest)
    out = [digest.title.upper(), f"{config.get('site', 'name')}", "", summary(digest)]
    if not digest.complete:
        out.append("(Tuần chưa kết thúc: bản tin mới tính đến hôm nay.)")
    if digest.older_added:
        out.append(f"Ngoài ra {digest.older_added} văn bản ban hành từ trước được bổ sung vào cơ sở dữ liệu.")
    out += ["", h["central"].upper()]
    if not digest.central:
        out.append(NOTHING)
    for doc_type, groups in digest.central:
        out.append(f"{doc_type}")
        for field_name, items in groups:
            out.append(f"  {field_name}")
            for item in items:
                out += _item_text(config, item, "    ")
    out += ["", h["local"].upper()]
    if not digest.local:
        out.append(NOTHING)
    for doc_type, items in digest.local:
        out.append(doc_type)
        for item in items:
            out += _item_text(config, item)
    out += ["", h["status"].upper()]
    if not digest.status_count:
        out.append(NOTHING)
    for attr, label in STATUS_PARTS:
        items = getattr(digest, attr)
        if items:
            out.append(label)
            for item in items:
                out += _item_text(config, item)
    out += ["", h["upcoming"].upper()]
    if not digest.upcoming:
        out.append(NOTHING)
    for item in digest.upcoming:
        out += _item_text(config, item)
    out += ["", h["assignments"].upper()]
    if not digest.assignments:
        out.append(NOTHING)
    for a in digest.assignments:
        head = a.item.heading + (f" – {a.item.title}" if a.item.title and a.item.title != a.item.heading else "")
        out += [
            f"• {head}",
            f"  {a.provision[0].upper()}{a.provision[1:]}" + (f" ({a.heading})" if a.heading else "") + ":",
            f"  “{a.quote}”",
            f"  {document_url(config, a.item.uid, a.anchor)}",
        ]
    out.append(review.digest_text(config, digest.review).rstrip("\n"))
    out += ["", f"Xem trên trang web: {digest_url(config, digest.week)}"]
    return "\n".join(out) + "\n"


def _item_html(config: Config, item: Item) -> str:
    head = f'<a href="{esc(document_url(config, item.uid))}" style="{LINK}font-weight:bold;">{esc(item.heading)}</a>'
    title = f" – {esc(item.title)}" if item.title and item.title != item.heading else ""
    note = ""
    if item.note:
        note = f"<div>{esc(item.note)}"
        if item.link_uid:
            note += f' <a href="{esc(document_url(config, item.link_uid))}" style="{LINK}">Xem văn bản</a>'
        note += "</div>"
    return f'<li style="margin:6px 0;">{head}{title}<div style="{MUTED}">{esc(_facts(item))}</div>{note}</li>'


def _list_html(config: Config, items: list[Item]) -> str:
    return (
        '<ul style="margin:4px 0 8px 0;padding-left:20px;">' + "".join(_item_html(config, i) for i in items) + "</ul>"
    )


H2 = "font-size:17px;margin:22px 0 6px 0;border-bottom:2px solid #0b4f8a;"
H3 = "font-size:15px;margin:12px 0 4px 0;"
H4 = "font-size:14px;margin:8px 0 2px 0;color:#444444;"


def render_body_html(digest: Digest, config: Config) -> str:
    """The digest as an HTML fragment (for a web page's template or the e-mail)."""
    h = _headings(digest)
    out = [
        f'<h1 style="font-size:21px;margin:0 0 4px 0;">{esc(digest.title)}</h1>',
        f'<p style="{MUTED}">{esc(config.get("site", "name"))}</p>',
        f"<p><strong>{esc(summary(digest))}</strong></p>",
    ]
    if not digest.complete:
        out.append(f'<p style="{MUTED}">Tuần chưa kết thúc: bản tin mới tính đến hôm nay.</p>')
    if digest.older_added:
        out.append(
            f'<p style="{MUTED}">Ngoài ra {digest.older_added} văn bản ban hành từ trước được bổ sung '
            "vào cơ sở dữ liệu.</p>"
        )
    nothing = f'<p style="{MUTED}">{NOTHING}</p>'
    out.append(f'<h2 style="{H2}">{esc(h["central"])}</h2>')
    if not digest.central:
        out.append(nothing)
    for doc_type, groups in digest.central:
        out.append(f'<h3 style="{H3}">{esc(doc_type)}</h3>')
        for field_name, items in groups:
            out.append(f'<h4 style="{H4}">{esc(field_name)}</h4>' + _list_html(config, items))
    out.append(f'<h2 style="{H2}">{esc(h["local"])}</h2>')
    if not digest.local:
        out.append(nothing)
    for doc_type, items in digest.local:
        out.append(f'<h3 style="{H3}">{esc(doc_type)}</h3>' + _list_html(config, items))
    out.append(f'<h2 style="{H2}">{esc(h["status"])}</h2>')
    if not digest.status_count:
        out.append(nothing)
    for attr, label in STATUS_PARTS:
        items = getattr(digest, attr)
        if items:
            out.append(f'<h3 style="{H3}">{esc(label)}</h3>' + _list_html(config, items))
    out.append(f'<h2 style="{H2}">{esc(h["upcoming"])}</h2>')
    out.append(_list_html(config, digest.upcoming) if digest.upcoming else nothing)
    out.append(f'<h2 style="{H2}">{esc(h["assignments"])}</h2>')
    if not digest.assignments:
        out.append(nothing)
    for a in digest.assignments:
        url = document_url(config, a.item.uid, a.anchor)
        title = f" – {esc(a.item.title)}" if a.item.title and a.item.title != a.item.heading else ""
        provision = a.provision[0].upper() + a.provision[1:] + (f" ({a.heading})" if a.heading else "")
        out.append(
            f'<div style="margin:8px 0 12px 0;"><a href="{esc(document_url(config, a.item.uid))}" '
            f'style="{LINK}font-weight:bold;">{esc(a.item.heading)}</a>{title}'
            f'<div><a href="{esc(url)}" style="{LINK}">{esc(provision)}</a>:</div>'
            f'<blockquote style="margin:4px 0 0 0;padding:4px 10px;border-left:3px solid #0b4f8a;'
            f'background:#f3f6fa;">{esc(a.quote)}</blockquote></div>'
        )
    out.append(review.digest_html(config, digest.review))
    out.append(
        f'<p style="margin-top:20px;"><a href="{esc(digest_url(config, digest.week))}" style="{LINK}">'
        "Xem bản tin trên trang web</a></p>"
    )
    return "\n".join(out)


def render_html(digest: Digest, config: Config) -> str:
    """The digest as a complete HTML document (an .html file)."""
    return html_document(digest.title, render_body_html(digest, config))


def digest_message(
    config: Config, digest: Digest, to: str, unsubscribe: str, now: dt.datetime | None = None
) -> EmailMessage:
    site = str(config.get("site", "name"))
    manage = manage_url(config, to)
    text = render_text(digest, config) + (
        f"\n-- \nBạn nhận bản tin này vì địa chỉ {to} đăng ký nhận bản tin “Văn bản mới” của {site}.\n"
        f"Hủy nhận bản tin: {unsubscribe}\nQuản lý các mục theo dõi: {manage}\n"
    )
    footer = (
        f'<hr style="border:none;border-top:1px solid #dddddd;margin:20px 0 8px 0;">'
        f'<p style="{MUTED}">Bạn nhận bản tin này vì địa chỉ {esc(to)} đăng ký nhận bản tin '
        f'“Văn bản mới” của {esc(site)}. <a href="{esc(unsubscribe)}" style="{LINK}">Hủy nhận bản tin</a> · '
        f'<a href="{esc(manage)}" style="{LINK}">Quản lý các mục theo dõi</a></p>'
    )
    body = html_document(digest.title, render_body_html(digest, config) + footer)
    return build_message(config, to, digest.title, text, body, unsubscribe=unsubscribe, now=now)


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
                msg = digest_message(config, digest, address, unsubscribe_all_url(config, address), moment)
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
            msg = digest_message(config, digest, sub.email, unsubscribe_url(config, sub), moment)
            if _send(mailer, msg, sub.email, report):
                with store.transaction():
                    _delivery(store, sub.email, msg, at)
                    store.db.execute(
                        "UPDATE alert_subscriptions SET sent_through=?, last_sent_at=?, last_run_at=? WHERE id=?",
                        (digest.week, at, at, sub.id),
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
    store.db.execute(
        "INSERT INTO alert_deliveries(email, kind, message_id, subject, sent_at) VALUES (?, ?, ?, ?, ?)",
        (email, "digest", str(msg["Message-ID"]), str(msg["Subject"]), at),
    )
