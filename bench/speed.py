"""Speed of the index on the largest real corpus: build, incremental update, query latency by
class (through the same Python API as the web UI, snippets and facet counts included), memory,
and the same queries through tantivy as the reference.

    .venv/bin/pip install -e ".[bench]"
    .venv/bin/python bench/speed.py [--corpus ../shared/corpus/phapdien_articles.jsonl.gz] [--procs 2]
                                    [--repeat 3] [--no-tantivy] [--workdir DIR] [--copies N]

--copies N measures a province-sized store: N renumbered copies of the corpus (ids prefixed with the
copy, the leading number of each số ký hiệu + k×10000), as issue 17 describes. One size per run: run it
at 1 and 10 to compare.

Prints one line per measurement. Takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import build  # noqa: E402
from index.search import SearchService  # noqa: E402
from index.sidecar import SUFFIX as SIDECAR_SUFFIX  # noqa: E402
from kb.jsonl import import_file  # noqa: E402
from kb.store import Store  # noqa: E402


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the build's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def make_queries(corpus: Path, seed: int = 7) -> dict[str, list[tuple[str, dict]]]:
    rng = random.Random(seed)
    topics, numbers, types = set(), set(), set()
    with gzip.open(corpus, "rt", encoding="utf-8") as handle:
        for line in handle:
            rec = json.loads(line)
            if rec.get("de_muc"):
                topics.add(rec["de_muc"])
            if rec.get("doc_number"):
                numbers.add(rec["doc_number"])
            if rec.get("doc_type"):
                types.add(rec["doc_type"])
    topics = sorted(t for t in topics if 2 <= len(t.split()) <= 5)
    words = [
        "thuế",
        "đất",
        "hộ tịch",
        "ngân sách",
        "giáo dục",
        "bảo hiểm",
        "xây dựng",
        "môi trường",
        "công chức",
        "phí",
        "khoáng sản",
        "thủy lợi",
        "giao thông",
        "đầu tư",
        "y tế",
        "lao động",
        "quốc phòng",
        "hải quan",
        "tài sản",
        "doanh nghiệp",
    ]
    single = [w for w in words if " " not in w] + ["hàng", "kiểm", "nhà", "điện", "rừng", "muối", "nước"]
    sample = rng.sample(topics, min(30, len(topics)))
    return {
        "single-word": [(w, {}) for w in single],
        "multi-word": [(t, {}) for t in sample],
        "phrase": [(f'"{t}"', {}) for t in sample],
        "filtered": [(t, {"doc_type": [rng.choice(["Thông tư", "Nghị định", "Luật"])]}) for t in sample],
        "faceted": [(w, {"year": [str(rng.choice(range(2010, 2024)))]}) for w in words],
        "number": [(n, {}) for n in rng.sample(sorted(numbers), 40)],
    }


def time_queries(service: SearchService, queries, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        for q, filters in queries:
            started = time.perf_counter()
            service.search(q, filters=filters, per_page=20, facets=True, snippets=True)
            times.append((time.perf_counter() - started) * 1000)
    return times


def tantivy_reference(store: Store, workdir: Path, classes, repeat: int) -> dict[str, float]:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("title", stored=True)
    builder.add_text_field("body", stored=False)
    builder.add_text_field("number", tokenizer_name="raw", stored=True)
    builder.add_text_field("doc_type", tokenizer_name="raw", stored=True)
    builder.add_integer_field("year", indexed=True, fast=True, stored=True)
    schema = builder.build()
    path = workdir / "tantivy"
    path.mkdir(exist_ok=True)
    index = tantivy.Index(schema, path=str(path))
    writer = index.writer(heap_size=256_000_000, num_threads=2)
    started = time.perf_counter()
    for doc in store.iter_documents():
        for art in doc.articles:
            writer.add_document(
                tantivy.Document(
                    title=doc.title,
                    body=f"{art.heading or ''} {art.text}",
                    number=doc.number or "",
                    doc_type=doc.doc_type or "",
                    year=doc.year or 0,
                )
            )
    writer.commit()
    index.reload()
    print(f"tantivy build: {time.perf_counter() - started:.1f} s")
    searcher = index.searcher()
    out = {}
    for name, queries in classes.items():
        times = []
        for _ in range(repeat):
            for q, filters in queries:
                text = q.replace(":", " ")
                started = time.perf_counter()
                if name == "number":
                    query = tantivy.Query.term_query(schema, "number", q)
                else:
                    query = index.parse_query(text, ["title", "body"], conjunction_by_default=True)
                if filters.get("doc_type"):
                    query = tantivy.Query.boolean_query(
                        [
                            (tantivy.Occur.Must, query),
                            (tantivy.Occur.Must, tantivy.Query.term_query(schema, "doc_type", filters["doc_type"][0])),
                        ]
                    )
                result = searcher.search(query, 20, count=True)
                for _, address in result.hits:
                    searcher.doc(address)
                times.append((time.perf_counter() - started) * 1000)
        out[name] = percentile(times, 95)
    return out


def renumbered(corpus: Path, copies: int, out: Path) -> Path:
    """N copies of an article-level corpus as distinct documents: ids prefixed with the copy, the leading
    number of each số ký hiệu raised by k×10000 (copy 0 is the corpus as it is)."""
    with gzip.open(out, "wt", encoding="utf-8") as sink:
        for k in range(copies):
            with gzip.open(corpus, "rt", encoding="utf-8") as handle:
                for line in handle:
                    if k:
                        rec = json.loads(line)
                        for key in ("id", "doc_id"):  # "phapdien:1.11.LQ.1" -> "phapdien:c1-1.11.LQ.1"
                            if rec.get(key):
                                source, colon, rest = rec[key].rpartition(":")
                                rec[key] = f"{source}{colon}c{k}-{rest}"
                        number = rec.get("doc_number") or ""
                        head, sep, rest = number.partition("/")
                        if head.isdigit():
                            rec["doc_number"] = f"{int(head) + k * 10000}{sep}{rest}"
                        line = json.dumps(rec, ensure_ascii=False) + "\n"
                    sink.write(line)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus" / "phapdien_articles.jsonl.gz"))
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-tantivy", action="store_true")
    parser.add_argument("--workdir", help="keep the store and index here (default: a temporary folder)")
    parser.add_argument("--copies", type=int, default=1, help="renumbered copies of the corpus (issue 17: 10)")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    tmp = tempfile.TemporaryDirectory()
    workdir = Path(args.workdir or tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    if args.copies > 1:
        corpus = renumbered(corpus, args.copies, workdir / f"corpus-x{args.copies}.jsonl.gz")
        print(f"corpus: {args.copies} renumbered copies of {args.corpus}")

    store = Store(workdir / "kb.sqlite")
    started = time.perf_counter()
    report = import_file(store, corpus)
    print(
        f"import: {report.added} documents, {report.articles} articles, {len(report.rejected)} rejected, "
        f"{time.perf_counter() - started:.1f} s"
    )
    text_mb = (
        sum(len(a.text.encode()) + len((a.heading or "").encode()) for d in store.iter_documents() for a in d.articles)
        / 1e6
    )

    started = time.perf_counter()
    cpu = cpu_seconds()
    build.rebuild(store, workdir / "index", procs=args.procs)
    took = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    stats = build.stats(workdir / "index")
    print(
        f"build: {took:.1f} s for {text_mb:.1f} MB of text = {text_mb / took:.2f} MB/s "
        f"(procs={args.procs}; index {stats['size_mb']} MB, {stats['records']} records; "
        f"CPU {cpu:.1f} s in all = {text_mb / cpu:.2f} MB per CPU-second; load average {load()})"
    )

    folder = build.current_dir(workdir / "index")
    sidecar_mb = sum(f.stat().st_size for f in folder.glob(f"*{SIDECAR_SUFFIX}")) / 1e6
    print(
        f"postings sidecars: {sidecar_mb:.1f} MB beside {stats['size_mb'] - sidecar_mb:.1f} MB of Whoosh files "
        f"(.pst {sum(f.stat().st_size for f in folder.glob('*.pst')) / 1e6:.1f} MB)"
    )

    docs = [d for _, d in zip(range(100), store.iter_documents())]
    for d in docs:
        d.title = d.title + " (sửa đổi)"
        if d.articles:
            d.articles[0].text += " Nội dung được bổ sung."
    store.upsert_many(docs)
    started = time.perf_counter()
    cpu = cpu_seconds()
    count = build.update(store, workdir / "index")
    print(
        f"incremental update: {count} changed documents re-indexed and committed in "
        f"{time.perf_counter() - started:.2f} s (CPU {cpu_seconds() - cpu:.2f} s; load average {load()})"
    )

    service = SearchService(workdir / "index")
    before = rss_mb()
    started = time.perf_counter()
    service.search("khởi động")
    print(f"first search (opens searcher, reads columns): {(time.perf_counter() - started) * 1000:.0f} ms")
    classes = make_queries(corpus)
    results = {}
    for name, queries in classes.items():
        times = time_queries(service, queries, args.repeat)
        results[name] = (statistics.median(times), percentile(times, 95))
    reference = {} if args.no_tantivy else tantivy_reference(store, workdir, classes, args.repeat)
    for name, (p50, p95) in results.items():
        ratio = (
            f"  tantivy p95 {reference[name]:.1f} ms, ratio {p95 / max(reference[name], 0.01):.0f}x"
            if name in reference
            else ""
        )
        print(f"{name:12} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms{ratio}")
    print(
        f"memory: RSS {rss_mb():.0f} MB (searcher and caches added {rss_mb() - before:.0f} MB); "
        f"peak RSS of this benchmark process {peak_mb():.0f} MB (includes the build)"
    )


if __name__ == "__main__":
    main()
