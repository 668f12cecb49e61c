"""The fast segment writer writes exactly what Whoosh's writer writes; parallel and incremental
builds hold the same postings as a single full build."""

import hashlib
import random
import shutil
import unicodedata

import pytest
from whoosh import fields as wfields
from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from index import build
from index.analysis import term_lists
from index.schema import make_schema, records
from index.search import SearchService
from index.segments import FastSegmentWriter, UnsupportedSchema
from index.sidecar import SUFFIX
from kb.model import Document

SYLLABLES = (
    "hội đồng nhân dân tỉnh quyết định dự toán ngân sách địa phương Ủy ban thoả thuận hoà giải "
    "Đắk Lắk quyền hạn nhiệm vụ căn cứ luật tổ chức chính quyền thu học phí giáo dục 2025 "
    "15/2025/NQ-HĐND khoản điểm Điều chương đất đai"
).split()


def make_docs(count: int, seed: int = 5) -> list[Document]:
    """Documents with a skewed vocabulary: common syllables occur in far more than 128 records
    (several posting blocks), rare ones once; NFD and old tone placements included."""
    rng = random.Random(seed)
    docs = []
    for i in range(count):

        def text(n, i=i):
            words = [rng.choice(SYLLABLES[: rng.randint(3, len(SYLLABLES))]) for _ in range(n)]
            words.append(f"hiếm{i}x{rng.randint(0, 99)}")
            out = " ".join(words)
            return unicodedata.normalize("NFD", out) if rng.random() < 0.2 else out

        articles = [
            {"number": str(a + 1), "heading": text(rng.randint(0, 6)), "text": text(rng.randint(1, 120))}
            for a in range(rng.randint(0, 6))
        ]
        docs.append(
            Document.from_dict(
                {
                    "uid": f"test:{i:04d}",
                    "number": f"{i}/2025/NQ-HĐND",
                    "title": text(rng.randint(1, 15)),
                    "issuer": rng.choice(["Quốc hội", "HĐND tỉnh Lai Châu", "Chính phủ"]),
                    "issued": f"2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                    "status": "Còn hiệu lực",
                    "doc_type": rng.choice(["Luật", "Nghị quyết", "Nghị định"]),
                    "fields": rng.sample(["Giáo dục", "Đất đai", "Tài chính"], rng.randint(0, 2)),
                    "text": "" if articles else text(rng.randint(0, 200)),
                    "articles": articles,
                }
            )
        )
    return docs


def segment_files(path) -> dict[str, str]:
    """Each of Whoosh's segment files' digest, named without the segment's random id (the fast
    writer's postings sidecar, which Whoosh does not write, is checked in test_index_sidecar.py)."""
    out = {}
    for item in sorted(path.iterdir()):
        if item.is_file() and not item.name.endswith((".toc", "WRITELOCK", SUFFIX)):
            out[item.name.split(".", 1)[1]] = hashlib.sha1(item.read_bytes()).hexdigest()
    return out


def write_with(writer_class, path, recs) -> None:
    path.mkdir()
    ix = whoosh_index.create_in(str(path), make_schema())
    writer = writer_class(ix, compound=False)
    for record in recs:
        writer.add_document(**record)
    writer.commit()


def test_the_fast_writer_writes_the_same_bytes_as_whoosh(tmp_path):
    recs = [r for d in make_docs(120) for r in records(d)]
    write_with(SegmentWriter, tmp_path / "stock", recs)
    write_with(FastSegmentWriter, tmp_path / "fast", recs)
    stock, fast = segment_files(tmp_path / "stock"), segment_files(tmp_path / "fast")
    assert {"pst", "trm", "_stored.col", "_body_f_len.col", "year.col"} <= set(stock)
    assert fast == stock
    assert len(list((tmp_path / "fast").glob(f"*{SUFFIX}"))) == 1
    assert not list((tmp_path / "stock").glob(f"*{SUFFIX}"))


def test_term_lists_equal_the_analyzers_tokens():
    schema = make_schema()
    for text in (
        "Hội đồng nhân dân tỉnh Đắk Lắk thoả thuận",
        unicodedata.normalize("NFD", "Uỷ ban hoà giải"),
        "một",
        "",
        "  --  ",
        "15/2025/NQ-HĐND ngày 10/7/2025",
        "a\u0301b",
    ):
        accented, folded, pairs = term_lists(text)
        assert accented == [t.text for t in schema["body_a"].analyzer(text)]
        assert folded == [t.text for t in schema["body_f"].analyzer(text)]
        assert pairs == [t.text for t in schema["body_b"].analyzer(text)]


def postings(index_path) -> dict:
    """Every (field, term) -> sorted (record id, weight), by record id rather than number."""
    ix = whoosh_index.open_dir(str(index_path))
    out = {}
    with ix.searcher() as searcher:
        reader = searcher.reader()
        ids = {n: f["id"] for n, f in reader.iter_docs()}
        for fieldname, term in reader.all_terms():
            if fieldname in ("id", "kind"):
                continue
            matcher = reader.postings(fieldname, term)
            items = []
            while matcher.is_active():
                if matcher.id() in ids and ids[matcher.id()] != "__meta__":
                    items.append((ids[matcher.id()], matcher.weight()))
                matcher.next()
            if items:
                out[(fieldname, term)] = sorted(items)
    return out


@pytest.fixture
def stored(store):
    """The conftest's temporary store holding 150 generated documents."""
    for d in make_docs(150):
        store.upsert(d)
    return store


def test_a_parallel_build_holds_what_a_single_build_holds(stored, tmp_path, monkeypatch):
    assert build.rebuild(stored, tmp_path / "one", procs=1) == 150
    monkeypatch.setattr(build, "PART_MIN_BYTES", 1)  # this small store in two processes,
    monkeypatch.setattr(build, "SEGMENT_TEXT", 20_000)  # each writing several segments
    seen = []
    assert build.rebuild(stored, tmp_path / "two", procs=2, progress=seen.append) == 150
    assert sum(seen) == 150
    two = build.open_index(tmp_path / "two")
    assert len(two._segments()) > 3
    assert postings(build.current_dir(tmp_path / "two")) == postings(build.current_dir(tmp_path / "one"))
    assert build.check(stored, tmp_path / "two").ok
    service = SearchService(tmp_path / "two", check_interval=0)
    facets = service.search("hội đồng", facets=True).facets
    assert facets and sum(count for _, count in facets["doc_type"]) == service.search("hội đồng").total


def test_incremental_updates_and_merges_hold_what_a_full_build_holds(stored, tmp_path):
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    changed = make_docs(150, seed=9)
    for round_ in range(6):  # several small segments, then merges
        for d in changed[round_ * 20 : (round_ + 1) * 20]:
            stored.upsert(d)
        stored.delete(f"test:{140 + round_:04d}")
        assert build.update(stored, index_dir) == 21
    build.rebuild(stored, tmp_path / "fresh", procs=1)
    assert postings(build.current_dir(index_dir)) == postings(build.current_dir(tmp_path / "fresh"))
    assert build.check(stored, index_dir).ok


@pytest.mark.parametrize("added", [0, 15])
def test_a_merge_of_segments_writes_the_same_bytes_as_whoosh(stored, tmp_path, added):
    """Merging older segments (the merge policy's way) goes through Whoosh's pool; the result is
    the same as Whoosh's, with and without new documents in the same commit."""
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    for round_ in range(3):
        for d in make_docs(30, seed=round_)[round_ * 10 : (round_ + 1) * 10]:
            stored.upsert(d)
        build.update(stored, index_dir)
    extra = [r for d in make_docs(added, seed=77) for r in records(d)]
    results = {}
    for name, writer_class in (("stock", SegmentWriter), ("fast", FastSegmentWriter)):
        copy = tmp_path / name
        shutil.copytree(build.current_dir(index_dir), copy)
        ix = whoosh_index.open_dir(str(copy))
        writer = writer_class(ix, compound=False)
        for record in extra:
            writer.add_document(**record)
        writer.commit(optimize=True)
        assert len(whoosh_index.open_dir(str(copy))._segments()) == 1
        results[name] = segment_files(copy)
    assert results["fast"] == results["stock"]


def test_a_segment_holding_only_the_meta_record_leaves_facets_right(stored, tmp_path):
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    stored.delete("test:0001")  # the update writes no document, only the meta record
    assert build.update(stored, index_dir) == 1
    service = SearchService(index_dir, check_interval=0)
    result = service.search("", filters={"doc_type": ["Luật"]}, facets=True)
    luat = [d for d in stored.iter_documents() if d.doc_type == "Luật"]
    assert result.total == len(luat)
    assert dict(result.facets["doc_type"])["Luật"] == len(luat)


def test_a_schema_it_cannot_write_exactly_is_refused_and_the_lock_released(tmp_path):
    ix = whoosh_index.create_in(str(tmp_path), wfields.Schema(body=wfields.TEXT(phrase=True)))
    with pytest.raises(UnsupportedSchema, match="format Positions"):
        FastSegmentWriter(ix)
    writer = ix.writer(timeout=0)  # not locked
    writer.cancel()


def test_the_update_writer_waits_for_the_lock_then_says_so(stored, tmp_path):
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    holder = build.open_index(index_dir).writer()
    try:
        stored.delete("test:0002")
        with pytest.raises(Exception, match="tiến trình ghi khác khóa"):
            build.update(stored, index_dir, timeout=0.5)
    finally:
        holder.cancel()
    assert build.update(stored, index_dir) == 1


@pytest.mark.parametrize("where", ["toc", "postings"])
def test_an_error_in_the_commit_reaches_the_caller_as_itself(stored, tmp_path, monkeypatch, where):
    """A failed commit (disk full) cleans up after itself; update's own cancel must not replace
    the error with "This writer is closed". Nothing is lost: the next update applies the change."""
    from whoosh import writing

    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    stored.delete("test:0003")

    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    target = (writing.SegmentWriter, "_commit_toc") if where == "toc" else (FastSegmentWriter, "_write_postings")
    with monkeypatch.context() as patch:
        patch.setattr(*target, disk_full)
        with pytest.raises(OSError, match="No space left"):
            build.update(stored, index_dir)
    assert not build.check(stored, index_dir).ok
    assert build.update(stored, index_dir) == 1
    assert build.check(stored, index_dir).ok


def test_threads_share_one_table_per_index_generation_and_agree(stored, tmp_path):
    """Each thread has its own searcher (Whoosh needs that), but the column arrays are built once
    per index generation and shared; after a commit every thread sees the new generation."""
    import threading

    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    service = SearchService(index_dir, check_interval=0)
    expected = service.search("hội đồng nhân dân", facets=True, per_page=50)

    def run(out):
        result = service.search("hội đồng nhân dân", facets=True, per_page=50)
        out.append(([h.uid for h in result.hits], result.total, result.facets, service._state().table))

    def in_threads():
        outs = []
        threads = [threading.Thread(target=run, args=(outs,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return outs

    outs = in_threads()
    assert all(
        (uids, total, facets) == ([h.uid for h in expected.hits], expected.total, expected.facets)
        for uids, total, facets, _ in outs
    )
    tables = [table for *_, table in outs]
    # the arrays and the postings (one cache per process, not per thread) are shared
    assert all(t.kind is tables[0].kind and t.postings is tables[0].postings for t in tables[1:])
    for i, d in enumerate(make_docs(5, seed=31)):
        data = d.to_dict()
        data.update(
            uid=f"test:{900 + i}",
            source_id=str(900 + i),
            number=f"{900 + i}/2025/NQ-HĐND",
            title="hội đồng nhân dân " + d.title,
        )
        stored.upsert(Document.from_dict(data))
    build.update(stored, index_dir)
    after = in_threads()
    assert all(total == expected.total + 5 for _, total, _, _ in after)
    assert all(t.kind is not tables[0].kind for *_, t in after)


def test_an_update_never_merges_and_drops_the_segments_left_empty(stored, tmp_path):
    """An update commits its documents as one new segment and leaves the others as they are (merging is
    index.compaction's, after the commit); the segment of the last update's meta record, replaced by
    the next one, goes."""
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    built = {s.segment_id() for s in build.open_index(index_dir)._segments() if s.doc_count() > 1}
    previous = built  # the rebuild's segment of its meta record alone goes with the first update
    for round_ in range(5):
        stored.upsert(make_docs(150, seed=round_)[round_])
        build.update(stored, index_dir)
        now = {s.segment_id() for s in build.open_index(index_dir)._segments()}
        assert built <= now and len(now - previous) == 1
        assert len(now) == len(built) + round_ + 1
        previous = now
    assert all(s.doc_count() > 0 for s in build.open_index(index_dir)._segments())
    build.rebuild(stored, tmp_path / "fresh", procs=1)
    assert postings(build.current_dir(index_dir)) == postings(build.current_dir(tmp_path / "fresh"))


def test_opening_the_index_while_a_commit_deletes_the_toc_just_listed(stored, tmp_path, monkeypatch):
    """A commit writes a new TOC and deletes the old one; a reader that listed the old one then
    finds it gone (seen as a 500 under load). The reader reads the new TOC instead."""
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    real_open = whoosh_index.open_dir
    failures = {"open": 2}

    def flaky(*args, **kwargs):
        if failures["open"]:
            failures["open"] -= 1
            raise FileNotFoundError(2, "No such file or directory", "_MAIN_13.toc")
        return real_open(*args, **kwargs)

    monkeypatch.setattr(whoosh_index, "open_dir", flaky)
    assert build.current_dir(index_dir) is not None
    with build.open_searcher(index_dir) as searcher:
        assert searcher.doc_count() > 150
    assert failures == {"open": 0}


def test_searches_and_opens_while_updates_commit(stored, tmp_path):
    import threading

    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    service = SearchService(index_dir, check_interval=0)
    errors, done = [], threading.Event()

    def search():
        while not done.is_set():
            try:
                build.current_dir(index_dir)
                service.search("hội đồng", facets=True)
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(repr(exc))

    threads = [threading.Thread(target=search) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(12):
            stored.upsert(make_docs(150, seed=50 + round_)[round_])
            build.update(stored, index_dir)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert errors == []


def test_adding_a_whole_multi_segment_reader_writes_the_same_bytes_as_whoosh(stored, tmp_path):
    """Whoosh's own writer cannot take a multi-segment reader (its translated columns hand str to a
    bytes column), so it is given the segments one by one; ours takes the whole reader."""
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    for round_ in range(3):  # three more segments, one with deletions
        stored.upsert(make_docs(40, seed=round_)[round_ * 10])
        build.update(stored, index_dir)
    source = build.open_index(index_dir)
    assert len(source._segments()) > 2
    results = {}
    for name, writer_class in (("stock", SegmentWriter), ("fast", FastSegmentWriter)):
        target = tmp_path / name
        target.mkdir()
        writer = writer_class(whoosh_index.create_in(str(target), make_schema()), compound=False)
        with source.reader() as reader:
            if writer_class is SegmentWriter:
                for leaf, _offset in reader.leaf_readers():
                    writer.add_reader(leaf)
            else:
                writer.add_reader(reader)
        writer.commit()
        results[name] = segment_files(target)
    assert results["fast"] == results["stock"]
