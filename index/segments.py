"""A segment writer that writes the same files as Whoosh's, about 3.5× faster.

Whoosh's SegmentWriter turns every token into a Token object, every posting into a tuple sorted by
an external pool, and writes each posting with several Python calls that include a look-up of the
document's field length (profile in docs/PERFORMANCE.md). For our schema, where every text field
is one of our syllable analyzers and every format is Existence or Frequency, `FastSegmentWriter`
instead:

- cuts a text into syllables once for its accented, folded and bigram fields (index.analysis);
- keeps, per field, each (term, document) pair as a term id (the term's rank of first appearance
  in the field's vocabulary) and, where the format stores them, its frequency, appended with a
  few C-level calls per document (Counter or set, a map over the vocabulary), the document numbers
  as runs; a non-text field's terms are remembered per value;
- when the segment is written, sorts each field's pairs by (term, document) at once with numpy and
  writes each term's posting blocks and term info in the same byte format, the docnum deltas and
  length codes computed for all postings at once, a term with one posting by a shorter path;
- merges older segments by reading their posting blocks into the same arrays;
- also writes, beside the segment, a postings sidecar that numpy decodes in bulk (index.sidecar),
  which index.scoring reads instead of Whoosh's blocks.

Everything else (stored fields, columns, field lengths, deletions, the table of contents) is
Whoosh's own code, a few of W3PerDocWriter's per-document steps inlined. The files it writes (the sidecar aside) are byte-for-byte those of Whoosh's writer for the same
documents and merges (tests/test_index_segments.py compares them), so readers, searches and later
merges by the stock writer are unaffected.

This uses internals of whoosh3 3.54.0, which pyproject.toml pins exactly. A schema it cannot write
exactly (positions, vectors, spelling, boosts, another codec) is refused at construction with
UnsupportedSchema; index.schema's is always written (every index test builds through it).
"""

from __future__ import annotations

import logging
from array import array
from collections import Counter, defaultdict
from itertools import count
from pickle import dumps

import numpy as np
from whoosh import formats
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.codec.whoosh3 import (
    COMPRESSION_MIN_SIZE,
    LENGTHS_COLUMN,
    WHOOSH3_HEADER_MAGIC,
    W3Codec,
    W3PerDocWriter,
    W3TermInfo,
    _lenfield,
)
from whoosh.filedb.filetables import _lengths as _PAIR_LENGTHS
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from index.analysis import BigramFilter, SyllableTokenizer, bigrams, fold_each, syllables
from index.sidecar import SidecarError, SidecarWriter, sidecar_field, sidecar_path

try:
    import zlib
except ImportError:  # pragma: no cover - CPython always has zlib
    zlib = None

ACCENTED, FOLDED, BIGRAMS = "a", "f", "b"
DISTINCT_BIGRAMS = "B"  # FastSegmentWriter._terms: the set of a text's bigrams
SIDECARS = True  # also write each segment's postings sidecar (index.sidecar); False: Whoosh's files only
log = logging.getLogger(__name__)


class UnsupportedSchema(TypeError):
    """The schema has a field this writer cannot write exactly as Whoosh would."""


def analyzer_kind(analyzer) -> str | None:
    """Which of our analyzers this is (ACCENTED, FOLDED, BIGRAMS), or None."""
    if isinstance(analyzer, SyllableTokenizer):
        return FOLDED if analyzer.fold else ACCENTED
    if isinstance(analyzer, CompositeAnalyzer):
        items = analyzer.items
        if (
            len(items) == 2
            and isinstance(items[0], SyllableTokenizer)
            and items[0].fold
            and isinstance(items[1], BigramFilter)
        ):
            return BIGRAMS
    return None


class FastSegmentWriter(SegmentWriter):
    """A drop-in SegmentWriter (see the module docstring). Use `ix.writer()`'s options."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        if not isinstance(self.codec, W3Codec) or type(self.perdocwriter) is not W3PerDocWriter:
            self.cancel()
            raise UnsupportedSchema(f"codec {type(self.codec).__name__}")
        self._kinds: dict[str, str | None] = {}
        for name, field in self.schema.items():
            problem = None
            if field.vector or field.separate_spelling() or (field.indexed and field.format is None):
                problem = "vectors or spelling"
            elif field.indexed and type(field.format) not in (formats.Existence, formats.Frequency):
                problem = f"format {type(field.format).__name__}"
            elif field.indexed and field.format.field_boost != 1.0:
                problem = "field boost"
            if problem:
                self.cancel()
                raise UnsupportedSchema(f"field {name!r}: {problem}")
            self._kinds[name] = analyzer_kind(field.analyzer) if field.indexed else None
        self._fields: dict[str, _FieldPostings] = {}
        self._plans: dict[str, tuple] = {}
        self._columns: dict = {}
        self._lengths: dict[str, array] = {}
        self._added_docs = 0
        self._last_text: str | None = None
        self._last_terms: dict[str, object] = {}

    # Adding documents ---------------------------------------------------------------------------

    def _terms(self, text: str, kind: str):
        """The tokens of `text` for an analyzer kind (term_lists' streams), remembered for the
        text's other fields; DISTINCT_BIGRAMS: the set of its bigrams (for presence-only fields),
        joined from the distinct pairs of syllables only."""
        if text is not self._last_text:
            accented = syllables(text)
            self._last_terms = {ACCENTED: accented, FOLDED: fold_each(accented)}
            self._last_text = text
        terms = self._last_terms
        got = terms.get(kind)
        if got is None:
            folded = terms[FOLDED]
            if kind == BIGRAMS:
                got = bigrams(folded) if len(folded) > 1 else folded[:]
            elif len(folded) > 1:  # DISTINCT_BIGRAMS
                got = set(map("_".join, set(zip(folded, folded[1:]))))
            else:
                got = set(folded)
            terms[kind] = got
        return got

    def _postings_of(self, fieldname: str, field) -> _FieldPostings:
        postings = self._fields.get(fieldname)
        if postings is None:
            postings = self._fields[fieldname] = _FieldPostings(type(field.format) is formats.Frequency)
        return postings

    def _plan(self, fieldname: str) -> tuple:
        """What add_document does with a field: (field, postings or None, analyzer kind, stored,
        column type, the name of its length column)."""
        plan = self._plans.get(fieldname)
        if plan is None:
            field = self.schema[fieldname]
            postings = self._postings_of(fieldname, field) if field.indexed else None
            plan = (field, postings, self._kinds[fieldname], field.stored, field.column_type, _lenfield(fieldname))
            self._plans[fieldname] = plan
        return plan

    def _column(self, fieldname: str, column):
        """W3PerDocWriter.add_column_value's column writer, looked up once."""
        writer = self._columns.get(fieldname)
        if writer is None:
            perdocwriter = self.perdocwriter
            if not perdocwriter._has_column(fieldname):
                perdocwriter._create_column(fieldname, column)
            writer = self._columns[fieldname] = perdocwriter._get_column(fieldname)
        return writer

    def add_document(self, **fields):
        self._check_state()
        if any(name.startswith("_") for name in fields):
            raise ValueError("boosts and _stored_ values are not supported by FastSegmentWriter")
        perdocwriter = self.perdocwriter
        docnum = self.docnum
        fieldnames = sorted(fields)
        self._check_fields(self.schema, fieldnames)
        perdocwriter.start_doc(docnum)
        # W3PerDocWriter.add_field and add_column_value, inlined: stored values, length columns
        stored = perdocwriter._storedfields
        totals = perdocwriter._fieldlengths
        plans = self._plans
        try:
            for fieldname in fieldnames:
                value = fields[fieldname]
                if value is None:
                    continue
                plan = plans.get(fieldname) or self._plan(fieldname)
                field, postings, kind, is_stored, column, lenfield = plan
                length = 0
                if postings is not None:
                    if kind is not None:
                        if not isinstance(value, str):
                            raise ValueError(f"{value!r} is not unicode")
                        # Keys are str here (bytes for other fields): UTF-8 keeps str order.
                        if kind == BIGRAMS and not postings.frequency:
                            length = postings.add_distinct(docnum, self._terms(value, DISTINCT_BIGRAMS))
                        else:
                            length = postings.add_tokens(docnum, self._terms(value, kind))
                    else:
                        length = postings.add_terms(docnum, field, value)
                    if length:
                        lengths = self._lengths.get(fieldname)
                        if lengths is None:
                            lengths = self._lengths[fieldname] = array("I")
                        if len(lengths) < docnum:
                            lengths.frombytes(bytes(lengths.itemsize * (docnum - len(lengths))))
                        lengths.append(length)
                if is_stored:
                    stored[fieldname] = value
                if length:
                    code = _LENGTH_CODES[length] if length < 4096 else length_to_byte(length)
                    self._column(lenfield, LENGTHS_COLUMN).add(docnum, code)
                    totals[fieldname] += length
                if column:
                    self._column(fieldname, column).add(docnum, field.to_column_value(value))
        except ValueError:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1
        self._added_docs = self.docnum

    # Merging older segments ---------------------------------------------------------------------

    def add_reader(self, reader):
        """Merge a segment (the merge policy's way): stored fields and columns through Whoosh's
        own code, postings read block by block into the arrays, not through Whoosh's pool."""
        from whoosh.reading import SegmentReader

        if not isinstance(reader, SegmentReader):  # a multi-segment reader: its segments in order
            for leaf, _offset in reader.leaf_readers():
                if not isinstance(leaf, SegmentReader):
                    raise TypeError(f"cannot merge a {type(leaf).__name__}")
                self.add_reader(leaf)
            return
        self._check_state()
        basedoc = self.docnum
        names = {name for name in reader.indexed_field_names() if name in self.schema}
        docmap = self.write_per_doc(set(self.schema.names()) | names, reader)
        count = reader.doc_count_all()
        if docmap is None:
            renumber = np.arange(basedoc, basedoc + count, dtype=np.int64)
        else:  # deleted documents are left out (-1)
            renumber = np.full(count, -1, dtype=np.int64)
            for old, new in docmap.items():
                renumber[old] = new
        for fieldname, tbytes in reader.all_terms():
            ids, weights = _read_postings(reader, fieldname, tbytes)
            new = renumber[ids]
            keep = new >= 0
            if not keep.any():
                continue
            postings = self._postings_of(fieldname, self.schema[fieldname])
            key = tbytes.decode("utf-8") if self._kinds.get(fieldname) else tbytes
            postings.add_merged(key, new[keep], weights[keep])
        self._added = True

    # Writing the segment ------------------------------------------------------------------------

    def _flush_segment(self):
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        try:
            self._merged_lengths(pdr)
            self._write_postings()
        finally:
            self.fieldwriter.close()
            if pdr:
                pdr.close()

    def _merged_lengths(self, pdr) -> None:
        """Field lengths of the documents merged from older segments (numbered after the added ones)."""
        if pdr is None or self.docnum <= self._added_docs:
            return
        for fieldname in self._fields:
            if not self.schema[fieldname].scorable:
                continue
            lengths = self._lengths.setdefault(fieldname, array("I"))
            if len(lengths) < self._added_docs:
                lengths.frombytes(bytes(lengths.itemsize * (self._added_docs - len(lengths))))
            del lengths[self._added_docs :]
            lengths.extend(pdr.doc_field_length(doc, fieldname) or 0 for doc in range(self._added_docs, self.docnum))

    def _sidecar_folder(self) -> str | None:
        """Where the segment's postings sidecar goes (index.sidecar), or None: switched off, a
        compound segment (its files are packed into one after this), a storage that is not a folder."""
        if self.compound or not SIDECARS:
            return None
        return getattr(self.storage, "folder", None)

    def _write_postings(self) -> None:
        fieldwriter = self.fieldwriter
        schema = self.schema
        terms = _TermTable(fieldwriter._tindex)
        out = _Output(fieldwriter._postfile)
        folder = self._sidecar_folder()
        sidecar = SidecarWriter(self.newsegment.segid, self.docnum) if folder else None
        for fieldname in sorted(self._fields):
            postings = self._fields.pop(fieldname)
            if not postings.size():
                continue
            field = schema[fieldname]
            keys, counts, docs, freqs = postings.sorted_postings()
            del postings
            fieldwriter.start_field(fieldname, field)
            prefix = pack_ushort(fieldwriter._fieldid)
            lengths = self._lengths.get(fieldname) if field.scorable else None
            codes = _length_codes(lengths, self.docnum) if lengths else None
            _write_field(out, terms, prefix, keys, counts, docs, freqs, codes)
            out.flush()
            terms.flush()
            fieldwriter.finish_field()
            if sidecar is not None and sidecar_field(fieldname):
                sidecar.add_field(fieldname, keys, counts, docs, freqs, codes)
        self._fields.clear()
        if sidecar is not None:
            for name in sorted(schema.names()):  # fields without postings here: every term absent
                if schema[name].indexed and sidecar_field(name) and name not in sidecar.fields:
                    sidecar.add_field(name, [], np.empty(0, np.int64), np.empty(0, np.int64), None, None)
            try:
                sidecar.write(sidecar_path(folder, self.newsegment))
            except SidecarError as exc:  # too large for uint32 offsets: read through Whoosh
                log.warning("không ghi tệp chỉ mục phụ: %s", exc)


MEMO_VALUES = 4096  # values of a non-text field whose terms a writer remembers (then starts again)


class _FieldPostings:
    """One field's postings while a segment is written: per (term, document) pair the term's id
    (its order of first appearance in `vocab`) and, for Frequency fields, the frequency; the
    document numbers as runs (a document's pairs are appended together). Adding a document costs a
    few C-level calls (Counter or set, a map over the vocabulary), not a Python loop per term;
    `sorted_postings` turns everything into per-term postings with one numpy sort."""

    __slots__ = ("vocab", "frequency", "ids", "freqs", "run_docs", "run_sizes", "merged", "memo")

    def __init__(self, frequency: bool):
        self.vocab: defaultdict = defaultdict(count().__next__)  # term -> id, ids given in order
        self.frequency = frequency
        self.ids = array("I")
        self.freqs = array("I") if frequency else None
        self.run_docs = array("I")
        self.run_sizes = array("I")
        self.merged: list[tuple[array, array, array | None]] = []  # postings from add_reader
        self.memo: dict = {}  # add_terms: value -> (term ids, frequencies, length)

    def size(self) -> int:
        return len(self.ids) + sum(len(docs) for _ids, docs, _freqs in self.merged)

    def add_tokens(self, docnum: int, tokens: list[str]) -> int:
        """A document's tokens (one of our analyzers' streams); returns the field length Whoosh stores."""
        if self.frequency:
            counter = Counter(tokens)
            self.ids.extend(map(self.vocab.__getitem__, counter))
            self.freqs.extend(counter.values())
            distinct, length = len(counter), len(tokens)
        else:
            unique = set(tokens)
            self.ids.extend(map(self.vocab.__getitem__, unique))
            distinct = length = len(unique)
        if distinct:
            self.run_docs.append(docnum)
            self.run_sizes.append(distinct)
        return length

    def add_distinct(self, docnum: int, distinct: set[str]) -> int:
        """add_tokens for a presence-only field, given the document's distinct tokens."""
        self.ids.extend(map(self.vocab.__getitem__, distinct))
        if distinct:
            self.run_docs.append(docnum)
            self.run_sizes.append(len(distinct))
        return len(distinct)

    def add_terms(self, docnum: int, field, value) -> int:
        """A document's value of a field Whoosh analyses itself (ID, NUMERIC: a few terms, often the
        same value as the previous documents'); returns the field length."""
        try:
            known = self.memo.get(value)
        except TypeError:  # unhashable: not remembered
            known = None
        if known is None:
            ids, freqs, length = [], [], 0
            for tbytes, freq, _weight, _vbytes in field.index(value):
                if field.scorable:
                    length += freq
                ids.append(self.vocab[tbytes])
                freqs.append(freq)
            known = (array("I", ids), array("I", freqs), length)
            try:
                if len(self.memo) >= MEMO_VALUES:
                    self.memo.clear()
                self.memo[value] = known
            except TypeError:
                pass
        ids, freqs, length = known
        if ids:
            self.ids.extend(ids)
            if self.frequency:
                self.freqs.extend(freqs)
            self.run_docs.append(docnum)
            self.run_sizes.append(len(ids))
        return length

    def add_merged(self, key, docs: np.ndarray, weights: np.ndarray) -> None:
        """One term's postings read from an older segment (document numbers of this segment)."""
        term = self.vocab[key]
        ids = array("I", bytes(4 * docs.size))
        np.frombuffer(ids, dtype=np.uint32)[:] = term
        freqs = array("I", np.rint(weights).astype(np.uint32).tobytes()) if self.frequency else None
        self.merged.append((ids, array("I", docs.astype(np.uint32).tobytes()), freqs))

    def sorted_postings(self) -> tuple[list, np.ndarray, np.ndarray, np.ndarray | None]:
        """(the terms in order, as bytes; each one's posting count; all postings' document numbers,
        term by term, ascending within a term; their frequencies or None), the vocabulary freed."""
        terms = list(self.vocab)  # in id order
        self.vocab = None
        ids = [np.frombuffer(self.ids, dtype=np.uint32)] if self.ids else []
        docs = []
        if self.run_docs:
            docs.append(
                np.repeat(np.frombuffer(self.run_docs, dtype=np.uint32), np.frombuffer(self.run_sizes, dtype=np.uint32))
            )
        freqs = [np.frombuffer(self.freqs, dtype=np.uint32)] if self.frequency and self.freqs else []
        for m_ids, m_docs, m_freqs in self.merged:
            ids.append(np.frombuffer(m_ids, dtype=np.uint32))
            docs.append(np.frombuffer(m_docs, dtype=np.uint32))
            if self.frequency:
                freqs.append(np.frombuffer(m_freqs, dtype=np.uint32))
        ids = np.concatenate(ids) if len(ids) > 1 else ids[0]
        docs = np.concatenate(docs) if len(docs) > 1 else docs[0]
        order = sorted(range(len(terms)), key=terms.__getitem__)  # str order = UTF-8 byte order
        rank = np.empty(len(terms), dtype=np.uint64)
        rank[np.asarray(order, dtype=np.int64)] = np.arange(len(terms), dtype=np.uint64)
        sort_keys = rank[ids]
        sort_keys <<= np.uint64(32)
        sort_keys |= docs
        del ids, docs, rank
        self.ids = self.freqs = self.run_docs = self.run_sizes = None
        self.merged, self.memo = [], {}
        if self.frequency:
            freqs = np.concatenate(freqs) if len(freqs) > 1 else freqs[0]
            positions = np.argsort(sort_keys, kind="stable")
            sort_keys = sort_keys[positions]
            freqs = freqs[positions]
            del positions
        else:
            sort_keys.sort(kind="stable")
            freqs = None
        ranks = sort_keys >> np.uint64(32)
        starts = np.flatnonzero(np.concatenate(([True], ranks[1:] != ranks[:-1])))
        counts = np.diff(np.append(starts, ranks.size))
        present = ranks[starts].astype(np.int64)
        del ranks
        docs = (sort_keys & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        del sort_keys
        keys = [terms[order[r]] for r in present.tolist()]
        if keys and isinstance(keys[0], str):
            keys = [key.encode("utf-8") for key in keys]
        return keys, counts, docs, freqs


def _write_field(out, terms, prefix: bytes, keys, counts, docs, freqs, codes) -> None:
    """Write one field's posting blocks and term infos, term by term, from its sorted postings.

    What does not depend on the block is computed for all postings at once with numpy: the
    docnum deltas (a block's first posting keeps its docnum) and each posting's length code; a
    term with one posting, the most common kind, takes a shorter path."""
    counts = np.asarray(counts, dtype=np.int64)
    ends_arr = np.cumsum(counts)
    starts_arr = ends_arr - counts
    ends = ends_arr.tolist()
    nterms = len(keys)
    index = begin = 0
    while index < nterms:  # postings turned into Python ints a batch of terms at a time
        last = min(nterms, index + 1 + int(np.searchsorted(ends_arr[index:], begin + BATCH, side="right")))
        hi = ends[last - 1]
        ids = docs[begin:hi].astype(np.int64)
        within = np.arange(begin, hi, dtype=np.int64) - np.repeat(starts_arr[index:last], counts[index:last])
        deltas = ids.copy()
        deltas[1:] -= ids[:-1]
        block_first = within % BLOCK == 0
        deltas[block_first] = ids[block_first]
        doc_list = ids.tolist()
        delta_list = deltas.tolist()
        del ids, within, deltas, block_first
        freq_list = freqs[begin:hi].tolist() if freqs is not None else None
        freq_bytes = freqs[begin:hi].astype(">u4").tobytes() if freqs is not None else None  # pack_uint of each
        code_bytes = codes[docs[begin:hi]].tobytes() if codes is not None else None
        pos = out.pos
        parts: list[bytes] = []
        infos: list[bytes] = []
        lo = 0
        for i in range(index, last):
            end = ends[i] - begin
            if end - lo == 1:
                data, info = _single(
                    doc_list[lo], freq_list[lo] if freq_list is not None else None, code_bytes[lo] if code_bytes else 0
                )
            else:
                data, info = _term_blocks(
                    doc_list[lo:end],
                    delta_list[lo:end],
                    freq_list[lo:end] if freq_list is not None else None,
                    freq_bytes[4 * lo : 4 * end] if freq_bytes is not None else None,
                    code_bytes[lo:end] if code_bytes is not None else None,
                )
            parts.append(data)
            infos.append(info + pack_long(pos) + pack_int(len(data)))
            pos += len(data)
            lo = end
        out.write(b"".join(parts))
        terms.add_many(prefix, keys[index:last], infos)
        begin, index = hi, last


BATCH = 1 << 20  # postings of a field turned into Python ints at a time


def _read_postings(reader, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(document numbers, weights) of every posting of a term in a segment, deleted ones included,
    read block by block (the matcher's own per-posting calls were the cost of merging)."""
    matcher = reader._terms.matcher(fieldname, tbytes, reader.schema[fieldname].format)
    id_parts, weight_parts = [], []
    while matcher.is_active():
        matcher._read_data()
        ids, weights, _values = matcher._data
        ids = np.cumsum(np.asarray(ids, dtype=np.int64))  # delta-encoded within a block
        id_parts.append(ids)
        if weights is None:
            weight_parts.append(np.ones(ids.size, dtype=np.float64))
        elif isinstance(weights, float):
            weight_parts.append(np.full(ids.size, weights, dtype=np.float64))
        else:
            weight_parts.append(np.asarray(weights, dtype=np.float64))
        matcher._next_block()
    if not id_parts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    return np.concatenate(id_parts), np.concatenate(weight_parts)


BLOCK = 128  # W3Codec's blocklimit
COMPRESSION = 3  # W3Codec's compression
_LENGTH_CODES = [length_to_byte(n) for n in range(4096)]
_LENGTH_TABLE = np.array(_LENGTH_CODES, dtype=np.uint8)


def _length_codes(lengths: array, doccount: int) -> np.ndarray:
    """Each document's field length as the one-byte code Whoosh stores (0: the field is empty)."""
    values = np.zeros(doccount, dtype=np.int64)
    values[: len(lengths)] = np.frombuffer(lengths, dtype=np.uint32)[:doccount]
    codes = _LENGTH_TABLE[np.minimum(values, len(_LENGTH_TABLE) - 1)]
    for docnum in np.flatnonzero(values >= len(_LENGTH_TABLE)).tolist():
        codes[docnum] = length_to_byte(int(values[docnum]))
    return codes


class _Output:
    """Buffered writes to a StructFile whose position we track ourselves (tell() is slow)."""

    def __init__(self, dbfile):
        self.dbfile = dbfile
        self.pos = dbfile.tell()
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.pos += len(data)
        self.size += len(data)
        if self.size > 8 << 20:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.dbfile.write(b"".join(self.parts))
            self.parts.clear()
            self.size = 0


class _TermTable:
    """OrderedHashWriter.add for many keys at once: same bytes, same buckets, one write per batch."""

    def __init__(self, tindex):
        self.tindex = tindex
        self.out = _Output(tindex.dbfile)
        self.hashfn = tindex.hashfn
        self.buckets = tindex.buckets
        self.index = tindex.index
        tindex._write_hashes = lambda: _write_hashes(tindex)  # at close: same bytes, one write per table

    def add_many(self, prefix: bytes, keys: list[bytes], values: list[bytes]) -> None:
        """add(prefix + key, value) for each, in one loop and one write."""
        lastkey = self.tindex.lastkey
        pos = self.out.pos
        index_append = self.index.append
        buckets = self.buckets
        hashfn = self.hashfn
        pack = _PAIR_LENGTHS.pack
        records = []
        for key, value in zip(keys, values):
            key = prefix + key
            if key <= lastkey:
                raise ValueError(f"Keys must increase: {lastkey!r}..{key!r}")
            index_append(pos)
            record = pack(len(key), len(value)) + key + value
            records.append(record)
            h = hashfn(key)
            buckets[h & 255].append((h, pos))
            pos += len(record)
            lastkey = key
        self.out.write(b"".join(records))
        self.tindex.lastkey = lastkey

    def flush(self) -> None:
        self.out.flush()


_POINTER = np.dtype([("hash", ">u4"), ("position", ">i8")])  # filetables._pointer, "!Iq"


def _write_hashes(tindex) -> None:
    """HashWriter._write_hashes (256 open-addressing tables of (hash, position)), each table
    written with one call instead of one per slot."""
    dbfile = tindex.dbfile
    for entries in tindex.buckets:
        pos = dbfile.tell()
        numslots = 2 * len(entries)
        tindex.directory.append((pos, numslots))
        if not numslots:
            continue
        hashes = [0] * numslots
        positions = [0] * numslots  # an empty slot is (0, 0); no key starts at position 0
        for hashval, position in entries:
            slot = (hashval >> 8) % numslots
            while hashes[slot] or positions[slot]:
                slot = (slot + 1) % numslots
            hashes[slot] = hashval
            positions[slot] = position
        table = np.empty(numslots, dtype=_POINTER)
        table["hash"] = hashes
        table["position"] = positions
        dbfile.write(table.tobytes())


_TERM_INFO = W3TermInfo._struct  # flags, total weight, doc freq, min/max length byte, max weight, min/max id
_NOT_INLINED = 0


def _single(docnum: int, freq: int | None, code: int) -> tuple[bytes, bytes]:
    """_term_blocks for a term with one posting (code: the document's length code, 0: none)."""
    if freq is None:
        weights = values = None
        weight = 1.0
    else:
        weights = None if freq == 1 else float(freq)
        values = pack_uint(freq)
        weight = float(freq)
    databytes = dumps(((docnum,), weights, values), 2)
    comp = COMPRESSION if len(databytes) >= COMPRESSION_MIN_SIZE else 0
    if comp:
        databytes = zlib.compress(databytes, comp)
    infobytes = dumps((1, docnum, weight, comp, code, code), 2)
    data = b"".join((WHOOSH3_HEADER_MAGIC, pack_int(-(len(infobytes) + len(databytes))), infobytes, databytes))
    return data, _TERM_INFO.pack(_NOT_INLINED, weight, 1, code, code, weight, docnum, docnum)


def _term_blocks(
    ids: list, deltas: list, freqs: list | None, freq_bytes: bytes | None, codes: bytes | None
) -> tuple[bytes, bytes]:
    """One term's posting blocks as W3PostingsWriter writes them, and its W3TermInfo bytes without
    the last two items (the blocks' position and length in the postings file).

    ids: the term's docnums; deltas: each docnum minus the one before in its block (a block's
    first: the docnum itself); freqs: None for presence only; freq_bytes: the frequencies as
    pack_uint writes them; codes: each posting's document length code (None: the field keeps no
    lengths)."""
    total = len(ids)
    weight_sum = 0.0
    max_weight_all = 0
    min_byte_all = 0
    max_byte_all = 0
    parts = [WHOOSH3_HEADER_MAGIC]
    for begin in range(0, total, BLOCK):
        stop = begin + BLOCK
        if total <= BLOCK:
            block_deltas = tuple(deltas)
            block_freqs = freqs
            block_values = freq_bytes
            block_codes = codes
            count = total
            last_id = ids[-1]
        else:
            block_deltas = tuple(deltas[begin:stop])
            block_freqs = freqs[begin:stop] if freqs is not None else None
            block_values = freq_bytes[4 * begin : 4 * stop] if freqs is not None else None
            block_codes = codes[begin:stop] if codes is not None else None
            count = len(block_deltas)
            last_id = ids[begin + count - 1]
        if block_freqs is None:
            weights = None
            values = None
            max_weight = 1.0
            weight_sum += float(count)
        else:
            first = block_freqs[0]
            if block_freqs.count(first) == count:
                weights = None if first == 1 else float(first)
            else:
                weights = tuple(map(float, block_freqs))
            values = block_values
            max_weight = float(max(block_freqs))
            weight_sum += float(sum(block_freqs))
        if block_codes is None:
            low = high = 0
        else:
            high = max(block_codes)
            low = min(block_codes)
            if not low:
                low = min(block_codes.replace(b"\0", b""), default=0)
        databytes = dumps((block_deltas, weights, values), 2)
        comp = COMPRESSION if len(databytes) >= COMPRESSION_MIN_SIZE else 0
        if comp:
            databytes = zlib.compress(databytes, comp)
        infobytes = dumps((count, last_id, max_weight, comp, low, high), 2)
        blocklength = len(infobytes) + len(databytes)
        parts.append(pack_int(-blocklength if stop >= total else blocklength))
        parts.append(infobytes)
        parts.append(databytes)
        if max_weight > max_weight_all:
            max_weight_all = max_weight
        if low and (not min_byte_all or low < min_byte_all):
            min_byte_all = low
        if high > max_byte_all:
            max_byte_all = high
    # W3TermInfo.to_bytes: the length bytes are those of the quantised lengths, i.e. these codes
    return b"".join(parts), _TERM_INFO.pack(
        _NOT_INLINED, weight_sum, total, min_byte_all, max_byte_all, max_weight_all, ids[0], ids[-1]
    )


def drop_empty_segments(_writer, segments):
    """Merge policy of incremental updates (`writer.commit(mergetype=…)`): no merge, only the
    segments without a live record left out (an update's meta record, replaced by the next update).

    Merging in the update's commit (Whoosh's merge copies stored fields a record at a time) made one
    weekly update in six take 18–41 s at 10× pháp điển; index.compaction rewrites the small segments
    from the store after the update is committed."""
    return [segment for segment in segments if segment.doc_count() > 0]
