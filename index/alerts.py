"""Alerts that need the search index: checking the query of a search subscription (a malformed query
or a match-all query is refused with a message in Vietnamese), the reverse search that matches a
subscription against the documents that changed, and one full run of the alerts.

    subscribe_search(store, config, "ban.ktns@laichau.gov.vn", "học phí", {"scope": ["Địa phương"]})
    run_alerts(store, config)      # what `kb alerts run` does (after updating the index)
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from index import build
from index.errors import QueryError
from index.query import parse
from index.search import FACETS, WEIGHTS, SearchService
from kb import alerts as kb_alerts
from kb import subscriptions as subs
from kb.config import Config
from kb.mail import Mailer
from kb.store import Store
from kb.subscriptions import MATCH_ALL_MESSAGE, SEARCH, Subscribed, Subscription, SubscriptionError


def check_query(query: str, filters: dict[str, list[str]] | None = None) -> None:
    """Raise QueryError when the query cannot be understood, SubscriptionError when it (with the
    filters) would match every document."""
    parsed = parse(query or "")
    filters = subs.clean_filters(filters)
    for name, values in filters.items():
        if name not in FACETS:
            raise QueryError(f"Không có bộ lọc “{name}”.")
        if name == "year" and not all(v.isdigit() for v in values):
            raise QueryError("Năm phải là số, ví dụ 2025.")
    for value in parsed.filters.get("status", []):            # hieuluc: in the query text
        subs.clean_filters({"status": [value]})
    bounded = any(low or high for low, high in parsed.ranges.values())
    if parsed.is_empty and not parsed.filters and not bounded and not filters:   # exclusions alone: nearly all
        raise SubscriptionError(MATCH_ALL_MESSAGE)


def subscribe_search(store: Store, config: Config, email: str, query: str, filters: dict | None = None,
                     label: str = "", frequency: str | None = None, confirmed: bool = False,
                     now: dt.datetime | None = None) -> Subscribed:
    """Turn a search (its query text, with any `ngay:` range, and its facet filters) into an alert.

    Raises QueryError or SubscriptionError (both KBError) with a message for users."""
    email = subs.normalise_email(email)
    check_query(query, filters)
    return subs.add(store, config, email, SEARCH, query=query, filters=filters, label=label,
                    frequency=frequency, confirmed=confirmed, now=now)


class SearchMatcher:
    """The reverse search: a subscription's query run over only the documents that changed."""

    PAGE = 100

    def __init__(self, index_dir: str | Path):
        self.index_dir = Path(index_dir)
        # every word must match, even in a long or question-like query (the web search then settles
        # for a share of the words and ranks): an alert that fires on "some of the words" is noise
        self.service = SearchService(self.index_dir, check_interval=0, weights=replace(WEIGHTS, min_share=1.0))

    def match(self, subscription: Subscription, uids: set[str]) -> list[str]:
        found: list[str] = []
        page = 1
        while True:
            result = self.service.search(subscription.query, filters=subscription.filters or None,
                                         unit="document", page=page, per_page=self.PAGE, facets=False,
                                         snippets=False, uids=set(uids))
            if result.fallback:     # nothing matched every word; "any word" is no match for an alert
                return []
            found += [hit.uid for hit in result.hits if hit.uid not in found]
            if page >= result.pages:
                return found
            page += 1

    def indexed_through(self) -> int:
        """The last change event the index reflects."""
        meta = build.read_meta(self.index_dir)
        return meta.event_id if meta else 0

    def close(self) -> None:
        self.service.close()


def run_alerts(store: Store, config: Config, mailer: Mailer | None = None, now: dt.datetime | None = None,
               dry_run: bool = False) -> kb_alerts.RunReport:
    """One run of the alerts, under the instance's alerts lock (AlreadyRunning when it is held).

    Matches the events the index already reflects; the caller brings the index up to date first."""
    with subs.instance_lock(config, "alerts", "kb alerts run"):
        matcher = SearchMatcher(config.index_dir)
        own = mailer is None and not dry_run
        mailer = Mailer(config) if own else mailer
        try:
            upto = min(matcher.indexed_through(), store.last_event_id())
            return kb_alerts.deliver(store, config, matcher, mailer, upto, now=now, dry_run=dry_run)
        finally:
            matcher.close()
            if own:
                mailer.close()
