"""A segment writer that writes the same files as Whoosh's, about 3.5× faster.

Whoosh's SegmentWriter turns every token into a Token object, every posting into a tuple sorted by
an external pool, and writes each posting with several Python calls that include a look-up of the
document's field length (profile in docs/PERFORMANCE.md). For our schema, where every text field
is one of our syllable analyzers and every format is Existence or Frequency, `FastSegmentWriter`
instead:

- cuts a text into syllables once for its accented, folded and bigram fields (index.analysis);
- keeps each term's postings in an array (document numbers, and frequencies where the format
  stores them) in memory, with the field lengths of each document beside them;
- writes each term's posting blocks and term info directly, in the same byte format;
- merges older segments by reading their posting blocks into the same arrays;
- also writes, beside the segment, a postings sidecar that numpy decodes in bulk (index.sidecar),
  which index.scoring reads instead of Whoosh's blocks.

Everything else (stored fields, columns, field lengths, deletions, the table of contents) is
Whoosh's own code. The files it writes (the sidecar aside) are byte-for-byte those of Whoosh's writer for the same
documents and merges (tests/test_index_segments.py compares them), so readers, searches and later
merges by the stock writer are unaffected.

This uses internals of whoosh3 3.54.0, which pyproject.toml pins exactly. A schema it cannot write
exactly (positions, vectors, spelling, boosts, another codec) is refused at construction with
UnsupportedSchema; index.schema's is always written (every index test builds through it).
"""

from __future__ import annotations

import logging
from array import array
from collections import Counter
from pickle import dumps

import numpy as np
from whoosh import formats
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.codec.whoosh3 import COMPRESSION_MIN_SIZE, WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.filedb.filetables import _lengths as _PAIR_LENGTHS
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from index.analysis import BigramFilter, SyllableTokenizer, term_lists
from index.sidecar import SidecarError, SidecarWriter, sidecar_field, sidecar_path

try:
    import zlib
except ImportError:  # pragma: no cover - CPython always has zlib
    zlib = None

ACCENTED, FOLDED, BIGRAMS = "a", "f", "b"
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
        if not isinstance(self.codec, W3Codec):
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
        self._posts: dict[str, dict[bytes, array]] = {}
        self._lengths: dict[str, array] = {}
        self._added_docs = 0
        self._last_text: str | None = None
        self._last_terms: tuple[list[str], list[str], list[str]] = ([], [], [])

    # Adding documents ---------------------------------------------------------------------------

    def _terms(self, text: str, kind: str) -> list[str]:
        if text is not self._last_text:
            self._last_terms = term_lists(text)
            self._last_text = text
        return self._last_terms["afb".index(kind)]

    def add_document(self, **fields):
        self._check_state()
        if any(name.startswith("_") for name in fields):
            raise ValueError("boosts and _stored_ values are not supported by FastSegmentWriter")
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        fieldnames = sorted(fields)
        self._check_fields(schema, fieldnames)
        posts_of = self._posts
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields[fieldname]
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    posts = posts_of.get(fieldname)
                    if posts is None:
                        posts = posts_of[fieldname] = {}
                    kind = self._kinds[fieldname]
                    frequency = type(field.format) is formats.Frequency
                    if kind is not None:
                        if not isinstance(value, str):
                            raise ValueError(f"{value!r} is not unicode")
                        # Keys are str here (bytes for other fields): UTF-8 keeps str order.
                        tokens = self._terms(value, kind)
                        if frequency:
                            length = len(tokens)
                            for token, freq in Counter(tokens).items():
                                arr = posts.get(token)
                                if arr is None:
                                    arr = posts[token] = array("I")
                                arr.append(docnum)
                                arr.append(freq)
                        else:
                            distinct = set(tokens)
                            length = len(distinct)
                            for token in distinct:
                                arr = posts.get(token)
                                if arr is None:
                                    arr = posts[token] = array("I")
                                arr.append(docnum)
                    else:
                        for tbytes, freq, _weight, _vbytes in field.index(value):
                            if field.scorable:
                                length += freq
                            arr = posts.get(tbytes)
                            if arr is None:
                                arr = posts[tbytes] = array("I")
                            arr.append(docnum)
                            if frequency:
                                arr.append(freq)
                    if length:
                        lengths = self._lengths.get(fieldname)
                        if lengths is None:
                            lengths = self._lengths[fieldname] = array("I")
                        if len(lengths) < docnum:
                            lengths.frombytes(bytes(lengths.itemsize * (docnum - len(lengths))))
                        lengths.append(length)
                perdocwriter.add_field(fieldname, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(value))
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
            new = new[keep].astype(np.uint32)
            posts = self._posts.setdefault(fieldname, {})
            key = tbytes.decode("utf-8") if self._kinds.get(fieldname) else tbytes
            arr = posts.get(key)
            if arr is None:
                arr = posts[key] = array("I")
            if type(self.schema[fieldname].format) is formats.Frequency:
                pairs = np.empty(2 * new.size, dtype=np.uint32)
                pairs[0::2] = new
                pairs[1::2] = np.rint(weights[keep]).astype(np.uint32)
                arr.frombytes(pairs.tobytes())
            else:
                arr.frombytes(new.tobytes())
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
        for fieldname in self._posts:
            if not self.schema[fieldname].scorable:
                continue
            lengths = self._lengths.setdefault(fieldname, array("I"))
            if len(lengths) < self._added_docs:
                lengths.frombytes(bytes(lengths.itemsize * (self._added_docs - len(lengths))))
            del lengths[self._added_docs :]
            for doc in range(self._added_docs, self.docnum):
                lengths.append(pdr.doc_field_length(doc, fieldname) or 0)

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
        postings = _Output(fieldwriter._postfile)
        folder = self._sidecar_folder()
        sidecar = SidecarWriter(self.newsegment.segid, self.docnum) if folder else None
        for fieldname in sorted(self._posts):
            posts = self._posts[fieldname]
            if not posts:
                continue
            field = schema[fieldname]
            fieldwriter.start_field(fieldname, field)
            prefix = pack_ushort(fieldwriter._fieldid)
            frequency = type(field.format) is formats.Frequency
            lengths = self._lengths.get(fieldname) if field.scorable else None
            length_bytes = _length_bytes(lengths, self.docnum) if lengths else None
            side = sidecar is not None and sidecar_field(fieldname)
            flat, counts, keys = array("I"), array("q"), []
            for term in sorted(posts):
                arr = posts[term]
                tbytes = term.encode("utf-8") if isinstance(term, str) else term
                if frequency:
                    info = _write_term(postings, arr[0::2], arr[1::2], length_bytes)
                else:
                    info = _write_term(postings, arr, None, length_bytes)
                terms.add(prefix + tbytes, info)
                if side:
                    flat.extend(arr)
                    counts.append(len(arr))
                    keys.append(tbytes)
            postings.flush()
            terms.flush()
            fieldwriter.finish_field()
            if side:
                _sidecar_field(sidecar, fieldname, keys, counts, flat, frequency, length_bytes)
        self._posts.clear()
        if sidecar is not None:
            for name in sorted(schema.names()):  # fields without postings here: every term absent
                if schema[name].indexed and sidecar_field(name) and name not in sidecar.fields:
                    sidecar.add_field(name, [], np.empty(0, np.int64), np.empty(0, np.int64), None, None)
            try:
                sidecar.write(sidecar_path(folder, self.newsegment))
            except SidecarError as exc:  # too large for uint32 offsets: read through Whoosh
                log.warning("không ghi tệp chỉ mục phụ: %s", exc)


def _sidecar_field(sidecar, fieldname, keys, counts, flat, frequency, length_bytes) -> None:
    """Hand one field's postings, as _write_postings collected them, to the sidecar writer."""
    values = np.frombuffer(flat, dtype=np.uint32) if flat else np.empty(0, np.uint32)
    counts = np.frombuffer(counts, dtype=np.int64) if counts else np.empty(0, np.int64)
    if frequency:
        ids, tfs, counts = values[0::2], values[1::2], counts // 2
    else:
        ids, tfs = values, None
    codes = np.frombuffer(length_bytes, dtype=np.uint8) if length_bytes else None
    sidecar.add_field(fieldname, keys, counts, ids, tfs, codes)


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
_LENGTH_TABLE = [length_to_byte(n) for n in range(4096)]


def _length_bytes(lengths: array, doccount: int) -> bytes:
    """Each document's field length as the one-byte code Whoosh stores (0: the field is empty)."""
    table = _LENGTH_TABLE
    codes = bytearray(doccount)
    for docnum, length in enumerate(lengths):
        if length:
            codes[docnum] = table[length] if length < 4096 else length_to_byte(length)
    return bytes(codes)


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

    def add(self, key: bytes, value: bytes) -> None:
        if key <= self.tindex.lastkey:
            raise ValueError(f"Keys must increase: {self.tindex.lastkey!r}..{key!r}")
        pos = self.out.pos
        self.index.append(pos)
        self.out.write(_PAIR_LENGTHS.pack(len(key), len(value)) + key + value)
        h = self.hashfn(key)
        self.buckets[h & 255].append((h, pos))
        self.tindex.lastkey = key

    def flush(self) -> None:
        self.out.flush()


_TERM_INFO = W3TermInfo._struct  # flags, total weight, doc freq, min/max length byte, max weight, min/max id
_NOT_INLINED = 0


def _write_term(out: _Output, ids, freqs, length_bytes: bytes | None) -> bytes:
    """Write one term's posting blocks as W3PostingsWriter would; return its W3TermInfo bytes."""
    start = out.pos
    total = len(ids)
    weight_sum = 0.0
    max_weight_all = 0
    min_byte_all = 0
    max_byte_all = 0
    parts = [WHOOSH3_HEADER_MAGIC]
    for begin in range(0, total, BLOCK):
        if total <= BLOCK:
            block_ids = ids
            block_freqs = freqs
        else:
            block_ids = ids[begin : begin + BLOCK]
            block_freqs = freqs[begin : begin + BLOCK] if freqs is not None else None
        count = len(block_ids)
        if count == 1:
            deltas = (block_ids[0],)
        else:
            deltas = [block_ids[0]]
            deltas.extend(map(int.__sub__, block_ids[1:], block_ids))
            deltas = tuple(deltas)
        if block_freqs is None:
            weights = None
            values = None
            max_weight = 1.0
            weight_sum += float(count)
        elif count == 1:
            first = block_freqs[0]
            weights = None if first == 1 else float(first)
            values = pack_uint(first)
            max_weight = float(first)
            weight_sum += float(first)
        else:
            first = block_freqs[0]
            if block_freqs.count(first) == count:
                weights = None if first == 1 else float(first)
            else:
                weights = tuple(map(float, block_freqs))
            values = b"".join(map(pack_uint, block_freqs))
            max_weight = float(max(block_freqs))
            weight_sum += float(sum(block_freqs))
        if length_bytes is None:
            low = high = 0
        elif count == 1:
            low = high = length_bytes[block_ids[0]]
        else:
            codes = bytes(map(length_bytes.__getitem__, block_ids))
            high = max(codes)
            low = min(codes)
            if not low:
                low = min(codes.replace(b"\0", b""), default=0)
        databytes = dumps((deltas, weights, values), 2)
        comp = COMPRESSION if len(databytes) >= COMPRESSION_MIN_SIZE else 0
        if comp:
            databytes = zlib.compress(databytes, comp)
        infobytes = dumps((count, block_ids[-1], max_weight, comp, low, high), 2)
        blocklength = len(infobytes) + len(databytes)
        parts.append(pack_int(-blocklength if begin + BLOCK >= total else blocklength))
        parts.append(infobytes)
        parts.append(databytes)
        if max_weight > max_weight_all:
            max_weight_all = max_weight
        if low and (not min_byte_all or low < min_byte_all):
            min_byte_all = low
        if high > max_byte_all:
            max_byte_all = high
    data = b"".join(parts)
    out.write(data)
    # W3TermInfo.to_bytes: the length bytes are those of the quantised lengths, i.e. these codes
    return (
        _TERM_INFO.pack(_NOT_INLINED, weight_sum, total, min_byte_all, max_byte_all, max_weight_all, ids[0], ids[-1])
        + pack_long(start)
        + pack_int(len(data))
    )


MERGE_MAX_RECORDS = 3000  # a segment larger than this is never merged by an update (a rebuild compacts)
MERGE_AT = 6  # merge the small segments once there are this many


def merge_small_segments(writer, segments):
    """Merge policy for incremental updates (`writer.commit(mergetype=…)`).

    Whoosh's MERGE_SMALL eventually merges the large segments of a full build too: one update then
    held the lock for minutes (merging is still the costliest part of a commit). Here segments
    without a live record (an update's meta record, replaced by the next update) are dropped, and
    only segments of at most MERGE_MAX_RECORDS records are merged, once there are MERGE_AT of them."""
    from whoosh.reading import SegmentReader

    live = [segment for segment in segments if segment.doc_count() > 0]
    small = [segment for segment in live if segment.doc_count_all() <= MERGE_MAX_RECORDS]
    if len(small) < MERGE_AT:
        return live
    for segment in small:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [segment for segment in live if segment.doc_count_all() > MERGE_MAX_RECORDS]
