"""What the pruned first stage (index/ranking.py) saves: the same queries with pruning and with every
matched record scored, on one built index, in CPU time of the searching thread (less disturbed than
wall time on a shared machine), first time each query is seen ("cold": its postings not yet in the
cache) and again ("warm"); and how many of the matched records the pruning scored.

    .venv/bin/python bench/pruning.py --index DIR [--corpus ../shared/corpus/phapdien_articles.jsonl.gz]
                                      [--questions ../shared/corpus/zalo21_dev_qrels.jsonl] [--limit 80]

The query classes are bench/speed.py's, plus the first --limit Zalo questions. Each mode runs in a
fresh SearchService (its own caches); the index is only read.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from speed import make_queries, percentile  # noqa: E402

from index.search import SearchService  # noqa: E402


def run(index: Path, classes: dict, prune: bool) -> dict[str, tuple[float, float, float, float, int, int]]:
    service = SearchService(index, prune=prune)
    service.search("khởi động")
    out = {}
    for name, queries in classes.items():
        cold, warm, matched, scored = [], [], 0, 0
        for times in (cold, warm):
            for q, filters in queries:
                service.last_stats = {}
                started = time.thread_time()
                service.search(q, filters=filters)
                times.append((time.thread_time() - started) * 1000)
                if times is cold and service.last_stats:
                    matched += service.last_stats["matched"]
                    scored += service.last_stats["scored"]
        out[name] = (
            statistics.median(cold),
            percentile(cold, 95),
            statistics.median(warm),
            percentile(warm, 95),
            matched,
            scored,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", required=True)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus" / "phapdien_articles.jsonl.gz"))
    parser.add_argument("--questions", default=str(ROOT.parent / "shared" / "corpus" / "zalo21_dev_qrels.jsonl"))
    parser.add_argument("--limit", type=int, default=80)
    args = parser.parse_args()
    classes = make_queries(Path(args.corpus))
    with open(args.questions, encoding="utf-8") as handle:
        classes["question"] = [(json.loads(line)["query"], {}) for _, line in zip(range(args.limit), handle)]
    print(f"index {args.index}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'class':12} {'mode':10} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9}  scored/matched")
    for prune in (True, False):  # pruned first: the second mode finds the files in the OS cache
        for name, (c50, c95, w50, w95, matched, scored) in run(Path(args.index), classes, prune).items():
            share = f"{scored:,}/{matched:,}" if matched else "-"
            mode = "pruned" if prune else "every"
            print(f"{name:12} {mode:10} {c50:9.1f} {c95:9.1f} {w50:9.1f} {w95:9.1f}  {share}")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; CPU ms of the searching thread")


if __name__ == "__main__":
    main()
