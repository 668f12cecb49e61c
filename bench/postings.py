"""Postings read time through the sidecars (index.sidecar) against Whoosh's blocks, on one built index.

    .venv/bin/python bench/postings.py --index /tmp/h17p-1/index [--corpus ...] [--rounds 3]

The queries are bench/speed.py's (`make_queries`). Each query is run once to record the (field, term)
pairs the search reads; then, alternating the two ways in each round (so both see the same machine):

- postings, cold: a fresh `Postings` (empty cache) reads every pair of one query; per query;
- postings, warm: the same reads again (the LRU cache);
- search, cold: `SearchService.search` (facets and snippets, as bench/speed.py) with the postings
  cache emptied before each query; search, warm: the same query again.

"whoosh" is the same index read with the sidecars switched off (`Postings(..., sidecars=False)`),
i.e. the code before issue 17. The OS page cache is warm for both after the first round. Prints one
line per measurement, with the load average.

    .venv/bin/python bench/postings.py --build-from /tmp/h17p-1/kb.sqlite --workdir /tmp/h17p-b [--rounds 2]

rebuilds the index of a store with and without sidecars (`index.segments.SIDECARS`), alternating,
and prints each build's wall and CPU time (worker processes included), then measures the reads on
the index with sidecars.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.speed import cpu_seconds, make_queries, percentile  # noqa: E402
from index import build, scoring, segments  # noqa: E402
from index.scoring import Postings  # noqa: E402
from index.search import SearchService  # noqa: E402


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def record_reads(service: SearchService, queries) -> list[list[tuple[str, str]]]:
    """The (field, term) pairs each query reads through Postings."""
    seen: list[tuple[str, str]] = []
    real_get = Postings.get

    def get(self, field, term):
        seen.append((field, term))
        return real_get(self, field, term)

    Postings.get = get
    out = []
    try:
        for q, filters in queries:
            seen.clear()
            service._local.table.postings._cache.clear()
            service.search(q, filters=filters, per_page=20, facets=True, snippets=True)
            out.append(list(dict.fromkeys(seen)))
    finally:
        Postings.get = real_get
    return out


def service_for(index_dir: Path, sidecars: bool) -> SearchService:
    """A search service whose table reads through the sidecars or not (set when the table is built)."""
    service = SearchService(index_dir, check_interval=3600)
    real = scoring._sidecar_of
    if not sidecars:
        scoring._sidecar_of = lambda leaf: None
    try:
        service.search("khởi động")
    finally:
        scoring._sidecar_of = real
    return service


def compare_builds(store_path: Path, workdir: Path, procs: int, rounds: int) -> Path:
    """Build the store's index with and without sidecars, alternating; return the one with sidecars."""
    from kb.store import Store

    store = Store(store_path)
    took = {True: [], False: []}
    for round_ in range(rounds):
        for on in (True, False) if round_ % 2 == 0 else (False, True):
            segments.SIDECARS = on
            target = workdir / ("with-sidecars" if on else "without")
            started, cpu = time.perf_counter(), cpu_seconds()
            build.rebuild(store, target, procs=procs)
            took[on].append((time.perf_counter() - started, cpu_seconds() - cpu))
            print(
                f"build {'with' if on else 'without'} sidecars: {took[on][-1][0]:.1f} s, "
                f"CPU {took[on][-1][1]:.1f} s (procs={procs}); load average {load()}"
            )
    segments.SIDECARS = True
    store.close()
    for on in (False, True):
        walls, cpus = zip(*took[on])
        print(
            f"build {'with' if on else 'without'} sidecars, median of {rounds}: {statistics.median(walls):.1f} s, "
            f"CPU {statistics.median(cpus):.1f} s"
        )
    return workdir / "with-sidecars"


def summary(times: list[float]) -> str:
    return f"p50 {statistics.median(times):7.2f} ms  p95 {percentile(times, 95):7.2f} ms  sum {sum(times):8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", help="an index folder (the one holding CURRENT)")
    parser.add_argument("--build-from", help="a store (kb.sqlite) to build from, with and without sidecars")
    parser.add_argument("--workdir", help="where --build-from builds (two index folders)")
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus" / "phapdien_articles.jsonl.gz"))
    parser.add_argument("--copies", type=int, default=1, help="the --copies the index was built with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-class", type=int, default=0, help="only the first N queries of each class (0: all)")
    args = parser.parse_args()
    if args.build_from:
        index_dir = compare_builds(Path(args.build_from), Path(args.workdir), args.procs, args.rounds)
    else:
        index_dir = Path(args.index)
    corpus = Path(args.corpus)
    if args.copies > 1:
        corpus = index_dir.parent / f"corpus-x{args.copies}.jsonl.gz"
    classes = make_queries(corpus)
    if args.per_class:
        classes = {name: items[: args.per_class] for name, items in classes.items()}
    queries = [(name, q, f) for name, items in classes.items() for q, f in items]
    print(f"index {build.current_dir(index_dir)}; {len(queries)} queries; load average {load()}")
    started = time.perf_counter()
    services = {"sidecar": service_for(index_dir, True), "whoosh": service_for(index_dir, False)}
    print(f"two services opened in {time.perf_counter() - started:.1f} s")
    with_car = sum(car is not None for car in services["sidecar"]._local.table.postings._sidecars)
    print(f"segments: {len(services['sidecar']._local.table.postings.leaves)}, with a sidecar: {with_car}")
    reads = record_reads(services["sidecar"], [(q, f) for _, q, f in queries])
    pairs = sum(len(r) for r in reads)
    print(f"pairs read: {pairs} ((field, term) per query: {pairs / len(queries):.1f} on average)")

    times = {(way, what): [] for way in services for what in ("cold", "warm", "search cold", "search warm")}
    per_class = {(way, name): [] for way in services for name in classes}
    for round_ in range(args.rounds):
        order = list(services) if round_ % 2 == 0 else list(reversed(services))
        for way in order:
            service = services[way]
            table = service._local.table
            for (name, q, filters), pairs in zip(queries, reads):
                postings = Postings(table.postings.reader, table.live, sidecars=way == "sidecar")
                started = time.perf_counter()
                for field, term in pairs:
                    postings.get(field, term)
                times[way, "cold"].append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                for field, term in pairs:
                    postings.get(field, term)
                times[way, "warm"].append((time.perf_counter() - started) * 1000)
                table.postings._cache.clear()
                table.postings._cached_bytes = 0
                started = time.perf_counter()
                service.search(q, filters=filters, per_page=20, facets=True, snippets=True)
                took = (time.perf_counter() - started) * 1000
                times[way, "search cold"].append(took)
                per_class[way, name].append(took)
                started = time.perf_counter()
                service.search(q, filters=filters, per_page=20, facets=True, snippets=True)
                times[way, "search warm"].append((time.perf_counter() - started) * 1000)
        print(f"round {round_ + 1} done; load average {load()}")
    for what in ("cold", "warm", "search cold", "search warm"):
        for way in services:
            label = f"postings {what}" if what in ("cold", "warm") else what
            print(f"{label:13} {way:8} {summary(times[way, what])}")
    for name in classes:
        line = "  ".join(
            f"{way} p50 {statistics.median(per_class[way, name]):7.1f} p95 {percentile(per_class[way, name], 95):7.1f}"
            for way in services
        )
        print(f"search cold by class  {name:12} {line} ms")
    ratio = np.array(times["whoosh", "cold"]) / np.maximum(np.array(times["sidecar", "cold"]), 1e-3)
    print(f"postings cold, whoosh / sidecar per query: median {np.median(ratio):.1f}x; load average {load()}")


if __name__ == "__main__":
    main()
