"""Postings beside each segment, in a layout numpy decodes without a Python loop per block.

Whoosh's whoosh3 codec keeps a term's postings as pickled, zlib-compressed blocks of 128; reading
them costs about 41 µs of Python per block, which made cold queries grow linearly with the corpus
(issue 17). `index.segments.FastSegmentWriter` therefore also writes, beside each segment it writes,
one more file, `<indexname>_<segid>.npost`, holding the postings of the text fields the scorer reads
(`SIDECAR_FIELDS`). Whoosh's own files are unchanged; a segment without this file (an older index, a
segment of the stock writer) is read through Whoosh as before. Whoosh's `clean_files` deletes the file
with its segment: its name matches the TOC's segment-file pattern.

The file (little-endian throughout):

    MAGIC, uint32 header length, the header (JSON), padding to 8 bytes
    sections, each 8-byte aligned, named in the header with their offset, dtype and length:
      hash int64, sorted                             one per (field, term): the hash of its key,
                                                     field + b"\\xff" + term (UTF-8)
      terms, one 24-byte record per hash (TERM):     key_off, count, doc_off, tf_off, blk0 (uint32),
                                                     key_len (uint16), doc_w, tf_w (uint8)
        the key at key_off in `keys`; `count` postings; their docnums, minus the term's first
        docnum, at doc_off (in elements) of the region of width doc_w (1, 2 or 4 bytes: the
        narrowest that holds the term's span); their frequencies at tf_off of the region of width
        tf_w (0: every frequency is 1); their blocks from blk0 in the block arrays
      keys                                           the keys, concatenated
      blocks of at most BLOCK postings: first docnum uint32, last docnum uint32, max tf float32,
        min length byte uint8 (Whoosh's one-byte code of the shortest field length, 0: none)
      docs1/docs2/docs4, tf1/tf2/tf4                  the payloads by width
    END, uint64 file size

A term's docnums are `first + docs[doc_off : doc_off + count]` (first: the first block's first
docnum), one `astype` and one addition, and a block's are the same over its slice. (Gaps with a
cumulative sum took a byte less per posting in a third of the terms, but numpy's cumsum is about
100 times slower than the addition: 1.2 ms against 11 µs for 40,000 postings.)
Docnums are the segment's own (0-based). The reader keeps the term hashes in memory and reads the
rest with os.pread when asked (it mapped the whole file until issue 17's memory work: every page a
query had touched then counted in each worker's RSS, 600-690 MB at 10x); it refuses a file whose
size, end marker, segment id or document count does not match: the caller then reads Whoosh's blocks.
"""

from __future__ import annotations

import json
import os
import struct
import weakref
import zlib

import numpy as np

SUFFIX = ".npost"
MAGIC = b"HDNDNPS1"
END = b"HDNDEND1"
VERSION = 3
BLOCK = 128
KEY_SEPARATOR = b"\xff"  # never in UTF-8, so field + separator + term is unambiguous
TERM = struct.Struct("<IIIIIHBB")  # key_off, count, doc_off, tf_off, blk0, key_len, doc_w, tf_w
_TERM_DTYPE = np.dtype(
    [
        ("key_off", "<u4"),
        ("count", "<u4"),
        ("doc_off", "<u4"),
        ("tf_off", "<u4"),
        ("blk0", "<u4"),
        ("key_len", "<u2"),
        ("doc_w", "u1"),
        ("tf_w", "u1"),
    ]
)
assert _TERM_DTYPE.itemsize == TERM.size
LIMIT = 1 << 32  # offsets are uint32: a segment beyond this gets no sidecar (read through Whoosh)
_WIDTH_DTYPE = {1: "u1", 2: "<u2", 4: "<u4"}
RECORDS_KEPT = 2048  # term records a reader remembers per segment (Sidecar.lookup), ~0.5 KB each


class SidecarError(ValueError):
    """A postings sidecar is unreadable (truncated, damaged, or not this segment's)."""


def sidecar_field(name: str) -> bool:
    """Whether the sidecar holds this field: the text fields the scorer reads (index.schema)."""
    return name.endswith(("_a", "_f", "_b")) or name == "numkey"


def term_key(field: str, term: str | bytes) -> bytes:
    return field.encode("utf-8") + KEY_SEPARATOR + (term.encode("utf-8") if isinstance(term, str) else term)


def key_hash(key: bytes) -> int:
    """A stable 63-bit hash (Python's own hash differs between processes)."""
    return (zlib.crc32(key) << 31) ^ zlib.adler32(key)


def sidecar_path(folder: str, segment) -> str:
    return os.path.join(folder, segment.make_filename(SUFFIX))


def _width(values: np.ndarray, widths: tuple[int, ...]) -> np.ndarray:
    """The narrowest of `widths` (bytes, ascending; 0: every value is 1) that holds each value."""
    out = np.full(values.shape, widths[-1], dtype=np.uint8)
    for w in reversed(widths[:-1]):
        limit = 1 if w == 0 else 1 << (8 * w)
        out[values < limit if w else values <= limit] = w
    return out


class SidecarWriter:
    """Collects one segment's postings field by field (`add_field`) and writes the file (`write`)."""

    def __init__(self, segid: str, doc_count: int):
        self.segid = segid
        self.doc_count = doc_count
        self.fields: list[str] = []
        self.keys: list[bytes] = []
        self.columns: dict[str, list[np.ndarray]] = {name: [] for name in ("hash", *_TERM_DTYPE.names)}
        self.blocks: dict[str, list[np.ndarray]] = {"first": [], "last": [], "maxtf": [], "minlen": []}
        self.payload: dict[str, list[np.ndarray]] = {
            "docs1": [],
            "docs2": [],
            "docs4": [],
            "tf1": [],
            "tf2": [],
            "tf4": [],
        }
        self.sizes = dict.fromkeys(self.payload, 0)
        self.block_count = 0

    def add_field(
        self,
        field: str,
        terms: list[bytes],
        counts: np.ndarray,
        ids: np.ndarray,
        tfs: np.ndarray | None,
        length_bytes: np.ndarray | None,
    ) -> None:
        """One field's terms (in any order), each with `counts[i]` postings: the terms' sorted docnums
        concatenated in `ids`, their frequencies in `tfs` (None: presence only), and each document's
        one-byte length code (None: the field keeps no lengths)."""
        self.fields.append(field)
        if not terms:
            return
        counts = np.asarray(counts, dtype=np.int64)
        ids = np.asarray(ids, dtype=np.int64)
        nterms = counts.size
        starts = np.cumsum(counts) - counts
        firsts = ids[starts]
        spans = ids[starts + counts - 1] - firsts
        values = ids - np.repeat(firsts, counts)
        doc_w = _width(spans, (1, 2, 4))
        if tfs is None:
            tf_w = np.zeros(nterms, dtype=np.uint8)
            tfs = np.ones(ids.size, dtype=np.int64)
        else:
            tfs = np.asarray(tfs, dtype=np.int64)
            tf_w = _width(np.maximum.reduceat(tfs, starts), (0, 1, 2, 4))
        doc_off = self._payload("docs", values, doc_w, counts, (1, 2, 4))
        tf_off = self._payload("tf", tfs, tf_w, counts, (1, 2, 4))
        # blocks: BLOCK postings at a time within each term, tiling `ids` in order
        nblocks = (counts + BLOCK - 1) // BLOCK
        block_base = np.cumsum(nblocks) - nblocks
        term_of_block = np.repeat(np.arange(nterms), nblocks)
        within = np.arange(int(nblocks.sum())) - np.repeat(block_base, nblocks)
        begin = starts[term_of_block] + BLOCK * within
        end = np.minimum(begin + BLOCK, (starts + counts)[term_of_block])
        self.blocks["first"].append(ids[begin].astype(np.uint32))
        self.blocks["last"].append(ids[end - 1].astype(np.uint32))
        self.blocks["maxtf"].append(np.maximum.reduceat(tfs, begin).astype(np.float32))
        if length_bytes is None:
            minlen = np.zeros(begin.size, dtype=np.uint8)
        else:
            codes = np.asarray(length_bytes, dtype=np.uint8)[ids].astype(np.uint16)
            codes[codes == 0] = 256  # Whoosh's block minimum ignores empty fields
            minlen = np.minimum.reduceat(codes, begin)
            minlen[minlen == 256] = 0
            minlen = minlen.astype(np.uint8)
        self.blocks["minlen"].append(minlen)
        columns = self.columns
        columns["hash"].append(np.array([key_hash(term_key(field, t)) for t in terms], dtype=np.int64))
        prefix = field.encode("utf-8") + KEY_SEPARATOR
        self.keys.extend(prefix + t for t in terms)
        columns["key_len"].append(np.array([len(t) for t in terms], dtype=np.int64) + len(prefix))
        columns["count"].append(counts.astype(np.uint32))
        columns["doc_w"].append(doc_w)
        columns["doc_off"].append(doc_off)
        columns["tf_w"].append(tf_w)
        columns["tf_off"].append(tf_off)
        columns["blk0"].append((block_base + self.block_count).astype(np.uint32))
        self.block_count += int(nblocks.sum())

    def _payload(self, name: str, values, widths, counts, choices) -> np.ndarray:
        """Store each term's values at its width; return each term's element offset in its region."""
        offsets = np.zeros(counts.size, dtype=np.int64)
        per_posting = np.repeat(widths, counts)
        for w in choices:
            terms = widths == w
            if not terms.any():
                continue
            region = f"{name}{w}"
            sizes = counts[terms]
            offsets[terms] = self.sizes[region] + np.cumsum(sizes) - sizes
            chunk = values[per_posting == w].astype(_WIDTH_DTYPE[w])
            self.payload[region].append(chunk)
            self.sizes[region] += chunk.size
        return offsets

    def write(self, path: str) -> None:
        """Write the file under a temporary name, then rename it: a present file is complete.
        Raises SidecarError (nothing written) when an offset would not fit its uint32."""
        columns = {
            name: np.concatenate(parts) if parts else np.empty(0, np.int64) for name, parts in self.columns.items()
        }
        key_lens = columns["key_len"].astype(np.int64)
        columns["key_off"] = np.cumsum(key_lens) - key_lens
        too_big = [n for n in ("key_off", "doc_off", "tf_off", "blk0") if columns[n].size and columns[n].max() >= LIMIT]
        if too_big or (key_lens.size and key_lens.max() >= 1 << 16) or max(self.sizes.values()) >= LIMIT:
            raise SidecarError(f"segment {self.segid} too large for a postings sidecar ({too_big})")
        order = np.argsort(columns["hash"], kind="stable")
        table = np.empty(order.size, dtype=_TERM_DTYPE)
        for name in _TERM_DTYPE.names:
            table[name] = columns[name][order]
        sections: list[tuple[str, np.ndarray | bytes]] = [
            ("hash", np.ascontiguousarray(columns["hash"][order], dtype="<i8")),
            ("terms", table.tobytes()),
        ]
        sections.append(("keys", b"".join(self.keys)))
        for name, dtype in (("first", "<u4"), ("last", "<u4"), ("maxtf", "<f4"), ("minlen", "u1")):
            parts = self.blocks[name]
            sections.append((f"blk_{name}", np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype)))
        for region, parts in self.payload.items():
            dtype = _WIDTH_DTYPE[int(region[-1])]
            sections.append((region, np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype)))
        table: dict = {}
        header = {
            "version": VERSION,
            "segment": self.segid,
            "docs": self.doc_count,
            "fields": self.fields,
            "terms": int(order.size),
            "sections": table,
        }
        # offsets depend on the header's length, which depends on the offsets' digits: fix the width
        pos = 0
        layout = []
        for name, data in sections:
            raw = data if isinstance(data, bytes) else data.tobytes()
            dtype = "bytes" if isinstance(data, bytes) else data.dtype.str
            length = len(raw) if isinstance(data, bytes) else data.size
            layout.append((name, raw, dtype, length, pos))
            pos += len(raw) + (-len(raw) % 8)
        base = 0
        for _ in range(3):
            for name, _raw, dtype, length, at in layout:
                table[name] = [base + at, dtype, length]
            head = json.dumps(header, separators=(",", ":")).encode("utf-8")
            start = len(MAGIC) + 4 + len(head)
            start += -start % 8
            if start == base:
                break
            base = start
            head = None
        if head is None:  # pragma: no cover - the header's size settles in two rounds
            raise SidecarError("header size did not settle")
        tmp = path + ".tmp"
        with open(tmp, "wb") as out:
            out.write(MAGIC + len(head).to_bytes(4, "little") + head)
            out.write(b"\0" * (base - len(MAGIC) - 4 - len(head)))
            for _name, raw, _dtype, _length, _at in layout:
                out.write(raw)
                out.write(b"\0" * (-len(raw) % 8))
            size = out.tell() + len(END) + 8
            out.write(END + size.to_bytes(8, "little"))
        os.replace(tmp, path)


class _Region:
    """One section of a sidecar, read on demand with os.pread: `region[a:b]` (a numpy array the
    caller owns) and `region[i]`. Nothing of the file is mapped: the pages read stay in the kernel's
    page cache (shared by every process, reclaimable), not in this process's memory."""

    __slots__ = ("_car", "offset", "dtype", "itemsize", "size")

    def __init__(self, car: Sidecar, offset: int, dtype: str, length: int):
        self._car = car
        self.offset = offset
        self.dtype = np.dtype(dtype)
        self.itemsize = self.dtype.itemsize
        self.size = length

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(self.size)
            if step != 1:
                raise ValueError("a sidecar region is read in contiguous slices")
            return self.read(start, max(0, stop - start))
        index = int(key)
        if not 0 <= index < self.size:
            raise IndexError(index)
        return self.read(index, 1)[0]

    def read(self, start: int, count: int) -> np.ndarray:
        """Elements start .. start + count (clipped to the region)."""
        count = max(0, min(count, self.size - start))
        size = count * self.itemsize
        raw = os.pread(self._car._fd, size, self.offset + start * self.itemsize) if size else b""
        if len(raw) != size:
            raise SidecarError(f"{self._car.path}: truncated while open")
        return np.frombuffer(raw, dtype=self.dtype, count=count)


class Sidecar:
    """The sidecar of one segment, read with os.pread. Raises SidecarError when the file cannot be
    trusted.

    In memory: the header, the sorted term hashes (8 bytes per term, for the binary search of a
    look-up: 39.5 MB over the 19 segments of 10x pháp điển) and the records of at most RECORDS_KEPT
    terms last looked up. Everything else (term records, keys, block bounds, postings) is read from
    the file when asked for, into arrays the caller owns: a term's record and key in two small reads,
    its block bounds in one read each, its postings in one read per array. The file stays open (one descriptor)
    until the object is collected or closed."""

    def __init__(self, path: str, segid: str, doc_count: int):
        self.path = path
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._closer = weakref.finalize(self, os.close, self._fd)
        # the records of the terms last looked up (hash -> record, key; first block -> first docnum):
        # a term read again costs no read of the file; at most RECORDS_KEPT, then forgotten at once
        self._recs: dict[int, tuple] = {}
        self._keys: dict[int, bytes] = {}
        self._firsts: dict[int, int] = {}
        try:
            self._open(path, segid, doc_count)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._closer()

    def pread(self, size: int, offset: int) -> bytes:
        """`size` bytes at `offset`; SidecarError when the file is shorter (changed since it was opened)."""
        raw = os.pread(self._fd, size, offset) if size else b""
        if len(raw) != size:
            raise SidecarError(f"{self.path}: truncated while open")
        return raw

    def _open(self, path: str, segid: str, doc_count: int) -> None:
        size = os.fstat(self._fd).st_size
        if size < len(MAGIC) + 4 + len(END) + 8:
            raise SidecarError(f"{path}: {size} bytes, too short")
        start = self.pread(len(MAGIC) + 4, 0)
        if start[: len(MAGIC)] != MAGIC:
            raise SidecarError(f"{path}: not a postings sidecar")
        tail = self.pread(16, size - 16)
        if tail[:8] != END or int.from_bytes(tail[8:], "little") != size:
            raise SidecarError(f"{path}: truncated or damaged (no end marker)")
        head_len = int.from_bytes(start[len(MAGIC) :], "little")
        if len(MAGIC) + 4 + head_len > size - 16:
            raise SidecarError(f"{path}: unreadable header")
        try:
            header = json.loads(self.pread(head_len, len(MAGIC) + 4))
        except ValueError:
            raise SidecarError(f"{path}: unreadable header") from None
        if not isinstance(header, dict) or header.get("version") != VERSION:
            raise SidecarError(f"{path}: version {header.get('version') if isinstance(header, dict) else None}")
        if header.get("segment") != segid or header.get("docs") != doc_count:
            raise SidecarError(f"{path}: written for segment {header.get('segment')} of {header.get('docs')} documents")
        try:
            self.fields = frozenset(header["fields"])
            self.doc_count = doc_count
            regions = {}
            for name, (offset, dtype, length) in header["sections"].items():
                width = 1 if dtype == "bytes" else np.dtype(dtype).itemsize
                if offset < 0 or length < 0 or offset + length * width > size - 16:
                    raise SidecarError(f"{path}: section {name} outside the file")
                regions[name] = _Region(self, offset, "u1" if dtype == "bytes" else dtype, length)
            self.keys_at = regions["keys"].offset
            self.terms_at, terms_size = regions["terms"].offset, regions["terms"].size
            # the hashes, the only table held in memory (its own array, not a view of the file)
            self.hashes = regions["hash"].read(0, regions["hash"].size).copy()
            if terms_size != self.hashes.size * TERM.size:
                raise SidecarError(f"{path}: term table of {terms_size} bytes for {self.hashes.size} terms")
            self.blk_first, self.blk_last = regions["blk_first"], regions["blk_last"]
            self.blk_maxtf, self.blk_minlen = regions["blk_maxtf"], regions["blk_minlen"]
            self.docs = {1: regions["docs1"], 2: regions["docs2"], 4: regions["docs4"]}
            self.tfs = {1: regions["tf1"], 2: regions["tf2"], 4: regions["tf4"]}
        except SidecarError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SidecarError(f"{path}: damaged header ({exc!r})") from None

    def find(self, field: str, term: str | bytes) -> tuple | None:
        """The term's record (TERM's fields), or None."""
        key = term_key(field, term)
        return self.lookup(key, key_hash(key))

    def lookup(self, key: bytes, h: int) -> tuple | None:
        """find() with the key and its hash already made (the same for every segment)."""
        rec = self._recs.get(h)
        if rec is not None and rec[5] == len(key) and self._keys.get(h) == key:
            return rec
        hashes = self.hashes
        row = int(hashes.searchsorted(h))
        fd, size = self._fd, TERM.size
        while row < hashes.size and hashes[row] == h:
            raw = os.pread(fd, size, self.terms_at + row * size)
            if len(raw) != size:
                raise SidecarError(f"{self.path}: truncated while open")
            rec = TERM.unpack(raw)
            if rec[5] == len(key) and os.pread(fd, rec[5], self.keys_at + rec[0]) == key:
                if len(self._recs) >= RECORDS_KEPT:
                    self._recs.clear()
                    self._keys.clear()
                    self._firsts.clear()
                self._recs[h] = rec
                self._keys[h] = key
                return rec
            row += 1
        return None

    def _first(self, rec: tuple) -> int:
        """The term's first docnum (its first block's), remembered with its record."""
        first = self._firsts.get(rec[4])
        if first is None:
            first = self._firsts[rec[4]] = int(self.blk_first[self.blocks(rec).start])
        return first

    @staticmethod
    def count(rec: tuple) -> int:
        return rec[1]

    def _runs(self, rec: tuple) -> tuple[int, np.ndarray, np.ndarray | None]:
        """(count, docnums minus the first, frequencies or None: all 1) of the term's postings: one
        read per array (the hot path of a query: no helper calls)."""
        _key_off, n, doc_off, tf_off, _blk0, _key_len, doc_w, tf_w = rec
        fd = self._fd
        region = self.docs.get(doc_w)
        if region is None or doc_off + n > region.size:
            raise SidecarError(f"{self.path}: postings outside the file")
        raw = os.pread(fd, n * doc_w, region.offset + doc_off * doc_w) if n else b""
        if len(raw) != n * doc_w:
            raise SidecarError(f"{self.path}: truncated while open")
        docs = np.frombuffer(raw, dtype=region.dtype)
        if not tf_w:
            return n, docs, None
        region = self.tfs.get(tf_w)
        if region is None or tf_off + n > region.size:
            raise SidecarError(f"{self.path}: postings outside the file")
        raw = os.pread(fd, n * tf_w, region.offset + tf_off * tf_w) if n else b""
        if len(raw) != n * tf_w:
            raise SidecarError(f"{self.path}: truncated while open")
        return n, docs, np.frombuffer(raw, dtype=region.dtype)

    def blocks(self, rec: tuple) -> slice:
        """The term's blocks in blk_first, blk_last, blk_maxtf and blk_minlen."""
        first = rec[4]
        end = first + (rec[1] + BLOCK - 1) // BLOCK
        if end > self.blk_last.size:
            raise SidecarError(f"{self.path}: blocks outside the file")
        return slice(first, end)

    def postings(self, rec: tuple, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(docnums int64, plus `offset`; frequencies float32) of every posting of the term here."""
        n, docs, tfs = self._runs(rec)
        first = self._first(rec)
        ids = docs.astype(np.int64)
        ids += first + offset
        if n and ids[-1] - offset >= self.doc_count:
            raise SidecarError(f"{self.path}: document numbers out of range")
        return ids, (np.ones(n, dtype=np.float32) if tfs is None else tfs.astype(np.float32))


def open_sidecar(folder: str, segment) -> Sidecar:
    """The sidecar of a segment. FileNotFoundError when it has none; SidecarError when unusable."""
    return Sidecar(sidecar_path(folder, segment), segment.segid, segment.doc_count_all())
