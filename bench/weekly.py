"""A year of weekly updates against a fresh rebuild (issue 17): after W incremental updates of 100 changed
documents each (`build.update`, one commit each, as a weekly `kb refresh` does), the query classes of
bench/speed.py are timed through the HTTP API; then the index is rebuilt from the same store and timed
again. Prints both p95s per class (median of --runs runs) and their ratio, with the segment counts.

    .venv/bin/python bench/weekly.py --instance /tmp/speed/x10 [--weeks 52] [--runs 3]

The instance is one `bench/speed.py` built (it is changed: its store gets the updates, its index the
commits and the rebuild). Takes the updates (~1–2 s each at 10×) plus a rebuild (~6 min at 10× on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from speed import Server, make_queries, time_http, time_update  # noqa: E402

from index import build  # noqa: E402
from kb.store import Store  # noqa: E402


def segments(inst: Path) -> int:
    return len(list(build.current_dir(inst / "index").glob("*.trm")))


def timed(inst: Path, classes: dict, runs: int) -> dict:
    server = Server(inst)
    try:
        return time_http(server, classes, runs)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus" / "phapdien_articles.jsonl.gz"))
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    inst = Path(args.instance)
    classes = make_queries(Path(args.corpus))
    started = time.perf_counter()
    seconds = [time_update(inst, 1)[0] for _ in range(args.weeks)]
    print(
        f"{args.weeks} weekly updates of 100 documents: {time.perf_counter() - started:.0f} s in all, "
        f"median {sorted(seconds)[len(seconds) // 2]:.2f} s, slowest {max(seconds):.2f} s; "
        f"{segments(inst)} segments; load {os.getloadavg()[0]:.1f}"
    )
    after = timed(inst, classes, args.runs)
    store = Store(inst / "kb.sqlite")
    try:
        started = time.perf_counter()
        build.rebuild(store, inst / "index", procs=2)
        print(f"fresh rebuild: {time.perf_counter() - started:.0f} s; {segments(inst)} segments")
    finally:
        store.close()
    fresh = timed(inst, classes, args.runs)
    print(f"{'class':12} {'after updates':>14} {'fresh rebuild':>14} {'ratio':>6}   (p95 ms over HTTP, median of runs)")
    for name in classes:
        a, f = after[name]["p95"], fresh[name]["p95"]
        print(f"{name:12} {a:14.1f} {f:14.1f} {a / max(f, 0.01):6.2f}")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
