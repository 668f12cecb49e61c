"""The search page (one box, facets, date range, sort, pages) and the same search as CSV, and the
OpenSearch description. The Atom feed of a search is in web/feeds.py, its JSON in web/api.py."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from index.analysis import has_diacritics
from index.errors import QueryError
from index.matching import read_query
from index.query import parse
from index.search import FACETS, SearchResult
from kb.alerts.subscriptions import SubscriptionError, check_search
from kb.tables import headers, to_csv
from kb.text import fold
from web.common import external_url, first_run_page, get_search, instance_state
from web.state import SORT_LABELS, UNIT_LABELS, BadParameter, SearchState, read_state

bp = Blueprint("search", __name__)

CSV_COLUMNS = (
    "so_ky_hieu",
    "loai_van_ban",
    "trich_yeu",
    "co_quan_ban_hanh",
    "ngay_ban_hanh",
    "ngay_co_hieu_luc",
    "tinh_trang_hieu_luc",
    "dieu",
    "tieu_de_dieu",
    "uid",
    "url",
)
_FIELD_TOKEN = re.compile(r'\b[A-Za-z]+:(?:"[^"]*"?|\S+)')


def run_search(
    state: SearchState, per_page: int | None = None, facets: bool = True, snippets: bool = True, sort: str | None = None
) -> SearchResult:
    """The search service's answer for this state (QueryError when the query cannot be understood)."""
    return get_search().search(
        state.query_text(),
        filters=state.filters,
        unit=state.unit,
        sort=sort or state.sort,
        page=state.page,
        per_page=per_page or state.limit,
        facets=facets,
        snippets=snippets,
        on=state.on or None,
    )


def search_refusal(state: SearchState) -> str | None:
    """Why this search cannot become an e-mail alert (a match-all or unreadable query), else None."""
    try:
        check_search(state.query_text(), state.filters, read_query)
    except (SubscriptionError, QueryError) as exc:
        return str(exc)
    return None


def page_state() -> SearchState:
    return read_state(request.args, strict=False, per_page=current_app.config["PER_PAGE"])


@bp.route("/")
@bp.route("/tim-kiem")
def results():
    """The search page: with no query and no filter, every document, newest first."""
    if instance_state() != "ready":
        return first_run_page()
    state = page_state()
    error = None
    result = None
    try:
        result = run_search(state)
    except QueryError as exc:
        error = str(exc)
    if result is not None and _goes_to_document(state, result):
        return redirect(url_for("documents.show", uid=result.exact[0].uid))
    suggestions = (
        _suggestions(state)
        if result is not None and not result.hits and not state.is_empty and result.total == 0
        else []
    )
    return render_template(
        "search/search.html",
        state=state,
        result=result,
        error=error,
        suggestions=suggestions,
        facets=_facet_lists(state, result),
        sort_labels=SORT_LABELS,
        unit_labels=UNIT_LABELS,
        pages=_page_links(state, result) if result else [],
        feed_url=state.url("feeds.search_feed"),
        csv_url=state.url("search.results_csv"),
        json_url=state.url("api.search"),
        follow_refusal=None if state.is_empty else search_refusal(state),
        follow_url=url_for("alerts.follow_search", **state.args(sort="relevance", unit="document").to_dict(flat=False)),
    ), (400 if error else 200)


def _goes_to_document(state: SearchState, result: SearchResult) -> bool:
    """A query that is one stored document's số ký hiệu opens that document."""
    if len(result.exact) != 1 or state.has_filters or state.page != 1:
        return False
    try:
        return parse(state.q).number_only
    except QueryError:
        return False


def _facet_lists(state: SearchState, result: SearchResult | None) -> list[dict]:
    """Each facet with its values, counts, toggle URLs; selected values first, even with no count."""
    counts = result.facets if result else {}
    out = []
    for facet in FACETS:
        values = list(counts.get(facet, []))
        present = {v for v, _ in values}
        for value in state.filters.get(facet, []):
            if value not in present:
                values.append((value, 0))
        items = [
            {"value": v, "count": c, "selected": state.selected(facet, v), "url": state.toggle_url(facet, v)}
            for v, c in values
        ]
        items.sort(key=lambda item: not item["selected"])
        if items:
            out.append({"name": facet, "items": items})
    return out


def _page_links(state: SearchState, result: SearchResult) -> list[dict]:
    """Links to the first, last and nearby pages ("…" between gaps)."""
    last = result.pages
    if last <= 1:
        return []
    wanted = sorted({1, last, *range(max(1, state.page - 2), min(last, state.page + 2) + 1)})
    out, previous = [], 0
    for number in wanted:
        if number - previous > 1:
            out.append({"gap": True})
        out.append({"number": number, "url": state.url(page=number), "current": number == state.page})
        previous = number
    return out


def _suggestions(state: SearchState, max_trials: int = 8) -> list[dict]:
    """Other queries to try when nothing was found, each with its number of results: without
    diacritics (always offered), without quotes, with fewer words (only those that find documents
    containing every remaining word), without the filters."""
    q = state.q.strip()
    unquoted = " ".join(q.replace('"', " ").split())
    fields = _FIELD_TOKEN.findall(unquoted)
    words = _FIELD_TOKEN.sub(" ", unquoted).split()

    def trial(changes: dict):
        attempt = SearchState(**{**state.__dict__, "notices": [], "page": 1})
        for key, value in changes.items():
            setattr(attempt, key, value)
        try:
            return run_search(attempt, per_page=1, facets=False, snippets=False)
        except QueryError:
            return None

    out = []
    if has_diacritics(q):
        result = trial({"q": fold(q)})
        out.append(
            {
                "kind": "nodiacritics",
                "label": fold(q),
                "count": result.total if result else 0,
                "url": state.url(q=fold(q)),
            }
        )
    if '"' in q:
        result = trial({"q": unquoted})
        if result and result.total and not result.fallback:
            out.append({"kind": "unquoted", "label": unquoted, "count": result.total, "url": state.url(q=unquoted)})
    variants: list[list[str]] = [words[:i] + words[i + 1 :] for i in range(len(words) - 1, -1, -1)]
    variants += [words[:n] for n in range(len(words) - 2, 0, -1)]
    seen, fewer, found, trials = set(), [], [], 0
    for variant in variants:
        text = " ".join(variant + fields)
        if not variant or text in seen or trials >= max_trials or any(set(variant) <= f for f in found):
            continue
        seen.add(text)
        trials += 1
        result = trial({"q": text})
        if result and result.total and not result.fallback:  # every remaining word is found
            found.append(set(variant))
            fewer.append({"kind": "fewer", "label": text, "count": result.total, "url": state.url(q=text)})
    out += sorted(fewer, key=lambda s: -len(s["label"].split()))[:3]
    if state.has_filters:
        result = trial({"filters": {}, "date_from": "", "date_to": ""})
        if result and result.total:
            out.append(
                {
                    "kind": "nofilters",
                    "label": q,
                    "count": result.total,
                    "url": state.url(filters={}, date_from="", date_to=""),
                }
            )
    return out


@bp.route("/tim-kiem.csv")
def results_csv():
    """The whole result list (up to CSV_MAX_ROWS) as CSV, UTF-8 with a BOM so that Excel reads it."""
    state = read_state(request.args, strict=False, per_page=100)
    if state.notices:
        raise BadParameter(state.notices[0])
    if instance_state() != "ready":
        return Response("Chưa có dữ liệu.\n", 503, mimetype="text/plain")
    limit = current_app.config["CSV_MAX_ROWS"]
    table: list[list] = []
    rows, page = 0, 1
    sort = state.sort if state.sort_given or state.q else "issued"
    while rows < limit:
        state.page = page
        result = run_search(state, per_page=100, facets=False, snippets=False, sort=sort)
        for hit in result.hits:
            if rows >= limit:
                break
            url = (
                external_url("documents.show", uid=hit.uid, _anchor=hit.anchor or None)
                if state.unit == "article"
                else external_url("documents.show", uid=hit.uid)
            )
            table.append(
                [
                    x
                    for x in (
                        hit.number,
                        hit.doc_type,
                        hit.title,
                        hit.issuer,
                        hit.issued,
                        hit.effective,
                        hit.status,
                        hit.article_number if state.unit == "article" else "",
                        hit.article_heading if state.unit == "article" else "",
                        hit.uid,
                        url,
                    )
                ]
            )
            rows += 1
        if page >= result.pages:
            break
        page += 1
    response = Response(to_csv(headers(CSV_COLUMNS), table), mimetype="text/csv")  # Vietnamese column names
    response.headers["Content-Disposition"] = "attachment; filename=ket-qua-tim-kiem.csv"
    return response


@bp.route("/opensearch.xml")
def opensearch():
    """OpenSearch description: lets browsers add this site as a search engine."""
    xml = render_template(
        "search/opensearch.xml",
        html_url=external_url("search.results") + "?q={searchTerms}",
        atom_url=external_url("feeds.search_feed") + "?q={searchTerms}",
        json_url=external_url("api.search") + "?q={searchTerms}",
        icon_url=external_url("static", filename="favicon.svg"),
        home_url=external_url("search.results"),
        self_url=external_url("search.opensearch"),
    )
    return Response(xml, mimetype="application/opensearchdescription+xml")
