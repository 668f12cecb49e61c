"""What e-mail alerts need of the search index, without knowing anything of alerts: reading a saved
search's query (is it understood, does it bound anything) and the reverse search that runs a saved search
over only the documents that changed. `kb.alerts` receives these through its `Matcher` protocol; the CLI
and the web wire them together.

    bounded, in_query = read_query("học phí hieuluc:\"còn hiệu lực\"", {"doc_type": ["Nghị định"]})
    SearchMatcher(config.index_dir).match(subscription, {"vbpl:1", "vbpl:2"})
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from index import build
from index.errors import QueryError
from index.query import parse
from index.search import FACETS, WEIGHTS, SearchService


def read_query(query: str, filters: dict[str, list[str]] | None = None) -> tuple[bool, dict[str, list[str]]]:
    """(whether the query bounds the documents at all, the facet filters written in its text).

    QueryError when the query cannot be understood or a filter is unknown or malformed."""
    parsed = parse(query or "")
    for name, values in (filters or {}).items():
        if name not in FACETS:
            raise QueryError(f"Không có bộ lọc “{name}”.")
        values = [values] if isinstance(values, str) else values
        if name == "year" and not all(str(v).strip().isdigit() for v in values):
            raise QueryError("Năm phải là số, ví dụ 2025.")
    bounded = any(low or high for low, high in parsed.ranges.values())
    return bool(not parsed.is_empty or parsed.filters or bounded), dict(parsed.filters)


class SearchMatcher:
    """The reverse search: a subscription's query run over only the documents that changed."""

    PAGE = 100

    def __init__(self, index_dir: str | Path):
        self.index_dir = Path(index_dir)
        # every word must match, even in a long or question-like query (the web search then settles
        # for a share of the words and ranks): an alert that fires on "some of the words" is noise
        self.service = SearchService(self.index_dir, check_interval=0, weights=replace(WEIGHTS, min_share=1.0))

    def match(self, subscription, uids: set[str]) -> list[str]:
        """The uids among `uids` that the subscription's search (its .query and .filters) finds, best first."""
        found: list[str] = []
        page = 1
        while True:
            result = self.service.search(
                subscription.query,
                filters=subscription.filters or None,
                unit="document",
                page=page,
                per_page=self.PAGE,
                facets=False,
                snippets=False,
                uids=set(uids),
            )
            if result.fallback:  # nothing matched every word; "any word" is no match for an alert
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
