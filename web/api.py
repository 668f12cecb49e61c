"""The JSON API: GET /api/search (also /tim-kiem.json, the search page's own JSON), GET
/api/documents/<uid>, POST /api/check (the legal-basis checker), GET /api/delegations (the delegation
tracker), and its OpenAPI description at /api/openapi.json (web/openapi.py).
Errors are JSON {"error": message in Vietnamese, "status": code}."""

from __future__ import annotations

import html
import re

from flask import Blueprint, current_app, jsonify, render_template, request

from index.search import FACET_PARAMS, Hit, SearchResult
from kb import vocab
from kb.errors import RecordError
from kb.legal.bounds import CheckLimit
from kb.legal.checker import CheckError
from kb.legal.validity import validity
from kb.model import parse_date
from kb.readers import ReadError
from web.checker import CheckInputError, read_input, run_check
from web.common import absolute, external_url, get_store, instance_state
from web.delegations import STATUSES, all_delegations, read_filters, select, summary
from web.openapi import spec
from web.search import run_search
from web.security import csrf_exempt, rate_limited, same_site_only
from web.state import BadParameter, read_state

bp = Blueprint("api", __name__)

_TAGS = re.compile(r"</?mark>")
EMPTY_MESSAGE = (
    "Cơ sở dữ liệu chưa có văn bản: chạy `kb refresh` (thu thập từ các nguồn) hoặc "
    "`kb import TỆP.jsonl` (nhập từ tệp) trên máy chủ."
)


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
        article = {
            "number": hit.article_number,
            "heading": _none(hit.article_heading),
            "anchor": hit.anchor,
            "url": external_url("documents.show", uid=hit.uid, _anchor=hit.anchor),
        }
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
        if state.page < result.pages
        else None,
        "prev": absolute(state.url("api.search", page=state.page - 1, limit=state.limit)) if state.page > 1 else None,
    }
    return {
        "query": state.q,
        "filters": {FACET_PARAMS[f]: v for f, v in state.filters.items()},
        "date_from": state.date_from or None,
        "date_to": state.date_to or None,
        "on": result.on,
        "unit": result.unit,
        "sort": result.sort,
        "page": result.page,
        "limit": result.per_page,
        "total": result.total,
        "pages": result.pages,
        "fallback": result.fallback,
        "restored": result.restored,
        "took_ms": round(result.took_ms, 1),
        "exact": [hit_json(h, "document") for h in result.exact],
        "hits": [hit_json(h, result.unit) for h in result.hits],
        "facets": {
            FACET_PARAMS[f]: [{"value": v, "count": c} for v, c in values] for f, values in result.facets.items()
        },
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
    try:
        on = parse_date(request.args["taingay"], "taingay") if request.args.get("taingay") else None
    except RecordError:
        return jsonify(
            {"error": "Ngày (tham số taingay) không hợp lệ: viết 2025-06-01 hoặc 01/06/2025.", "status": 400}
        ), 400
    data = doc.to_dict()
    current = validity(store, doc, on)
    data["source_status"] = doc.status
    data["status"] = current.status
    data["validity"] = current.to_dict()
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
        incoming.append(
            {
                "type": rel.type,
                "label": vocab.relation_label(rel.type, inverse=True),
                "uid": holder.uid,
                "number": holder.number,
                "title": holder.title,
                "status": validity(store, holder, on).status,
                "note": rel.note,
                "url": external_url("documents.show", uid=holder.uid),
            }
        )
    data["incoming"] = incoming
    return jsonify(data)


NO_TEXT = "Không có nội dung để kiểm tra: gửi nội dung dự thảo trong trường text, hoặc tệp trong trường file."
CHECK_JSON_KEYS = ("text", "on", "source")
CHECK_FORM_KEYS = ("text", "on", "file")


def _check_input() -> tuple[str, str | None, str | None]:
    """(text, planned date, source) of a POST /api/check: a JSON object or a multipart/form upload."""
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadParameter('Nội dung JSON không hợp lệ: cần một đối tượng {"text": "…", "on": "2026-05-01"}.')
        unknown = sorted(k for k in body if k not in CHECK_JSON_KEYS)
        if unknown:
            raise BadParameter(
                f"Trường không được hỗ trợ: {', '.join(unknown)}. Các trường dùng được: {', '.join(CHECK_JSON_KEYS)}."
            )
        for key in CHECK_JSON_KEYS:
            if body.get(key) is not None and not isinstance(body[key], str):
                raise BadParameter(f"Trường {key} phải là chuỗi ký tự.")
        if not (body.get("text") or "").strip():
            raise CheckInputError(NO_TEXT)
        text, _ = read_input(body["text"], None)
        return text, body.get("on"), (body.get("source") or None)
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        # A part whose name Werkzeug cannot read (a line break in it) comes back named None: unknown too.
        unknown = sorted(
            {
                "(tên không đọc được)" if k is None else k
                for k in [*request.form, *request.files]
                if k not in CHECK_FORM_KEYS
            }
        )
        if unknown:
            raise BadParameter(
                f"Trường không được hỗ trợ: {', '.join(unknown)}. Các trường dùng được: {', '.join(CHECK_FORM_KEYS)}."
            )
        upload = request.files.get("file")
        if not (upload and upload.filename) and not request.form.get("text", "").strip():
            raise CheckInputError(NO_TEXT)
        text, source = read_input(request.form.get("text", ""), upload)
        return text, request.form.get("on"), source
    raise BadParameter(
        'Gửi nội dung dạng application/json ({"text": "…", "on": "…"}) '
        "hoặc multipart/form-data (trường file hoặc text, và on)."
    )


@bp.route("/api/check", methods=["POST"])
@csrf_exempt  # an API for other programs: it changes nothing (rate limited instead)
@same_site_only  # but a browser may not send it from another site
@rate_limited("check")
def check():
    """The legal-basis check of a draft: the report as `kb check --json` prints it."""
    if instance_state() == "empty":
        return jsonify({"error": EMPTY_MESSAGE, "status": 503}), 503
    try:
        text, on, source = _check_input()
        report = run_check(text, on, source)
    except (ReadError, CheckError, CheckInputError) as exc:
        return jsonify({"error": str(exc), "status": 400}), 400
    except CheckLimit as exc:  # too many citations (413), over time or memory, or every checker busy (503)
        response = jsonify({"error": str(exc), "status": exc.status})
        response.status_code = exc.status
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return jsonify(report.to_dict())


def _answer_json(answer) -> dict:
    return answer.to_dict() | {"url": external_url("documents.show", uid=answer.uid)}


@bp.route("/api/delegations")
def delegations():
    """The delegation tracker: clauses assigning the provincial HĐND to regulate or decide."""
    f = read_filters(
        request.args,
        strict=True,
        per_page=current_app.config["DELEGATIONS_PER_PAGE"],
        max_limit=current_app.config["API_MAX_LIMIT"],
    )
    if instance_state() == "empty":
        return jsonify({"error": EMPTY_MESSAGE, "status": 503}), 503
    items = all_delegations()
    chosen = select(items, f)
    shown = chosen[(f.page - 1) * f.limit : f.page * f.limit]
    counts = summary(items, f)["status"]
    out = []
    for d in shown:
        data = d.to_dict()
        data["url"] = external_url("documents.show", uid=d.parent_uid, _anchor=d.anchor)
        data["answers"] = [_answer_json(a) for a in d.answers]
        data["related"] = [_answer_json(a) for a in d.related]
        out.append(data)
    return jsonify(
        {
            "province": current_app.config["PROVINCE"],
            "count": len(chosen),
            "page": f.page,
            "limit": f.limit,
            "pages": max(1, -(-len(chosen) // f.limit)),
            "counts": {s: counts.get(s, 0) for s in STATUSES},
            "items": out,
        }
    )


@bp.route("/api/openapi.json")
def openapi():
    return jsonify(spec(absolute("/"), current_app.config["API_MAX_LIMIT"]))


@bp.route("/api/")
def docs():
    """A short page in Vietnamese describing the API, with examples."""
    return render_template("api/api.html", openapi_url=external_url("api.openapi"), base=absolute("/").rstrip("/"))
