"""Compaction: the segments that weekly updates leave behind, rewritten from the store.

Each update commits its changed documents as a new small segment and marks their old records
deleted wherever they were. After a year of weekly updates an index holds the rebuild's large
segments, some of them largely deleted, plus a pile of small ones; a term not in the postings cache
is then read from every one of them (issue 17: 26 segments against a rebuild's 19, 5–13 % slower).
Whoosh's own merge copies stored fields a document at a time (~250–550 records/s at 10×), so merging
inside the update's commit made one update in six take 18–41 s.

Here the update commits without merging, and `compact` runs after it: once `COMPACT_AT` segments
hold fewer live records than half the largest one's records, or one segment lost 30 % of its records
to deletions, their documents are written again from the store (the source of truth, as a rebuild does) into segments of a rebuild's size, and one commit
swaps them for the old ones. A search sees the update as soon as it is committed and the compacted
index when compaction commits; a compaction killed midway leaves the index as it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from whoosh.reading import SegmentReader
from whoosh.writing import LockError

from index.build import open_index, write_segments
from index.errors import IndexError_
from index.schema import META_ID
from index.segments import FastSegmentWriter
from kb.store import Store

COMPACT_AT = 3  # compact once this many segments are small
SMALL = 0.5  # a segment is small below this share of the largest segment's records
DELETED = 0.3  # a segment that lost this share of its records to deletions is compacted too


def plan(segments: list) -> list:
    """The segments to compact now: the small ones (fewer live records than half the largest
    segment's records) once there are COMPACT_AT of them, with any larger one that lost DELETED of its
    records; or as soon as a larger one has lost that much, it with the small ones. Otherwise none."""
    live = [segment for segment in segments if segment.doc_count() > 0]
    if not live:
        return []
    largest = max(segment.doc_count_all() for segment in live)
    small = [segment.doc_count() < SMALL * largest for segment in live]
    # a segment written small (an update's) loses records all the time, its meta record to the next
    # update: the count decides for those; a deleted share only for segments written large
    wasted = [s.doc_count_all() >= SMALL * largest and s.doc_count() <= (1 - DELETED) * s.doc_count_all() for s in live]
    if sum(small) < COMPACT_AT and not any(wasted):
        return []
    return [segment for segment, a, b in zip(live, small, wasted) if a or b]


def compact(
    store: Store,
    index_dir: Path,
    timeout: float = 60.0,
    progress: Callable[[int], None] | None = None,
    start: Callable[[int], None] | None = None,
) -> int:
    """Rewrite the small segments of the current index (`plan`) from the store in one commit.

    Returns the number of documents rewritten (0: nothing to compact). `start(n)` is called with the
    number of documents to rewrite once it is known, `progress(1)` after each. Holds the index's write lock
    meanwhile, so an update waits for it; a document changed in the store since the index's watermark
    is written as the store has it now, and the next update writes it again."""
    ix = open_index(Path(index_dir))
    try:
        lock = FastSegmentWriter(ix, timeout=timeout, delay=0.25, compound=False)
    except LockError:
        raise IndexError_(f"chỉ mục tìm kiếm bị một tiến trình ghi khác khóa quá {timeout:.0f} giây") from None
    written: list = []
    try:
        chosen = plan(lock.segments)
        if not chosen:
            lock.cancel()
            return 0
        uids, meta = _contents(lock, chosen)
        if start:
            start(len(uids))
        docs = (doc for uid, doc in zip(uids, map(store.get, uids)) if doc is not None and doc.uid == uid)
        # the watermark (meta record) lives in the newest update's segment, a small one: it moves along
        written, count = write_segments(store, ix, docs, progress, tail=[meta] if meta else [])
        dropped = {segment.segment_id() for segment in chosen}
        lock.commit(
            mergetype=lambda _writer, existing: [s for s in existing if s.segment_id() not in dropped] + written
        )
    except BaseException:
        if not lock.is_closed:
            lock.cancel()
        raise
    return count


def _contents(writer, segments: list) -> tuple[list[str], dict | None]:
    """The uids of the documents with live records in `segments`, and the live meta record's fields."""
    uids: set[str] = set()
    meta = None
    for segment in segments:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        try:
            for _docnum, fields in reader.iter_docs():
                if fields.get("id") == META_ID:
                    meta = {"id": META_ID, "kind": fields.get("kind", "meta"), "meta": fields["meta"]}
                elif fields.get("uid"):
                    uids.add(fields["uid"])
        finally:
            reader.close()
    return sorted(uids), meta
