"""What a serving process holds of the postings sidecars (issue 17): the files are read with
os.pread, never mapped, so a query's pages stay in the page cache and out of the process's RSS; the
reader's own memory is its term hashes plus a bounded set of remembered term records; a file that
changes under a reader is an error (the caller falls back to Whoosh), not a crash."""

import gc
import os

import numpy as np
import pytest
from test_index_segments import make_docs
from test_index_sidecar import live_of, sample_terms

from index import build
from index import sidecar as sidecar_module
from index.scoring import Postings
from index.search import SearchService
from index.sidecar import SUFFIX, Sidecar, SidecarError, SidecarWriter
from kb.store import Store


@pytest.fixture
def index_dir(tmp_path):
    store = Store(tmp_path / "kb.sqlite")
    for d in make_docs(120):
        store.upsert(d)
    folder = tmp_path / "index"
    build.rebuild(store, folder, procs=1)
    store.close()
    return folder


def mapped_sidecars() -> list[str]:
    """Paths of sidecar files mapped into this process (/proc/self/maps)."""
    with open("/proc/self/maps") as handle:
        return [line.split()[-1] for line in handle if line.rstrip().endswith(SUFFIX)]


def open_descriptors_of(path: str) -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == path:
                count += 1
        except OSError:
            continue
    return count


def write_sidecar(path: str, terms: int = 50) -> None:
    writer = SidecarWriter("abc", 1000)
    counts = np.full(terms, 3)
    ids = np.concatenate([np.array([i, i + 100, i + 500]) for i in range(terms)])
    tfs = np.tile([1, 2, 3], terms)
    writer.add_field("body_f", [f"t{i}".encode() for i in range(terms)], counts, ids, tfs, None)
    writer.write(path)


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs /proc")
def test_searching_maps_no_sidecar_and_reads_what_whoosh_reads(index_dir):
    assert list(build.current_dir(index_dir).glob(f"*{SUFFIX}"))
    service = SearchService(index_dir)
    assert service.search("điều").total > 0
    with build.open_searcher(index_dir) as searcher:
        reader = searcher.reader()
        live = live_of(reader)
        fast, slow = Postings(reader, live), Postings(reader, live, sidecars=False)
        assert any(fast._sidecars)
        for field, term in sample_terms(reader, 200):
            got, want = fast.get(field, term), slow.get(field, term)
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
            bounds = fast.block_bounds(field, term)
            assert np.array_equal(bounds[0], slow.block_bounds(field, term)[0])
        assert mapped_sidecars() == []


def test_a_reader_holds_its_hashes_and_at_most_the_records_kept(tmp_path, monkeypatch):
    path = str(tmp_path / f"MAIN_abc{SUFFIX}")
    write_sidecar(path)
    monkeypatch.setattr(sidecar_module, "RECORDS_KEPT", 8)
    car = Sidecar(path, "abc", 1000)
    assert car.hashes.size == 50 and car.hashes.base is None  # an array of its own, not a view of a file
    for i in range(50):
        rec = car.find("body_f", f"t{i}")
        ids, tfs = car.postings(rec)
        assert list(ids) == [i, i + 100, i + 500] and list(tfs) == [1.0, 2.0, 3.0]
        assert len(car._recs) <= 8 and len(car._firsts) <= 8
    assert car.find("body_f", "t7") == car.find("body_f", "t7")  # remembered or read again: the same
    assert car.find("body_f", "t50") is None and car.find("title_a", "t1") is None


def test_a_file_cut_short_under_a_reader_is_an_error_not_a_crash(tmp_path):
    path = str(tmp_path / f"MAIN_abc{SUFFIX}")
    write_sidecar(path, terms=2000)
    car = Sidecar(path, "abc", 1000)
    rec = car.find("body_f", "t1999")
    os.truncate(path, 200)
    with pytest.raises(SidecarError):
        car.postings(rec)


def test_the_file_is_closed_with_its_reader(tmp_path):
    path = str(tmp_path / f"MAIN_abc{SUFFIX}")
    write_sidecar(path)
    car = Sidecar(path, "abc", 1000)
    assert open_descriptors_of(path) == 1
    del car
    gc.collect()
    assert open_descriptors_of(path) == 0
    with pytest.raises(SidecarError):
        Sidecar(path, "abd", 1000)  # refused: and its descriptor closed at once
    assert open_descriptors_of(path) == 0
