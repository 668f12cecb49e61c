""" "Văn bản mới": the documents added or changed in the last 7 or 30 days, grouped by day, with the
same facets as the search (counted here from the store's change events), and its Atom feed."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

from flask import Blueprint, current_app, render_template, request, url_for

from index.search import FACET_PARAMS, FACETS
from kb.dates import VN_TZ
from kb.legal.validity import validity
from kb.store import Event
from kb.summary import DocSummary
from kb.text import fold
from web.common import first_run_page, get_store, instance_state, local_time
from web.state import read_state

bp = Blueprint("recent", __name__)

PERIODS = (7, 30)
KIND_LABELS = {
    "new": "Mới",
    "text_changed": "Sửa nội dung",
    "status_changed": "Đổi hiệu lực",
    "metadata_changed": "Cập nhật thông tin",
    "relation_added": "Thêm quan hệ",
    "relation_removed": "Bỏ quan hệ",
    "deleted": "Đã xóa",
}
KIND_ORDER = (
    "deleted",
    "status_changed",
    "new",
    "text_changed",
    "metadata_changed",
    "relation_added",
    "relation_removed",
)  # the most telling first
_CACHE_LIMIT = 50_000
_cache_lock = threading.Lock()


def facet_values(summary: DocSummary, facet: str) -> list[str]:
    """The values of one search facet of a document (lĩnh vực: several)."""
    if facet == "linhvuc":
        return summary.fields
    value = {
        "doc_type": summary.doc_type,
        "issuer": summary.issuer,
        "status": summary.status,
        "year": summary.year,
        "scope": summary.scope,
    }[facet]
    return [value] if value else []


@dataclass
class Item:
    summary: DocSummary
    at: str  # latest change in the period (UTC ISO)
    events: list[Event] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    old_status: str | None = None
    new_status: str | None = None
    status_reason: str | None = None  # why a derived status changed: "Bị thay thế bởi … từ ngày …"

    @property
    def last_event_id(self) -> int:
        return self.events[-1].id


@dataclass
class Bulk:
    """The documents one bulk import added, shown as one line ("Nhập hàng loạt … 3.589 văn bản")."""

    batch: str  # "import:<file name>:<stamp>"
    count: int
    at: str  # the latest of its events (UTC ISO)

    @property
    def file(self) -> str:
        return self.batch.split(":", 2)[1] if self.batch.count(":") >= 2 else self.batch


BULK_MIN = 50  # an import adding at least this many documents is one line, not one entry per document


@dataclass
class RecentResult:
    days: int
    items: list[Item]  # newest change first, all of them (filtered)
    facets: dict[str, list[tuple[str, int]]]
    capped: bool  # more documents changed than RECENT_MAX
    found: int = 0  # documents changed in the period, before the cap
    bulks: list[Bulk] = field(default_factory=list)  # bulk imports, each one line


def period(raw: str | None) -> int:
    return int(raw) if raw in {str(p) for p in PERIODS} else PERIODS[0]


def collect(days: int, filters: dict[str, list[str]]) -> RecentResult:
    """Documents changed in the last `days` days, filtered, with facet counts over the filtered set."""
    store = get_store()
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat(timespec="seconds")
    by_uid: dict[str, Item] = {}
    for event in store.events(since=since):
        item = by_uid.get(event.uid)
        if item is None:
            item = by_uid[event.uid] = Item(DocSummary(event.uid), event.at)
        item.events.append(event)
        item.at = max(item.at, event.at)
        if event.kind not in item.kinds:
            item.kinds.append(event.kind)
        if event.kind == "status_changed":
            item.old_status = item.old_status or event.detail.get("old")
            item.new_status = event.detail.get("new")
            if event.detail.get("derived"):
                item.status_reason = event.detail.get("reason")
    for item in by_uid.values():
        item.kinds.sort(key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else len(KIND_ORDER))
    bulks = _bulks(by_uid)
    items = sorted(by_uid.values(), key=lambda i: (i.at, i.last_event_id), reverse=True)
    limit = current_app.config["RECENT_MAX"]
    found = len(items)
    capped = found > limit
    items = items[:limit]
    for item in items:
        item.summary = _summary(store, item)
    items = [i for i in items if _passes(i.summary, filters)]
    return RecentResult(days, items, _facets(items), capped, found, bulks)


def _bulks(by_uid: dict[str, Item]) -> list[Bulk]:
    """Take out of `by_uid` the documents only added by a bulk import of at least BULK_MIN; one Bulk each."""
    batches: dict[str, list[str]] = {}
    for uid, item in by_uid.items():
        batch = item.events[0].detail.get("batch") if item.kinds == ["new"] else None
        if batch:
            batches.setdefault(batch, []).append(uid)
    bulks = []
    for batch, uids in batches.items():
        if len(uids) >= BULK_MIN:
            bulks.append(Bulk(batch, len(uids), max(by_uid[u].at for u in uids)))
            for uid in uids:
                del by_uid[uid]
    return sorted(bulks, key=lambda b: b.at, reverse=True)


def _summary(store, item: Item) -> DocSummary:
    cache: dict = current_app.extensions.setdefault("kb_recent_cache", {})
    key = (item.summary.uid, item.last_event_id)
    cached = cache.get(key)
    if cached is not None:
        return cached
    doc = store.get(item.summary.uid)
    if doc is None:
        last = next((e.detail for e in reversed(item.events) if e.kind == "deleted"), {})
        summary = DocSummary(
            item.summary.uid, number=last.get("number") or "", title=last.get("title") or "", deleted=True
        )
    else:
        summary = DocSummary.of(doc, status=validity(store, doc).status)
    with _cache_lock:
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        cache[key] = summary
    return summary


def _norm(text: str) -> str:
    return " ".join(fold(text).lower().split())


def _passes(summary: DocSummary, filters: dict[str, list[str]]) -> bool:
    """The search's filter rules: cơ quan matches part of the name, the others the whole value."""
    for facet, wanted in filters.items():
        values = [_norm(v) for v in facet_values(summary, facet)]
        wanted_norm = [_norm(w) for w in wanted]
        if facet == "issuer":
            ok = any(w in v for w in wanted_norm for v in values)
        else:
            ok = any(w == v for w in wanted_norm for v in values)
        if not ok:
            return False
    return True


def _facets(items: list[Item]) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for facet in FACETS:
        counts: dict[str, int] = {}
        for item in items:
            for value in facet_values(item.summary, facet):
                counts[value] = counts.get(value, 0) + 1
        if facet == "year":
            out[facet] = sorted(counts.items(), reverse=True)
        else:
            out[facet] = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return out


def recent_url(
    days: int, filters: dict[str, list[str]], page: int = 1, endpoint: str = "recent.recent", **extra
) -> str:
    args: dict[str, list[str]] = {}
    if days != PERIODS[0]:
        args["khoang"] = [str(days)]
    for facet in FACETS:
        if filters.get(facet):
            args[FACET_PARAMS[facet]] = list(filters[facet])
    if page > 1:
        args["page"] = [str(page)]
    return url_for(endpoint, **args, **extra)


def _toggle(filters: dict[str, list[str]], facet: str, value: str) -> dict[str, list[str]]:
    out = {k: list(v) for k, v in filters.items()}
    values = out.setdefault(facet, [])
    if value in values:
        values.remove(value)
    else:
        values.append(value)
    return {k: v for k, v in out.items() if v}


@bp.route("/van-ban-moi")
def recent():
    if instance_state() == "empty":
        return first_run_page()
    state = read_state(request.args, strict=False)
    days = period(request.args.get("khoang"))
    result = collect(days, state.filters)
    per_page = current_app.config["RECENT_PER_PAGE"]
    pages = max(1, -(-len(result.items) // per_page))
    page = min(state.page, pages)
    shown = result.items[(page - 1) * per_page : page * per_page]
    groups: list[dict] = []
    for item in shown:
        moment = local_time(item.at)
        day = moment.date() if moment else None
        if not groups or groups[-1]["day"] != day:
            groups.append({"day": day, "items": []})
        groups[-1]["items"].append(item)
    facets = []
    for facet in FACETS:
        values = list(result.facets.get(facet, []))
        present = {v for v, _ in values}
        values += [(v, 0) for v in state.filters.get(facet, []) if v not in present]
        items = [
            {
                "value": v,
                "count": c,
                "selected": v in state.filters.get(facet, []),
                "url": recent_url(days, _toggle(state.filters, facet, v)),
            }
            for v, c in values
        ]
        items.sort(key=lambda i: not i["selected"])
        if items:
            facets.append({"name": facet, "items": items})
    chips = [
        (facet, value, recent_url(days, _toggle(state.filters, facet, value)))
        for facet, values in state.filters.items()
        for value in values
    ]
    return render_template(
        "recent/recent.html",
        result=result,
        groups=groups,
        facets=facets,
        active_chips=chips,
        days=days,
        periods=PERIODS,
        period_urls={p: recent_url(p, state.filters) for p in PERIODS},
        notice_list=state.notices,
        page=page,
        pages=pages,
        kind_labels=KIND_LABELS,
        today=dt.datetime.now(VN_TZ).date(),
        page_urls={n: recent_url(days, state.filters, n) for n in range(1, pages + 1)},
        feed_url=recent_url(days, state.filters, endpoint="feeds.recent_feed"),
    )
