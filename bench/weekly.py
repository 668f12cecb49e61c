"""A year of weekly updates against a fresh rebuild (issue 17): after W incremental updates of 100 changed
documents each (`build.update`, one commit each, then `compaction.compact` when due, as a weekly
`kb refresh` does; both timed), the query classes of
bench/speed.py are timed through the HTTP API on the updated index and on a fresh rebuild of the same
store. Prints both p95s per class (of each query's median over --runs rounds, servers alternating query
by query), their ratio, the server's CPU seconds per
class (what the machine's other work hardly moves), and the shape of both indexes (segments, records,
deleted records).

    .venv/bin/python bench/weekly.py --instance /tmp/speed/x10 [--weeks 52] [--runs 6]

The instance is one `bench/speed.py` built (it is changed: its store gets the updates, its index the
commits and the rebuild). Before the rebuild the updated instance (store and index; not tantivy's
folder) is copied to `<instance>.updated` (removed at the end unless --keep), so that both indexes are
served side by side, each by its own `kb serve`, and timed in alternation (updated, fresh, updated, …
run after run): a change of the machine's load during the benchmark then falls on both alike (timing
one after the other, before and after the rebuild, had put 9–13 % on every class, số ký hiệu
included). By default every week changes the same first 100 documents of the store (speed.py's update):
each week's segment then replaces the last one whole. --distinct changes other documents each week,
as a real year does: deletions spread over the large segments and the small segments pile up until
compacted. Takes the updates (~1–2 s each at 10×) and compactions, the copy (~3.5 GB at 10×) and a
rebuild (~3–5 min at 10× on 2 cores).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


from speed import Server, api_params, change_documents, make_queries, percentile  # noqa: E402

from index import build, compaction  # noqa: E402
from kb.store import Store  # noqa: E402


def update_week(inst: Path, week: int | None) -> tuple[float, float]:
    """One week as a `kb refresh` does it: 100 documents changed in the store (a stamp added to the title
    and the first article: speed.change_documents), the index updated (committed, searchable), then the
    small segments compacted when due (index.compaction). week: --distinct's week k changes the documents
    100k .. 100k+99; None changes the first 100 (speed.py's update). Seconds of the update and of the
    compaction (0 when none was due)."""
    store = Store(inst / "kb.sqlite")
    try:
        first = 0 if week is None else week * 100
        docs = list(itertools.islice(store.iter_documents(), first, first + 100))
        change_documents(store, docs, f"{time.time():.0f}-w{week}")
        started = time.perf_counter()
        count = build.update(store, inst / "index")
        updated = time.perf_counter()
        compaction.compact(store, inst / "index")
        assert count >= len(docs), count
        return updated - started, time.perf_counter() - updated
    finally:
        store.close()


def shape(inst: Path) -> str:
    """Segments, records and deleted records of the instance's index, and the store's size."""
    ix = build.open_index(inst / "index")
    try:
        segments = ix._segments()
        total = sum(s.doc_count_all() for s in segments)
        deleted = sum(s.doc_count_all() - s.doc_count() for s in segments)
        small = sum(1 for s in segments if s.doc_count_all() < 3000)
    finally:
        ix.close()
    store_mb = sum(p.stat().st_size for p in inst.glob("kb.sqlite*")) / 1e6
    return (
        f"{len(segments)} segments ({small} of < 3,000 records), {total:,} records of which {deleted:,} deleted; "
        f"store {store_mb:,.0f} MB"
    )


def server_cpu(server: Server) -> float:
    """CPU seconds (user + system) of the server process so far."""
    fields = open(f"/proc/{server.process.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def warm(server: Server, classes: dict) -> None:
    for queries in classes.values():  # one untimed pass, as speed.time_http does
        for q, filters in queries:
            status, body = server.get("/api/search", api_params(q, filters))
            if status != 200:
                raise RuntimeError(f"/api/search {q!r} {filters}: HTTP {status} {body[:200]!r}")


def alternate(instances: dict[str, Path], classes: dict, runs: int) -> dict[str, dict[str, dict]]:
    """Both instances served (`kb serve` each), warmed, then per class, query by query, each query sent
    to every server in turn, the order of the servers rotated each round; `runs` rounds in two halves,
    the servers started again in the other order for the second half. Per instance and class: the p95
    and the mean of the per-query medians (ms over HTTP), and the server's CPU ms per query.

    Session 6 found the earlier way (a whole pass of one server, then of the other, the same one first
    every run) biased: one instance served twice gave the first server 3–8 % more CPU per query and
    HTTP p95 ratios of 0.56–1.50 (p95 over 10–40 queries of a single pass); query by query with the
    order rotated, the server started first still took 3–5 % more (PYTHONHASHSEED fixed or not),
    hence the two halves."""
    labels = list(instances)
    times = {label: {name: [[] for _ in queries] for name, queries in classes.items()} for label in labels}
    cpu = {label: dict.fromkeys(classes, 0.0) for label in labels}
    for half, order in enumerate((labels, labels[::-1])):
        servers: dict[str, Server] = {}
        try:
            for label in order:
                servers[label] = Server(instances[label])
            for server in servers.values():
                warm(server, classes)
            for k in range(half, runs, 2):
                turn = labels[k // 2 % len(labels) :] + labels[: k // 2 % len(labels)]
                for name, queries in classes.items():
                    for i, (q, filters) in enumerate(queries):
                        params = api_params(q, filters)
                        for label in turn:
                            server = servers[label]
                            before = server_cpu(server)
                            started = time.perf_counter()
                            server.get("/api/search", params)
                            times[label][name][i].append((time.perf_counter() - started) * 1000)
                            cpu[label][name] += server_cpu(server) - before
        finally:
            for server in servers.values():
                server.stop()
    out: dict[str, dict[str, dict]] = {label: {} for label in labels}
    for label in labels:
        for name, queries in classes.items():
            medians = [statistics.median(t) for t in times[label][name]]
            out[label][name] = {
                "p95": percentile(medians, 95),
                "mean": statistics.mean(medians),
                "cpu": cpu[label][name] * 1000 / (len(queries) * runs),
            }
    return out


def copy_instance(inst: Path, to: Path) -> None:
    """The store and the index of an instance (not tantivy's folder nor the logs)."""
    if to.exists():
        shutil.rmtree(to)
    to.mkdir(parents=True)
    for item in inst.iterdir():
        if item.name == "tantivy" or item.suffix == ".log":
            continue
        if item.is_dir():
            shutil.copytree(item, to / item.name, symlinks=True)
        else:
            shutil.copy2(item, to / item.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus" / "phapdien_articles.jsonl.gz"))
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--runs", type=int, default=6, help="rounds; even, so that each server goes first as often")
    parser.add_argument("--keep", action="store_true", help="keep the copy of the updated instance")
    parser.add_argument(
        "--against",
        help="an instance already rebuilt from the same documents (an earlier run's, kept with --keep): "
        "served as the fresh rebuild; no copy, no rebuild (with --weeks 0: time two instances only)",
    )
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="change other documents each week (week k: the store's documents 100k .. 100k+99); "
        "default: the same first 100 every week, as speed.py's update timing does",
    )
    args = parser.parse_args()
    inst = Path(args.instance)
    updated = inst.with_name(inst.name + ".updated")
    classes = make_queries(Path(args.corpus))
    print(f"before: {shape(inst)}")
    started = time.perf_counter()
    weeks = [update_week(inst, week if args.distinct else None) for week in range(args.weeks)]
    if weeks:
        updates, compactions = [u for u, _ in weeks], [c for _, c in weeks if c > 0.5]
        print(
            f"{args.weeks} weekly updates of 100 documents: {time.perf_counter() - started:.0f} s in all; "
            f"update median {statistics.median(updates):.2f} s, slowest {max(updates):.2f} s; "
            f"{len(compactions)} compactions after them"
            + (
                f", median {statistics.median(compactions):.1f} s, slowest {max(compactions):.1f} s"
                if compactions
                else ""
            )
            + f"; load {os.getloadavg()[0]:.1f}"
        )
        print(f"after the updates: {shape(inst)}")
    fresh_inst = Path(args.against) if args.against else inst
    served = inst if args.against else updated
    if args.against:
        print(f"fresh rebuild: {fresh_inst} (not rebuilt here); {shape(fresh_inst)}")
    else:
        copy_instance(inst, updated)
        store = Store(inst / "kb.sqlite")
        try:
            started = time.perf_counter()
            build.rebuild(store, inst / "index", procs=2)
            print(f"fresh rebuild: {time.perf_counter() - started:.0f} s; {shape(inst)}")
        finally:
            store.close()
    load_before = os.getloadavg()[0]
    try:
        result = alternate({"updated": served, "fresh": fresh_inst}, classes, args.runs)
    finally:
        if not args.keep and not args.against:
            shutil.rmtree(updated, ignore_errors=True)
    after, fresh = result["updated"], result["fresh"]
    print(
        f"{'class':12} {'after updates':>14} {'fresh rebuild':>14} {'ratio':>6}   {'mean ms':>14} {'ratio':>6}"
        f"   {'CPU ms/query':>14} {'ratio':>6}"
        "   (over HTTP, per query the median of the runs; the server's CPU per query)"
    )
    for name in classes:
        a, f = after[name], fresh[name]
        print(
            f"{name:12} {a['p95']:14.1f} {f['p95']:14.1f} {a['p95'] / max(f['p95'], 0.01):6.2f}"
            f"   {a['mean']:7.1f} {f['mean']:6.1f} {a['mean'] / max(f['mean'], 0.01):6.2f}"
            f"   {a['cpu']:7.1f} {f['cpu']:6.1f} {a['cpu'] / max(f['cpu'], 0.01):6.2f}"
        )
    print(f"load average {load_before:.1f} before the timing; now {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
