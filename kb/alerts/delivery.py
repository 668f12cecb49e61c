"""Alert delivery: what changed for each subscription since its last delivery, one message per
recipient, and the record of what was sent.

`deliver(store, config, matcher, mailer, upto)` is one run of `kb alerts run` (run_alerts
wires it to the search index and holds the lock):

1. pending subscriptions past alerts.confirm_days lapse; an address with pending subscriptions not
   yet asked gets one confirmation message listing all its pending ones (at most one per
   alerts.confirm_resend_hours);
2. every active, due subscription takes the change events after its cursor (up to `upto`, the last
   event the search index reflects) and, for the dates, the days after `sent_through`: a search
   subscription keeps the documents its query matches (the `matcher`, a reverse search restricted to
   the changed documents), a followed document keeps its own;
3. the hits of all subscriptions of one address make one message (templates/alert_*), which is sent, and only then
   recorded (cursors moved, sent items written) in one transaction. A crash after sending and before
   recording sends that one message again at the next run; nothing is ever skipped.

The matcher is any object with `match(subscription, uids) -> [uid, …]` that raises a KBError (such as
index.errors.QueryError) when the subscription's query cannot be run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from kb import vocab
from kb.alerts import records
from kb.alerts import subscriptions as subs_mod
from kb.alerts.changes import DocumentUpdate, describe
from kb.alerts.links import Links
from kb.alerts.mail import Mailer, MailError
from kb.alerts.render import render_message
from kb.alerts.subscriptions import (
    DOCUMENT,
    FREQUENCY_LABELS,
    IMMEDIATE,
    PENDING,
    SEARCH,
    WEEKLY,
    Subscription,
    list_subscriptions,
)
from kb.config import Config
from kb.dates import VN_TZ
from kb.errors import KBError
from kb.legal.validity import validity
from kb.locks import instance_lock
from kb.store import DELETED, Event, Store


class Matcher(Protocol):
    """The search index as alerts see it (index.matching.SearchMatcher)."""

    def match(self, subscription: Subscription, uids: set[str]) -> list[str]:
        """The uids among `uids` that the subscription's search finds, best first."""

    def indexed_through(self) -> int:
        """The last change event the index reflects."""


@dataclass
class Section:
    """The updates of one subscription in one message (`hits`: the documents it found)."""

    subscription: Subscription
    hits: list[DocumentUpdate]
    more: int = 0  # hits not listed (beyond alerts.max_hits)

    @property
    def total(self) -> int:
        return len(self.hits) + self.more

    @property
    def about(self) -> list[str]:
        """What the heading of its part says under the name: what is followed (when labelled), how often."""
        sub = self.subscription
        return ([sub.describe()] if sub.label else []) + [f"gửi {FREQUENCY_LABELS[sub.frequency]}"]


# --- schedule -------------------------------------------------------------------------------
def due(sub: Subscription, config: Config, now: dt.datetime) -> bool:
    """Whether an active alert is to be matched now: immediate ones at every run; daily ones once a
    day after alerts.send_hour (local time); weekly ones once a week, on alerts.weekly_day."""
    if not sub.active:
        return False
    if sub.frequency == IMMEDIATE:
        return True
    local = now.astimezone(VN_TZ)
    hour = int(config.get("alerts", "send_hour"))
    slot = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if slot > local:
        slot -= dt.timedelta(days=1)
    if sub.frequency == WEEKLY:
        weekday = int(config.get("alerts", "weekly_day"))
        slot -= dt.timedelta(days=(slot.isoweekday() - weekday) % 7)
    last = _parse_time(sub.last_run_at or sub.created_at)
    return last < slot


# --- matching ---------------------------------------------------------------------------------
def _date_candidates(store: Store, after: str, through: str) -> dict[str, list[tuple[str, str]]]:
    """{uid: [("in_force"|"expires", day)]} for documents coming into force or expiring in (after, through]."""
    found: dict[str, list[tuple[str, str]]] = {}
    for kind, column in (("in_force", "effective"), ("expires", "expires")):
        for row in store.dated(column, after, through):
            if row.day == after or (kind == "in_force" and _ended_on(store, row.uid, row.day)):
                continue
            found.setdefault(row.uid, []).append((kind, row.day))
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
def alert_message(config: Config, email: str, sections: list[Section], now: dt.datetime | None = None) -> EmailMessage:
    """One message for one address with the updates of each of its subscriptions (templates/alert_*)."""
    context = {"sections": sections, "total": sum(s.total for s in sections), "links": Links(config)}
    return render_message(config, email, "alert", context, unsubscribe=Links(config).unsubscribe_all(email), now=now)


def confirmation_message(
    config: Config, email: str, pending: list[Subscription], now: dt.datetime | None = None
) -> EmailMessage:
    """The one message an unconfirmed address receives: a confirmation link per pending subscription
    (templates/confirmation_*)."""
    links = Links(config)
    context = {
        "pending": pending,
        "links": links,
        "frequency_labels": FREQUENCY_LABELS,
        "confirm_days": int(config.get("alerts", "confirm_days")),
    }
    return render_message(config, email, "confirmation", context, unsubscribe=links.unsubscribe_all(email), now=now)


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


def _parse_time(text: str | None) -> dt.datetime:
    if not text:
        return dt.datetime.fromtimestamp(0, dt.UTC)
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def lapse_pending(store: Store, config: Config, now: dt.datetime | None = None) -> int:
    """End subscriptions left unconfirmed longer than alerts.confirm_days. Returns how many."""
    moment = _now(now)
    limit = _iso(moment - dt.timedelta(days=int(config.get("alerts", "confirm_days"))))
    with store.transaction():
        return records.lapse_unconfirmed(store, limit, _iso(moment))


def send_confirmations(
    store: Store,
    config: Config,
    mailer: Mailer | None,
    email: str | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> RunReport:
    """Send the confirmation message of every address (or only of `email`) that has a pending
    subscription not yet asked: one message per address, listing every pending subscription of that
    address with its own link. An address asked less than alerts.confirm_resend_hours ago waits: its
    new subscriptions are in the next message, sent once that time has passed."""
    moment = _now(now)
    report = RunReport(dry_run)
    wait = subs_mod.resend_after(config)
    pending: dict[str, list[Subscription]] = {}
    for sub in list_subscriptions(store, email):
        if sub.status == PENDING:
            pending.setdefault(sub.email, []).append(sub)
    for address, subs in sorted(pending.items()):
        asked = [_parse_time(s.confirm_sent_at) for s in subs if s.confirm_sent_at]
        if len(asked) == len(subs) or (asked and moment - max(asked) < wait):
            continue  # everything asked already, or asked a moment ago: one message per address
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
                records.update_subscription(store, sub.id, confirm_sent_at=_iso(moment))
        report.confirmations.append(sent)
    return report


def _delivery(store: Store, email: str, kind: str, msg: EmailMessage, moment: dt.datetime) -> int:
    return records.insert_delivery(store, email, kind, str(msg["Message-ID"]), str(msg["Subject"]), _iso(moment))


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
                    records.insert_sent(
                        store,
                        delivery,
                        section.subscription.id,
                        hit.uid,
                        max(hit.event_ids) if hit.event_ids else None,
                        ",".join([hit.what] + hit.dates),
                    )
        with_hits = {s.subscription.id for s in sections}
        for sub in subs:
            records.advance(
                store,
                sub.id,
                max(sub.last_event_id, upto),
                max(sub.sent_through or today, today),
                sent_at,
                sub.id in with_hits,
            )


def sent_items(store: Store, sub_id: int) -> list[dict]:
    """What was sent for one subscription: [{uid, event_id, what, sent_at, message_id}], oldest first."""
    return records.sent_items(store, sub_id)


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
