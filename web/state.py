"""The whole state of a search lives in the URL. This module reads it from the query string
(leniently for pages, strictly for the API) and writes it back into links (facets, pages, sorts).

Parameters: q, the facet filters (loai, coquan, hieuluc, nam, linhvuc, phamvi; repeatable), the
range of ngày ban hành (tu, den: YYYY-MM-DD or dd/mm/yyyy), the date on which validity is read
(taingay: YYYY-MM-DD, default today in Vietnam), sort, unit (document | article), page, and for the API limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import url_for
from werkzeug.datastructures import MultiDict

from index.search import FACET_PARAMS, FACETS, SORTS, UNITS
from kb import vocab
from kb.errors import RecordError
from kb.model import parse_date
from kb.text import nfc

PARAM_FACETS = {param: facet for facet, param in FACET_PARAMS.items()}  # "loai" -> "doc_type"
SORT_LABELS = {
    "relevance": "Phù hợp nhất",
    "issued": "Ngày ban hành mới nhất",
    "effective": "Ngày có hiệu lực mới nhất",
}
UNIT_LABELS = {"document": "Văn bản", "article": "Điều"}
MAX_PAGE = 10_000
MAX_VALUES = 20  # values of one facet parameter kept
MAX_VALUE_LENGTH = 200  # characters of one facet value kept


class BadParameter(ValueError):
    """A parameter of the URL is invalid; the message (Vietnamese) says which and why."""


@dataclass
class SearchState:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)  # facet name -> values
    date_from: str = ""
    date_to: str = ""
    on: str = ""  # taingay: hiệu lực tại ngày (ISO); empty: today
    sort: str = "relevance"
    unit: str = "document"
    page: int = 1
    limit: int = 20
    notices: list[str] = field(default_factory=list)  # what was wrong with the URL and was ignored
    sort_given: bool = False

    # --- what the search service gets ---------------------------------------------------------
    def query_text(self) -> str:
        """The query with the date range as a `ngay:` clause (the query language's own range)."""
        if not (self.date_from or self.date_to):
            return self.q
        return f"{self.q} ngay:{self.date_from}..{self.date_to}".strip()

    @property
    def is_empty(self) -> bool:
        return not (self.q.strip() or self.filters or self.date_from or self.date_to)

    @property
    def has_filters(self) -> bool:
        return bool(self.filters or self.date_from or self.date_to)

    def active_filters(self) -> list[tuple[str, str, str]]:
        """[(facet, value, URL without it)] for the chips above the results."""
        out = []
        for facet, values in self.filters.items():
            for value in values:
                out.append((facet, value, self.url(filters=self._without(facet, value))))
        if self.date_from or self.date_to:
            out.append(("date", f"{self.date_from or '…'} – {self.date_to or '…'}", self.url(date_from="", date_to="")))
        return out

    # --- writing it back ----------------------------------------------------------------------
    def args(self, **changes) -> MultiDict:
        """The query string of this state with some parts changed (page goes back to 1 unless given)."""
        state = {
            "q": self.q,
            "filters": self.filters,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "on": self.on,
            "sort": self.sort,
            "unit": self.unit,
            "page": 1,
            "limit": None,
        }
        state.update(changes)
        out = MultiDict()
        if state["q"]:
            out.add("q", state["q"])
        for facet in FACETS:
            for value in state["filters"].get(facet, []):
                out.add(FACET_PARAMS[facet], value)
        if state["date_from"]:
            out.add("tu", state["date_from"])
        if state["date_to"]:
            out.add("den", state["date_to"])
        if state["on"]:
            out.add("taingay", state["on"])
        if state["sort"] != "relevance":
            out.add("sort", state["sort"])
        if state["unit"] != "document":
            out.add("unit", state["unit"])
        if state["page"] and state["page"] != 1:
            out.add("page", str(state["page"]))
        if state["limit"]:
            out.add("limit", str(state["limit"]))
        return out

    def url(self, endpoint: str = "search.results", _external: bool = False, **changes) -> str:
        args = self.args(**changes)
        return url_for(endpoint, _external=_external, **args.to_dict(flat=False))

    def toggle_url(self, facet: str, value: str, endpoint: str = "search.results") -> str:
        """The URL with this facet value added, or removed when it is already selected."""
        if value in self.filters.get(facet, []):
            return self.url(endpoint, filters=self._without(facet, value))
        filters = {k: list(v) for k, v in self.filters.items()}
        filters.setdefault(facet, []).append(value)
        return self.url(endpoint, filters=filters)

    def selected(self, facet: str, value: str) -> bool:
        return value in self.filters.get(facet, [])

    def _without(self, facet: str, value: str) -> dict[str, list[str]]:
        filters = {k: [v for v in vals if not (k == facet and v == value)] for k, vals in self.filters.items()}
        return {k: v for k, v in filters.items() if v}


def clean(text: str) -> str:
    """NFC without control characters (they cannot be typed, and break XML feeds)."""
    return nfc(text or "").replace("\n", " ").replace("\t", " ")


def read_state(
    args: MultiDict, strict: bool = False, per_page: int = 20, max_limit: int = 100, allowed_extra: tuple[str, ...] = ()
) -> SearchState:
    """The search state of a query string.

    strict (the API): an invalid parameter raises BadParameter saying what is wrong.
    lenient (pages): it is ignored, and a notice in `state.notices` says so."""
    state = SearchState(limit=per_page)

    def problem(message: str) -> None:
        if strict:
            raise BadParameter(message)
        state.notices.append(message)

    if strict:
        known = {"q", "tu", "den", "taingay", "sort", "unit", "page", "limit", *PARAM_FACETS, *allowed_extra}
        unknown = sorted(k for k in args if k not in known and not k.startswith("_"))
        if unknown:
            raise BadParameter(
                f"Tham số không được hỗ trợ: {', '.join(unknown)}. Các tham số dùng được: {', '.join(sorted(known))}."
            )
    state.q = clean(args.get("q", ""))
    for param, facet in PARAM_FACETS.items():
        values = []
        for raw in args.getlist(param)[:MAX_VALUES]:
            value = " ".join(clean(raw).split())[:MAX_VALUE_LENGTH]
            if not value or value in values:
                continue
            if facet == "year" and not (value.isdigit() and len(value) == 4):
                problem(f"Năm ban hành “{value}” (tham số nam) không hợp lệ: viết bốn chữ số, ví dụ nam=2025.")
                continue
            if facet == "status" and value not in vocab.STATUSES and vocab.status(value) == vocab.UNKNOWN:
                problem(
                    f"Tình trạng hiệu lực “{value}” (tham số hieuluc) không có. "
                    f"Các giá trị: {', '.join(vocab.STATUSES)}."
                )
                continue
            values.append(vocab.status(value) if facet == "status" else value)
        if values:
            state.filters[facet] = values
    for name, attr in (("tu", "date_from"), ("den", "date_to")):
        raw = clean(args.get(name, "")).strip()
        if not raw:
            continue
        try:
            setattr(state, attr, parse_date(raw, name))
        except RecordError:
            problem(
                f"Ngày “{raw[:40]}” ({'từ ngày' if name == 'tu' else 'đến ngày'}, tham số {name}) không hợp lệ: "
                "viết theo dạng 31/01/2025 hoặc 2025-01-31."
            )
    raw = clean(args.get("taingay", "")).strip()
    if raw:
        try:
            state.on = parse_date(raw, "taingay")
        except RecordError:
            problem(
                f"Ngày “{raw[:40]}” (hiệu lực tại ngày, tham số taingay) không hợp lệ: "
                "viết theo dạng 2025-06-01 hoặc 01/06/2025."
            )
    if state.date_from and state.date_to and state.date_from > state.date_to:
        problem("Khoảng ngày không hợp lệ (tham số tu, den): “từ ngày” phải trước “đến ngày”.")
        state.date_from = state.date_to = ""
    sort = args.get("sort", "")
    if sort:
        if sort in SORTS:
            state.sort, state.sort_given = sort, True
        else:
            problem(f"Cách sắp xếp “{clean(sort)[:50]}” (tham số sort) không có; dùng một trong: {', '.join(SORTS)}.")
    unit = args.get("unit", "")
    if unit:
        if unit in UNITS:
            state.unit = unit
        else:
            problem(
                f"Đơn vị “{clean(unit)[:50]}” (tham số unit) không có; dùng document (văn bản) hoặc article (điều)."
            )
    state.page = _int(args.get("page"), "page", 1, MAX_PAGE, 1, problem)
    if strict:
        state.limit = _int(args.get("limit"), "limit", 1, max_limit, per_page, problem)
    return state


def _int(raw: str | None, name: str, low: int, high: int, default: int, problem) -> int:
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if (
        len(text) > 9
        or not text.lstrip("-").isascii()
        or not text.lstrip("-").isdigit()
        or not low <= int(text) <= high
    ):
        problem(f"Tham số {name}=“{clean(raw)[:20]}” không hợp lệ: cần một số nguyên từ {low} đến {high}.")
        return default
    return int(text)
