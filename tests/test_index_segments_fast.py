"""FastSegmentWriter's postings (term ids per field, sorted with numpy when the segment is written)
give exactly Whoosh's files on real pháp điển text, for new documents and for merges of older
segments; its batching, its memo of ID terms and its long-field lengths change nothing."""

import gzip
import shutil

import pytest
from conftest import shared_file
from test_index_segments import make_docs, segment_files
from test_index_sidecar import assert_sidecar_reads_equal_whoosh
from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from index import build, segments
from index.schema import make_schema, records
from index.segments import FastSegmentWriter
from index.sidecar import SUFFIX
from kb.jsonl import import_file
from kb.legal.validity import impacts_of
from kb.model import Document
from kb.store import Store

ARTICLES = 1500  # article records of the real corpus: common terms span many posting blocks


@pytest.fixture(scope="module")
def real_records(tmp_path_factory):
    """The index records of the first ARTICLES article records of the pháp điển corpus."""
    corpus = shared_file("corpus", "phapdien_articles.jsonl.gz")
    folder = tmp_path_factory.mktemp("real")
    part = folder / "part.jsonl"
    with gzip.open(corpus, "rt", encoding="utf-8") as source, open(part, "w", encoding="utf-8") as sink:
        for _, line in zip(range(ARTICLES), source):
            sink.write(line)
    store = Store(folder / "kb.sqlite")
    import_file(store, part)
    out = [r for doc in store.iter_documents() for r in records(doc, impacts_of(store, doc))]
    store.close()
    assert len(out) > ARTICLES
    return out


def write(writer_class, path, recs, chunks: int = 1, delete: tuple = (), optimize: bool = False):
    """An index of `recs` in `chunks` commits (segments), then `delete` (record ids) deleted and,
    with optimize, everything merged into one segment, all by `writer_class`."""
    path.mkdir()
    ix = whoosh_index.create_in(str(path), make_schema())
    size = -(-len(recs) // chunks)
    for start in range(0, len(recs), size):
        writer = writer_class(ix, compound=False)
        for record in recs[start : start + size]:
            writer.add_document(**record)
        writer.commit(merge=False)
    if delete or optimize:
        writer = writer_class(ix, compound=False)
        for record_id in delete:
            writer.delete_by_term("id", record_id)
        writer.commit(optimize=optimize, merge=False)
    return path


def test_on_real_text_the_fast_writer_writes_whoosh_bytes(real_records, tmp_path):
    stock = segment_files(write(SegmentWriter, tmp_path / "stock", real_records))
    fast = segment_files(write(FastSegmentWriter, tmp_path / "fast", real_records))
    assert {"pst", "trm", "_body_f_len.col", "_stored.col"} <= set(stock)
    assert fast == stock
    assert len(list((tmp_path / "fast").glob(f"*{SUFFIX}"))) == 1


def test_on_real_text_a_merge_with_deletions_writes_whoosh_bytes(real_records, tmp_path):
    """Three segments by the fast writer, some records deleted, then merged into one segment by each
    writer: the same files; the merged segment's sidecar reads as Whoosh's blocks do."""
    first = write(FastSegmentWriter, tmp_path / "first", real_records, chunks=3)
    assert len(whoosh_index.open_dir(str(first))._segments()) == 3
    deleted = tuple(r["id"] for r in real_records[5::97])
    results = {}
    for name, writer_class in (("stock", SegmentWriter), ("fast", FastSegmentWriter)):
        copy = tmp_path / name
        shutil.copytree(first, copy)
        ix = whoosh_index.open_dir(str(copy))
        writer = writer_class(ix, compound=False)
        for record_id in deleted:
            writer.delete_by_term("id", record_id)
        writer.commit(optimize=True)
        assert len(whoosh_index.open_dir(str(copy))._segments()) == 1
        results[name] = segment_files(copy)
    assert results["fast"] == results["stock"]
    index_dir = tmp_path / "index"  # build.open_searcher's layout: CURRENT names the folder
    index_dir.mkdir()
    shutil.move(str(tmp_path / "fast"), index_dir / "g-merged")
    (index_dir / build.CURRENT).write_text("g-merged", encoding="utf-8")
    assert assert_sidecar_reads_equal_whoosh(index_dir, count=300) == 1


def test_small_batches_and_a_forgetful_memo_change_nothing(real_records, tmp_path, monkeypatch):
    recs = real_records[:400]
    want = segment_files(write(SegmentWriter, tmp_path / "stock", recs))
    monkeypatch.setattr(segments, "BATCH", 50)  # a field's postings turned into Python ints 50 at a time
    monkeypatch.setattr(segments, "MEMO_VALUES", 2)  # the ID terms' memo starts again every 2 values
    assert segment_files(write(FastSegmentWriter, tmp_path / "fast", recs)) == want


def test_field_lengths_beyond_the_length_table_are_coded_as_whoosh_codes_them(tmp_path):
    """A body of more than 4096 syllables (the precomputed length codes end there) and a document
    with an empty body."""
    long_text = " ".join(f"âm{i % 997} tiết" for i in range(5000))
    docs = make_docs(20) + [
        Document.from_dict({"uid": "test:long", "number": "1/2025/NQ-HĐND", "title": "Dài", "text": long_text}),
        Document.from_dict({"uid": "test:empty", "number": "2/2025/NQ-HĐND", "title": "", "text": ""}),
    ]
    recs = [r for d in docs for r in records(d)]
    stock = segment_files(write(SegmentWriter, tmp_path / "stock", recs))
    assert segment_files(write(FastSegmentWriter, tmp_path / "fast", recs)) == stock
