"""Following the rà soát list (docs/REVIEW.md): the subscription kind "văn bản của tỉnh cần rà soát"
(optionally for one Ban of the HĐND), its delivery, and the weekly digest's section "Văn bản của tỉnh cần
rà soát do thay đổi trong tuần".

Both read `review_log` (kb/legal/review.py): an incremental update of the derived list appends a document
there when a newly recorded change gives it a reason it did not have. A review subscription keeps its
cursor on that log in `alert_subscriptions.last_event_id` (the other kinds keep the change-event id there),
so what was sent is never sent again; each run sends at most one message per address, with the one-click
unsubscribe link of the other alerts. Messages are rendered from paired templates (text and HTML, the HTML
autoescaped).

    sub = subscribe_review(store, config, "ban.vhxh@laichau.gov.vn", ban="Ban Văn hóa – Xã hội")
    report = deliver_review(store, config, mailer)       # after `kb alerts run` has done the others
    section = digest_section(store, config, "2026-W02")  # for the digest page and e-mail
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

from jinja2 import Environment

from kb.alerts import subscriptions as subs_mod
from kb.alerts.delivery import due
from kb.alerts.links import Links
from kb.alerts.mail import Mailer, MailError, build_message
from kb.alerts.subscriptions import (
    FREQUENCIES,
    IMMEDIATE,
    REVIEW,
    Subscribed,
    Subscription,
    SubscriptionError,
    list_subscriptions,
    normalise_email,
)
from kb.config import Config
from kb.dates import VN_TZ, vn_date
from kb.legal.review import UNASSIGNED, LogItem, Settings, is_own, last_log_id, latest_marks, log_items
from kb.store import Store

REVIEW_PATH = "/ra-soat"
ENTRY_PATH = "/ra-soat/van-ban/{uid}"
DIGEST_TITLE = "Văn bản của tỉnh cần rà soát do thay đổi trong tuần"


# --- subscribing ----------------------------------------------------------------------------------


def subscribe_review(
    store: Store,
    config: Config,
    email: str,
    ban: str | None = None,
    frequency: str | None = None,
    label: str = "",
    confirmed: bool = False,
    now: dt.datetime | None = None,
) -> Subscribed:
    """A subscription to the review list of the province (of one Ban when `ban` is given); pending unless
    `confirmed`. Its cursor starts at the current end of the review log: only later changes are sent."""
    email = normalise_email(email)
    settings = Settings.from_config(config)
    ban = " ".join((ban or "").split())
    if ban and ban != UNASSIGNED and ban not in settings.bans:
        raise SubscriptionError(f"Không có Ban “{ban}”; các Ban: {', '.join(settings.bans)}.")
    frequency = frequency or IMMEDIATE  # at the next run of `kb alerts run` after the change
    if frequency not in FREQUENCIES:
        raise SubscriptionError(f"Tần suất “{frequency}” không có; dùng một trong: {', '.join(FREQUENCIES)}.")
    filters = {"ban": [ban]} if ban else {}
    label = " ".join((label or "").split())[: subs_mod.MAX_LABEL]
    moment = now or dt.datetime.now(dt.UTC)
    at = moment.astimezone(dt.UTC).isoformat(timespec="seconds")
    cursor = last_log_id(store)
    with store.transaction():
        for existing in list_subscriptions(store, email, kind=REVIEW):
            if existing.filters == filters and not existing.ended_at:
                return Subscribed(existing, False)
        limit = int(config.get("alerts", "max_per_address"))
        count = store.db.execute(
            "SELECT count(*) FROM alert_subscriptions WHERE email=? AND ended_at IS NULL", (email,)
        ).fetchone()[0]
        if count >= limit:
            raise SubscriptionError(f"Địa chỉ {email} đã có {count} mục theo dõi, tối đa là {limit}.")
        cur = store.db.execute(
            "INSERT INTO alert_subscriptions(email, kind, query, filters, uid, title, label, frequency, created_at,"
            " confirmed_at, last_event_id, sent_through) VALUES (?, ?, '', ?, NULL, '', ?, ?, ?, ?, ?, ?)",
            (
                email,
                REVIEW,
                json.dumps(filters, ensure_ascii=False),
                label,
                frequency,
                at,
                at if confirmed else None,
                cursor,
                moment.astimezone(VN_TZ).date().isoformat(),
            ),
        )
        return Subscribed(subs_mod.get(store, cur.lastrowid), True)


def review_ban(sub: Subscription) -> str:
    return (sub.filters.get("ban") or [""])[0]


# --- what is new for a subscription -------------------------------------------------------------------


@dataclass
class ReviewSection:
    subscription: Subscription
    items: list[LogItem] = field(default_factory=list)
    upto: int = 0  # the log id the cursor moves to


def pending_items(store: Store, config: Config, sub: Subscription, upto: int) -> list[LogItem]:
    """The log items after the subscription's cursor (up to `upto`) for its province and Ban, the latest per
    document, leaving out documents whose latest mark covers their reasons."""
    settings = Settings.from_config(config)
    ban = review_ban(sub)
    marks = latest_marks(store)
    latest: dict[str, LogItem] = {}
    for item in log_items(store, after_id=sub.last_event_id):
        if item.id > upto:
            break
        e = item.entry
        if not is_own(e.doc_type, e.number, e.issuer, e.province, settings.places):
            continue
        if ban:
            bans = settings.bans_of(e)
            if (ban == UNASSIGNED and bans) or (ban != UNASSIGNED and ban not in bans):
                continue
        mark = marks.get(e.uid)
        if mark is not None and mark.covers(e.keys):
            continue
        latest[e.uid] = item
    return sorted(latest.values(), key=lambda i: i.id)


# --- messages ---------------------------------------------------------------------------------------

_ENV = Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
_HTML_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

_TEXT = _ENV.from_string(
    """{{ subject }}

{% for section in sections %}
============================================================
{{ section.title }}

{% for item in section.found %}
{% set e = item.entry %}
{{ loop.index }}. {{ e.label }}{% if e.issued %} (ban hành {{ vn_date(e.issued) }}){% endif %}

{% for r in item.new_reasons %}
   - {{ r.basis }}: {{ r.detail }}{% if r.cause == "replaced" and r.current %} Văn bản đang có hiệu lực: {{ r.current[-1].label }}.{% endif %}

{% endfor %}
   Kiến nghị: {{ suggestion(e) }}. Chi tiết: {{ entry_url(e.uid) }}

{% endfor %}
Toàn bộ danh sách: {{ section.list_url }}
Hủy theo dõi mục này: {{ section.stop }}

{% endfor %}
{{ signature }}
Bạn nhận thư này vì địa chỉ {{ email }} đã đăng ký theo dõi trên {{ site }}.
Quản lý các mục theo dõi: {{ manage }}
Hủy tất cả các mục theo dõi: {{ stop_all }}
"""
)
_HTML = _HTML_ENV.from_string(
    """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;color:#1a1a1a;max-width:680px;margin:0 auto;padding:12px;">
<h1 style="font-size:20px;margin:0 0 12px 0;">{{ subject }}</h1>
{% for section in sections %}
<h2 style="font-size:17px;margin:20px 0 4px 0;border-bottom:2px solid #0b4f8a;">{{ section.title }}</h2>
<ol style="padding-left:20px;">
{% for item in section.found %}{% set e = item.entry %}
<li style="margin:0 0 12px 0;"><a href="{{ entry_url(e.uid) }}" style="color:#0b4f8a;font-weight:bold;">{{ e.label }}</a>
{% if e.issued %}<span style="color:#666666;font-size:13px;"> · ban hành {{ vn_date(e.issued) }}</span>{% endif %}
<ul style="padding-left:18px;margin:4px 0;">
{% for r in item.new_reasons %}<li>{{ r.basis }}: {{ r.detail }}{% if r.cause == "replaced" and r.current %} Văn bản đang có hiệu lực: {{ r.current[-1].label }}.{% endif %}</li>
{% endfor %}
</ul><div style="font-size:14px;">Kiến nghị: <strong>{{ suggestion(e) }}</strong></div></li>
{% endfor %}
</ol>
<p style="font-size:14px;"><a href="{{ section.list_url }}" style="color:#0b4f8a;">Toàn bộ danh sách</a> ·
<a href="{{ section.stop }}" style="color:#0b4f8a;">Hủy theo dõi mục này</a></p>
{% endfor %}
<hr style="border:none;border-top:1px solid #dddddd;margin:24px 0 8px 0;">
<p style="color:#666666;font-size:13px;">Bạn nhận thư này vì địa chỉ {{ email }} đã đăng ký theo dõi trên {{ site }}.
<a href="{{ manage }}" style="color:#0b4f8a;">Quản lý các mục theo dõi</a> ·
<a href="{{ stop_all }}" style="color:#0b4f8a;">Hủy tất cả các mục theo dõi</a></p>
</body></html>
"""
)


def _suggestion(entry) -> str:
    from kb.legal.review import SUGGESTION_LABELS

    return SUGGESTION_LABELS.get(entry.suggestion or "", "").lower()


def section_title(sub: Subscription) -> str:
    ban = review_ban(sub)
    return sub.label or ("Văn bản của tỉnh cần rà soát" + (f" — {ban}" if ban else ""))


def review_message(config: Config, email: str, sections: list[ReviewSection], now: dt.datetime | None = None):
    count = len({i.entry.uid for s in sections for i in s.items})
    subject = f"Văn bản của tỉnh cần rà soát: {count} văn bản có căn cứ mới thay đổi"
    links = Links(config, now=now)
    context = {
        "subject": subject,
        "signature": "-- ",  # the standard signature separator, trailing space included
        "email": email,
        "site": str(config.get("site", "name")),
        "manage": links.manage(email),
        "stop_all": links.unsubscribe_all(email),
        "vn_date": vn_date,
        "suggestion": _suggestion,
        "entry_url": lambda uid: Links(config).page(ENTRY_PATH.format(uid=uid)),
        "sections": [
            {
                "title": section_title(s.subscription),
                "found": s.items,
                "list_url": links.page(
                    REVIEW_PATH
                    + (f"?{urlencode({'ban': review_ban(s.subscription)})}" if review_ban(s.subscription) else ""),
                ),
                "stop": links.unsubscribe(s.subscription),
            }
            for s in sections
        ],
    }
    return build_message(
        config, email, subject, _TEXT.render(context), _HTML.render(context), unsubscribe=context["stop_all"], now=now
    )


# --- delivery ---------------------------------------------------------------------------------------


@dataclass
class ReviewReport:
    sent: list[tuple[str, int]] = field(default_factory=list)  # (address, documents)
    errors: list[str] = field(default_factory=list)
    messages: list = field(default_factory=list)  # dry run: the messages


def deliver_review(
    store: Store, config: Config, mailer: Mailer | None, now: dt.datetime | None = None, dry_run: bool = False
) -> ReviewReport:
    """One run for the review subscriptions: one message per address with what is new for each of its
    subscriptions; cursors move only after the message was sent (a failed send is tried again next run)."""
    moment = now or dt.datetime.now(dt.UTC)
    report = ReviewReport()
    upto = last_log_id(store)
    active = [s for s in list_subscriptions(store) if s.kind == REVIEW and s.active and due(s, config, moment)]
    by_email: dict[str, list[Subscription]] = {}
    for sub in active:
        by_email.setdefault(sub.email, []).append(sub)
    at = moment.astimezone(dt.UTC).isoformat(timespec="seconds")
    for email, subs in sorted(by_email.items()):
        sections = [ReviewSection(s, pending_items(store, config, s, upto), upto) for s in subs]
        with_items = [s for s in sections if s.items]
        msg = review_message(config, email, with_items, moment) if with_items else None
        if msg is not None:
            if dry_run:
                report.messages.append(msg)
                continue
            try:
                mailer.send(msg)
            except MailError as exc:
                report.errors.append(f"{email}: {exc}")
                continue
            report.sent.append((email, len({i.entry.uid for s in with_items for i in s.items})))
        if dry_run:
            continue
        with store.transaction():
            if msg is not None:
                cur = store.db.execute(
                    "INSERT INTO alert_deliveries(email, kind, message_id, subject, sent_at) VALUES (?, ?, ?, ?, ?)",
                    (email, REVIEW, str(msg["Message-ID"]), str(msg["Subject"]), at),
                )
                for s in with_items:
                    for item in s.items:
                        store.db.execute(
                            "INSERT INTO alert_sent(delivery_id, subscription_id, uid, event_id, what)"
                            " VALUES (?, ?, ?, ?, ?)",
                            (cur.lastrowid, s.subscription.id, item.uid, item.id, "review"),
                        )
            for s in sections:
                store.db.execute(
                    "UPDATE alert_subscriptions SET last_event_id=?, last_run_at=?, error=NULL,"
                    " last_sent_at=CASE WHEN ? THEN ? ELSE last_sent_at END WHERE id=?",
                    (max(s.subscription.last_event_id, upto), at, bool(s.items), at, s.subscription.id),
                )
    return report


# --- the digest's section ---------------------------------------------------------------------------


@dataclass
class DigestSection:
    title: str
    items: list[LogItem]
    url: str


def digest_section(store: Store, config: Config, week: str) -> DigestSection:
    """The documents of the province put on the list by a change recorded in the ISO week `week`
    ("2026-W02"), the latest log item per document."""
    monday = dt.date.fromisocalendar(int(week[:4]), int(week[-2:]), 1)
    start = dt.datetime.combine(monday, dt.time(), VN_TZ).astimezone(dt.UTC)
    end = start + dt.timedelta(days=7)
    settings = Settings.from_config(config)
    latest: dict[str, LogItem] = {}
    for item in log_items(store, since=start.isoformat(timespec="seconds"), until=end.isoformat(timespec="seconds")):
        e = item.entry
        if is_own(e.doc_type, e.number, e.issuer, e.province, settings.places):
            latest[e.uid] = item
    return DigestSection(DIGEST_TITLE, sorted(latest.values(), key=lambda i: i.id), Links(config).page(REVIEW_PATH))


_SECTION_TEXT = _ENV.from_string(
    """
{{ heading|upper }}
{% if not found %}
Không có văn bản nào.
{% endif %}
{% for item in found %}{% set e = item.entry %}
• {{ e.label }}{% if e.issued %} (ban hành {{ vn_date(e.issued) }}){% endif %}

{% for r in item.new_reasons %}
  - {{ r.basis }}: {{ r.detail }}
{% endfor %}
  Kiến nghị: {{ suggestion(e) }}. {{ entry_url(e.uid) }}
{% endfor %}
"""
)
_SECTION_HTML = _HTML_ENV.from_string(
    """<section class="digest-section" id="can-ra-soat">
<h2 style="font-size:18px;margin:22px 0 6px 0;border-bottom:2px solid #0b4f8a;">{{ heading }}</h2>
{% if not found %}<p style="color:#666666;font-size:13px;">Không có văn bản nào.</p>{% endif %}
{% for item in found %}{% set e = item.entry %}
<div style="margin:8px 0 12px 0;"><a href="{{ entry_url(e.uid) }}" style="color:#0b4f8a;font-weight:bold;">{{ e.label }}</a>
{% if e.issued %}<span style="color:#666666;font-size:13px;"> · ban hành {{ vn_date(e.issued) }}</span>{% endif %}
<ul style="padding-left:18px;margin:4px 0;">{% for r in item.new_reasons %}<li>{{ r.basis }}: {{ r.detail }}</li>{% endfor %}</ul>
<div style="font-size:14px;">Kiến nghị: <strong>{{ suggestion(e) }}</strong></div></div>
{% endfor %}
</section>
"""
)


def _section_context(config: Config, items: list[LogItem], number: int | None) -> dict:
    return {
        "heading": (f"{number}. " if number else "") + DIGEST_TITLE,
        "found": items,
        "vn_date": vn_date,
        "suggestion": _suggestion,
        "entry_url": lambda uid: Links(config).page(ENTRY_PATH.format(uid=uid)),
    }


def digest_text(config: Config, items: list[LogItem], number: int | None = 6) -> str:
    """The digest's section as plain text (its heading numbered after the digest's own five)."""
    return _SECTION_TEXT.render(_section_context(config, items, number))


def digest_html(config: Config, items: list[LogItem], number: int | None = 6) -> str:
    """The digest's section as an HTML fragment (autoescaped)."""
    return _SECTION_HTML.render(_section_context(config, items, number))
