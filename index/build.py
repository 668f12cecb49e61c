"""Building the index from the store and keeping it in step with the store's change events.

Layout: `<index dir>/CURRENT` names the active generation folder (`g-<stamp>`). A full rebuild
writes a new generation and swaps CURRENT atomically, so searches never see a half-built index.
Incremental updates apply the store's events after the watermark kept in the index's meta record,
which is written in the same commit as the documents: a crash leaves index and watermark agreeing.
Segments are written with compound=False, so a searcher maps files instead of loading them.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import STORED_COLUMN
from whoosh.writing import LockError

from index.errors import IndexError_
from index.schema import META_ID, SCHEMA_VERSION, make_schema, records
from index.segments import FastSegmentWriter, drop_empty_segments
from kb import locks
from kb.legal.validity import impacts_of
from kb.store import Store

CURRENT = "CURRENT"


@dataclass
class Meta:
    schema: int
    event_id: int
    built: str


@dataclass
class CheckReport:
    missing: list[str]  # in the store, not in the index
    extra: list[str]  # in the index, not in the store
    watermark: int
    store_event_id: int

    @property
    def ok(self) -> bool:
        return not self.missing and not self.extra and self.watermark >= self.store_event_id


def current_dir(index_dir: Path) -> Path | None:
    """The active generation folder, or None when no index was built."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = index_dir / name
    # A table of contents (`_MAIN_<generation>.toc`) makes the folder an index; listing is enough
    # (opening it could meet a TOC a concurrent commit has just replaced).
    return path if name and next(path.glob("_MAIN_*.toc"), None) is not None else None


OPEN_ATTEMPTS = 5


def open_index(index_dir: Path):
    path = current_dir(index_dir)
    if path is None:
        raise IndexError_(f"chưa có chỉ mục tìm kiếm trong {index_dir}; tạo bằng `kb index rebuild`")
    for attempt in range(OPEN_ATTEMPTS):
        try:
            return whoosh_index.open_dir(str(path))
        except FileNotFoundError:  # a concurrent commit replaced the TOC just read: read the new one
            if attempt == OPEN_ATTEMPTS - 1:
                raise IndexError_(f"chỉ mục tìm kiếm trong {path} vừa thay đổi khi đang mở; hãy thử lại") from None
            time.sleep(0.02 * (attempt + 1))
        except Exception as exc:  # whoosh raises many kinds on damaged files
            raise IndexError_(
                f"không mở được chỉ mục tìm kiếm trong {path}: {exc}; tạo lại bằng `kb index rebuild`"
            ) from None


def open_searcher(index_dir: Path):
    """A searcher of the current index, its segments' stored fields opened. A commit (an update's
    dropped segments, a compaction) deletes the files of the segments it replaces: Whoosh opens a
    segment's stored fields only when first read, so a searcher still serving the older generation
    (up to `check_interval` after the commit) found them gone and failed (a TypeError on None).
    Opened here, they stay readable after the deletion (POSIX). When a commit came between reading
    the TOC and opening the files, the newer TOC is read."""
    for attempt in range(OPEN_ATTEMPTS):
        ix = open_index(index_dir)
        searcher = None
        try:
            searcher = ix.searcher()
            _open_stored_fields(searcher)
            if attempt == OPEN_ATTEMPTS - 1 or ix.latest_generation() == searcher.reader().generation():
                return searcher  # no commit since the TOC was read: none of its files was deleted
        except FileNotFoundError:
            if attempt == OPEN_ATTEMPTS - 1:
                raise IndexError_(f"chỉ mục tìm kiếm trong {index_dir} vừa thay đổi khi đang mở; hãy thử lại") from None
        if searcher is not None:
            searcher.close()
        time.sleep(0.02 * (attempt + 1))


def _open_stored_fields(searcher) -> None:
    """Open each segment's stored fields now rather than on first read: Whoosh reads them through a
    per-segment cache that first asks whether the file exists. (Field lengths read after the
    deletion fall back to Whoosh's default instead of failing; the search reads its own.) One
    descriptor per segment and searcher."""
    for leaf, _ in searcher.reader().leaf_readers():
        perdoc = getattr(leaf, "_perdoc", None)
        if perdoc is not None and hasattr(perdoc, "_cached_reader"):  # else another codec
            perdoc._cached_reader("_stored", STORED_COLUMN)


def read_meta(ix) -> Meta | None:
    """The meta record of an index (an opened one, or the current one of an index folder)."""
    if isinstance(ix, (str, Path)):
        with open_searcher(Path(ix)) as searcher:
            stored = searcher.document(id=META_ID)
    else:
        with ix.searcher() as searcher:
            stored = searcher.document(id=META_ID)
    if not stored or not stored.get("meta"):
        return None
    data = json.loads(stored["meta"])
    return Meta(data.get("schema", 0), data.get("event_id", 0), data.get("built", ""))


def needs_rebuild(index_dir: Path) -> str | None:
    """Why the index must be rebuilt (missing, unreadable, other schema), or None."""
    if current_dir(index_dir) is None:
        return "chưa có chỉ mục"
    try:
        meta = read_meta(index_dir)
    except Exception as exc:
        return f"không đọc được chỉ mục: {exc}"
    if meta is None or meta.schema != SCHEMA_VERSION:
        return f"chỉ mục theo lược đồ {meta.schema if meta else '?'}, phiên bản này cần lược đồ {SCHEMA_VERSION}"
    return None


REBUILD_WAIT = 3600.0  # seconds a command that needs the index waits for another process's rebuild


@contextmanager
def _rebuild_lock(index_dir: Path, wait: float = 0.0):
    """Only one rebuild at a time. `wait` > 0: wait that long for another process's rebuild."""
    index_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with open(index_dir / ".rebuild.lock", "w") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexError_("một tiến trình khác đang tạo lại chỉ mục") from None
                time.sleep(0.2)
        locks.remember(handle)  # forked writers let go of it (locks.release_inherited)
        try:
            yield
        finally:
            locks.forget(handle)


def _meta_record(event_id: int) -> dict:
    return {
        "id": META_ID,
        "kind": "meta",
        "meta": json.dumps(
            {"schema": SCHEMA_VERSION, "event_id": event_id, "built": time.strftime("%Y-%m-%dT%H:%M:%S")}
        ),
    }


def rebuild(
    store: Store,
    index_dir: Path,
    progress: Callable[[int], None] | None = None,
    procs: int | None = None,
    if_needed: bool = False,
) -> int:
    """Build a new generation from every stored document and make it current. Returns the count.

    procs: processes that write segments side by side (None: one per core, at most 4).
    if_needed: the caller found the index missing or outdated; it waits for a rebuild another
    process is running, and builds only if the index still needs it afterwards."""
    index_dir = Path(index_dir)
    procs = max(1, min(4, os.cpu_count() or 1)) if procs is None else max(1, procs)
    with _rebuild_lock(index_dir, wait=REBUILD_WAIT if if_needed else 0.0):
        if if_needed and needs_rebuild(index_dir) is None:
            return update(store, index_dir)
        event_id = store.last_event_id()  # events after this are applied by the next update
        name = f"g-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        path = index_dir / name
        path.mkdir(parents=True)
        try:
            ix = whoosh_index.create_in(str(path), make_schema())
            ranges = store.split_uids(procs, min_bytes=PART_MIN_BYTES) if procs > 1 else [("", None)]
            if len(ranges) > 1:
                segments, count = _build_parallel(store.path, path, ranges, progress)
            else:
                segments, count = _build_part(store, path, "", None, progress)
            writer = FastSegmentWriter(ix, timeout=60.0, compound=False)  # the meta record, with a sidecar
            writer.add_document(**_meta_record(event_id))
            writer.commit(mergetype=lambda _writer, _existing: list(segments))
            tmp = index_dir / (CURRENT + ".tmp")
            tmp.write_text(name, encoding="utf-8")
            os.replace(tmp, index_dir / CURRENT)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        _remove_old_generations(index_dir, keep=name)
    update(store, index_dir)  # what was written to the store while we built
    return count


PART_MIN_BYTES = 4 << 20  # stored bytes below which another process is not worth starting
SEGMENT_TEXT = 32 << 20  # characters of text per segment: bounds a builder's memory (~10 bytes each)


def _text_size(doc) -> int:
    return sum(len(a.text) for a in doc.articles) if doc.articles else len(doc.text or "")


def _build_part(
    store: Store, path: Path, after: str, upto: str | None, progress: Callable[[int], None] | None = None
) -> tuple[list, int]:
    """Write the stored documents with uids in (after, upto] as new segments of the index at
    `path`, without committing them: the caller's writer, which holds the lock, lists them."""
    ix = whoosh_index.open_dir(str(path))
    return write_segments(store, ix, store.iter_documents(after=after, upto=upto), progress)


def write_segments(
    store: Store, ix, docs: Iterable, progress: Callable[[int], None] | None = None, tail: Iterable[dict] = ()
) -> tuple[list, int]:
    """Write `docs` as new segments of `ix` of at most SEGMENT_TEXT characters of text each, without
    committing them (the caller holds the write lock and lists them in its commit); the records of
    `tail` go in the last one. Returns the segments and the number of documents."""
    segments: list = []
    writer, size, count = None, 0, 0
    try:
        for doc in docs:
            if writer is None:
                writer, size = FastSegmentWriter(ix, _lk=False, compound=False), 0
            for record in records(doc, impacts_of(store, doc)):
                writer.add_document(**record)
            size += _text_size(doc)
            count += 1
            if progress:
                progress(1)
            if size >= SEGMENT_TEXT:
                segments.append(_close_segment(writer))
                writer = None
        for record in tail:
            if writer is None:
                writer = FastSegmentWriter(ix, _lk=False, compound=False)
            writer.add_document(**record)
        if writer is not None:
            segments.append(_close_segment(writer))
    except BaseException:
        if writer is not None:
            _abandon(writer)
        raise
    return segments, count


def _abandon(writer) -> None:
    """Stop a writer without the lock on failure, as _close_segment does on success: its files
    stay until the next commit's clean-up (they are in no TOC), the temporary folder the other
    writers of the index share stays too (the writer with the lock removes it)."""
    try:
        writer._close_segment()
    finally:
        writer.is_closed = True


def _close_segment(writer):
    segment = writer._finalize_segment()
    # Not writer._finish(): it would delete the temporary folder the other builders share; the
    # writer that commits removes it.
    writer.is_closed = True
    return segment


_progress_queue = None
PARENT_POLL = 0.5  # seconds between two looks of a writer at its parent
PR_SET_PDEATHSIG = 1


def _init_worker(queue, parent: int) -> None:
    """Start of a writer process: it holds none of its parent's locks and never outlives the parent."""
    global _progress_queue
    _progress_queue = queue
    locks.release_inherited()
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops the writers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler (inherited by a fork)
    _exit_with_parent(parent)


def _exit_with_parent(parent: int) -> None:
    """End this process when `parent` is no longer its parent. Linux's parent-death signal is asked for,
    but it fires when the *thread* that forked exits, and not at all once the parent is already gone:
    a thread also compares getppid() with the parent every PARENT_POLL seconds."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the thread alone
        pass
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(1)  # the parent died: what this writer wrote is an unfinished generation, removed later

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _build_part_in_child(db_path: str, path: str, after: str, upto: str | None) -> tuple[list, int]:
    store = Store(db_path)
    pending = 0

    def report(n: int) -> None:
        nonlocal pending
        pending += n
        if pending >= 20:
            _progress_queue.put(pending)
            pending = 0

    try:
        result = _build_part(store, Path(path), after, upto, report)
        if pending:
            _progress_queue.put(pending)
        return result
    finally:
        store.close()


def _drain(reports, progress: Callable[[int], None] | None) -> None:
    import queue as queue_module

    while True:
        try:
            n = reports.get_nowait()
        except queue_module.Empty:
            return
        if progress:
            progress(n)


def _build_parallel(
    db_path: Path, path: Path, ranges: list[tuple[str, str | None]], progress: Callable[[int], None] | None
) -> tuple[list, int]:
    import multiprocessing
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    # fork is quick and needs no importable __main__; a process with threads is never forked
    method = "fork" if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    reports = context.Queue()
    segments: list = []
    count = 0
    pool = ProcessPoolExecutor(
        max_workers=len(ranges), mp_context=context, initializer=_init_worker, initargs=(reports, os.getpid())
    )
    try:
        futures = [pool.submit(_build_part_in_child, str(db_path), str(path), after, upto) for after, upto in ranges]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            _drain(reports, progress)
            for future in done:
                if future.exception() is not None:
                    raise future.exception()
    except BaseException:  # a writer failed, or SIGTERM/SIGINT (KeyboardInterrupt): stop the others now
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    _drain(reports, progress)  # the workers have exited: their last reports are in the queue
    for future in futures:
        part, n = future.result()
        segments.extend(part)
        count += n
    return segments, count


def _stop_pool(pool) -> None:
    """Terminate every process of the pool and wait (boundedly) until they are gone: shutting the pool down
    alone would wait for the running writers to finish their part."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public accessor
    for process in processes:
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join(5)


def _remove_old_generations(index_dir: Path, keep: str) -> None:
    # Open searchers keep reading deleted files (POSIX), and notice CURRENT changed.
    for child in index_dir.iterdir():
        if child.is_dir() and child.name.startswith("g-") and child.name != keep:
            shutil.rmtree(child, ignore_errors=True)


def update(store: Store, index_dir: Path, timeout: float = 60.0, progress: Callable[[int], None] | None = None) -> int:
    """Apply the store's events after the index's watermark. Returns the number of documents updated.

    Builds the index first when there is none, or when its schema is not this version's."""
    index_dir = Path(index_dir)
    reason = needs_rebuild(index_dir)
    if reason:
        return rebuild(store, index_dir, progress, if_needed=True)
    ix = open_index(index_dir)
    try:
        writer = FastSegmentWriter(ix, timeout=timeout, delay=0.25, compound=False)
    except LockError:
        raise IndexError_(f"chỉ mục tìm kiếm bị một tiến trình ghi khác khóa quá {timeout:.0f} giây") from None
    try:
        with writer.searcher() as searcher:
            stored = searcher.document(id=META_ID)
        watermark = json.loads(stored["meta"])["event_id"] if stored else 0
        last = store.last_event_id()
        uids = sorted({e.uid for e in store.events(since_id=watermark)})
        for uid in uids:
            _replace(writer, store, uid)
            if progress:
                progress(1)
        if not uids and last == watermark:
            writer.cancel()
            return 0
        writer.update_document(**_meta_record(last))
        writer.commit(mergetype=drop_empty_segments)
    except BaseException:
        _cancel(writer)
        raise
    return len(uids)


def _replace(writer, store: Store, uid: str) -> None:
    writer.delete_by_term("uid", uid)
    doc = store.get(uid)
    if doc is not None and doc.uid == uid:  # an alias' events are applied to the merged record
        for record in records(doc, impacts_of(store, doc)):
            writer.add_document(**record)
    elif doc is not None:
        _replace(writer, store, doc.uid)


def indexed_uids(index_dir: Path) -> set[str]:
    ix = open_index(index_dir)
    with ix.searcher() as searcher:
        reader = searcher.reader()
        return {text.decode() if isinstance(text, bytes) else text for text in reader.lexicon("uid")} & _live_uids(
            searcher
        )


def _live_uids(searcher) -> set[str]:
    return {fields["uid"] for fields in searcher.all_stored_fields() if fields.get("kind") == "doc"}


def check(store: Store, index_dir: Path) -> CheckReport:
    """Compare the uids in the index with the store's."""
    ix = open_index(index_dir)
    meta = read_meta(ix)
    with ix.searcher() as searcher:
        in_index = {f["uid"] for f in searcher.all_stored_fields() if f.get("kind") == "doc"}
    in_store = set(store.uids())
    return CheckReport(
        sorted(in_store - in_index), sorted(in_index - in_store), meta.event_id if meta else 0, store.last_event_id()
    )


def repair(store: Store, index_dir: Path, uids: Iterable[str]) -> None:
    """Re-index the given uids (present ones re-added, absent ones removed)."""
    ix = open_index(index_dir)
    writer = FastSegmentWriter(ix, timeout=60.0, delay=0.25, compound=False)
    try:
        for uid in uids:
            _replace(writer, store, uid)
        writer.commit(mergetype=drop_empty_segments)
    except BaseException:
        _cancel(writer)
        raise


def _cancel(writer) -> None:
    """Cancel a writer unless its failed commit already did (and keep the commit's error)."""
    if not writer.is_closed:
        writer.cancel()


def stats(index_dir: Path) -> dict:
    path = current_dir(Path(index_dir))
    if path is None:
        return {"built": False}
    ix = open_index(Path(index_dir))
    meta = read_meta(ix)
    with ix.searcher() as searcher:
        records_count = searcher.doc_count() - 1
    size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    return {
        "built": True,
        "path": str(path),
        "records": records_count,
        "size_mb": round(size / 1e6, 1),
        "schema": meta.schema if meta else None,
        "event_id": meta.event_id if meta else None,
        "built_at": meta.built if meta else None,
    }
