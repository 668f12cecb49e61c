"""Searching: the Python API shared by the web UI and the command line.

`SearchService(index_dir).search(q, ...)` parses the query, applies filters, ranks with BM25 over
title, article heading and body (exactly-accented syllables and adjacent query words add to the
score), collapses article hits to documents (or not, for unit="article"), counts facets from
column arrays, and highlights only the hits shown.

Searchers are opened once per thread and replaced when the index changed (checked at most once a
second); Searcher.refresh() is never called (it returns stale duplicates in whoosh forks).
"""

from __future__ import annotations

import copy
import logging
import math
import threading
import time
import weakref
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from whoosh import columns, fields

from index import abbreviations, build, ranking, rerank, semantic
from index.analysis import folded_syllables
from index.boilerplate import QuestionPrior, shipped
from index.diacritics import Restorer, restorer
from index.errors import QueryError
from index.intents import heading_hints
from index.lookup import Catalog, Reference
from index.query import ParsedQuery, parse
from index.ranking import WEIGHTS, Weights, combine  # noqa: F401  (re-exported for bench/tune_ranking.py)
from index.schema import FIELD_SEPARATOR, decode_timeline
from index.scoring import Postings
from index.snippets import Highlight, snippet
from kb import vocab
from kb.dates import today_vn
from kb.legal.validity import status_in
from kb.numbers import number_key
from kb.text import fold

log = logging.getLogger(__name__)

FACETS = vocab.FACET_NAMES  # declared once, with their URL parameters and labels, in kb.vocab.FACETS
FACET_PARAMS = vocab.FACET_PARAMS
SORTS = ("relevance", "issued", "effective")
_FIELDS = ("title", "head", "body")
UNITS = ("document", "article")
KIND_DOC, KIND_ARTICLE = 1, 2
# Below this many records, scoring every matched record over whole arrays costs less than MaxScore's
# bookkeeping (pháp điển, 46,000 records: 3–6 ms less CPU per query); at ten times that, pruning
# saves a third on several-word, phrase and filtered queries (docs/PERFORMANCE.md, bench/pruning.py)
PRUNE_FROM = 150_000


@dataclass
class Hit:
    uid: str
    kind: str  # "doc" or "article"
    number: str
    title: str
    doc_type: str
    issuer: str
    issued: str
    effective: str
    status: str
    score: float
    snippet: str = ""  # HTML: escaped text with <mark> around matches
    anchor: str = ""  # article anchor ("dieu-15") for article hits
    article_number: str = ""
    article_heading: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    total: int
    page: int
    per_page: int
    unit: str
    sort: str
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    fallback: bool = False  # nothing matched every word; these match any word
    exact: list[Hit] = field(default_factory=list)  # documents whose số ký hiệu is the query
    took_ms: float = 0.0
    on: str = ""  # the date (ISO) on which statuses were read
    restored: str = ""  # the question as searched, diacritics put back (it was typed without them)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class _Table:
    """Per-searcher arrays: each record's kind, parent document and facet values (from columns)."""

    def __init__(self, searcher):
        reader = searcher.reader()
        n = self.n = reader.doc_count_all()
        live = np.zeros(n, dtype=bool)
        live[list(reader.all_doc_ids())] = True

        def column(name, default=""):
            # Segment by segment: Whoosh's MultiColumnReader skips a segment that lacks the column
            # (one holding only the meta record, say), which would shift every later value.
            values = []
            for sub, _offset in reader.leaf_readers():
                count = sub.doc_count_all()
                values.extend(_column_values(sub, name, count) if sub.has_column(name) else [default] * count)
            return values

        kinds = column("kind")
        self.kind = np.array(
            [KIND_DOC if k == "doc" else KIND_ARTICLE if k == "article" else 0 for k in kinds], dtype=np.int8
        )
        self.kind[~live] = 0
        self.live = live & (self.kind > 0)
        uids = column("uid")
        self.uid = uids
        self.uids: list[str] = []  # parent ordinal -> uid
        ordinal: dict[str, int] = {}
        parent = np.full(n, -1, dtype=np.int32)
        for i, uid in enumerate(uids):
            if self.kind[i]:
                parent[i] = ordinal.setdefault(uid, len(ordinal))
        self.uids = list(ordinal)
        self.parent_of = ordinal  # uid -> parent ordinal
        self.parent = parent
        self.doc_row = np.full(len(self.uids), -1, dtype=np.int64)  # parent ordinal -> its doc record
        docs = np.nonzero(self.kind == KIND_DOC)[0]
        self.doc_row[parent[docs]] = docs
        self.by_uid = {uid: int(self.doc_row[o]) for uid, o in ordinal.items() if self.doc_row[o] >= 0}
        # each record's document record (n, a zero slot, for records without one)
        rows = np.where(parent >= 0, self.doc_row[np.maximum(parent, 0)], -1)
        self.doc_of = np.where(rows >= 0, rows, n).astype(np.int64)
        self.codes: dict[str, np.ndarray] = {}
        self.labels: dict[str, list[str]] = {}
        for name in ("doc_type", "issuer", "status", "scope", "linhvuc", "issued", "effective", "artnum", "timeline"):
            self._encode(name, column(name))
        self._on: dict[str, _Table] = {}
        years = column("year", 0)
        self.year = np.array([y if y and y < 10000 else 0 for y in years], dtype=np.int32)
        try:
            self.postings: Postings | _SharedPostings = _SharedPostings(searcher, self.live)
        except FileNotFoundError:  # a commit removed a merged segment meanwhile: each thread its own
            self.postings = Postings(reader, self.live)
        self.shared: dict = {"lock": threading.Lock()}  # built on first use, shared by the threads' copies

    def parents_of(self, mask: np.ndarray) -> np.ndarray:
        """Parent ordinals (sorted) of the records in `mask`: marked, not sorted (np.unique sorts
        every match: ~10 ms for the 150,000 records of a common word at 10× pháp điển)."""
        marks = np.zeros(len(self.uids) + 1, dtype=bool)
        marks[self.parent[mask]] = True  # records without a parent (-1) mark the spare last slot
        return np.flatnonzero(marks[:-1])

    def catalog(self, searcher, province: str) -> Catalog:
        """The documents of this generation for lookups (index/lookup.py), read once."""
        with self.shared["lock"]:
            catalog = self.shared.get("catalog")
            if catalog is None:
                records = []
                for row in np.nonzero((self.kind == KIND_DOC) & self.live)[0]:
                    stored = searcher.stored_fields(int(row))
                    # the fields an entry is made of, not the document's text (`content`, up to 20,000
                    # characters: every document's at once was 1 GB at 10× pháp điển)
                    records.append({name: stored.get(name) for name in _CATALOG_FIELDS} | {"row": int(row)})
                catalog = self.shared["catalog"] = Catalog.from_records(records, province)
            return catalog

    def for_thread(self, searcher) -> _Table:
        """This table for another thread's searcher of the same index generation: the arrays are
        shared (never written after construction), and so are the postings and their cache
        (_SharedPostings)."""
        table = copy.copy(self)
        if not isinstance(self.postings, _SharedPostings):
            table.postings = Postings(searcher.reader(), self.live)
        return table

    def on_date(self, on: str) -> _Table:
        """This table with each record's status on `on`, read from its validity timeline: an interval
        test per distinct timeline (kb.legal.validity.status_in). The codes are cached per date and
        shared by the threads' tables (never written after construction); the view keeps this
        thread's postings."""
        cached = self._on.get(on)
        if cached is None:
            statuses = [status_in(decode_timeline(t), on) if t else "" for t in self.labels["timeline"]]
            labels = sorted(set(statuses))
            index = {v: i for i, v in enumerate(labels)}
            per_timeline = np.array([index[v] for v in statuses], dtype=np.int32)
            codes = per_timeline[self.codes["timeline"]] if len(per_timeline) else self.codes["status"]
            cached = (codes, labels if len(per_timeline) else self.labels["status"])
            if len(self._on) > 32:
                self._on.clear()
            self._on[on] = cached
        view = copy.copy(self)
        view.codes = dict(self.codes, status=cached[0])
        view.labels = dict(self.labels, status=cached[1])
        return view

    def _encode(self, name: str, values: list[str]) -> None:
        labels = sorted(set(values))
        index = {v: i for i, v in enumerate(labels)}
        self.labels[name] = labels
        self.codes[name] = np.array([index[v] for v in values], dtype=np.int32)

    def restrictions(
        self, unit: str, filters: dict[str, list[str]], ranges: dict, uids: set[str] | None = None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(base mask, one mask per facet filter). A record is allowed when it passes the base and
        every facet mask; a facet's counts leave out its own mask (disjunctive facets: choosing
        "Nghị quyết" still shows how many "Quyết định" there are)."""
        base = self.kind == KIND_ARTICLE if unit == "article" else self.kind > 0
        for name, (low, high) in ranges.items():
            if name == "year":
                if low:
                    base &= self.year >= int(low)
                if high:
                    base &= self.year <= int(high)
                base &= self.year > 0
            else:
                ok = [
                    i
                    for i, label in enumerate(self.labels["issued"])
                    if label and (not low or label >= low) and (not high or label <= high)
                ]
                base &= np.isin(self.codes["issued"], ok)
        if uids is not None:
            base &= np.isin(self.parent, [self.parent_of[u] for u in uids if u in self.parent_of])
        masks = {}
        for name, wanted in filters.items():
            if name == "year":
                masks[name] = np.isin(self.year, [int(v) for v in wanted])
            else:
                ok = [i for i, label in enumerate(self.labels[name]) if _matches(name, label, wanted)]
                masks[name] = np.isin(self.codes[name], ok)
        return base, masks


_CATALOG_FIELDS = ("uid", "number", "doc_type", "title", "issuer", "status", "issued")  # lookup.make_entry's


class _SharedPostings:
    """The postings of one index generation for every thread of a process: one Postings, hence one
    length table and one cache (scoring.CACHE_BYTES), where each thread had its own (a 4-thread `kb serve` at 10×
    pháp điển held 786 MB after the benchmark's queries, 431 MB without caches). It reads through a
    reader of its own of the same segments (no thread's searcher, which its thread closes when the
    index changes), one call at a time: Whoosh's files are read by seek and read, and the decoding
    is Python under the GIL anyway. The reader is closed when the generation's tables are gone."""

    def __init__(self, searcher, live: np.ndarray):
        reader, owned = _own_reader(searcher)
        self._postings = Postings(reader, live)
        self._lock = threading.RLock()
        self._methods: dict = {}
        if owned:
            weakref.finalize(self, reader.close)

    def __getattr__(self, name: str):
        method = self._methods.get(name)
        if method is not None:
            return method
        value = getattr(self._postings, name)
        if not callable(value):
            return value
        lock = self._lock

        def locked(*args, **kwargs):
            with lock:
                return value(*args, **kwargs)

        self._methods[name] = locked
        return locked


def _own_reader(searcher):
    """(A reader of the same segments as `searcher`'s, with files of its own: same order and deletions,
    hence the same document numbers; True), or (the searcher's reader, False) for an index that is not
    a folder of segments (then the caller must not close it)."""
    reader = searcher.reader()
    ix = getattr(searcher, "_ix", None)
    leaves = [leaf for leaf, _offset in reader.leaf_readers()]
    if ix is None or not hasattr(ix, "_reader") or any(leaf.segment() is None for leaf in leaves):
        return reader, False
    own = ix._reader(ix.storage, ix.schema, [leaf.segment() for leaf in leaves], reader.generation())
    if [leaf.doc_count_all() for leaf, _ in own.leaf_readers()] != [leaf.doc_count_all() for leaf in leaves]:
        own.close()
        raise RuntimeError("the postings reader does not match the searcher's segments")
    return own, True


def _column_values(reader, name: str, count: int) -> list:
    """A segment's column as a list, read in one go for text columns (Whoosh reads each value
    with a seek and a read: most of the time of opening a searcher on a large index)."""
    raw = reader.column_reader(name, translate=False)
    if isinstance(raw, columns.VarBytesColumn.Reader) and isinstance(reader.schema[name], fields.ID):
        lengths = raw._lengths
        data = raw._dbfile.get(raw._basepos, sum(lengths)) if len(lengths) else b""
        values, pos, decoded = [], 0, {}
        for length in lengths:
            chunk = data[pos : pos + length]
            pos += length
            value = decoded.get(chunk)
            if value is None:
                value = decoded[chunk] = chunk.decode("utf-8")
            values.append(value)
        values.extend([""] * (count - len(values)))
        return values
    return list(reader.column_reader(name))


_ABBREVIATIONS = (
    ("hdnd", "hoi dong nhan dan"),
    ("ubnd", "uy ban nhan dan"),
    ("ubtvqh", "uy ban thuong vu quoc hoi"),
    ("ttg", "thu tuong chinh phu"),
)


def _norm(value: str) -> str:
    return " ".join(fold(value).lower().split())


def _expand(value: str) -> str:
    text = f" {_norm(value)} "
    for short, full in _ABBREVIATIONS:
        text = text.replace(f" {short} ", f" {full} ")
    return text.strip()


def _matches(name: str, label: str, wanted: list[str]) -> bool:
    if name == "status":
        return label in {vocab.status(v) for v in wanted}
    if name == "issuer":  # coquan:HĐND matches every HĐND ("Hội đồng nhân dân tỉnh …" too)
        return any(_expand(w) in _expand(label) for w in wanted)
    if name == "linhvuc":
        return any(_norm(w) == _norm(v) for v in label.split(FIELD_SEPARATOR) for w in wanted)
    return _norm(label) in {_norm(w) for w in wanted}


def _check_statuses(values: list[str]) -> None:
    for value in values:
        if vocab.status(value) == vocab.UNKNOWN and _norm(value) != _norm(vocab.UNKNOWN):
            raise QueryError(
                f"Không có tình trạng hiệu lực “{value}”. Dùng một trong: " + ", ".join(vocab.STATUSES) + "."
            )


class SearchService:
    """Searches one index folder; safe to share between threads (one searcher per thread)."""

    def __init__(
        self,
        index_dir: str | Path,
        check_interval: float = 1.0,
        weights: Weights = WEIGHTS,
        prior: QuestionPrior | None = None,
        province: str = "",
        prune: bool | None = None,
        model: rerank.Model | None | str = "shipped",
        semantic_model: rerank.Model | None | str = "shipped",
        meaning: semantic.Semantic | None | str = "auto",
    ):
        """`model`: the second stage's learned ranking (index/rerank.py); "shipped" loads the
        package's file, None (or no file) keeps the lexical re-rank. `semantic_model`: the same with the
        sentence model's features (index/semantic.py), used for a question whose candidates all have
        vectors; `meaning`: the sentence model and vectors ("auto": when installed and made, None: off)."""
        self.index_dir = Path(index_dir)
        # True: MaxScore pruning (index/ranking.py); False: every matched record scored (its reference);
        # None: pruning from PRUNE_FROM records up, where it pays (docs/PERFORMANCE.md)
        self.prune = prune
        self.last_stats: dict = {}  # what the last pruned ranking scored (benchmarks read it)
        self.model = rerank.load() if isinstance(model, str) else model
        self.semantic_model = (
            rerank.load(rerank.SEMANTIC_MODEL_PATH, rerank.FEATURES + semantic.FEATURES)
            if isinstance(semantic_model, str)
            else semantic_model
        )
        self._meaning = meaning
        self.restorer: Restorer | None = None  # puts diacritics back; None: the shipped table's
        self.province = province
        self.check_interval = check_interval
        self.weights = weights
        self.prior = prior if prior is not None else shipped()
        self._local = threading.local()
        self._tables: dict[tuple[str, int | None], _Table] = {}
        self._tables_lock = threading.Lock()

    # --- searcher life cycle ----------------------------------------------------------------
    def _state(self):
        state = self._local
        now = time.monotonic()
        if getattr(state, "searcher", None) is not None and now - state.checked < self.check_interval:
            return state
        current = build.current_dir(self.index_dir)
        stale = getattr(state, "searcher", None) is None or current != state.path or not state.searcher.up_to_date()
        if stale:
            if getattr(state, "searcher", None) is not None:
                state.searcher.close()
            state.searcher = build.open_searcher(self.index_dir)
            state.path = current
            state.table = self._table(state.searcher, current)
        state.checked = now
        return state

    def _table(self, searcher, path) -> _Table:
        """One table per index generation, shared by the threads (building one reads every
        column: ~0.5 s on pháp điển, which each thread paid after every commit)."""
        key = (str(path), searcher.reader().generation())
        with self._tables_lock:
            shared = self._tables.get(key)
            if shared is None:
                shared = _Table(searcher)
                self._tables = {key: shared}  # older generations are no longer opened
                return shared
        return shared.for_thread(searcher)

    def meaning(self) -> semantic.Semantic | None:
        """The sentence model, once its vectors exist for this index (looked for again until then)."""
        if self._meaning == "auto":
            found = semantic.Semantic.of(self.index_dir)
            if found is None:
                return None
            self._meaning = found
        return self._meaning

    def close(self) -> None:
        if isinstance(self._meaning, semantic.Semantic):
            self._meaning.close()
        state = self._local
        if getattr(state, "searcher", None) is not None:
            state.searcher.close()
            state.searcher = None

    # --- searching ---------------------------------------------------------------------------
    def search(
        self,
        q: str = "",
        filters: dict[str, list[str]] | None = None,
        unit: str = "document",
        sort: str = "relevance",
        page: int = 1,
        per_page: int = 20,
        facets: bool = True,
        snippets: bool = True,
        uids: set[str] | None = None,
        on: str | None = None,
    ) -> SearchResult:
        """Run a query. Raises QueryError (with a message for users) when it cannot be understood.

        `uids` restricts the search to those documents (used to match alerts against what changed).
        `on` (ISO; or `taingay:` in the query, which wins; default today in Vietnam) is the date on which
        `hieuluc:`, the status facet and each hit's status are read."""
        started = time.perf_counter()
        if unit not in UNITS:
            raise QueryError(f"unit phải là một trong: {', '.join(UNITS)}")
        if sort not in SORTS:
            raise QueryError(f"sort phải là một trong: {', '.join(SORTS)}")
        page = max(1, int(page))
        per_page = max(1, min(int(per_page), 100))
        parsed, restored = self._parse(q), ""
        if self.weights.restore and not parsed.accented and ":" not in q and ranking.is_long(self.weights, parsed):
            restored = (self.restorer or restorer()).restore(q)  # a question typed without diacritics
            if restored != q:
                parsed = self._parse(restored)
            else:
                restored = ""  # nothing to put back (numbers, unknown words)
        for name, values in (filters or {}).items():
            if name not in FACETS:
                raise QueryError(f"Không có bộ lọc “{name}”.")
            values = [v for v in values if v]
            if name == "year" and not all(v.isdigit() for v in values):
                raise QueryError("Năm phải là số, ví dụ 2025.")
            if values:
                parsed.filters.setdefault(name, []).extend(values)
        _check_statuses(parsed.filters.get("status", []))
        meaning = self._start_meaning(restored or q, parsed, sort)
        self.last_stats["semantic"] = False  # whether the sentence model re-ranked (`_with_meaning`)
        day = parsed.on or on or today_vn().isoformat()
        state = self._state()
        table: _Table = state.table.on_date(day)
        base, masks = table.restrictions(unit, parsed.filters, parsed.ranges, uids)
        allowed = base.copy()
        for mask in masks.values():
            allowed &= mask
        result = SearchResult(q, [], 0, page, per_page, unit, sort, on=day, restored=restored)
        ref = self._resolve(state, table, parsed)
        pinned: list[int] = []
        if ref is not None:
            result.exact = [self._hit(state.searcher, e.row, 0.0, None, day) for e in ref.entries[:20]]
            pinned = self._pinned(table, ref)
        elif parsed.number:
            result.exact = [
                self._hit(state.searcher, row, 0.0, None, day) for row in self._number_rows(table, parsed.number)
            ]
        scores = np.zeros(table.n, dtype=np.float32)
        terms = query = None
        if ref is not None and ref.only and ref.by == "number" and allowed[pinned].any():
            # nothing but a document (and article) reference: those records, no text scoring
            found = np.zeros(table.n, dtype=bool)
            found[pinned] = True
            matched = found & allowed
        elif parsed.number_only and result.exact:
            found = np.zeros(table.n, dtype=bool)
            for hit in result.exact:
                found[table.by_uid[hit.uid]] = True
            matched = found & allowed if uids is not None else found
            base = base | found if uids is None else base
        elif not parsed.groups:
            kind = KIND_ARTICLE if unit == "article" else KIND_DOC
            found = table.kind == kind
            matched = found & allowed
        else:
            found = self._match(table, parsed, strict=True)
            matched = found & allowed
            if not matched.any() and len(parsed.clauses) > 1:
                found = self._match(table, parsed, strict=False)
                matched = found & allowed
                result.fallback = bool(matched.any())
            terms = Highlight.from_query(parsed) if snippets else None  # what to mark, as the query means it
            query = parsed
        if pinned:
            found[pinned] |= allowed[pinned]
            matched[pinned] |= allowed[pinned]
        if facets:
            result.facets = self._facets(table, found & base, masks)
        ranked = None
        if query is not None and sort == "relevance":
            need = page * per_page + len(pinned)
            named_rows = [e.row for e in ref.entries] if ref is not None else []
            ranked, scores = self._rank(table, parsed, matched, named_rows, pinned, unit, need)
        self._collect(
            result,
            state,
            scores,
            matched,
            terms,
            browse=query is None and not parsed.number_only and not pinned,
            query=query,
            pinned=pinned,
            ranked=ranked,
            meaning=meaning,
        )
        if meaning is not None:
            meaning.cancel()  # not needed after all (no candidates, a lookup): the model's thread is free sooner
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    def _parse(self, q: str) -> ParsedQuery:
        return parse(abbreviations.expand(q) if self.weights.abbreviations else q)

    def _resolve(self, state, table: _Table, parsed: ParsedQuery) -> Reference | None:
        """The documents (and article) the query names, if it names any (index/lookup.py); several that fit
        are ordered by their validity on the search date (`table`: the view of that date)."""
        text = " ".join(c.text for c in parsed.clauses)
        if not text or len(text) > 300:
            return None
        statuses, labels = table.codes["status"], table.labels["status"]
        return state.table.catalog(state.searcher, self.province).resolve(
            text, status_of=lambda entry: labels[statuses[entry.row]]
        )

    def _pinned(self, table: _Table, ref: Reference) -> list[int]:
        """Records that go first: the named article of each named document (in the lookup's
        order), or, for a document named with nothing else, the documents themselves."""
        rows = []
        if ref.article:
            wanted = [i for i, label in enumerate(table.labels["artnum"]) if label == ref.article]
            if wanted:
                for entry in ref.entries:
                    parent = table.parent[entry.row]
                    here = np.nonzero((table.parent == parent) & np.isin(table.codes["artnum"], wanted))[0]
                    here = here[table.kind[here] == KIND_ARTICLE]
                    rows.extend(int(r) for r in here[:1])
        if ref.only or not rows:
            rows.extend(e.row for e in ref.entries if ref.only or ref.article)
        return rows

    def _number_rows(self, table: _Table, number: str) -> list[int]:
        ids, _ = table.postings.get("numkey", number_key(number))
        return [int(i) for i in ids if table.kind[i] == KIND_DOC]

    # --- scoring (index/ranking.py) -----------------------------------------------------------------
    def _prior(self, table: _Table, term: str) -> float:
        """The boilerplate discount of a folded syllable or bigram (index/boilerplate.py)."""
        w = self.weights
        if w.boilerplate <= 0:
            return 1.0
        field = "body_b" if "_" in term else "body_f"
        cdf = table.postings.df(field, term) / max(1, table.postings.live_count)
        return self.prior.weight(term, cdf, w.boilerplate)

    def _match(self, table: _Table, parsed: ParsedQuery, strict: bool) -> np.ndarray:
        return ranking.match(table, self.weights, parsed, strict)

    def _components(
        self, table: _Table, parsed: ParsedQuery, strict: bool, ref: Reference | None = None
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Every record's score parts and the match mask (ranking.components), for tuning."""
        named_rows = [e.row for e in ref.entries] if ref is not None else []
        return ranking.components(table, self.weights, parsed, lambda t: self._prior(table, t), strict, named_rows)

    def _rank(
        self,
        table: _Table,
        parsed: ParsedQuery,
        matched: np.ndarray,
        named_rows: list[int],
        pinned: list[int],
        unit: str,
        need: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(the best matched records in order, every record's score where computed, else 0): enough
        of them for the second stage and for `need` results (documents: `need` distinct documents),
        pruned (ranking.top_k) on a large index (see `prune`) unless the query is a long question."""
        w = self.weights
        units = ranking.plan(w, parsed, lambda t: self._prior(table, t))
        named, artref = ranking.named_masks(table, parsed, named_rows)
        named &= matched
        artref &= matched
        total = int(matched.sum())
        # Long questions are scored exhaustively: most of their 100–200 units are essential (their
        # bounds add up past θ), and MaxScore's bookkeeping cost more than it saved (docs/PERFORMANCE.md)
        question = ranking.is_long(w, parsed)
        k = max(w.rerank_depth, need * (8 if unit == "document" else 1))
        while True:
            if (self.prune or (self.prune is None and table.n >= PRUNE_FROM)) and not question:
                rows, top = ranking.top_k(table, w, units, matched, named, artref, k, self.last_stats)
            else:
                every = ranking.parts(table, w, units)
                every["named"], every["artref"] = named, artref
                totals = ranking.combine(w, every, matched)
                candidates = np.nonzero(matched)[0]
                rows = candidates[np.lexsort((candidates, -totals[candidates]))][:k]
                top = totals[rows]
            if rows.size >= total or unit != "document" or np.unique(table.parent[rows]).size >= need:
                break
            k *= 4
        scores = np.zeros(table.n, dtype=np.float32)
        scores[rows] = top
        extra = np.array([r for r in pinned if not scores[r]], dtype=np.int64)
        if extra.size:  # a named record the words do not match: shown first, with its own score
            scores[extra] = ranking.combine(
                w,
                dict(ranking.parts(table, w, units, extra), named=named[extra], artref=artref[extra]),
                np.zeros(extra.size, dtype=bool),
            )
        return rows, scores

    # --- ranking, paging, facets -----------------------------------------------------------------
    def _collect(
        self,
        result: SearchResult,
        state,
        scores: np.ndarray,
        matched: np.ndarray,
        terms: Highlight | None,
        browse: bool = False,
        query: ParsedQuery | None = None,
        pinned: list[int] | None = None,
        ranked: np.ndarray | None = None,
        meaning: Future | None = None,
    ) -> None:
        """The page of hits. `ranked`: the best records in order (from `_rank`), when only those
        were scored; otherwise every matched record is ordered here."""
        table: _Table = state.table
        rows = np.nonzero(matched)[0]
        if rows.size == 0:
            return
        if result.unit == "document":
            result.total = int(table.parents_of(matched).size)
        else:
            result.total = int(rows.size)
        if result.sort == "relevance" and not browse:
            order = ranked if ranked is not None else rows[np.lexsort((rows, -scores[rows]))]
            if query is not None:
                order = self._rerank(state.searcher, table, order, scores, query, meaning)
        else:
            dates = table.codes["effective" if result.sort == "effective" else "issued"]
            order = rows[np.lexsort((rows, -dates[rows]))]
        if pinned and result.sort == "relevance":
            first = [r for r in dict.fromkeys(pinned) if matched[r]]
            order = np.concatenate([np.array(first, dtype=order.dtype), order[~np.isin(order, first)]])
        if result.unit == "document":
            _, first = np.unique(table.parent[order], return_index=True)
            order = order[np.sort(first)]
        start = (result.page - 1) * result.per_page
        result.hits = [
            self._hit(state.searcher, int(i), float(scores[i]), terms, result.on)
            for i in order[start : start + result.per_page]
        ]

    def _start_meaning(self, q: str, parsed: ParsedQuery, sort: str) -> Future | None:
        """The question's vector, started in a thread beside the first stage when the learned re-rank
        will run with the sentence model (a long question, sorted by relevance, vectors made)."""
        w = self.weights
        if not (w.rerank_model and self.semantic_model is not None and sort == "relevance"):
            return None
        if not parsed.groups or not ranking.is_long(w, parsed):
            return None
        meaning = self.meaning()
        return meaning.start(q) if meaning is not None else None

    def _rerank(
        self,
        searcher,
        table: _Table,
        order: np.ndarray,
        scores: np.ndarray,
        query: ParsedQuery,
        meaning: Future | None = None,
    ) -> np.ndarray:
        """Second stage: re-order the top candidates with what bag-of-words scoring cannot see.
        With the learned model (index/rerank.py), by its score of their features (and, when the
        question's vector is computing (`meaning`) and every candidate has one, the model with the
        sentence model's similarities, index/semantic.py); without it, by the lexical re-rank
        (`rerank_features`): the question's word triples found in the article, and the article
        heading's words named by the question."""
        w = self.weights
        depth = min(w.rerank_depth, order.size)
        if depth < 2:
            return order
        top = order[:depth]
        # The model learned from questions (1,932 of the 1,933 in both sets are long questions):
        # keyword searches keep the lexical re-rank, which is also ~30 ms cheaper
        if w.rerank_model and self.model is not None and ranking.is_long(w, query):
            x = rerank.features(searcher, table, top, scores[top].astype(np.float64), query, table.postings)
            model, x = self._with_meaning(searcher, table, top, x, meaning)
            ranked = top[np.argsort(-model.predict(x), kind="stable")]
            return np.concatenate([ranked, order[depth:]])
        if w.rerank <= 0 and w.rerank_head <= 0:
            return order
        best = float(scores[top[0]]) or 1.0
        triples, heads = self.rerank_features(
            searcher, table, top, query, exact=w.rerank_exact, headings=w.rerank_head > 0
        )
        boosted = scores[top] + best * (w.rerank * triples + w.rerank_head * heads)
        ranked = top[np.argsort(-boosted, kind="stable")]
        return np.concatenate([ranked, order[depth:]])

    def _with_meaning(self, searcher, table: _Table, top: np.ndarray, x: np.ndarray, meaning: Future | None):
        """(the model to use, its features): the sentence model's when the question's vector came and
        every candidate has one, else the lexical features' model (`search` has set last_stats["semantic"]
        to False)."""
        if meaning is None or self.semantic_model is None:
            return self.model, x
        vectors = self.meaning().candidates(searcher, table, top)
        if vectors is None:
            meaning.cancel()
            return self.model, x
        try:
            question = meaning.result()
        except Exception:  # the model failed on this text: the lexical re-rank, never an error page
            log.exception("sentence model failed; lexical re-rank")
            return self.model, x
        self.last_stats["semantic"] = True
        return self.semantic_model, np.hstack([x, semantic.features(question, vectors)])

    def rerank_features(
        self, searcher, table: _Table, top: np.ndarray, query: ParsedQuery, exact: bool = True, headings: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate: the share of the question's word triples found in the article, and the
        share of the article heading's words the question names.

        Questions copy whole stretches of the article that answers them (word triples in order),
        and often name its heading ("lợi tức được hiểu như thế nào" → "Hoa lợi, lợi tức"). A
        triple can be in an article only if both its word pairs are (bigram postings, mostly read
        by the first stage); with `exact`, those articles' stored text is read to check the
        order, otherwise both pairs present count as the triple. The heading's words count by
        their rarity among headings ("của", "và", "trong" little), and words of the document's
        own title count less: in the Luật An ninh mạng nearly every heading says "an ninh mạng",
        which tells its articles apart from other laws' (the first stage already credits that)
        but not from each other. An article under the heading the question's kind points to
        ("… là gì?" → "Giải thích từ ngữ") counts as fully named."""
        w = self.weights
        postings = table.postings
        depth = top.size
        free = [s for group in query.groups for c in group for s in c.folded]
        trigrams = list(set(zip(free, free[1:], free[2:])))
        words = set(free)
        pair_in: dict[str, np.ndarray] = {}
        for pair in {p for a, b, c in trigrams for p in (f"{a}_{b}", f"{b}_{c}")}:
            ids = np.concatenate([postings.get("body_b", pair)[0], postings.get("head_b", pair)[0]])
            pair_in[pair] = np.isin(top, ids)
        possible = np.zeros((depth, len(trigrams)), dtype=bool)
        for j, (a, b, c) in enumerate(trigrams):
            possible[:, j] = pair_in[f"{a}_{b}"] & pair_in[f"{b}_{c}"]
        triples = possible.sum(axis=1).astype(np.float32)
        heads = np.zeros(depth, dtype=np.float32)
        if not exact and not headings:
            return triples / max(1, len(trigrams)), heads
        hints = [" ".join(folded_syllables(h)) for h in heading_hints(query.text)]
        rarity: dict[str, float] = {}
        titles: dict[str, set[str]] = {}
        # the candidates' folded heading + text lines, remembered per index generation (index/rerank.py)
        lines = rerank.texts(searcher, table, top)
        for k in range(depth):
            head_line, text, title = lines[k]
            if exact and triples[k]:
                candidates = [trigrams[j] for j in np.nonzero(possible[k])[0]]
                triples[k] = sum(1 for a, b, c in candidates if f" {a} {b} {c} " in text)
            if not headings:
                continue
            heading = head_line.split()
            if hints and any(h in " ".join(heading) for h in hints):
                heads[k] = 1.0
            elif len(heading) >= 2:
                if title not in titles:
                    titles[title] = set(folded_syllables(title))
                weights = []
                for s in heading:
                    if s not in rarity:
                        df = postings.get("head_f", s)[0].size
                        rarity[s] = max(0.0, math.log(postings.live_count / (df + 1))) + w.idf_floor
                    weights.append(rarity[s] * (w.rerank_title if s in titles[title] else 1.0))
                shared = sum(x for s, x in zip(heading, weights) if s in words)
                heads[k] = shared / (sum(weights) or 1.0)
        return triples / max(1, len(trigrams)), heads

    def _facets(
        self, table: _Table, found: np.ndarray, masks: dict[str, np.ndarray]
    ) -> dict[str, list[tuple[str, int]]]:
        """Counts of documents per facet value among the matches, each facet without its own filter."""
        out: dict[str, list[tuple[str, int]]] = {}
        cache: dict[frozenset, np.ndarray] = {}
        for name in FACETS:
            others = frozenset(k for k in masks if k != name)
            if others not in cache:
                mask = found.copy()
                for key in others:
                    mask &= masks[key]
                rows = table.doc_row[table.parents_of(mask)]
                cache[others] = rows[rows >= 0]
            rows = cache[others]
            if name == "year":
                years = table.year[rows]
                values, counts = np.unique(years[years > 0], return_counts=True)
                out[name] = sorted(((str(v), int(c)) for v, c in zip(values, counts)), reverse=True)
                continue
            counts = np.bincount(table.codes[name][rows], minlength=len(table.labels[name]))
            if name == "linhvuc":
                merged: dict[str, int] = {}
                for i, c in enumerate(counts):
                    for value in table.labels[name][i].split(FIELD_SEPARATOR) if c else ():
                        if value:
                            merged[value] = merged.get(value, 0) + int(c)
                out[name] = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
            else:
                pairs = [(table.labels[name][i], int(c)) for i, c in enumerate(counts) if c and table.labels[name][i]]
                out[name] = sorted(pairs, key=lambda kv: (-kv[1], kv[0]))
        return out

    def _hit(self, searcher, docnum: int, score: float, terms: Highlight | None, on: str | None = None) -> Hit:
        stored = searcher.stored_fields(docnum)
        periods = decode_timeline(stored.get("timeline", "") or "")
        return Hit(
            uid=stored.get("uid", ""),
            kind=stored.get("kind", ""),
            number=stored.get("number", ""),
            title=stored.get("title", ""),
            doc_type=stored.get("doc_type", ""),
            issuer=stored.get("issuer", ""),
            issued=stored.get("issued", ""),
            effective=stored.get("effective", ""),
            status=status_in(periods, on) if periods else stored.get("status", ""),
            score=round(score, 4),
            snippet=snippet(stored.get("content", ""), terms) if terms else "",
            anchor=stored.get("anchor", "") or "",
            article_number=stored.get("art_number", "") or "",
            article_heading=stored.get("art_heading", "") or "",
        )

    def lookup_number(self, text: str) -> list[str]:
        """uids of the documents whose số ký hiệu is `text` (any written variant)."""
        state = self._state()
        return [state.table.uid[row] for row in self._number_rows(state.table, text)]
