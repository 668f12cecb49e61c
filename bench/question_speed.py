"""End-to-end latency of citizens' questions through the JSON API (`/api/search`).

    .venv/bin/python bench/question_speed.py [--instance DIR] [--shared ../shared] [--limit N] [--lexical]
        [--no-semantic]

Runs every question of zalo21_dev_qrels.jsonl (468) through Flask's test client against an
instance holding zalo21_articles.jsonl.gz (imported and indexed into DIR first when DIR holds no
store): parsing, lookups, scoring, re-ranking, facet counts, snippets of the 20 hits shown, JSON.
The first request (which opens the searcher and reads its columns) is timed apart. Wall time and
the CPU time of the request's thread are both reported (the sentence model's thread, when vectors were
made with `kb index embed`, is not in the second): on a shared machine the first is inflated by
other jobs, the second much less.
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

from index import build  # noqa: E402
from kb.jsonl import import_file  # noqa: E402
from kb.store import Store  # noqa: E402
from web import create_app  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", default="/tmp/question-speed")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--lexical", action="store_true", help="without the learned re-rank model (index/rerank.py)")
    parser.add_argument(
        "--no-semantic", action="store_true", help="without the sentence model even where vectors were made"
    )
    args = parser.parse_args()
    corpus = Path(args.shared) / "corpus"
    instance = Path(args.instance)
    if not (instance / "kb.sqlite").exists():
        instance.mkdir(parents=True, exist_ok=True)
        store = Store(instance / "kb.sqlite")
        import_file(store, corpus / "zalo21_articles.jsonl.gz")
        build.rebuild(store, instance / "index", procs=2)
    questions = [json.loads(line)["query"] for line in open(corpus / "zalo21_dev_qrels.jsonl", encoding="utf-8")]
    if args.limit:
        questions = questions[: args.limit]
    app = create_app({"INSTANCE": str(instance), "TESTING": True})
    service = app.extensions["kb_search"]
    if args.lexical:
        service.model = None
    if args.no_semantic or args.lexical:
        service.semantic_model = None
    print(f"re-rank: {'lexical' if service.model is None else 'learned model'}")
    client = app.test_client()
    started = time.perf_counter()
    response = client.get("/api/search", query_string={"q": "ngân sách"})
    assert response.status_code == 200, response.status_code
    first = (time.perf_counter() - started) * 1000
    times, cpu, semantic = [], [], 0
    for q in questions:
        started, started_cpu = time.perf_counter(), time.thread_time()
        response = client.get("/api/search", query_string={"q": q})
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        assert response.status_code == 200, (q, response.status_code)
        semantic += bool(service.last_stats.get("semantic"))
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"first request {first:.0f} ms; load average {load}")
    print(f"questions re-ranked with the sentence model (index/semantic.py): {semantic} of {len(times)}")
    print(
        f"zalo21 questions through /api/search: n={len(times)}  p50 {statistics.median(times):.1f} ms  "
        f"p95 {percentile(times, 95):.1f} ms  p99 {percentile(times, 99):.1f} ms  max {max(times):.1f} ms"
    )
    # CPU time of the request's thread: what the latency would be on an idle core (other jobs on
    # a shared machine inflate wall time, not this)
    print(
        f"  CPU time per request: p50 {statistics.median(cpu):.1f} ms  p95 {percentile(cpu, 95):.1f} ms  "
        f"p99 {percentile(cpu, 99):.1f} ms"
    )


if __name__ == "__main__":
    main()
