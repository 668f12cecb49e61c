"""Compaction after updates: the small segments that updates leave are rewritten from the store; the
index then holds what a full rebuild holds, with a bounded number of segments, and a compaction that
fails midway leaves the index as it was."""

from types import SimpleNamespace

import pytest
from test_index_segments import make_docs, postings

from index import build, compaction
from index.errors import IndexError_
from index.search import SearchService
from index.segments import FastSegmentWriter
from index.sidecar import SUFFIX


def seg(live: int, total: int | None = None):
    return SimpleNamespace(doc_count=lambda: live, doc_count_all=lambda: total or live)


def test_the_plan_takes_the_small_segments_once_there_are_enough_of_them():
    large = [seg(1000), seg(900, 1200)]
    assert compaction.plan(large + [seg(10), seg(20)]) == []  # two small: not yet
    small = [seg(10), seg(20), seg(590, 1000)]  # a large segment with fewer live records than half the largest
    assert compaction.plan(large + small) == small
    assert compaction.plan(large + [seg(10), seg(20), seg(0, 50)]) == []  # an empty one is not counted
    assert compaction.plan([seg(5), seg(6)]) == []


def test_a_segment_that_lost_a_third_of_its_records_is_compacted_with_the_small_ones():
    large = [seg(1000), seg(900, 1200)]  # 25 % deleted: kept
    wasted = seg(700, 1000)  # 30 % deleted
    assert compaction.plan(large + [wasted]) == [wasted]
    tiny = seg(10)
    assert compaction.plan(large[:1] + [tiny, wasted] + large[1:]) == [tiny, wasted]
    assert compaction.plan(large + [seg(701, 1000)]) == []


@pytest.fixture
def stored(store):
    """The conftest's temporary store holding 150 generated documents."""
    for d in make_docs(150):
        store.upsert(d)
    return store


def segment_ids(index_dir) -> list[str]:
    return [s.segment_id() for s in build.open_index(index_dir)._segments()]


def test_weekly_updates_then_compaction_hold_what_a_rebuild_holds_in_few_segments(stored, tmp_path):
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    first = segment_ids(index_dir)
    changed = make_docs(150, seed=9)
    counts, rewritten = [], 0
    for week in range(8):  # 32 of the 150 documents changed or deleted: under DELETED
        for d in changed[week * 3 : week * 3 + 3]:
            stored.upsert(d)
        stored.delete(f"test:{149 - week:04d}")
        assert build.update(stored, index_dir) == 4
        rewritten += compaction.compact(stored, index_dir)
        now = build.open_index(index_dir)._segments()
        largest = max(s.doc_count_all() for s in now)
        small = [s for s in now if s.doc_count() < compaction.SMALL * largest]
        assert len(small) < compaction.COMPACT_AT
        counts.append(len(now))
        assert all(s.doc_count() > 0 for s in now)
        assert build.read_meta(index_dir).event_id == stored.last_event_id()  # the watermark survives
    assert rewritten > 0
    assert max(counts) <= 3 + compaction.COMPACT_AT - 1, counts  # two compacted ones at most beside the build's
    assert first[0] in segment_ids(index_dir)  # the large segment is never rewritten while mostly live
    assert build.check(stored, index_dir).ok
    build.rebuild(stored, tmp_path / "fresh", procs=1)
    assert postings(build.current_dir(index_dir)) == postings(build.current_dir(tmp_path / "fresh"))
    folder = build.current_dir(index_dir)
    sidecars = {p.name for p in folder.glob(f"*{SUFFIX}*")}
    assert sidecars == {s.make_filename(SUFFIX) for s in build.open_index(index_dir)._segments()}
    hits = SearchService(index_dir, check_interval=0).search(changed[20].title[:40])
    assert changed[20].uid in [h.uid for h in hits.hits]


def test_a_large_segment_that_lost_many_records_is_compacted(stored, tmp_path):
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    large = segment_ids(index_dir)[0]
    for round_ in range(3):
        for i in range(round_ * 30, round_ * 30 + 30):  # 90 of 150 documents deleted in three updates
            stored.delete(f"test:{i:04d}")
        build.update(stored, index_dir)
    assert compaction.compact(stored, index_dir) == 60
    assert large not in segment_ids(index_dir)
    assert build.check(stored, index_dir).ok
    assert sum(s.doc_count_all() - s.doc_count() for s in build.open_index(index_dir)._segments()) == 0


def test_a_compaction_that_fails_midway_leaves_the_index_as_it_was(stored, tmp_path, monkeypatch):
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    for week in range(3):
        stored.upsert(make_docs(150, seed=20 + week)[week])
        build.update(stored, index_dir)
    before_ids, before_postings = segment_ids(index_dir), postings(build.current_dir(index_dir))
    calls = {"n": 0}
    real_get = stored.get

    def failing_get(uid):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # as Ctrl-C while the documents are written again
        return real_get(uid)

    monkeypatch.setattr(stored, "get", failing_get)
    with pytest.raises(KeyboardInterrupt):
        compaction.compact(stored, index_dir)
    monkeypatch.setattr(stored, "get", real_get)
    assert segment_ids(index_dir) == before_ids
    assert postings(build.current_dir(index_dir)) == before_postings
    assert compaction.compact(stored, index_dir) > 0  # the lock was released
    assert postings(build.current_dir(index_dir)) == before_postings
    assert build.check(stored, index_dir).ok


def test_a_document_merged_into_another_is_not_written_twice(stored, tmp_path):
    """A store alias (a document merged into another) answers get() with the other document: the
    compaction writes each document under its own uid only."""
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    for week in range(3):
        stored.upsert(make_docs(150, seed=40 + week)[week])
        build.update(stored, index_dir)
    real_get = stored.get
    stored.get = lambda uid: real_get("test:0001") if uid == "test:0000" else real_get(uid)
    try:
        compaction.compact(stored, index_dir)
    finally:
        stored.get = real_get
    with build.open_searcher(index_dir) as searcher:
        uids = [f["uid"] for f in searcher.all_stored_fields() if f.get("kind") == "doc"]
    assert uids.count("test:0001") == 1


def test_a_compaction_waits_for_the_lock_then_says_so(stored, tmp_path):
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    holder = FastSegmentWriter(build.open_index(index_dir), compound=False)
    try:
        with pytest.raises(IndexError_, match="khóa quá"):
            compaction.compact(stored, index_dir, timeout=0.3)
    finally:
        holder.cancel()


def test_nothing_to_compact_changes_nothing(stored, tmp_path):
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    stored.upsert(make_docs(1, seed=3)[0])  # one changed document: one small segment
    build.update(stored, index_dir)
    before = segment_ids(index_dir)
    assert compaction.compact(stored, index_dir) == 0
    assert segment_ids(index_dir) == before


def test_a_searcher_opened_before_a_compaction_reads_the_segments_it_replaced(stored, tmp_path):
    """A serving thread keeps its searcher up to a second after a commit: the compaction deletes the
    files of the segments it rewrites, and that searcher must still read their stored fields."""
    index_dir = tmp_path / "index"
    build.rebuild(stored, index_dir, procs=1)
    for week in range(3):
        stored.upsert(make_docs(150, seed=60 + week)[week])
        build.update(stored, index_dir)
    old = segment_ids(index_dir)
    searcher = build.open_searcher(index_dir)
    try:
        assert compaction.compact(stored, index_dir) > 0
        gone = set(old) - set(segment_ids(index_dir))
        assert gone and not any(p.name.startswith(tuple(f"{g}." for g in gone)) for p in tmp_path.rglob("*"))
        fields = [searcher.stored_fields(n) for n in range(searcher.doc_count_all())]
        assert sum(f.get("kind") == "doc" for f in fields if f) >= 150
    finally:
        searcher.close()
    assert build.check(stored, index_dir).ok
