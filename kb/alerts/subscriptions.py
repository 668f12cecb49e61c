"""Subscriptions: saved searches and followed documents that send e-mail alerts, and subscriptions to
the weekly "Văn bản mới" digest — making, reading, confirming and ending them (the rows themselves are
kb.alerts.records'; the links' tokens kb.alerts.tokens'; the links kb.alerts.links').

A subscription is created *pending*; nothing but one confirmation e-mail is sent to its address until
the confirmation link is opened. Every alert and digest carries a one-click unsubscribe link. Per
subscription the store keeps a cursor (the last change event dealt with) and, for followed dates and
the digest, `sent_through` (the last day or ISO week reported): what was sent is never sent again.

This module knows nothing of the search index: the query of a search subscription is checked (and
match-all queries refused) by `subscribe_search`, with the index's query reader handed in.

    sub = follow_document(store, config, "ban.vhxh@laichau.gov.vn", "vbpl:187649", label="Học phí")
    Links(config).confirm(sub)           # -> https://…/theo-doi/xac-nhan/<token>
    confirm(store, config, token)        # the link was opened
    unsubscribe(store, config, token)    # the one-click link (POST) was used
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

from kb import vocab
from kb.alerts import records
from kb.alerts.errors import SubscriptionError, TokenError
from kb.alerts.links import FACET_PARAMS, search_args
from kb.alerts.tokens import read_token
from kb.config import Config
from kb.dates import VN_TZ, previous_week
from kb.errors import RecordError
from kb.model import parse_date
from kb.store import Store
from kb.text import fold, nfc

SEARCH, DOCUMENT, DIGEST = "search", "document", "digest"
REVIEW = "review"  # the province's documents to review (kb/alerts/review.py)
KINDS = (SEARCH, DOCUMENT, DIGEST, REVIEW)
IMMEDIATE, DAILY, WEEKLY = "immediate", "daily", "weekly"
FREQUENCIES = (IMMEDIATE, DAILY, WEEKLY)
DEFAULT_FREQUENCY = DAILY
FREQUENCY_LABELS = {IMMEDIATE: "ngay khi có thay đổi", DAILY: "hằng ngày", WEEKLY: "hằng tuần"}
PENDING, ACTIVE, ENDED = "pending", "active", "ended"
STATUS_LABELS = {PENDING: "Chờ xác nhận", ACTIVE: "Đang theo dõi", ENDED: "Đã hủy"}

FACET_LABELS = vocab.FACET_LABELS  # the search URL's facets (kb.vocab.FACETS)

MAX_LABEL = 200
MAX_QUERY = 1000
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?=.{4,253}$)"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


@dataclass
class Subscription:
    id: int
    email: str
    kind: str  # search | document | digest
    query: str = ""  # search: the query text (with its ngay: range)
    filters: dict[str, list[str]] = field(default_factory=dict)  # search: facet -> values
    uid: str | None = None  # document: the followed document
    title: str = ""  # document: its name when followed (kept if it is deleted)
    label: str = ""  # why the person follows this
    frequency: str = DEFAULT_FREQUENCY
    created_at: str = ""
    confirmed_at: str | None = None
    confirm_sent_at: str | None = None
    ended_at: str | None = None
    ended_by: str | None = None  # unsubscribe | admin | expired
    last_event_id: int = 0  # change events up to this id have been dealt with
    sent_through: str | None = None  # dates (YYYY-MM-DD) or digest weeks (YYYY-Www) reported up to this
    last_run_at: str | None = None
    last_sent_at: str | None = None
    error: str | None = None  # the last problem met when matching (a query that no longer parses)

    @property
    def status(self) -> str:
        return ENDED if self.ended_at else ACTIVE if self.confirmed_at else PENDING

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def describe(self) -> str:
        """What is followed, in Vietnamese: 'tìm kiếm “học phí” (Loại văn bản: Nghị quyết)'."""
        if self.kind == DOCUMENT:
            return f"văn bản {self.title or self.uid}"
        if self.kind == DIGEST:
            return "bản tin “Văn bản mới” hằng tuần"
        if self.kind == REVIEW:
            ban = (self.filters.get("ban") or [""])[0]
            return "văn bản của tỉnh cần rà soát" + (f" ({ban})" if ban else "")
        parts = [f"{FACET_LABELS.get(k, k)}: {', '.join(v)}" for k, v in self.filters.items() if v]
        text = f"tìm kiếm “{self.query}”" if self.query.strip() else "tìm kiếm"
        return text + (f" ({'; '.join(parts)})" if parts else "")

    @property
    def name(self) -> str:
        """The label, else what is followed: the heading of its part of a message."""
        return self.label or self.describe()[0].upper() + self.describe()[1:]

    def search_args(self) -> list[tuple[str, str]]:
        return search_args(self.query, self.filters)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(status=self.status, description=self.describe())
        return data


@dataclass
class Subscribed:
    """The outcome of a subscription request: the subscription, and whether it was made now
    (False: the same one existed and is returned)."""

    subscription: Subscription
    created: bool


# --- addresses, queries, URLs ----------------------------------------------------------------
def normalise_email(address: str) -> str:
    """The address, trimmed and lower-cased; SubscriptionError when it is not a valid address."""
    text = nfc(address or "").strip().strip("<>").strip()
    if not _EMAIL.match(text) or ".." in text:
        shown = text[:80] or "(trống)"
        raise SubscriptionError(f"Địa chỉ e-mail “{shown}” không hợp lệ.")
    return text.lower()


def clean_filters(filters: dict | None) -> dict[str, list[str]]:
    """Facet filters as {facet: [values]}, in the order of FACET_PARAMS, without empty values."""
    out: dict[str, list[str]] = {}
    for name, values in (filters or {}).items():
        if name not in FACET_PARAMS:
            raise SubscriptionError(f"Không có bộ lọc “{name}”. Các bộ lọc: {', '.join(FACET_PARAMS)}.")
        if isinstance(values, str):
            values = [values]
        kept = []
        for value in values:
            value = " ".join(nfc(str(value)).split())
            if value and name == "status":
                canonical = value if value in vocab.STATUSES else vocab.status(value)
                if canonical == vocab.UNKNOWN and fold(value).lower() != fold(vocab.UNKNOWN).lower():
                    raise SubscriptionError(
                        f"Không có tình trạng hiệu lực “{value}”. Dùng một trong: " + ", ".join(vocab.STATUSES) + "."
                    )
                value = canonical
            if value and value not in kept:
                kept.append(value)
        if kept:
            out[name] = kept
    return {k: out[k] for k in FACET_PARAMS if k in out}


def search_from_url(url: str) -> tuple[str, dict[str, list[str]]]:
    """The query and the facet filters of a search URL (or its query string), as the web UI writes
    them: q, loai, coquan, hieuluc, nam, linhvuc, phamvi, tu, den (the range becomes `ngay:` in q)."""
    query_string = urlsplit(url).query if "?" in url or "://" in url else url.lstrip("?")
    params = {param: facet for facet, param in FACET_PARAMS.items()}
    q, filters, start, end = "", {}, "", ""
    for name, value in parse_qsl(query_string, keep_blank_values=False):
        if name == "q":
            q = value
        elif name in params:
            filters.setdefault(params[name], []).append(value)
        elif name in ("tu", "den"):
            try:
                day = parse_date(value, name)
            except RecordError:
                raise SubscriptionError(f"Ngày “{value}” trong địa chỉ tìm kiếm không hợp lệ.") from None
            start, end = (day, end) if name == "tu" else (start, day)
    if start or end:
        q = f"{q} ngay:{start}..{end}".strip()
    return q, clean_filters(filters)


# --- reading and writing subscriptions ---------------------------------------------------------
def _subscription(row: dict) -> Subscription:
    return Subscription(**row)


def get(store: Store, sub_id: int) -> Subscription | None:
    row = records.subscription(store, sub_id)
    return _subscription(row) if row else None


def list_subscriptions(
    store: Store, email: str | None = None, include_ended: bool = False, kind: str | None = None
) -> list[Subscription]:
    """Subscriptions, oldest first: of one address (normalised here) or of everyone."""
    email = normalise_email(email) if email is not None else None
    return [_subscription(r) for r in records.subscriptions(store, email, include_ended, kind)]


def add(
    store: Store,
    config: Config,
    email: str,
    kind: str,
    *,
    query: str = "",
    filters: dict | None = None,
    uid: str | None = None,
    label: str = "",
    frequency: str | None = None,
    confirmed: bool = False,
    now: dt.datetime | None = None,
) -> Subscribed:
    """Record a subscription (pending unless `confirmed`). The same active subscription of the same
    address is returned rather than repeated. Raises SubscriptionError with a message for users.

    The query of a search subscription is not parsed here: use subscribe_search."""
    email = normalise_email(email)
    if kind not in KINDS:
        raise SubscriptionError(f"Loại theo dõi “{kind}” không có; dùng một trong: {', '.join(KINDS)}.")
    frequency = frequency or (WEEKLY if kind == DIGEST else DEFAULT_FREQUENCY)
    if frequency not in FREQUENCIES:
        raise SubscriptionError(
            f"Tần suất “{frequency}” không có; dùng một trong: {', '.join(FREQUENCIES)} "
            "(ngay khi có thay đổi, hằng ngày, hằng tuần)."
        )
    if kind == DIGEST and frequency != WEEKLY:
        raise SubscriptionError("Bản tin “Văn bản mới” chỉ gửi hằng tuần.")
    label = " ".join(nfc(label or "").split())
    if len(label) > MAX_LABEL:
        raise SubscriptionError(f"Ghi chú dài quá {MAX_LABEL} ký tự.")
    query = " ".join(nfc(query or "").split())
    filters = clean_filters(filters) if kind == SEARCH else {}
    title = ""
    if kind == SEARCH:
        if len(query) > MAX_QUERY:
            raise SubscriptionError(f"Câu tìm kiếm dài quá {MAX_QUERY} ký tự.")
        if not query and not filters:
            raise SubscriptionError(MATCH_ALL_MESSAGE)
        uid = None
    elif kind == DOCUMENT:
        doc = store.get(uid or "") if uid else None
        if doc is None:
            raise SubscriptionError(f"Không có văn bản “{uid or ''}” trong cơ sở dữ liệu.")
        uid, title, query = doc.uid, doc.display_name()[:300], ""
    else:
        uid, query = None, ""
    moment = now or dt.datetime.now(dt.UTC)
    at = _iso(moment)
    with store.transaction():
        for existing in list_subscriptions(store, email, kind=kind):
            if (existing.query, existing.filters, existing.uid) == (query, filters, uid):
                return Subscribed(_refresh_request(store, config, existing, frequency, label, confirmed, moment), False)
        limit = int(config.get("alerts", "max_per_address"))
        count = records.count_open(store, email)
        if count >= limit:
            raise SubscriptionError(
                f"Địa chỉ {email} đã có {count} mục theo dõi, tối đa là {limit}. "
                "Hãy hủy bớt những mục không còn cần (liên kết “Quản lý theo dõi” trong thư) rồi đăng ký lại."
            )
        local_today = moment.astimezone(VN_TZ).date()
        sent_through = previous_week(local_today) if kind == DIGEST else local_today.isoformat()
        sub_id = records.insert_subscription(
            store,
            email=email,
            kind=kind,
            query=query,
            filters=filters,
            uid=uid,
            title=title,
            label=label,
            frequency=frequency,
            created_at=at,
            confirmed_at=at if confirmed else None,
            last_event_id=store.last_event_id(),
            sent_through=sent_through,
        )
        return Subscribed(get(store, sub_id), True)


class QueryReader(Protocol):
    def __call__(self, query: str, filters: dict[str, list[str]] | None = None) -> tuple[bool, dict[str, list[str]]]:
        """(whether the query bounds the documents, the filters written in its text); a KBError when the
        query cannot be understood. The search index provides it (index.matching.read_query)."""


def check_search(query: str, filters: dict | None, read_query: QueryReader) -> dict[str, list[str]]:
    """The cleaned filters of a search that may become an alert. Raises a KBError with a message for
    users when the query cannot be understood, or when it (with the filters) would match every document."""
    bounded, in_query = read_query(query or "", filters)
    filters = clean_filters(filters)
    clean_filters({"status": in_query.get("status", [])})  # hieuluc: in the query text
    if not bounded and not filters:  # exclusions alone: nearly all
        raise SubscriptionError(MATCH_ALL_MESSAGE)
    return filters


def subscribe_search(
    store: Store,
    config: Config,
    email: str,
    query: str,
    filters: dict | None = None,
    *,
    read_query: QueryReader,
    label: str = "",
    frequency: str | None = None,
    confirmed: bool = False,
    now: dt.datetime | None = None,
) -> Subscribed:
    """Turn a search (its query text, with any `ngay:` range, and its facet filters) into an alert."""
    email = normalise_email(email)
    check_search(query, filters, read_query)
    return add(
        store,
        config,
        email,
        SEARCH,
        query=query,
        filters=filters,
        label=label,
        frequency=frequency,
        confirmed=confirmed,
        now=now,
    )


MATCH_ALL_MESSAGE = (
    "Không thể theo dõi một tìm kiếm không có điều kiện (mọi văn bản). "
    "Hãy nhập từ khóa hoặc chọn ít nhất một bộ lọc (loại văn bản, cơ quan, lĩnh vực…)."
)


def _refresh_request(
    store: Store,
    config: Config,
    sub: Subscription,
    frequency: str,
    label: str,
    confirmed: bool,
    moment: dt.datetime,
) -> Subscription:
    """A repeated request: take its frequency and label; ask again for a pending confirmation asked
    longer than alerts.confirm_resend_hours ago."""
    changes: dict = {"frequency": frequency}
    if label:
        changes["label"] = label
    if confirmed and not sub.confirmed_at:
        changes["confirmed_at"] = _iso(moment)
    elif (
        not sub.confirmed_at
        and sub.confirm_sent_at
        and moment - _parse_time(sub.confirm_sent_at) > resend_after(config)
    ):
        changes["confirm_sent_at"] = None
    _update(store, sub.id, **changes)
    return get(store, sub.id)


def follow_document(
    store: Store,
    config: Config,
    email: str,
    uid: str,
    label: str = "",
    frequency: str | None = None,
    confirmed: bool = False,
    now: dt.datetime | None = None,
) -> Subscribed:
    """Follow one document: its status, text and relations (amended, replaced, repealed by …), and the
    day it comes into force or expires."""
    return add(store, config, email, DOCUMENT, uid=uid, label=label, frequency=frequency, confirmed=confirmed, now=now)


def subscribe_digest(
    store: Store, config: Config, email: str, label: str = "", confirmed: bool = False, now: dt.datetime | None = None
) -> Subscribed:
    """Receive the weekly "Văn bản mới" digest (sent by `kb digest`)."""
    return add(store, config, email, DIGEST, label=label, frequency=WEEKLY, confirmed=confirmed, now=now)


def _update(store: Store, sub_id: int, **changes) -> None:
    records.update_subscription(store, sub_id, **changes)


def update(store: Store, sub_id: int, **changes) -> None:
    """Set columns of one subscription (in a transaction of its own unless one is open)."""
    with store.transaction():
        records.update_subscription(store, sub_id, **changes)


def remove(store: Store, sub_id: int, by: str = "admin", now: dt.datetime | None = None) -> Subscription:
    """End a subscription (it is kept, ended, for the record). Ending an ended one changes nothing."""
    with store.transaction():
        sub = get(store, sub_id)
        if sub is None:
            raise SubscriptionError(f"Không có mục theo dõi số {sub_id}.")
        if not sub.ended_at:
            _update(store, sub.id, ended_at=_iso(now or dt.datetime.now(dt.UTC)), ended_by=by)
        return get(store, sub.id)


def confirm(store: Store, config: Config, token: str, now: dt.datetime | None = None) -> Subscription:
    """Confirm the subscription of a confirmation link. Confirming twice is fine (returns it)."""
    moment = now or dt.datetime.now(dt.UTC)
    payload = read_token(config, token, "confirm", moment)
    with store.transaction():
        sub = get(store, payload["s"])
        if sub is None or sub.email != payload["e"]:
            raise TokenError("Liên kết không còn ứng với mục theo dõi nào.")
        if sub.ended_at:
            raise SubscriptionError("Mục theo dõi này đã bị hủy. Hãy đăng ký lại nếu vẫn muốn nhận thông báo.")
        if not sub.confirmed_at:
            _update(store, sub.id, confirmed_at=_iso(moment), error=None)
        return get(store, sub.id)


def unsubscribe(store: Store, config: Config, token: str, now: dt.datetime | None = None) -> list[Subscription]:
    """End what an unsubscribe link names: one subscription, or every subscription of the address.
    Returns the subscriptions ended now (empty when they already were)."""
    payload = read_token(config, token, "unsubscribe", now)
    moment = _iso(now or dt.datetime.now(dt.UTC))
    with store.transaction():
        if payload["s"]:
            sub = get(store, payload["s"])
            if sub is None or sub.email != payload["e"]:
                raise TokenError("Liên kết không còn ứng với mục theo dõi nào.")
            targets = [sub] if not sub.ended_at else []
        else:
            targets = list_subscriptions(store, payload["e"])
        for sub in targets:
            _update(store, sub.id, ended_at=moment, ended_by="unsubscribe")
        return [get(store, sub.id) for sub in targets]


def token_subscriptions(store: Store, config: Config, token: str) -> tuple[str, list[Subscription]]:
    """The address of a "manage" link and its subscriptions (pending and active): the list page."""
    payload = read_token(config, token, "manage")
    return payload["e"], list_subscriptions(store, payload["e"])


def unsubscribe_preview(store: Store, config: Config, token: str) -> tuple[str, list[Subscription]]:
    """What an unsubscribe link would end, without ending it (the page shown on GET)."""
    payload = read_token(config, token, "unsubscribe")
    if payload["s"]:
        sub = get(store, payload["s"])
        if sub is None or sub.email != payload["e"]:
            raise TokenError("Liên kết không còn ứng với mục theo dõi nào.")
        return sub.email, [sub]
    return payload["e"], list_subscriptions(store, payload["e"])


def resend_after(config: Config) -> dt.timedelta:
    """How long an address waits before a confirmation e-mail is sent to it again (alerts.confirm_resend_hours)."""
    return dt.timedelta(hours=float(config.get("alerts", "confirm_resend_hours")))


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _parse_time(text: str | None) -> dt.datetime:
    if not text:
        return dt.datetime.fromtimestamp(0, dt.UTC)
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


__all__ = [
    "Subscription",
    "Subscribed",
    "SubscriptionError",
    "TokenError",
    "add",
    "subscribe_search",
    "follow_document",
    "subscribe_digest",
    "get",
    "list_subscriptions",
    "update",
    "remove",
    "confirm",
    "unsubscribe",
    "token_subscriptions",
    "unsubscribe_preview",
    "search_from_url",
]
