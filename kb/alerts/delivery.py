"""Alert delivery: what changed for each subscription since its last delivery, one message per
recipient, and the record of what was sent.

`deliver(store, config, matcher, mailer, upto)` is one run of `kb alerts run` (run_alerts
wires it to the search index and holds the lock):

1. pending subscriptions past alerts.confirm_days lapse; pending ones not yet asked get one
   confirmation message per address;
2. every active, due subscription takes the change events after its cursor (up to `upto`, the last
   event the search index reflects) and, for the dates, the days after `sent_through`: a search
   subscription keeps the documents its query matches (the `matcher`, a reverse search restricted to
   the changed documents), a followed document keeps its own;
3. the hits of all subscriptions of one address make one message, which is sent, and only then
   recorded (cursors moved, sent items written) in one transaction. A crash after sending and before
   recording sends that one message again at the next run; nothing is ever skipped.

The matcher is any object with `match(subscription, uids) -> [uid, …]` that raises a KBError (such as
index.errors.QueryError) when the subscription's query cannot be run.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from kb import vocab
from kb.alerts import subscriptions as subs_mod
from kb.alerts.mail import Mailer, MailError, build_message, esc, html_document
from kb.alerts.subscriptions import (
    DOCUMENT,
    PENDING,
    SEARCH,
    Subscription,
    document_url,
    due,
    list_subscriptions,
    manage_url,
    search_url,
    unsubscribe_all_url,
    unsubscribe_url,
    version_url,
)
from kb.config import Config
from kb.dates import VN_TZ, vn_date
from kb.errors import KBError
from kb.legal.validity import validity
from kb.locks import instance_lock
from kb.model import Document
from kb.store import DELETED, METADATA, NEW, REL_ADDED, STATUS, TEXT, Event, Store


class Matcher(Protocol):
    """The search index as alerts see it (index.matching.SearchMatcher)."""

    def match(self, subscription: Subscription, uids: set[str]) -> list[str]:
        """The uids among `uids` that the subscription's search finds, best first."""

    def indexed_through(self) -> int:
        """The last change event the index reflects."""


# --- what happened to one document -----------------------------------------------------------
@dataclass
class Change:
    """One thing that happened, said in one Vietnamese sentence (plain text; escaped when rendered)."""

    kind: str  # new, status, text, relation, metadata, deleted, in_force, expires
    text: str
    link_uid: str | None = None  # the other document of a relation
    diff: list[tuple[str, str]] = field(default_factory=list)  # ("-" or "+", line), shortened
    more_lines: int = 0  # changed lines not shown
    version: int | None = None  # the version a text change produced (its page shows the full diff)


@dataclass
class Hit:
    uid: str
    number: str = ""
    title: str = ""
    doc_type: str = ""
    issuer: str = ""
    issued: str = ""
    effective: str = ""
    status: str = ""
    deleted: bool = False
    changes: list[Change] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)  # "in_force:2026-03-01", "expires:…"

    @property
    def is_new(self) -> bool:
        return any(c.kind == "new" for c in self.changes)

    @property
    def heading(self) -> str:
        return " ".join(x for x in (self.doc_type, self.number) if x) or self.title

    @property
    def what(self) -> str:
        """What the sent record keeps: the kinds of change, in order."""
        return ",".join(dict.fromkeys(c.kind for c in self.changes))


@dataclass
class Section:
    """The hits of one subscription in one message."""

    subscription: Subscription
    hits: list[Hit]
    more: int = 0  # hits not listed (beyond alerts.max_hits)

    @property
    def total(self) -> int:
        return len(self.hits) + self.more


RELATIONS_SHOWN_OUTGOING = {
    vocab.REL_AMENDS,
    vocab.REL_REPLACES,
    vocab.REL_REPEALS,
    vocab.REL_GUIDES,
    vocab.REL_CONSOLIDATES,
    vocab.REL_CORRECTS,
    vocab.REL_SUSPENDS,
}
METADATA_LABELS = {
    "number": "Số ký hiệu",
    "title": "Trích yếu",
    "doc_type": "Loại văn bản",
    "issuer": "Cơ quan ban hành",
    "issued": "Ngày ban hành",
    "effective": "Ngày có hiệu lực",
    "expires": "Ngày hết hiệu lực",
    "fields": "Lĩnh vực",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _shorten(text: str, width: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _value(name: str, value) -> str:
    if value in (None, "", []):
        return "(trống)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return vn_date(value) if name in ("issued", "effective", "expires") else _shorten(value, 120)


def describe(
    store: Store, config: Config, uid: str, events: list[Event], dates: Iterable[tuple[str, str]] = ()
) -> Hit | None:
    """The hit of one document: its current facts and a sentence per change. None when nothing of
    what happened is worth a message (only a source link or an attachment changed)."""
    doc = store.get(uid)
    if doc is None:
        old = store.versions(uid)
        doc = old[-1][2] if old else None
    hit = Hit(uid=uid, deleted=store.get(uid) is None)
    if doc is not None:
        hit.number, hit.title, hit.doc_type = doc.number or "", doc.title, doc.doc_type or ""
        hit.issuer, hit.issued, hit.effective, hit.status = (
            doc.issuer or "",
            doc.issued or "",
            doc.effective or "",
            validity(store, doc).status if not hit.deleted else doc.status,
        )
    kinds = {e.kind for e in events}
    seen: set[str] = set()

    def add(change: Change) -> None:
        if change.text not in seen:
            seen.add(change.text)
            hit.changes.append(change)

    if NEW in kinds:
        dates_said = [
            f"ban hành {vn_date(hit.issued)}" if hit.issued else "",
            f"có hiệu lực từ {vn_date(hit.effective)}" if hit.effective else "",
        ]
        said = ", ".join(x for x in dates_said if x)
        add(Change("new", "Văn bản mới" + (f" ({said})." if said else ".")))
    status_events = [e for e in events if e.kind == STATUS]
    if status_events and NEW not in kinds:
        old, new = status_events[0].detail.get("old"), status_events[-1].detail.get("new")
        if old != new:
            sentence = f"Tình trạng hiệu lực thay đổi: “{old}” → “{new}”"
            detail = status_events[-1].detail
            if detail.get("derived") and detail.get("reason"):  # kb.legal.transitions: say why
                sentence = f"{detail['reason']} (tình trạng hiệu lực: “{old}” → “{new}”)"
            elif new == vocab.IN_FORCE and detail.get("effective"):
                sentence += f" (có hiệu lực từ ngày {vn_date(detail['effective'])})"
            elif new in (vocab.EXPIRED, vocab.PARTLY_EXPIRED) and detail.get("expires"):
                sentence += f" (hết hiệu lực từ ngày {vn_date(detail['expires'])})"
            add(Change("status", sentence + "."))
    for event in events:
        if event.kind != REL_ADDED:
            continue
        d = event.detail
        if d.get("direction") == "incoming":
            other = " – ".join(x for x in (d.get("from_number"), _shorten(d.get("from_title") or "", 140)) if x)
            text = f"{vocab.relation_label(d.get('type', ''), inverse=True)} {other}"
            link = d.get("from_uid")
        elif NEW not in kinds and d.get("type") in RELATIONS_SHOWN_OUTGOING:
            other = " – ".join(x for x in (d.get("target_number"), _shorten(d.get("target_title") or "", 140)) if x)
            text = f"{vocab.relation_label(d.get('type', ''))} {other}"
            link = d.get("target_uid")
        else:
            continue
        if d.get("note"):
            text += f" ({_shorten(d['note'], 120)})"
        add(Change("relation", text.strip() + ".", link_uid=link if link and link in store else None))
    text_events = [e for e in events if e.kind == TEXT]
    if text_events and NEW not in kinds:
        add(_text_change(store, uid, text_events, int(config.get("alerts", "diff_lines"))))
    if NEW not in kinds:
        changed: dict[str, tuple] = {}
        for e in events:
            if e.kind != METADATA:
                continue
            for name in e.detail.get("fields", []):
                if name in METADATA_LABELS:
                    first = changed.get(name, (e.detail.get("old", {}).get(name),))[0]
                    changed[name] = (first, e.detail.get("new", {}).get(name))
        parts = [f"{METADATA_LABELS[n]}: {_value(n, a)} → {_value(n, b)}" for n, (a, b) in changed.items() if a != b]
        if parts:
            add(Change("metadata", "Cập nhật thông tin: " + "; ".join(parts) + "."))
    for kind, day in dates:
        if kind == "in_force" and not any(c.kind == "status" and vocab.IN_FORCE in c.text for c in hit.changes):
            add(Change("in_force", f"Có hiệu lực từ ngày {vn_date(day)}."))
        elif kind == "expires" and not any(c.kind == "status" and "Hết hiệu lực" in c.text for c in hit.changes):
            add(Change("expires", f"Hết hiệu lực từ ngày {vn_date(day)}."))
        hit.dates.append(f"{kind}:{day}")
    if DELETED in kinds:
        add(Change("deleted", "Văn bản đã bị gỡ khỏi cơ sở dữ liệu (nguồn không còn đăng văn bản này)."))
    hit.event_ids = [e.id for e in events]
    return hit if hit.changes else None


# --- a short diff of the text -----------------------------------------------------------------
def paragraphs(doc: Document) -> list[str]:
    """The paragraphs of a version: its text, else its articles."""
    if doc.text.strip():
        lines = doc.text.splitlines()
    else:
        lines = []
        for art in doc.articles:
            lines.append(f"Điều {art.number}. {art.heading or ''}".strip())
            lines.extend(art.text.splitlines())
    return [" ".join(line.split()) for line in lines if line.strip()]


def _version(store: Store, uid: str, number: int) -> Document | None:
    if number >= store.version_count(uid):
        return store.get(uid)
    for version, _, doc in store.versions(uid):
        if version == number:
            return doc
    return None


def _text_change(store: Store, uid: str, events: list[Event], limit: int) -> Change:
    versions = [int(e.detail.get("version") or 0) for e in events]
    first, last = min(versions), max(versions)
    old, new = _version(store, uid, first - 1), _version(store, uid, last)
    if old is None or new is None:
        return Change("text", "Nội dung văn bản thay đổi.", version=last or None)
    added, removed, lines, more = text_diff(paragraphs(old), paragraphs(new), limit)
    counts = ", ".join(x for x in (f"thêm {added} đoạn" if added else "", f"bỏ {removed} đoạn" if removed else "") if x)
    return Change(
        "text",
        "Nội dung văn bản thay đổi" + (f" ({counts})" if counts else "") + ":",
        diff=lines,
        more_lines=more,
        version=last,
    )


def text_diff(
    old: list[str], new: list[str], limit: int = 8, width: int = 240
) -> tuple[int, int, list[tuple[str, str]], int]:
    """(paragraphs added, removed, up to `limit` lines [("-"|"+", text)] focused on what changed,
    lines left out)."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    added = removed = 0
    lines: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed += i2 - i1
        added += j2 - j1
        if tag == "replace" and i2 - i1 == j2 - j1:
            for a, b in zip(old[i1:i2], new[j1:j2]):
                a_short, b_short = _focus(a, b, width)
                lines += [("-", a_short), ("+", b_short)]
        else:
            lines += [("-", _shorten(line, width)) for line in old[i1:i2]]
            lines += [("+", _shorten(line, width)) for line in new[j1:j2]]
    return added, removed, lines[:limit], max(0, len(lines) - limit)


def _focus(a: str, b: str, width: int, context: int = 6) -> tuple[str, str]:
    """Two versions of a paragraph cut to the words around the part that differs."""
    wa, wb = a.split(), b.split()
    start = 0
    while start < min(len(wa), len(wb)) and wa[start] == wb[start]:
        start += 1
    end = 0
    while end < min(len(wa), len(wb)) - start and wa[-1 - end] == wb[-1 - end]:
        end += 1
    lo = max(0, start - context)

    def cut(words: list[str]) -> str:
        hi = min(len(words), len(words) - end + context)
        text = " ".join(words[lo:hi])
        return ("… " if lo else "") + _shorten(text, width) + (" …" if hi < len(words) else "")

    return cut(wa), cut(wb)


# --- matching ---------------------------------------------------------------------------------
def _date_candidates(store: Store, after: str, through: str) -> dict[str, list[tuple[str, str]]]:
    """{uid: [("in_force"|"expires", day)]} for documents coming into force or expiring in (after, through]."""
    found: dict[str, list[tuple[str, str]]] = {}
    for kind, column in (("in_force", "effective"), ("expires", "expires")):
        rows = store.db.execute(
            f"SELECT uid, json_extract(data, '$.{column}') AS day, json_extract(data, '$.status') AS status"
            f" FROM documents WHERE json_extract(data, '$.{column}') > ? AND json_extract(data, '$.{column}') <= ?",
            (after, through),
        )
        for row in rows:
            if kind == "in_force" and _ended_on(store, row["uid"], row["day"]):
                continue
            found.setdefault(row["uid"], []).append((kind, row["day"]))
    return found


def _ended_on(store: Store, uid: str, day: str) -> bool:
    """Whether the document is already expired on the day it was to come into force (kb.legal.validity)."""
    doc = store.get(uid)
    return doc is not None and validity(store, doc, day).status == vocab.EXPIRED


def match(
    store: Store,
    config: Config,
    sub: Subscription,
    events: list[Event],
    upto: int,
    today: str,
    matcher: Matcher | None,
    dates: dict[str, list[tuple[str, str]]] | None = None,
) -> Section:
    """The hits of one subscription: its events after its cursor up to `upto`, and dates after its
    `sent_through` up to `today`. Raises KBError when its query cannot be run."""
    mine = [e for e in events if sub.last_event_id < e.id <= upto]
    since = sub.sent_through or today
    if dates is None:
        dates = _date_candidates(store, since, today)
    per_uid: dict[str, list[Event]] = {}
    if sub.kind == DOCUMENT:
        for e in mine:
            if e.uid == sub.uid:
                per_uid.setdefault(e.uid, []).append(e)
        my_dates = {u: [(k, d) for k, d in v if d > since] for u, v in dates.items() if u == sub.uid}
        order = [sub.uid]
    else:
        for e in mine:
            if e.kind != DELETED:
                per_uid.setdefault(e.uid, []).append(e)
        my_dates = {u: [(k, d) for k, d in v if d > since] for u, v in dates.items()}
        my_dates = {u: v for u, v in my_dates.items() if v}
        candidates = set(per_uid) | set(my_dates)
        order = matcher.match(sub, candidates) if candidates and matcher is not None else []
    hits = []
    for uid in order:
        if uid not in per_uid and uid not in my_dates:
            continue
        hit = describe(store, config, uid, per_uid.get(uid, []), my_dates.get(uid, []))
        if hit is not None:
            hits.append(hit)
    hits.sort(key=lambda h: (not h.is_new, -(max(h.event_ids) if h.event_ids else 0)))
    limit = int(config.get("alerts", "max_hits"))
    return Section(sub, hits[:limit], max(0, len(hits) - limit))


# --- messages ---------------------------------------------------------------------------------
LINK = "color:#0b4f8a;"
MUTED = "color:#666666;font-size:13px;"


def alert_subject(sections: list[Section]) -> str:
    total = sum(s.total for s in sections)
    if len(sections) == 1:
        name = _shorten(sections[0].subscription.name, 90)
        return f"Theo dõi văn bản: {total} cập nhật – {name}"
    return f"Theo dõi văn bản: {total} cập nhật trong {len(sections)} mục theo dõi"


def alert_message(config: Config, email: str, sections: list[Section], now: dt.datetime | None = None) -> EmailMessage:
    """One message for one address with the hits of each of its subscriptions."""
    site = str(config.get("site", "name"))
    subject = alert_subject(sections)
    text: list[str] = [subject, ""]
    body: list[str] = [f'<h1 style="font-size:20px;margin:0 0 12px 0;">{esc(subject)}</h1>']
    for section in sections:
        sub = section.subscription
        about = ([sub.describe()] if sub.label else []) + [f"gửi {subs_mod.FREQUENCY_LABELS[sub.frequency]}"]
        text += ["=" * 60, sub.name, f"({', '.join(about)})", ""]
        body.append(
            f'<h2 style="font-size:17px;margin:20px 0 4px 0;border-bottom:2px solid #0b4f8a;">'
            f'{esc(sub.name)}</h2><div style="{MUTED}">{esc(" · ".join(about))}</div>'
        )
        for hit in section.hits:
            text += _hit_text(config, hit)
            body.append(_hit_html(config, hit))
        links_text, links_html = [], []
        if sub.kind == SEARCH:
            url = search_url(config, sub.query, sub.filters)
            more = f"Còn {section.more} văn bản khác. " if section.more else ""
            links_text.append(f"{more}Xem toàn bộ kết quả tìm kiếm: {url}")
            links_html.append(f'{esc(more)}<a href="{esc(url)}" style="{LINK}">Xem toàn bộ kết quả tìm kiếm</a>')
        stop = unsubscribe_url(config, sub)
        links_text.append(f"Hủy theo dõi mục này: {stop}")
        links_html.append(f'<a href="{esc(stop)}" style="{LINK}">Hủy theo dõi mục này</a>')
        text += links_text + [""]
        body.append(f'<p style="font-size:14px;margin:8px 0 0 0;">{" · ".join(links_html)}</p>')
    manage, stop_all = manage_url(config, email), unsubscribe_all_url(config, email)
    text += [
        "-- ",
        f"Bạn nhận thư này vì địa chỉ {email} đã đăng ký theo dõi trên {site}.",
        f"Quản lý các mục theo dõi: {manage}",
        f"Hủy tất cả các mục theo dõi: {stop_all}",
    ]
    body.append(_footer(email, site, manage, stop_all))
    return build_message(
        config,
        email,
        subject,
        "\n".join(text) + "\n",
        html_document(subject, "\n".join(body)),
        unsubscribe=stop_all,
        now=now,
    )


def _facts(hit: Hit) -> str:
    parts = [hit.issuer, f"ban hành {vn_date(hit.issued)}" if hit.issued else "", hit.status if hit.status else ""]
    return " · ".join(p for p in parts if p)


def _hit_text(config: Config, hit: Hit) -> list[str]:
    lines = [f"• {hit.heading}" + (f" – {_shorten(hit.title, 200)}" if hit.title and hit.title != hit.heading else "")]
    if _facts(hit):
        lines.append(f"  {_facts(hit)}")
    for change in hit.changes:
        lines.append(f"  - {change.text}")
        for op, line in change.diff:
            lines.append(f"      {'−' if op == '-' else '+'} {line}")
        if change.more_lines:
            lines.append(f"      … và {change.more_lines} dòng thay đổi khác")
        if change.version and not hit.deleted:
            lines.append(f"    Xem các thay đổi: {version_url(config, hit.uid, change.version)}")
        if change.link_uid:
            lines.append(f"    Văn bản liên quan: {document_url(config, change.link_uid)}")
    if not hit.deleted:
        lines.append(f"  Xem văn bản: {document_url(config, hit.uid)}")
    return lines + [""]


def _hit_html(config: Config, hit: Hit) -> str:
    name = esc(hit.heading)
    head = (
        name
        if hit.deleted
        else f'<a href="{esc(document_url(config, hit.uid))}" style="{LINK}font-weight:bold;">{name}</a>'
    )
    title = f" – {esc(hit.title)}" if hit.title and hit.title != hit.heading else ""
    items = []
    for change in hit.changes:
        item = esc(change.text)
        if change.link_uid:
            item += f' <a href="{esc(document_url(config, change.link_uid))}" style="{LINK}">Xem văn bản</a>'
        if change.diff:
            rows = []
            for op, line in change.diff:
                style = "background:#fdecea;color:#8a1c1c;" if op == "-" else "background:#e6f4ea;color:#14532d;"
                rows.append(f'<div style="{style}padding:1px 4px;">{"−" if op == "-" else "+"} {esc(line)}</div>')
            if change.more_lines:
                rows.append(f'<div style="{MUTED}">… và {change.more_lines} dòng thay đổi khác</div>')
            item += '<div style="font-size:14px;white-space:pre-wrap;margin:4px 0;">' + "".join(rows) + "</div>"
        if change.version and not hit.deleted:
            item += f'<a href="{esc(version_url(config, hit.uid, change.version))}" style="{LINK}">Xem các thay đổi</a>'
        items.append(f'<li style="margin:2px 0;">{item}</li>')
    return (
        f'<div style="margin:10px 0;padding:8px 0 0 0;border-top:1px solid #dddddd;">{head}{title}'
        f'<div style="{MUTED}">{esc(_facts(hit))}</div>'
        f'<ul style="margin:4px 0 0 0;padding-left:20px;">{"".join(items)}</ul></div>'
    )


def _footer(email: str, site: str, manage: str, stop_all: str) -> str:
    return (
        f'<hr style="border:none;border-top:1px solid #dddddd;margin:20px 0 8px 0;">'
        f'<p style="{MUTED}">Bạn nhận thư này vì địa chỉ {esc(email)} đã đăng ký theo dõi trên {esc(site)}. '
        f'<a href="{esc(manage)}" style="{LINK}">Quản lý các mục theo dõi</a> · '
        f'<a href="{esc(stop_all)}" style="{LINK}">Hủy tất cả</a></p>'
    )


def confirmation_message(
    config: Config, email: str, pending: list[Subscription], now: dt.datetime | None = None
) -> EmailMessage:
    """The one message an unconfirmed address receives: a confirmation link per pending subscription."""
    site = str(config.get("site", "name"))
    days = int(config.get("alerts", "confirm_days"))
    subject = f"Xác nhận đăng ký theo dõi văn bản – {site}"
    intro = (
        f"Có yêu cầu đăng ký nhận thông báo qua e-mail tới địa chỉ {email} trên {site}. "
        "Nếu đúng là bạn, hãy mở liên kết xác nhận dưới đây; trước khi xác nhận, bạn sẽ không nhận thêm thư nào."
    )
    ignore = (
        f"Nếu không phải bạn đăng ký, hãy bỏ qua thư này: yêu cầu sẽ tự hủy sau {days} ngày "
        "và bạn sẽ không nhận thêm thư nào."
    )
    text = [subject, "", intro, ""]
    items = []
    for sub in pending:
        url = subs_mod.confirm_url(config, sub)
        label = sub.name + (f" ({sub.describe()})" if sub.label else "")
        text += [f"• {label} – {subs_mod.FREQUENCY_LABELS[sub.frequency]}", f"  Xác nhận: {url}", ""]
        items.append(
            f'<li style="margin:6px 0;">{esc(label)} – {esc(subs_mod.FREQUENCY_LABELS[sub.frequency])}<br>'
            f'<a href="{esc(url)}" style="{LINK}font-weight:bold;">Xác nhận đăng ký này</a></li>'
        )
    stop_all = unsubscribe_all_url(config, email)
    text += [ignore, "", "-- ", f"Hủy mọi yêu cầu của địa chỉ này: {stop_all}"]
    body = (
        f'<h1 style="font-size:20px;margin:0 0 12px 0;">{esc(subject)}</h1><p>{esc(intro)}</p>'
        f'<ul style="padding-left:20px;">{"".join(items)}</ul><p style="{MUTED}">{esc(ignore)}</p>'
        f'<p style="{MUTED}"><a href="{esc(stop_all)}" style="{LINK}">Hủy mọi yêu cầu của địa chỉ này</a></p>'
    )
    return build_message(
        config, email, subject, "\n".join(text) + "\n", html_document(subject, body), unsubscribe=stop_all, now=now
    )


# --- a run ------------------------------------------------------------------------------------
@dataclass
class Sent:
    email: str
    subject: str
    hits: int
    subscriptions: list[int]
    message: EmailMessage | None = None  # kept in a dry run, to show


@dataclass
class RunReport:
    dry_run: bool = False
    messages: list[Sent] = field(default_factory=list)
    confirmations: list[Sent] = field(default_factory=list)
    checked: int = 0  # subscriptions matched
    lapsed: int = 0  # pending subscriptions never confirmed, now ended
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def lapse_pending(store: Store, config: Config, now: dt.datetime | None = None) -> int:
    """End subscriptions left unconfirmed longer than alerts.confirm_days. Returns how many."""
    moment = _now(now)
    limit = _iso(moment - dt.timedelta(days=int(config.get("alerts", "confirm_days"))))
    with store.transaction():
        cur = store.db.execute(
            "UPDATE alert_subscriptions SET ended_at=?, ended_by='expired'"
            " WHERE ended_at IS NULL AND confirmed_at IS NULL AND created_at < ?",
            (_iso(moment), limit),
        )
        return cur.rowcount


def send_confirmations(
    store: Store,
    config: Config,
    mailer: Mailer | None,
    email: str | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> RunReport:
    """Send the confirmation message of every address with pending subscriptions not yet asked
    (or only of `email`). One message per address; each subscription is asked once."""
    moment = _now(now)
    report = RunReport(dry_run)
    pending: dict[str, list[Subscription]] = {}
    for sub in list_subscriptions(store, email):
        if sub.status == PENDING and not sub.confirm_sent_at:
            pending.setdefault(sub.email, []).append(sub)
    for address, subs in sorted(pending.items()):
        msg = confirmation_message(config, address, subs, moment)
        sent = Sent(address, str(msg["Subject"]), 0, [s.id for s in subs], msg if dry_run else None)
        if dry_run:
            report.confirmations.append(sent)
            continue
        try:
            mailer.send(msg)
        except MailError as exc:
            report.errors.append(f"{address}: {exc}")
            continue
        with store.transaction():
            _delivery(store, address, "confirm", msg, moment)
            for sub in subs:
                store.db.execute("UPDATE alert_subscriptions SET confirm_sent_at=? WHERE id=?", (_iso(moment), sub.id))
        report.confirmations.append(sent)
    return report


def _delivery(store: Store, email: str, kind: str, msg: EmailMessage, moment: dt.datetime) -> int:
    cur = store.db.execute(
        "INSERT INTO alert_deliveries(email, kind, message_id, subject, sent_at) VALUES (?, ?, ?, ?, ?)",
        (email, kind, str(msg["Message-ID"]), str(msg["Subject"]), _iso(moment)),
    )
    return cur.lastrowid


def deliver(
    store: Store,
    config: Config,
    matcher: Matcher | None,
    mailer: Mailer | None,
    upto: int,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> RunReport:
    """One run: confirmations, then the alerts of every due subscription up to event `upto`.

    A dry run sends and records nothing and keeps the messages in the report."""
    moment = _now(now)
    report = RunReport(dry_run)
    if not dry_run:
        report.lapsed = lapse_pending(store, config, moment)
    asked = send_confirmations(store, config, mailer, now=moment, dry_run=dry_run)
    report.confirmations, report.errors = asked.confirmations, asked.errors
    active = [s for s in list_subscriptions(store) if s.kind in (SEARCH, DOCUMENT) and due(s, config, moment)]
    if not active:
        return report
    today = moment.astimezone(VN_TZ).date().isoformat()
    since = min(s.last_event_id for s in active)
    events = [e for e in store.events(since_id=since) if e.id <= upto]
    oldest = min(s.sent_through or today for s in active)
    # a scan of every document's dates: done at the first run of a day only (then every cursor is at today)
    dates = _date_candidates(store, oldest, today) if oldest < today else {}
    by_email: dict[str, list[Subscription]] = {}
    for sub in active:
        by_email.setdefault(sub.email, []).append(sub)
    for email, subs in sorted(by_email.items()):
        sections: list[Section] = []
        done: list[Subscription] = []
        for sub in subs:
            report.checked += 1
            try:
                section = match(store, config, sub, events, upto, today, matcher, dates)
            except KBError as exc:
                report.errors.append(f"subscription {sub.id} ({email}): {exc}")
                if not dry_run:
                    subs_mod.update(store, sub.id, error=str(exc), last_run_at=_iso(moment))
                continue
            done.append(sub)
            if section.hits:
                sections.append(section)
        msg = alert_message(config, email, sections, moment) if sections else None
        if msg is not None:
            sent = Sent(
                email,
                str(msg["Subject"]),
                sum(s.total for s in sections),
                [s.subscription.id for s in sections],
                msg if dry_run else None,
            )
            if dry_run:
                report.messages.append(sent)
                continue
            try:
                mailer.send(msg)
            except MailError as exc:
                report.errors.append(f"{email}: {exc}")
                continue  # nothing recorded: the same hits are tried at the next run
            report.messages.append(sent)
        if not dry_run:
            record(store, email, done, sections, msg, upto, today, moment)
    return report


def record(
    store: Store,
    email: str,
    subs: list[Subscription],
    sections: list[Section],
    msg: EmailMessage | None,
    upto: int,
    today: str,
    moment: dt.datetime,
) -> None:
    """After sending (or finding nothing to send): what was sent, and each subscription's new cursor."""
    with store.transaction():
        sent_at = _iso(moment)
        if msg is not None:
            delivery = _delivery(store, email, "alert", msg, moment)
            for section in sections:
                for hit in section.hits:
                    store.db.execute(
                        "INSERT INTO alert_sent(delivery_id, subscription_id, uid, event_id, what) VALUES (?, ?, ?, ?, ?)",
                        (
                            delivery,
                            section.subscription.id,
                            hit.uid,
                            max(hit.event_ids) if hit.event_ids else None,
                            ",".join([hit.what] + hit.dates),
                        ),
                    )
        with_hits = {s.subscription.id for s in sections}
        for sub in subs:
            store.db.execute(
                "UPDATE alert_subscriptions SET last_event_id=?, sent_through=?, last_run_at=?, error=NULL,"
                " last_sent_at=CASE WHEN ? THEN ? ELSE last_sent_at END WHERE id=?",
                (
                    max(sub.last_event_id, upto),
                    max(sub.sent_through or today, today),
                    sent_at,
                    sub.id in with_hits,
                    sent_at,
                    sub.id,
                ),
            )


def sent_items(store: Store, sub_id: int) -> list[dict]:
    """What was sent for one subscription: [{uid, event_id, what, sent_at, message_id}], oldest first."""
    rows = store.db.execute(
        "SELECT s.uid, s.event_id, s.what, d.sent_at, d.message_id FROM alert_sent s"
        " JOIN alert_deliveries d ON d.id = s.delivery_id WHERE s.subscription_id=? ORDER BY s.rowid",
        (sub_id,),
    )
    return [dict(r) for r in rows]


def run_alerts(
    store: Store,
    config: Config,
    matcher: Matcher,
    mailer: Mailer | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> RunReport:
    """One run of the alerts, under the instance's alerts lock (AlreadyRunning when it is held).

    `matcher` is a Matcher that also says which change event the index reflects (`indexed_through`);
    the run matches only those events: the caller brings the index up to date first."""
    with instance_lock(config, "alerts", "kb alerts run"):
        own = mailer is None and not dry_run
        mailer = Mailer(config) if own else mailer
        try:
            upto = min(matcher.indexed_through(), store.last_event_id())
            return deliver(store, config, matcher, mailer, upto, now=now, dry_run=dry_run)
        finally:
            if own:
                mailer.close()
