"""A year of weekly updates against a fresh rebuild (issue 17): after W incremental updates of 100 changed
documents each (`build.update`, one commit each, as a weekly `kb refresh` does), the query classes of
bench/speed.py are timed through the HTTP API on the updated index and on a fresh rebuild of the same
store. Prints both p95s per class (median of --runs runs), their ratio, the server's CPU seconds per
class (what the machine's other work hardly moves), and the shape of both indexes (segments, records,
deleted records).

    .venv/bin/python bench/weekly.py --instance /tmp/speed/x10 [--weeks 52] [--runs 3]

The instance is one `bench/speed.py` built (it is changed: its store gets the updates, its index the
commits and the rebuild). Before the rebuild the updated instance (store and index; not tantivy's
folder) is copied to `<instance>.updated` (removed at the end unless --keep), so that both indexes are
served side by side, each by its own `kb serve`, and timed in alternation (updated, fresh, updated, …
run after run): a change of the machine's load during the benchmark then falls on both alike (timing
one after the other, before and after the rebuild, had put 9–13 % on every class, số ký hiệu
included). By default every week changes the same first 100 documents of the store (speed.py's update):
each week's segment then replaces the last one whole. --distinct changes other documents each week,
as a real year does: deletions spread over the large segments and the small segments pile up. Takes the updates (~1–2 s each at 10×), the copy (~3.5 GB at 10×) and a rebuild (~6 min at
10× on 2 cores).
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


from speed import Server, api_params, change_documents, make_queries, percentile, time_update  # noqa: E402

from index import build  # noqa: E402
from kb.store import Store  # noqa: E402


def update_week(inst: Path, week: int) -> float:
    """One week of --distinct: the documents week*100 .. week*100+99 of the store changed (a stamp added
    to the title and the first article: speed.change_documents) and the index updated; seconds."""
    store = Store(inst / "kb.sqlite")
    try:
        docs = list(itertools.islice(store.iter_documents(), week * 100, week * 100 + 100))
        change_documents(store, docs, f"{time.time():.0f}-w{week}")
        started = time.perf_counter()
        count = build.update(store, inst / "index")
        seconds = time.perf_counter() - started
        assert count >= len(docs), count
        return seconds
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


def one_run(server: Server, classes: dict) -> dict[str, tuple[float, float]]:
    """Per class: (p95 ms, server CPU ms per query) of one pass."""
    out = {}
    for name, queries in classes.items():
        times = []
        cpu = server_cpu(server)
        for q, filters in queries:
            params = api_params(q, filters)
            started = time.perf_counter()
            server.get("/api/search", params)
            times.append((time.perf_counter() - started) * 1000)
        out[name] = (percentile(times, 95), (server_cpu(server) - cpu) * 1000 / len(queries))
    return out


def alternate(servers: dict[str, Server], classes: dict, runs: int) -> dict[str, dict[str, dict]]:
    """Each server warmed, then `runs` passes on each in turn; per server and class the medians."""
    for server in servers.values():
        warm(server, classes)
    got: dict[str, list] = {label: [] for label in servers}
    for _ in range(runs):
        for label, server in servers.items():
            got[label].append(one_run(server, classes))
    return {
        label: {
            name: {
                "p95": statistics.median(r[name][0] for r in runs_),
                "cpu": statistics.median(r[name][1] for r in runs_),
            }
            for name in classes
        }
        for label, runs_ in got.items()
    }


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
    parser.add_argument("--runs", type=int, default=3)
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
    if args.distinct:
        seconds = [update_week(inst, week) for week in range(args.weeks)]
    else:
        seconds = [time_update(inst, 1)[0] for _ in range(args.weeks)]
    if seconds:
        print(
            f"{args.weeks} weekly updates of 100 documents: {time.perf_counter() - started:.0f} s in all, "
            f"median {sorted(seconds)[len(seconds) // 2]:.2f} s, slowest {max(seconds):.2f} s; "
            f"load {os.getloadavg()[0]:.1f}"
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
    servers: dict[str, Server] = {}
    try:
        servers["updated"] = Server(served)
        servers["fresh"] = Server(fresh_inst)
        load_before = os.getloadavg()[0]
        result = alternate(servers, classes, args.runs)
    finally:
        for server in servers.values():
            server.stop()
        if not args.keep and not args.against:
            shutil.rmtree(updated, ignore_errors=True)
    after, fresh = result["updated"], result["fresh"]
    print(
        f"{'class':12} {'after updates':>14} {'fresh rebuild':>14} {'ratio':>6}   {'CPU ms/query':>14} {'':>6} {'ratio':>6}"
        "   (p95 ms over HTTP and the server's CPU per query, median of runs)"
    )
    for name in classes:
        a, f = after[name]["p95"], fresh[name]["p95"]
        ca, cf = after[name]["cpu"], fresh[name]["cpu"]
        print(f"{name:12} {a:14.1f} {f:14.1f} {a / max(f, 0.01):6.2f}   {ca:7.1f} {cf:6.1f} {ca / max(cf, 0.01):13.2f}")
    print(f"load average {load_before:.1f} before the timing; now {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
