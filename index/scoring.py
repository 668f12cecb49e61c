"""Vectorised term-at-a-time BM25 over Whoosh's postings.

Whoosh's matcher trees score one posting at a time in Python, which made a 20-word question take
about a second on 3,000 articles (profiled: ArrayUnionMatcher and per-posting length look-ups).
Here each query term's postings are read block by block into numpy arrays, document lengths are
read once per searcher, and scores are accumulated with array arithmetic. Whoosh still owns the
files, the analysis, the writers and the stored fields; only the scoring loop is ours.

Segments written by index.segments.FastSegmentWriter carry a postings sidecar (index.sidecar) that
numpy decodes in bulk; `Postings` reads through it and falls back, segment by segment, to the postings
blocks of the whoosh3 codec, read through its matcher's block API (which is why whoosh3 is pinned to
an exact version). The block bounds of the sidecar (`Postings.block_bounds`) are there for pruning.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.util.numeric import byte_to_length

from index.sidecar import Sidecar, SidecarError, key_hash, open_sidecar, sidecar_path, term_key

log = logging.getLogger(__name__)

_BYTE_TO_LENGTH = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)
# Decoded postings kept per process and index generation (LRU). Since the sidecars are read with pread
# instead of mapped (session 5), decoding a term again costs a system call per segment; at 10× pháp
# điển the benchmark's common terms no longer fit in 64 MB (several-word p95 −10 % with 128 MB, the
# worker's RSS 426 → ~500 MB, under issue 17's 600; 1× unchanged: its terms fit either way).
CACHE_BYTES = 128 * 1024 * 1024


class Postings:
    """Postings and length statistics of one searcher's reader, with a size-bounded LRU cache.

    A segment with a postings sidecar (index.sidecar) is read through it: a term is a few numpy
    calls per segment. Other segments (older indexes, the stock writer's, a sidecar found damaged)
    are read block by block through Whoosh's codec. Both give the same arrays."""

    def __init__(self, reader, live: np.ndarray, sidecars: bool = True):
        """sidecars=False reads every segment through Whoosh (the benchmark's and tests' reference)."""
        self.reader = reader
        self.leaves = reader.leaf_readers()
        self.n = reader.doc_count_all()
        self.live = live
        self.live_count = int(live.sum())
        self._lengths: dict[str, np.ndarray] = {}
        self._avg: dict[str, float] = {}
        self._cache: OrderedDict[tuple, tuple[np.ndarray, ...]] = OrderedDict()
        self._cached_bytes = 0
        self._sizes = [leaf.doc_count_all() for leaf, _ in self.leaves]
        self._sidecars: list[Sidecar | None] = [_sidecar_of(leaf) if sidecars else None for leaf, _ in self.leaves]
        self._all_live = [bool(live[o : o + n].all()) for (_, o), n in zip(self.leaves, self._sizes)]

    def lengths(self, field: str) -> np.ndarray:
        if field not in self._lengths:
            out = np.zeros(self.n, dtype=np.float32)
            for leaf, offset in self.leaves:
                perdoc = getattr(leaf, "_perdoc", None)
                column = perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN) if perdoc else None
                if column is None:
                    continue
                # one byte per document, read in one go (column[i] would be a call per document)
                stored = min(column._count, leaf.doc_count_all())
                raw = np.frombuffer(column._dbfile.get(column._basepos, stored), dtype=np.uint8)
                out[offset : offset + stored] = _BYTE_TO_LENGTH[raw]
            self._lengths[field] = out
            having = out[self.live & (out > 0)]
            self._avg[field] = float(having.mean()) if having.size else 1.0
        return self._lengths[field]

    def average_length(self, field: str) -> float:
        self.lengths(field)
        return self._avg[field]

    def get(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, term frequencies) of live documents containing `term` in `field`."""
        key = (field, term)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        ids_parts, tf_parts = [], []
        probe = _probe(field, term)
        live = self.live
        for i in range(len(self.leaves)):
            ids, tfs = self._leaf(i, field, term, probe)
            if ids.size:
                if not self._all_live[i]:
                    keep = live[ids]
                    ids, tfs = ids[keep], tfs[keep]
                ids_parts.append(ids)
                tf_parts.append(tfs)
        if not ids_parts:
            ids, tfs = _EMPTY
        elif len(ids_parts) == 1:
            ids, tfs = ids_parts[0], tf_parts[0]
        else:
            ids, tfs = np.concatenate(ids_parts), np.concatenate(tf_parts)
        self._remember(key, (ids, tfs))
        return ids, tfs

    def ids(self, field: str, term: str) -> np.ndarray:
        """Sorted docnums (int64) of live documents containing `term` in `field` (get()'s first array)."""
        return self.get(field, term)[0]

    def df(self, field: str, term: str) -> int:
        """How many live documents contain `term` in `field` (get()[0].size), without decoding
        the postings of sidecar segments that have no deleted or hidden documents."""
        hit = self._cache.get((field, term))
        if hit is not None:
            return int(hit[0].size)
        total = 0
        probe = _probe(field, term)
        for i, (_leaf, offset) in enumerate(self.leaves):
            car = self._car(i, field)
            if car is None:
                return int(self.get(field, term)[0].size)
            rec = car.lookup(*probe)
            if rec is None:
                continue
            if self._all_live[i]:
                total += car.count(rec)
                continue
            try:
                total += int(self.live[car.postings(rec, offset)[0]].sum())
            except SidecarError as exc:
                self._drop(i, exc)
                return int(self.get(field, term)[0].size)
        return total

    def block_bounds(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per block of at most 128 postings, in docnum order: (last docnum int64, highest term
        frequency float32, shortest field length float32, as lengths() gives it; 0 for a field
        without lengths). Blocks are located by docnum (np.searchsorted(last, doc)), not by
        position in ids(): a block may hold deleted documents, which count in its bounds (an
        upper bound), and a block of only deleted documents may be listed."""
        key = ("bounds", field, term)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        lasts, tops, shortest = [], [], []
        probe = _probe(field, term)
        for i, (_leaf, offset) in enumerate(self.leaves):
            car = self._car(i, field)
            if car is not None:
                try:
                    rec = car.lookup(*probe)
                    if rec is None:
                        continue
                    blocks = car.blocks(rec)
                    lasts.append(car.blk_last[blocks].astype(np.int64) + offset)
                    tops.append(np.array(car.blk_maxtf[blocks], dtype=np.float32))
                    shortest.append(_BYTE_TO_LENGTH[car.blk_minlen[blocks]])
                    continue
                except SidecarError as exc:
                    self._drop(i, exc)
            ids, tfs = self._leaf(i, field, term, probe)
            if not ids.size:
                continue
            starts = np.arange(0, ids.size, BLOCK)
            ends = np.minimum(starts + BLOCK, ids.size)
            lasts.append(ids[ends - 1])
            tops.append(np.maximum.reduceat(tfs, starts).astype(np.float32))
            lengths = self.lengths(field)[ids]
            lengths = np.where(lengths > 0, lengths, np.float32(np.inf))
            low = np.minimum.reduceat(lengths, starts)
            shortest.append(np.where(np.isinf(low), 0, low).astype(np.float32))
        if lasts:
            value = (np.concatenate(lasts), np.concatenate(tops), np.concatenate(shortest))
        else:
            value = (np.empty(0, np.int64), np.empty(0, np.float32), np.empty(0, np.float32))
        self._remember(key, value)
        return value

    # Reading one segment ------------------------------------------------------------------------

    def _car(self, i: int, field: str) -> Sidecar | None:
        car = self._sidecars[i]
        return car if car is not None and field in car.fields else None

    def _drop(self, i: int, exc: Exception) -> None:
        """A sidecar found damaged while reading: this segment is read through Whoosh from now on."""
        _warn_once(self._sidecars[i].path, exc)
        self._sidecars[i] = None

    def _leaf(self, i: int, field: str, term: str, probe: tuple[bytes, int]) -> tuple[np.ndarray, np.ndarray]:
        """(docnums with the segment's offset added, frequencies) of every posting of the term in
        segment i, deleted documents included."""
        leaf, offset = self.leaves[i]
        car = self._car(i, field)
        if car is not None:
            try:
                rec = car.lookup(*probe)
                if rec is None:
                    return _EMPTY
                return car.postings(rec, offset)
            except SidecarError as exc:
                self._drop(i, exc)
        return _whoosh_postings(leaf, offset, field, term)

    def _remember(self, key, value: tuple[np.ndarray, ...]) -> None:
        size = sum(part.nbytes for part in value)
        if size > CACHE_BYTES // 4:
            return
        self._cache[key] = value
        self._cached_bytes += size
        while self._cached_bytes > CACHE_BYTES and self._cache:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= sum(part.nbytes for part in old)

    def bm25(
        self, field: str, term: str, k1: float = 1.2, b: float = 0.75, idf_floor: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, BM25 contributions) of one term in one field.

        idf = log(N / (df + 1)) + idf_floor: with a floor of 1 (Whoosh's formula) even common words
        add something, so a passage sharing more of the question's words ranks higher."""
        ids, tfs = self.get(field, term)
        if ids.size == 0:
            return ids, tfs
        df = ids.size
        idf = max(0.0, math.log(self.live_count / (df + 1))) + idf_floor
        lengths = self.lengths(field)[ids]
        norm = k1 * (1 - b + b * lengths / self.average_length(field))
        return ids, (idf * tfs * (k1 + 1) / (tfs + norm)).astype(np.float32)


_EMPTY = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))


def _probe(field: str, term: str) -> tuple[bytes, int]:
    """The sidecar key of (field, term) and its hash, made once for every segment."""
    key = term_key(field, term)
    return key, key_hash(key)


BLOCK = 128  # postings per block (W3Codec's blocklimit, the sidecar's too)


_warned: set[str] = set()


def _warn_once(path: str, exc: Exception) -> None:
    if path not in _warned:
        _warned.add(path)
        log.warning("bỏ qua tệp chỉ mục phụ %s (%s); đọc danh sách tài liệu từ Whoosh", path, exc)


def _sidecar_of(leaf) -> Sidecar | None:
    """The postings sidecar of a segment reader, or None (none written, or unusable: warned once)."""
    segment = getattr(leaf, "segment", lambda: None)()
    folder = getattr(getattr(leaf, "_storage", None), "folder", None)
    if segment is None or folder is None or segment.is_compound() or not hasattr(segment, "segid"):
        return None
    try:
        return open_sidecar(folder, segment)
    except FileNotFoundError:
        return None
    except (SidecarError, OSError, ValueError) as exc:
        _warn_once(sidecar_path(folder, segment), exc)
        return None


def _whoosh_postings(leaf, offset: int, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
    """Every posting of the term in one segment through Whoosh's codec, deleted documents included."""
    if (field, term) not in leaf:
        return _EMPTY
    terms = getattr(leaf, "_terms", None)
    if terms is not None:
        # The codec's own matcher: reader.postings() would wrap it, in a segment with deletions,
        # in a FilterMatcher that has already skipped the first deleted postings. The caller drops
        # deleted documents with the live mask.
        matcher = terms.matcher(field, leaf._text_to_bytes(field, term), leaf.schema[field].format)
    else:
        matcher = leaf.postings(field, term)
    ids_parts, tf_parts = [], []
    if not hasattr(matcher, "_read_data"):  # not a whoosh3 block matcher: the slow, public way
        ids, weights = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        return np.asarray(ids, dtype=np.int64) + offset, np.asarray(weights, dtype=np.float32)
    while matcher.is_active():
        matcher._read_data()
        data = matcher._data
        # ids are delta-encoded unless they fit in bytes; decoded with one cumsum (Whoosh's
        # delta_decode is a Python generator: a call per posting)
        raw = np.asarray(data[0], dtype=np.int64)
        ids = raw if matcher._byteids else np.cumsum(raw)
        weights = data[1]
        count = len(ids)
        ids_parts.append(ids + offset)
        if weights is None:
            tf_parts.append(np.ones(count, dtype=np.float32))
        elif isinstance(weights, float):
            tf_parts.append(np.full(count, weights, dtype=np.float32))
        else:
            tf_parts.append(np.asarray(weights, dtype=np.float32))
        matcher._next_block()
    if not ids_parts:
        return _EMPTY
    return np.concatenate(ids_parts), np.concatenate(tf_parts)
