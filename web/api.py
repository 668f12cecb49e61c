"""The JSON API: GET /api/search (also /tim-kiem.json, the search page's own JSON), GET
/api/documents/<uid>, and its OpenAPI description at /api/openapi.json (web/openapi.py).
Errors are JSON {"error": message in Vietnamese, "status": code}."""
from __future__ import annotations

import html
import re

from flask import Blueprint, current_app, jsonify, render_template, request

from index.search import FACET_PARAMS, Hit, SearchResult
from kb import vocab
from web.common import absolute, external_url, get_store, instance_state
from web.openapi import spec
from web.search import run_search
from web.state import read_state

bp = Blueprint("api", __name__)

_TAGS = re.compile(r"</?mark>")
EMPTY_MESSAGE = ("Cơ sở dữ liệu chưa có văn bản: chạy `kb refresh` (thu thập từ các nguồn) hoặc "
                 "`kb import TỆP.jsonl` (nhập từ tệp) trên máy chủ.")


@bp.after_request
def allow_cross_origin(response):
    """The API is read-only and public inside the office network: other tools may call it."""
    if request.path.startswith("/api/") or request.path.endswith(".json"):
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _none(value: str | None):
    return value or None


def hit_json(hit: Hit, unit: str) -> dict:
    doc_url = external_url("documents.show", uid=hit.uid)
    article = None
    if hit.kind == "article" and hit.anchor:
        article = {"number": hit.article_number, "heading": _none(hit.article_heading), "anchor": hit.anchor,
                   "url": external_url("documents.show", uid=hit.uid, _anchor=hit.anchor)}
    return {
        "uid": hit.uid,
        "number": _none(hit.number),
        "title": hit.title,
        "doc_type": _none(hit.doc_type),
        "issuer": _none(hit.issuer),
        "issued": _none(hit.issued),
        "effective": _none(hit.effective),
        "status": _none(hit.status),
        "score": hit.score,
        "snippet": hit.snippet,
        "snippet_text": html.unescape(_TAGS.sub("", hit.snippet)),
        "url": article["url"] if unit == "article" and article else doc_url,
        "document_url": doc_url,
        "article": article,
    }


def search_json(result: SearchResult, state) -> dict:
    links = {
        "self": absolute(state.url("api.search", page=state.page, limit=state.limit)),
        "html": absolute(state.url("search.results", page=state.page)),
        "atom": absolute(state.url("feeds.search_feed")),
        "csv": absolute(state.url("search.results_csv")),
        "next": absolute(state.url("api.search", page=state.page + 1, limit=state.limit))
        if state.page < result.pages else None,
        "prev": absolute(state.url("api.search", page=state.page - 1, limit=state.limit))
        if state.page > 1 else None,
    }
    return {
        "query": state.q,
        "filters": {FACET_PARAMS[f]: v for f, v in state.filters.items()},
        "date_from": state.date_from or None,
        "date_to": state.date_to or None,
        "unit": result.unit,
        "sort": result.sort,
        "page": result.page,
        "limit": result.per_page,
        "total": result.total,
        "pages": result.pages,
        "fallback": result.fallback,
        "took_ms": round(result.took_ms, 1),
        "exact": [hit_json(h, "document") for h in result.exact],
        "hits": [hit_json(h, result.unit) for h in result.hits],
        "facets": {FACET_PARAMS[f]: [{"value": v, "count": c} for v, c in values]
                   for f, values in result.facets.items()},
        "links": links,
    }


@bp.route("/tim-kiem.json")
@bp.route("/api/search")
def search():
    state = read_state(request.args, strict=True, per_page=20, max_limit=current_app.config["API_MAX_LIMIT"])
    if instance_state() == "empty":
        return jsonify({"error": EMPTY_MESSAGE, "status": 503}), 503
    result = run_search(state)
    return jsonify(search_json(result, state))


@bp.route("/api/documents/<path:uid>")
def document(uid: str):
    if instance_state() == "empty":
        return jsonify({"error": EMPTY_MESSAGE, "status": 503}), 503
    store = get_store()
    doc = store.get(uid)
    if doc is None:
        return jsonify({"error": f"Không có văn bản “{uid}” trong cơ sở dữ liệu.", "status": 404}), 404
    data = doc.to_dict()
    data["url"] = external_url("documents.show", uid=doc.uid)
    for article in data["articles"]:
        article["url"] = external_url("documents.show", uid=doc.uid, _anchor=article["anchor"])
    for relation, rel in zip(data["relations"], doc.relations):
        target = store.resolve_target(rel)
        relation["label"] = vocab.relation_label(rel.type)
        relation["stored_uid"] = target
        relation["url"] = external_url("documents.show", uid=target) if target else None
    incoming = []
    for holder_uid, rel in store.incoming(doc.uid):
        holder = store.get(holder_uid)
        if holder is None or holder.uid == doc.uid:
            continue
        incoming.append({"type": rel.type, "label": vocab.relation_label(rel.type, inverse=True),
                         "uid": holder.uid, "number": holder.number, "title": holder.title,
                         "status": holder.status, "note": rel.note,
                         "url": external_url("documents.show", uid=holder.uid)})
    data["incoming"] = incoming
    return jsonify(data)


@bp.route("/api/openapi.json")
def openapi():
    return jsonify(spec(absolute("/"), current_app.config["API_MAX_LIMIT"]))


@bp.route("/api/")
def docs():
    """A short page in Vietnamese describing the API, with examples."""
    return render_template("api.html", openapi_url=external_url("api.openapi"),
                           base=absolute("/").rstrip("/"))
