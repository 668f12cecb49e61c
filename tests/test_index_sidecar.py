"""The postings sidecar (index.sidecar) gives exactly what Whoosh's blocks give, before and after
updates with deletions and merges; it lives and dies with its segment; an index without sidecars, or
with a damaged one, is read through Whoosh with the same results."""

import gzip
import logging
import random

import numpy as np
import pytest
from conftest import shared_file
from test_index_segments import make_docs
from whoosh import index as whoosh_index

from index import build, compaction
from index import scoring as scoring_module
from index.schema import make_schema
from index.scoring import Postings
from index.search import SearchService
from index.segments import FastSegmentWriter
from index.sidecar import BLOCK, SUFFIX, Sidecar, SidecarError, SidecarWriter, sidecar_field
from kb.jsonl import import_file
from kb.store import Store

ARTICLES = 3000  # article records of the real corpus: documents with many blocks per common term


@pytest.fixture
def real_store(tmp_path):
    """The first ARTICLES article records of the pháp điển corpus (read in place) in a store."""
    corpus = shared_file("corpus", "phapdien_articles.jsonl.gz")
    part = tmp_path / "part.jsonl"
    with gzip.open(corpus, "rt", encoding="utf-8") as source, open(part, "w", encoding="utf-8") as sink:
        for _, line in zip(range(ARTICLES), source):
            sink.write(line)
    store = Store(tmp_path / "kb.sqlite")
    import_file(store, part)
    yield store
    store.close()


def live_of(reader) -> np.ndarray:
    live = np.zeros(reader.doc_count_all(), dtype=bool)
    live[list(reader.all_doc_ids())] = True
    return live


def sample_terms(reader, count: int, seed: int = 3) -> list[tuple[str, str]]:
    """Random (field, term) pairs of the sidecar's fields, common terms (many blocks) included."""
    rng = random.Random(seed)
    terms = [(f, t.decode("utf-8")) for f, t in reader.all_terms() if sidecar_field(f)]
    common = sorted(terms, key=lambda ft: -reader.doc_frequency(*ft))[:40]
    return rng.sample(terms, min(count, len(terms))) + common + [("body_f", "khôngcótừnày"), ("numkey", "zzz")]


def assert_sidecar_reads_equal_whoosh(index_dir, count: int = 600) -> int:
    """Every read of the sidecar-backed Postings equals the Whoosh-backed one; returns how many
    segments had a sidecar."""
    with build.open_searcher(index_dir) as searcher:
        reader = searcher.reader()
        live = live_of(reader)
        fast, slow = Postings(reader, live), Postings(reader, live, sidecars=False)
        with_sidecar = sum(car is not None for car in fast._sidecars)
        for field, term in sample_terms(reader, count):
            ids, tfs = fast.get(field, term)
            want_ids, want_tfs = slow.get(field, term)
            assert ids.dtype == np.int64 and tfs.dtype == np.float32
            assert np.array_equal(ids, want_ids) and np.array_equal(tfs, want_tfs), (field, term)
            assert fast.df(field, term) == want_ids.size
            for got, want in zip(fast.block_bounds(field, term), slow.block_bounds(field, term)):
                assert got.dtype == want.dtype and np.array_equal(got, want), (field, term)
            last, _top, _short = fast.block_bounds(field, term)
            assert not want_ids.size or np.all(last[np.searchsorted(last, want_ids)] >= want_ids)
            fresh = Postings(reader, live)  # nothing cached: decodes the sidecars again
            assert np.array_equal(fresh.ids(field, term), want_ids)
        return with_sidecar


def test_sidecar_reads_equal_whoosh_reads_on_the_real_corpus_after_updates_and_merges(
    real_store, tmp_path, monkeypatch
):
    monkeypatch.setattr(build, "SEGMENT_TEXT", 400_000)  # several segments
    index_dir = tmp_path / "index"
    build.rebuild(real_store, index_dir, procs=1)
    segments = build.open_index(index_dir)._segments()
    assert len(segments) > 3
    assert assert_sidecar_reads_equal_whoosh(index_dir) == len(segments)
    docs = list(real_store.iter_documents())
    rng = random.Random(5)
    rewritten = 0
    for round_ in range(8):  # deletions in the large segments, new small segments, then compactions
        for doc in rng.sample(docs, 4):
            if real_store.get(doc.uid) is None:
                continue
            if round_ % 2:
                real_store.delete(doc.uid)
            else:
                doc.title += " sửa đổi"
                real_store.upsert(doc)
        build.update(real_store, index_dir)
        rewritten += compaction.compact(real_store, index_dir)
    now = build.open_index(index_dir)._segments()
    assert any(s.has_deletions() for s in now)
    assert rewritten > 0  # the compaction's segments are read through their sidecars too
    assert assert_sidecar_reads_equal_whoosh(index_dir) == len(now)


def test_updates_and_compactions_keep_one_sidecar_per_segment_and_no_orphan(tmp_path):
    store = Store(tmp_path / "kb.sqlite")
    for d in make_docs(150):
        store.upsert(d)
    index_dir = tmp_path / "index"
    build.rebuild(store, index_dir, procs=1)
    folder = build.current_dir(index_dir)
    orphan = folder / f"MAIN_zzzzzzzzzzzzzzzz{SUFFIX}"  # a deleted segment's, left by a crash
    orphan.write_bytes(b"left over")
    merged = 0
    for round_ in range(14):
        store.upsert(make_docs(150, seed=round_)[round_])
        store.delete(f"test:{100 + round_:04d}")
        before = len(build.open_index(index_dir)._segments())
        build.update(store, index_dir)
        compaction.compact(store, index_dir)
        segments = build.open_index(index_dir)._segments()
        merged += len(segments) < before
        sidecars = {p.name for p in folder.glob(f"*{SUFFIX}*")}
        assert sidecars == {s.make_filename(SUFFIX) for s in segments}  # the meta record's segment too
    assert merged >= 2
    assert not orphan.exists()
    assert_sidecar_reads_equal_whoosh(index_dir, count=300)
    store.close()


def search_answers(index_dir) -> list:
    service = SearchService(index_dir, check_interval=0)
    out = []
    for query in ("hội đồng nhân dân", "ngân sách địa phương", '"quyền hạn"', "đất", "15/2025/NQ-HĐND"):
        result = service.search(query, per_page=50, facets=True)
        out.append((result.total, [(h.uid, h.anchor, round(h.score, 5)) for h in result.hits], result.facets))
    return out


@pytest.fixture
def small_index(tmp_path):
    store = Store(tmp_path / "kb.sqlite")
    for d in make_docs(150):
        store.upsert(d)
    index_dir = tmp_path / "index"
    build.rebuild(store, index_dir, procs=1)
    store.close()
    return index_dir


def test_an_index_without_sidecars_answers_the_same(small_index):
    folder = build.current_dir(small_index)
    with_sidecars = search_answers(small_index)
    assert with_sidecars[0][0] > 0
    removed = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_size)
    assert len(removed) >= 2  # the build's segment and the meta record's
    removed[-1].unlink()  # some segments with a sidecar, some without (an older writer's)
    assert search_answers(small_index) == with_sidecars
    for path in removed[:-1]:
        path.unlink()
    assert search_answers(small_index) == with_sidecars


@pytest.mark.parametrize("damage", ["truncated", "other segment", "garbage"])
def test_a_damaged_sidecar_is_ignored_with_one_warning(small_index, caplog, damage):
    folder = build.current_dir(small_index)
    with_sidecars = search_answers(small_index)
    path = max(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_size)  # the build's segment
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) * 2 // 3])
    elif damage == "other segment":
        path.write_bytes(data.replace(path.name.split(".")[0].split("_", 1)[1].encode(), b"x" * 16, 1))
    else:
        path.write_bytes(b"\0" * len(data))
    scoring_module._warned.clear()
    with caplog.at_level(logging.WARNING, logger="index.scoring"):
        assert search_answers(small_index) == with_sidecars
        assert search_answers(small_index) == with_sidecars  # a second service: no second warning
    warnings = [r for r in caplog.records if path.name in r.getMessage()]
    assert len(warnings) == 1
    with build.open_searcher(small_index) as searcher:
        postings = Postings(searcher.reader(), live_of(searcher.reader()))
        assert sum(car is None for car in postings._sidecars) == 1


def test_an_error_found_while_reading_falls_back_to_whoosh_for_that_segment(small_index, monkeypatch):
    with build.open_searcher(small_index) as searcher:
        reader = searcher.reader()
        live = live_of(reader)
        want = Postings(reader, live, sidecars=False).get("body_f", "dong")
        postings = Postings(reader, live)
        assert any(postings._sidecars)

        def broken(self, rec, offset=0):
            raise SidecarError("postings outside the file")

        monkeypatch.setattr(Sidecar, "postings", broken)
        got = postings.get("body_f", "dong")
        assert want[0].size > BLOCK and np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        assert [car is None for car in postings._sidecars] == [True, False]  # the meta record's: not read


def test_the_writer_stores_blocks_widths_and_bounds(tmp_path):
    """Gaps wider than a byte, frequencies above 255, presence-only fields and block bounds."""
    path = str(tmp_path / f"MAIN_abc{SUFFIX}")
    writer = SidecarWriter("abc", 200_000)
    ids_a = np.arange(0, 300, dtype=np.int64) * 3  # 3 blocks, gaps of 3
    ids_b = np.array([5, 70_000, 199_999], dtype=np.int64)  # a span of 4 bytes
    tfs = np.concatenate([np.arange(1, 301) % 7 + 1, [1, 400, 2]])
    lengths = np.zeros(200_000, dtype=np.uint8)
    lengths[ids_a] = np.arange(300) % 50 + 1
    lengths[ids_b] = [9, 0, 8]
    writer.add_field("body_f", [b"a", "đ".encode()], [300, 3], np.concatenate([ids_a, ids_b]), tfs, lengths)
    writer.add_field("title_a", [b"a"], [2], np.array([1, 2]), None, None)
    writer.add_field("body_b", [], [], np.empty(0), None, None)
    writer.write(path)
    car = Sidecar(path, "abc", 200_000)
    assert car.fields == {"body_f", "title_a", "body_b"}
    rec = car.find("body_f", "a")
    assert car.count(rec) == 300
    ids, got = car.postings(rec)
    assert np.array_equal(ids, ids_a) and np.array_equal(got, tfs[:300].astype(np.float32))
    blocks = car.blocks(rec)
    assert list(car.blk_last[blocks]) == [ids_a[127], ids_a[255], ids_a[299]]
    assert list(car.blk_maxtf[blocks]) == [7, 7, 7]
    assert list(car.blk_minlen[blocks]) == [1, 1, 7]  # lengths (256..299) % 50 + 1 in the last
    rec = car.find("body_f", "đ")
    assert rec[6:] == (4, 2)  # widths of the docnums (span 199,994) and of the frequencies
    ids, got = car.postings(rec)
    assert list(ids) == [5, 70_000, 199_999] and list(got) == [1, 400, 2]
    assert list(car.blk_minlen[car.blocks(rec)]) == [8]  # empty lengths ignored, as Whoosh does
    rec = car.find("title_a", "a")
    assert rec[7] == 0 and list(car.postings(rec)[1]) == [1.0, 1.0]
    assert car.find("body_f", "b") is car.find("title_a", "đ") is car.find("body_b", "a") is None
    with pytest.raises(SidecarError, match="segment"):
        Sidecar(path, "abd", 200_000)


def test_the_fast_writer_writes_no_sidecar_into_a_compound_segment(tmp_path):
    ix = whoosh_index.create_in(str(tmp_path), make_schema())
    writer = FastSegmentWriter(ix, compound=True)
    writer.add_document(id="a", uid="a", kind="doc", body_f="một hai ba", body_a="một hai ba")
    writer.commit()
    assert not list(tmp_path.glob(f"*{SUFFIX}"))
    with ix.searcher() as searcher:
        reader = searcher.reader()
        ids, tfs = Postings(reader, live_of(reader)).get("body_f", "hai")
        assert list(ids) == [0] and list(tfs) == [1.0]
