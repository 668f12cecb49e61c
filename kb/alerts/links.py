"""Every URL an e-mail (or the digest page) links to, built in one place from `site.url`: documents,
versions, searches, the digest of a week, and the signed confirm, unsubscribe and "manage" links.

    links = Links(config)                  # absolute URLs, from site.url (e-mails)
    links.document("vbpl:187649")          # -> https://…/van-ban/vbpl:187649
    links.unsubscribe(sub)                 # -> https://…/theo-doi/huy/<token>
    Links(config, base="").document(uid)   # -> /van-ban/… (a page of the site itself)

The paths are those of the web UI (docs/ALERTS.md, "For the web UI"); a test keeps them in step.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from kb import vocab
from kb.alerts.tokens import make_token
from kb.config import Config

if TYPE_CHECKING:
    from kb.alerts.subscriptions import Subscription

FACET_PARAMS = vocab.FACET_PARAMS  # the search URL's facet parameters (kb.vocab.FACETS)

SEARCH_PATH = "/tim-kiem"
DOCUMENT_PATH = "/van-ban/{uid}"
VERSION_PATH = "/van-ban/{uid}/phien-ban/{version}"
CONFIRM_PATH = "/theo-doi/xac-nhan/{token}"
UNSUBSCRIBE_PATH = "/theo-doi/huy/{token}"
MANAGE_PATH = "/theo-doi/cua-toi/{token}"
DIGEST_PATH = "/van-ban-moi/tuan/{week}"
_LINK_TOKEN = re.compile(r"(/theo-doi/(?:xac-nhan|huy|cua-toi)/)[^/?#\s\"'<>]+")


def site_url(config: Config) -> str:
    return str(config.get("site", "url")).rstrip("/")


def search_args(query: str, filters: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The query string of a search, as the web UI writes it: q, then the facets in a fixed order."""
    args = [("q", query)] if query else []
    for facet, param in FACET_PARAMS.items():
        args += [(param, v) for v in filters.get(facet, [])]
    return args


def link_expiry(config: Config, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the unsubscribe and "manage" links made now stop working: `alerts.link_days` days on, at the
    end of that day (UTC), so that every link made on one day is the same link. None: never (0 days).
    Every mail carries fresh links, so only the links of old mails lapse."""
    days = int(config.get("alerts", "link_days"))
    if days <= 0:
        return None
    day = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date() + dt.timedelta(days=days + 1)
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def confirm_expiry(config: Config, sub: Subscription) -> dt.datetime:
    """A confirmation link works `alerts.confirm_days` days after the subscription was made."""
    created = dt.datetime.fromisoformat(sub.created_at)
    created = created if created.tzinfo else created.replace(tzinfo=dt.UTC)
    return created + dt.timedelta(days=int(config.get("alerts", "confirm_days")))


def redact_links(text: str) -> str:
    """`text` (a path, a URL, a log line) with the token of every e-mail link replaced by "…", so that
    logs never hold a working link: "/theo-doi/huy/eyJh…" -> "/theo-doi/huy/…" (docs/SECURITY.md)."""
    return _LINK_TOKEN.sub(r"\1…", text or "")


class Links:
    """The URLs of one instance: absolute from `site.url`, or below `base` ("" for the site's own pages).
    `now` fixes the moment the unsubscribe and "manage" links are made (their expiry)."""

    def __init__(self, config: Config, base: str | None = None, now: dt.datetime | None = None):
        self.config = config
        self.base = site_url(config) if base is None else base.rstrip("/")
        self.now = now

    def _url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str) -> str:
        """Another page of the site, by its path (e.g. the rà soát list, kb.alerts.review)."""
        return self._url(path)

    def document(self, uid: str, anchor: str | None = None) -> str:
        return self._url(DOCUMENT_PATH.format(uid=quote(uid, safe=":"))) + (f"#{anchor}" if anchor else "")

    def version(self, uid: str, version: int) -> str:
        return self._url(VERSION_PATH.format(uid=quote(uid, safe=":"), version=int(version)))

    def search(self, query: str, filters: dict[str, list[str]], sort: str | None = "issued") -> str:
        args = search_args(query, filters) + ([("sort", sort)] if sort else [])
        return self._url(SEARCH_PATH) + ("?" + urlencode(args) if args else "")

    def digest(self, week: str) -> str:
        return self._url(DIGEST_PATH.format(week=week))

    def confirm(self, sub: Subscription) -> str:
        token = make_token(self.config, "confirm", sub.email, sub.id, confirm_expiry(self.config, sub))
        return self._url(CONFIRM_PATH.format(token=token))

    def unsubscribe(self, sub: Subscription) -> str:
        """The link that ends one subscription."""
        token = make_token(self.config, "unsubscribe", sub.email, sub.id, link_expiry(self.config, self.now))
        return self._url(UNSUBSCRIBE_PATH.format(token=token))

    def unsubscribe_all(self, email: str) -> str:
        """The link that ends every subscription of an address (the List-Unsubscribe header)."""
        token = make_token(self.config, "unsubscribe", email, expires=link_expiry(self.config, self.now))
        return self._url(UNSUBSCRIBE_PATH.format(token=token))

    def manage(self, email: str) -> str:
        """The page listing the subscriptions of an address."""
        token = make_token(self.config, "manage", email, expires=link_expiry(self.config, self.now))
        return self._url(MANAGE_PATH.format(token=token))
