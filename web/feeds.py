"""Atom feeds (RFC 4287): of any search (/tim-kiem.atom with the search's own query string, newest
documents first unless a sort is given) and of "Văn bản mới" (/van-ban-moi.atom, one entry per change)."""

from __future__ import annotations

import datetime as dt
import html
import re
import xml.etree.ElementTree as ET

from flask import Blueprint, Response, current_app, request

from index.search import Hit
from web import recent as recent_view
from web.common import absolute, external_url, get_store, instance_state, vn_date
from web.search import run_search
from web.state import BadParameter, read_state

bp = Blueprint("feeds", __name__)

ATOM_NS = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TAGS = re.compile(r"</?mark>")


def _x(text) -> str:
    """Text that XML can hold (no control characters, no lone surrogates)."""
    return _NOT_XML.sub("", "" if text is None else str(text))


def _iso(value: str | None) -> str:
    """An RFC 3339 timestamp from a stored timestamp or an ISO date (midnight, Vietnam time)."""
    if not value:
        return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if len(value) == 10:
        return f"{value}T00:00:00+07:00"
    return value


def atom(title: str, self_url: str, html_url: str, entries: list[dict], subtitle: str = "") -> Response:
    """An Atom document. Each entry: id, title, url, updated, published (optional), summary, categories."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "vi"})

    def add(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", {k: _x(v) for k, v in attrs.items()})
        if text is not None:
            element.text = _x(text)
        return element

    add(feed, "id", self_url)
    add(feed, "title", title)
    if subtitle:
        add(feed, "subtitle", subtitle)
    updated = max((e["updated"] for e in entries), default=None)
    add(feed, "updated", updated or _iso(None))
    author = add(feed, "author")
    add(author, "name", current_app.config["SITE_NAME"])
    add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    add(feed, "link", rel="alternate", type="text/html", href=html_url)
    add(feed, "generator", "hdnd-kb")
    for entry in entries:
        node = add(feed, "entry")
        add(node, "id", entry["id"])
        add(node, "title", entry["title"])
        add(node, "link", rel="alternate", type="text/html", href=entry["url"])
        add(node, "updated", entry["updated"])
        if entry.get("published"):
            add(node, "published", entry["published"])
        for term in entry.get("categories", []):
            if term:
                add(node, "category", term=term)
        add(node, "summary", entry.get("summary", ""), type="text")
    body = ET.tostring(feed, encoding="unicode", xml_declaration=False)
    return Response('<?xml version="1.0" encoding="utf-8"?>\n' + body, mimetype="application/atom+xml")


def _latest_change(uid: str) -> str | None:
    events = get_store().events(uid=uid)
    return events[-1].at if events else None


def _hit_entry(hit: Hit, article: bool) -> dict:
    doc_url = external_url("documents.show", uid=hit.uid)
    url = external_url("documents.show", uid=hit.uid, _anchor=hit.anchor) if article and hit.anchor else doc_url
    head = " ".join(x for x in (hit.doc_type, hit.number) if x)
    title = f"{head} – {hit.title}" if head else hit.title
    if article and hit.article_number:
        title += f" – Điều {hit.article_number}" + (f". {hit.article_heading}" if hit.article_heading else "")
    facts = [
        x
        for x in (
            hit.issuer,
            f"ban hành {vn_date(hit.issued)}" if hit.issued else "",
            f"tình trạng: {hit.status}" if hit.status else "",
        )
        if x
    ]
    snippet = html.unescape(_TAGS.sub("", hit.snippet)) if hit.snippet else ""
    issued = _iso(hit.issued) if hit.issued else None
    return {
        "id": url,
        "title": title,
        "url": url,
        "updated": _iso(_latest_change(hit.uid) or hit.issued),
        "published": issued,
        "summary": "; ".join(facts) + (f"\n{snippet}" if snippet else ""),
        "categories": [hit.doc_type, hit.status],
    }


@bp.route("/tim-kiem.atom")
def search_feed():
    """The Atom feed of a search: the same parameters as /tim-kiem."""
    state = read_state(request.args, strict=False, per_page=current_app.config["FEED_ENTRIES"])
    if state.notices:
        raise BadParameter(state.notices[0])
    state.page = 1
    html_url = absolute(state.url("search.results"))
    self_url = absolute(state.url("feeds.search_feed"))
    label = state.q or "tất cả văn bản"
    if instance_state() != "ready":
        entries = []
    else:
        result = run_search(state, sort=state.sort if state.sort_given else "issued")
        entries = [_hit_entry(hit, state.unit == "article") for hit in result.hits]
    filters = "; ".join(f"{v}" for values in state.filters.values() for v in values)
    return atom(
        f"{current_app.config['SITE_NAME']} – Tìm kiếm: {label}",
        self_url,
        html_url,
        entries,
        subtitle=f"Bộ lọc: {filters}" if filters else "",
    )


@bp.route("/van-ban-moi.atom")
def recent_feed():
    """The Atom feed of "Văn bản mới": one entry per document changed, the latest change first."""
    state = read_state(request.args, strict=False)
    if state.notices:
        raise BadParameter(state.notices[0])
    days = recent_view.period(request.args.get("khoang"))
    self_url = absolute(recent_view.recent_url(days, state.filters, endpoint="feeds.recent_feed"))
    html_url = absolute(recent_view.recent_url(days, state.filters))
    entries = []
    if instance_state() != "empty":
        result = recent_view.collect(days, state.filters)
        for item in result.items[: current_app.config["FEED_ENTRIES"]]:
            s = item.summary
            url = external_url("documents.show", uid=s.uid)
            kinds = ", ".join(recent_view.KIND_LABELS.get(k, k) for k in item.kinds)
            head = " ".join(x for x in (s.doc_type, s.number) if x)
            lines = [kinds]
            if item.old_status and item.new_status:
                lines.append(f"Tình trạng hiệu lực: {item.old_status} → {item.new_status}")
            lines.append(
                "; ".join(x for x in (s.issuer, f"ban hành {vn_date(s.issued)}" if s.issued else "", s.status) if x)
            )
            entries.append(
                {
                    "id": f"{url}#thay-doi-{item.last_event_id}",
                    "title": f"[{kinds}] " + (f"{head} – {s.title}" if head else s.title),
                    "url": url,
                    "updated": item.at,
                    "summary": "\n".join(x for x in lines if x),
                    "categories": [s.doc_type, s.status] + [recent_view.KIND_LABELS.get(k, k) for k in item.kinds],
                }
            )
    return atom(
        f"{current_app.config['SITE_NAME']} – Văn bản mới ({days} ngày)",
        self_url,
        html_url,
        entries,
        subtitle="Văn bản được thêm hoặc thay đổi",
    )
