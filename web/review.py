"""Rà soát (docs/REVIEW.md): the province's documents in force whose legal basis changed — the page
/ra-soat with its filters in the URL (cơ quan, lĩnh vực, năm, Ban, nguyên nhân, sắp xếp), the annex as
CSV and DOCX, one page per document with its review history, and the form that records a review.

The list is derived data (kb/legal/derived.py, derivation "review"): the writing commands compute it;
this page only reads it (joined once per version of the derived rows) and the review marks."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from kb.dates import vn_date
from kb.legal import derived
from kb.legal.review import (
    CAUSE_LABELS,
    CAUSES,
    DERIVATION,
    ISSUER_KINDS,
    SORT_LABELS,
    SORTS,
    SUGGESTION_LABELS,
    UNASSIGNED,
    VERDICT_LABELS,
    VERDICTS,
    Entry,
    Filters,
    ReviewError,
    Settings,
    grouped,
    is_own,
    latest_marks,
    mark_reviewed,
    marks,
    review_date,
    select,
    stored_entries,
    stored_entry,
)
from kb.legal.review_export import annex_csv, annex_docx
from kb.store import Store
from web.common import first_run_page, get_store, instance_state
from web.state import clean

bp = Blueprint("review", __name__)

PER_PAGE = 50
MAX_PAGE = 10_000
NOT_COMPUTED = (
    "Danh sách rà soát chưa được tính cho cơ sở dữ liệu này: chạy `kb review rebuild` "
    "(các lệnh nhập, cập nhật văn bản cũng tự tính)."
)
BEHIND = "Danh sách đang được cập nhật theo các văn bản vừa thay đổi; tải lại trang sau ít phút."
ISSUER_PARAMS = {"hdnd": "HĐND", "ubnd": "UBND"}


def settings() -> Settings:
    """The review settings of the app's configuration (read once: they keep the Ban of each lĩnh vực)."""
    found = current_app.extensions.get("kb_review_settings")
    if found is None:
        found = current_app.extensions["kb_review_settings"] = Settings.from_config(current_app.extensions["kb_config"])
    return found


def all_entries(store: Store) -> list[Entry]:
    """The derived entries (every local document), read once per version of the derived rows."""
    st = derived.state(store, DERIVATION)
    version = (st.version, st.event_id, st.rows)
    cached = current_app.extensions.get("kb_review")
    if cached and cached[0] == version:
        return cached[1]
    items = stored_entries(store)
    current_app.extensions["kb_review"] = (version, items)  # one assignment: safe between threads
    return items


def derived_notice(store: Store) -> str | None:
    st = derived.state(store, DERIVATION)
    if not st.computed:
        return NOT_COMPUTED
    return None if st.current else BEHIND


@dataclass
class PageFilters(Filters):
    page: int = 1
    notices: list[str] = field(default_factory=list)

    def args(self, **changes) -> dict[str, str]:
        state = {
            "coquan": next((k for k, v in ISSUER_PARAMS.items() if v == self.issuer), ""),
            "linhvuc": self.linhvuc,
            "nam": str(self.year) if self.year else "",
            "ban": self.ban,
            "nguyennhan": self.cause or "",
            "sapxep": "" if self.sort == "moi" else self.sort,
            "da_ra_soat": "1" if self.reviewed else "",
            "het_hieu_luc": "1" if self.ended else "",
            "page": "",
        }
        state.update({k: ("" if v is None else str(v)) for k, v in changes.items()})
        if state["page"] in ("1", "0"):
            state["page"] = ""
        return {k: v for k, v in state.items() if v}

    def url(self, endpoint: str = "review.page", **changes) -> str:
        return url_for(endpoint, **self.args(**changes))

    @property
    def any(self) -> bool:
        return bool(self.issuer or self.linhvuc or self.year or self.ban or self.cause or self.reviewed or self.ended)


def read_filters(args: MultiDict, bans: list[str]) -> PageFilters:
    """The filters of the query string; a wrong value is ignored with a notice."""
    f = PageFilters()
    issuer = clean(args.get("coquan", "")).strip().lower()
    if issuer:
        if issuer in ISSUER_PARAMS:
            f.issuer = ISSUER_PARAMS[issuer]
        else:
            f.notices.append(f"Cơ quan “{issuer[:20]}” (tham số coquan) không có; dùng hdnd hoặc ubnd.")
    f.linhvuc = " ".join(clean(args.get("linhvuc", "")).split())[:200]
    year = clean(args.get("nam", "")).strip()
    if year:
        if year.isascii() and year.isdigit() and 1945 <= int(year) <= 2100:
            f.year = int(year)
        else:
            f.notices.append(f"Năm “{year[:10]}” (tham số nam) không hợp lệ.")
    ban = " ".join(clean(args.get("ban", "")).split())
    if ban:
        if ban in bans or ban == UNASSIGNED:
            f.ban = ban
        else:
            f.notices.append(f"Không có “{ban[:60]}” trong danh sách các Ban; đã bỏ lọc theo Ban.")
    cause = clean(args.get("nguyennhan", "")).strip()
    if cause:
        if cause in CAUSES:
            f.cause = cause
        else:
            f.notices.append(f"Nguyên nhân “{cause[:30]}” (tham số nguyennhan) không có.")
    sort = clean(args.get("sapxep", "")).strip()
    if sort:
        if sort in SORTS:
            f.sort = sort
        else:
            f.notices.append(f"Cách sắp xếp “{sort[:20]}” không có.")
    f.reviewed = args.get("da_ra_soat", "") == "1"
    f.ended = args.get("het_hieu_luc", "") == "1"
    page = (args.get("page") or "").strip()
    if page:
        if page.isascii() and page.isdigit() and 1 <= int(page) <= MAX_PAGE:
            f.page = int(page)
        else:
            f.notices.append(f"Tham số page=“{clean(page)[:20]}” không hợp lệ.")
    return f


def chosen(store: Store, f: Filters, conf: Settings) -> list[Entry]:
    return select(all_entries(store), f, conf, latest_marks(store))


def _without(f: PageFilters, name: str) -> dict:
    data = {k: getattr(f, k) for k in ("issuer", "linhvuc", "year", "ban", "cause", "sort", "reviewed", "ended")}
    data[name] = None if name != "sort" else "moi"
    return data


@bp.route("/ra-soat")
def page():
    """The list, grouped by cause, with its filters and exports."""
    if instance_state() == "empty":
        return first_run_page()
    store = get_store()
    conf = settings()
    f = read_filters(request.args, conf.bans)
    items = chosen(store, f, conf)
    counts = {c: 0 for c in CAUSES}
    for e in select(all_entries(store), Filters(**_without(f, "cause")), conf, latest_marks(store)):
        for c in {r.cause for r in e.reasons}:
            counts[c] += 1
    pages = max(1, -(-len(items) // PER_PAGE))
    page_no = min(f.page, pages)
    shown = items[(page_no - 1) * PER_PAGE : page_no * PER_PAGE]
    return render_template(
        "review/list.html",
        f=f,
        conf=conf,
        groups=grouped(shown),
        total=len(items),
        counts=counts,
        page=page_no,
        pages=pages,
        first=(page_no - 1) * PER_PAGE + 1,
        notice=derived_notice(store),
        on=_computed_on(shown),
        latest=latest_marks(store),
        **_labels(),
    )


@bp.route("/ra-soat.csv")
def csv():
    store = get_store()
    conf = settings()
    f = read_filters(request.args, conf.bans)
    data = annex_csv(chosen(store, f, conf))
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="ra-soat.csv"'},
    )


@bp.route("/ra-soat.json")
def as_json():
    """The same list as JSON (the filters of the page's URL), every entry with its reasons and Ban."""
    store = get_store()
    conf = settings()
    f = read_filters(request.args, conf.bans)
    entries = chosen(store, f, conf)
    return jsonify(
        {
            "province": conf.province,
            "on": _computed_on(entries),
            "count": len(entries),
            "notices": f.notices,
            "entries": [e.to_dict() | {"bans": conf.bans_of(e)} for e in entries],
        }
    )


@bp.route("/ra-soat.docx")
def docx():
    store = get_store()
    conf = settings()
    f = read_filters(request.args, conf.bans)
    entries = chosen(store, f, conf)
    body = annex_docx(entries, conf.province, _computed_on(entries) or review_date(None), f.ban)
    return Response(
        body,
        mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        headers={"Content-Disposition": 'attachment; filename="ra-soat.docx"'},
    )


@bp.route("/ra-soat/van-ban/<path:uid>", methods=["GET", "POST"])
def entry(uid: str):
    """One document: its reasons, the history of its reviews, and the form recording a review."""
    store = get_store()
    conf = settings()
    real = store.resolve_uid(uid)
    item = stored_entry(store, real) if real else None
    if item is None or not is_own(item.doc_type, item.number, item.issuer, item.province, conf.places):
        abort(404)
    errors: list[str] = []
    form = {"verdict": "", "reviewer": "", "note": "", "day": ""}
    if request.method == "POST":
        form = {k: clean(request.form.get(k, "")).strip() for k in form}
        if not item.listed:
            errors.append("Văn bản này không có trong danh sách rà soát.")
        else:
            try:
                mark_reviewed(store, item, form["verdict"], form["reviewer"], form["note"], form["day"] or None)
            except ReviewError as exc:
                errors.append(str(exc))
            else:
                return redirect(url_for("review.entry", uid=item.uid, da_ghi="1"), 303)
    history = marks(store, item.uid)
    last = history[-1] if history else None
    return render_template(
        "review/entry.html",
        e=item,
        history=list(reversed(history)),
        covered=bool(last and item.listed and last.covers(item.keys)),
        saved=request.args.get("da_ghi") == "1",
        errors=errors,
        form=form,
        bans=conf.bans_of(item),
        notice=derived_notice(store),
        **_labels(),
    ), (400 if errors else 200)


def banner(store: Store, uid: str) -> dict | None:
    """What the page of a provincial document shows when it is on the list: its reasons (None otherwise)."""
    conf = settings()
    item = stored_entry(store, uid)
    if item is None or not item.listed or not item.in_force:
        return None
    if not is_own(item.doc_type, item.number, item.issuer, item.province, conf.places):
        return None
    history = marks(store, item.uid)
    if history and history[-1].covers(item.keys):
        return None
    return {"entry": item, "url": url_for("review.entry", uid=item.uid)}


def _computed_on(entries: list[Entry]) -> str:
    return max((e.on for e in entries), default="")


def _labels() -> dict:
    return {
        "cause_labels": CAUSE_LABELS,
        "suggestion_labels": SUGGESTION_LABELS,
        "verdict_labels": VERDICT_LABELS,
        "verdicts": VERDICTS,
        "sort_labels": SORT_LABELS,
        "issuer_kinds": ISSUER_KINDS,
        "unassigned": UNASSIGNED,
        "vn_date": vn_date,
    }
