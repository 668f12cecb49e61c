"""Nội dung trung ương giao HĐND tỉnh quy định (docs/CHECKER.md, the delegation tracker): the clauses of
stored central documents that assign the provincial HĐND to regulate or decide, and whether a resolution
of the province answers each — a page with filters (status, lĩnh vực, since) and GET /api/delegations.

The list is derived data (kb/legal/derived.py): the commands that write documents compute it and keep it
in the store; a request only joins the stored rows (`stored_delegations`), never reads every document.
The joined list is kept until the derivation's watermark moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, current_app, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from kb.errors import RecordError
from kb.legal import derived
from kb.legal.delegation import ANSWERED, DERIVATION, OPEN, STATUS_LABELS, Delegation, stored_delegations
from kb.model import parse_date
from kb.text import fold
from web.common import first_run_page, get_store, instance_state
from web.state import BadParameter, clean

bp = Blueprint("delegations", __name__)

STATUSES = (OPEN, ANSWERED)
PARAMS = ("status", "linhvuc", "tu", "page")
MAX_PAGE = 10_000


NOT_COMPUTED = (
    "Danh sách nội dung giao chưa được tính cho cơ sở dữ liệu này: chạy `kb derived update` "
    "(các lệnh nhập, cập nhật văn bản cũng tự tính)."
)
BEHIND = "Danh sách đang được cập nhật theo các văn bản vừa thay đổi; tải lại trang sau ít phút."


def all_delegations() -> list[Delegation]:
    """Every delegation of the store for the configured province, newest parent first (stored rows,
    joined once per version of the derived data)."""
    store = get_store()
    st = derived.state(store, DERIVATION)
    version = (st.version, st.event_id, st.rows)
    cached = current_app.extensions.get("kb_delegations")
    if cached and cached[0] == version:
        return cached[1]
    items = stored_delegations(store, current_app.config["PROVINCE"])
    current_app.extensions["kb_delegations"] = (version, items)  # one assignment: safe between threads
    return items


def derived_notice() -> str | None:
    """A sentence for the page when the stored list is missing or behind the documents."""
    st = derived.state(get_store(), DERIVATION)
    if not st.computed:
        return NOT_COMPUTED
    return None if st.current else BEHIND


@dataclass
class Filters:
    status: str | None = None
    linhvuc: str = ""
    since: str = ""  # ISO
    page: int = 1
    limit: int = 50
    notices: list[str] = field(default_factory=list)

    def args(self, **changes) -> dict[str, list[str]]:
        state = {"status": self.status, "linhvuc": self.linhvuc, "since": self.since, "page": 1, **changes}
        out: dict[str, list[str]] = {}
        if state["status"]:
            out["status"] = [state["status"]]
        if state["linhvuc"]:
            out["linhvuc"] = [state["linhvuc"]]
        if state["since"]:
            out["tu"] = [state["since"]]
        if state["page"] and state["page"] > 1:
            out["page"] = [str(state["page"])]
        return out

    def url(self, endpoint: str = "delegations.page", **changes) -> str:
        return url_for(endpoint, **self.args(**changes))


def read_filters(args: MultiDict, strict: bool, per_page: int, max_limit: int = 200) -> Filters:
    """The filters of a query string; strict (the API): BadParameter, lenient (the page): a notice."""
    out = Filters(limit=per_page)

    def problem(message: str) -> None:
        if strict:
            raise BadParameter(message)
        out.notices.append(message)

    known = PARAMS + (("limit",) if strict else ())
    if strict:
        unknown = sorted(k for k in args if k not in known)
        if unknown:
            raise BadParameter(
                f"Tham số không được hỗ trợ: {', '.join(unknown)}. Các tham số dùng được: {', '.join(sorted(known))}."
            )
    status = args.get("status", "")
    if status:
        if status in STATUSES:
            out.status = status
        else:
            problem(
                f"Tình trạng “{clean(status)[:40]}” (tham số status) không có; dùng open (chưa ban hành) "
                "hoặc answered (đã ban hành)."
            )
    out.linhvuc = " ".join(clean(args.get("linhvuc", "")).split())[:200]
    raw = clean(args.get("tu", "")).strip()
    if raw:
        try:
            out.since = parse_date(raw, "tu")
        except RecordError:
            problem(f"Ngày “{raw[:40]}” (tham số tu) không hợp lệ: viết theo dạng 31/01/2025 hoặc 2025-01-31.")
    for name, low, high, _default in (("page", 1, MAX_PAGE, 1), ("limit", 1, max_limit, per_page)):
        text = (args.get(name) or "").strip()
        if name == "limit" and not strict:
            continue
        if not text:
            continue
        if not (text.isascii() and text.isdigit() and len(text) <= 6 and low <= int(text) <= high):
            problem(f"Tham số {name}=“{clean(text)[:20]}” không hợp lệ: cần một số nguyên từ {low} đến {high}.")
            continue
        setattr(out, name, int(text))
    return out


def _field_ok(item: Delegation, wanted: str) -> bool:
    key = fold(wanted).lower()
    return any(key in fold(f).lower() for f in item.fields)


def _since_ok(item: Delegation, since: str) -> bool:
    return (item.parent_effective or item.parent_issued or "") >= since


def select(items: list[Delegation], f: Filters, status: bool = True, field_: bool = True) -> list[Delegation]:
    """The items passing the filters (the same rules as track_delegations' own filters)."""
    return [
        d
        for d in items
        if (not status or f.status is None or d.status == f.status)
        and (not field_ or not f.linhvuc or _field_ok(d, f.linhvuc))
        and (not f.since or _since_ok(d, f.since))
    ]


def summary(items: list[Delegation], f: Filters) -> dict:
    """Counts for the filter links: per status (with the other filters), per lĩnh vực (with the others)."""
    by_status = {s: 0 for s in STATUSES}
    for d in select(items, f, status=False):
        by_status[d.status] = by_status.get(d.status, 0) + 1
    fields: dict[str, int] = {}
    for d in select(items, f, field_=False):
        for name in d.fields:
            fields[name] = fields.get(name, 0) + 1
    return {"status": by_status, "fields": sorted(fields.items(), key=lambda kv: (-kv[1], fold(kv[0]).lower()))}


@bp.route("/giao-hdnd-quy-dinh")
def page():
    """The list, newest parent first, with filters by status, lĩnh vực and date."""
    if instance_state() == "empty":
        return first_run_page()
    f = read_filters(request.args, strict=False, per_page=current_app.config["DELEGATIONS_PER_PAGE"])
    items = all_delegations()
    chosen = select(items, f)
    pages = max(1, -(-len(chosen) // f.limit))
    page_no = min(f.page, pages)
    shown = chosen[(page_no - 1) * f.limit : page_no * f.limit]
    counts = summary(items, f)
    notice = derived_notice()
    if notice:
        f.notices.append(notice)
    return render_template(
        "delegations/delegations.html",
        f=f,
        items=shown,
        total=len(chosen),
        all_count=len(items),
        counts=counts,
        page=page_no,
        pages=pages,
        first=(page_no - 1) * f.limit + 1,
        status_labels=STATUS_LABELS,
        OPEN=OPEN,
        ANSWERED=ANSWERED,
    )
