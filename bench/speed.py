"""Speed of hdnd-kb at one or more corpus sizes, side by side, with tantivy as the reference (issue 17).

For each size N (`--sizes 1,10`: the corpus itself and 10 renumbered copies of it, ids prefixed with the
copy, the leading number of each số ký hiệu + k×10000), in an instance folder `<workdir>/x<N>`:

1. import: the store import (`kb import`'s code: kb.jsonl.import_file with the amendment-note parser), the
   derived legal data (`kb import` brings it up to date before indexing; reported apart), the index build
   (`build.rebuild(procs=--procs)`); import rate = text MB / (store import s + index build s);
2. incremental update: 100 changed documents re-indexed and committed (`build.update`), --runs times;
3. queries through the real HTTP API: `kb serve` (waitress, one process, as an office runs it) is started
   as a subprocess on 127.0.0.1 and GET /api/search is timed with one keep-alive connection (http.client)
   for each query class (single word, several words, phrase, filtered by loai, faceted by nam, số ký hiệu);
   the whole timing is repeated --runs times and the median of the runs' p95 is printed;
4. the server's memory after the queries (/proc/<pid>/status: VmRSS, and its RssAnon and RssFile parts);
5. tantivy (Python API, same documents, same queries, same run) beside each latency.

Then one table: each figure at each size and how it grows from the smallest size to the largest (the growth
factor is the point). Each figure carries the 1-minute load average when it was taken (the machine is shared).

    .venv/bin/pip install -e ".[bench]"
    .venv/bin/python bench/speed.py --sizes 1,10 --workdir /tmp/speed            # builds, ~10 min on 2 cores
    .venv/bin/python bench/speed.py --sizes 1,10 --workdir /tmp/speed --reuse    # times the built instances

--reuse keeps an instance already in `<workdir>/x<N>` (its import and build figures are read from the
bench-build.json it was built with) and re-times the update, the queries and the memory. Without --reuse
the instance is built anew. --api also times the same queries in-process through the Python API.
The figures are written to <workdir>/speed.json as well.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import build  # noqa: E402
from index.search import FACET_PARAMS, SearchService  # noqa: E402
from index.sidecar import SUFFIX as SIDECAR_SUFFIX  # noqa: E402
from kb.jsonl import import_file  # noqa: E402
from kb.legal.amendments import parse_amendment_note  # noqa: E402
from kb.store import Store  # noqa: E402

CLASSES = ("single-word", "multi-word", "phrase", "filtered", "faceted", "number")
BUILD_FILE = "bench-build.json"


def load() -> float:
    return os.getloadavg()[0]


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the build's writer processes): unlike the
    wall time, it hardly moves with the other work on a shared machine."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def make_queries(corpus: Path, seed: int = 7) -> dict[str, list[tuple[str, dict]]]:
    """The query classes, drawn from the corpus itself (copy 0 of every size: the same queries at each)."""
    rng = random.Random(seed)
    topics, numbers = set(), set()
    with gzip.open(corpus, "rt", encoding="utf-8") as handle:
        for line in handle:
            rec = json.loads(line)
            if rec.get("de_muc"):
                topics.add(rec["de_muc"])
            if rec.get("doc_number"):
                numbers.add(rec["doc_number"])
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


def renumbered(corpus: Path, copies: int, out: Path) -> Path:
    """N copies of an article-level corpus as distinct documents: ids prefixed with the copy, the leading
    number of each số ký hiệu raised by k×10000 (copy 0 is the corpus as it is)."""
    tmp = out.with_suffix(".part")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as sink:
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
    tmp.replace(out)
    return out


def text_megabytes(store: Store) -> tuple[float, int]:
    """(MB of article text and headings, UTF-8; number of articles), counted by SQLite."""
    row = store.db.execute(
        "SELECT coalesce(sum(length(CAST(json_extract(a.value, '$.text') AS BLOB))"
        " + coalesce(length(CAST(json_extract(a.value, '$.heading') AS BLOB)), 0)), 0), count(*)"
        " FROM documents, json_each(documents.data, '$.articles') AS a"
    ).fetchone()
    return row[0] / 1e6, row[1]


# --- building an instance -------------------------------------------------------------------------
def build_instance(size: int, corpus: Path, inst: Path, workdir: Path, procs: int, reuse: bool) -> dict:
    """Import and index `size` copies of the corpus into `inst` (timed); the figures, also kept in
    inst/bench-build.json. With `reuse` an instance already built there is kept and its figures read."""
    recorded = inst / BUILD_FILE
    if reuse and (inst / "kb.sqlite").exists() and build.current_dir(inst / "index") is not None:
        figures = json.loads(recorded.read_text()) if recorded.exists() else {}
        figures["reused"] = True
        print(f"x{size}: reusing {inst}" + ("" if recorded.exists() else " (no recorded import/build figures)"))
        return figures
    if inst.exists():
        shutil.rmtree(inst)
    inst.mkdir(parents=True)
    source = corpus
    if size > 1:
        source = workdir / f"corpus-x{size}.jsonl.gz"
        if not (reuse and source.exists()):
            started = time.perf_counter()
            renumbered(corpus, size, source)
            print(f"x{size}: wrote {source} in {time.perf_counter() - started:.0f} s")
    figures: dict = {"built_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "procs": procs}
    store = Store(inst / "kb.sqlite")
    try:
        started, cpu = time.perf_counter(), cpu_seconds()
        report = import_file(store, source, note_parser=parse_amendment_note)
        figures["import_s"] = time.perf_counter() - started
        figures["import_cpu_s"] = cpu_seconds() - cpu
        figures["import_load"] = load()
        figures["documents"] = report.added
        figures["text_mb"], figures["articles"] = text_megabytes(store)
        print(
            f"x{size}: store import {figures['import_s']:.1f} s, CPU {figures['import_cpu_s']:.1f} s "
            f"({report.added} documents, "
            f"{figures['articles']} articles, {figures['text_mb']:.1f} MB; load {figures['import_load']:.1f})"
        )

        from kb.legal import derived
        from kb.legal.transitions import derive_statuses

        started = time.perf_counter()
        derive_statuses(store)
        derived.refresh(store)
        figures["derived_s"] = time.perf_counter() - started
        figures["derived_load"] = load()
        print(f"x{size}: derived legal data {figures['derived_s']:.1f} s (load {figures['derived_load']:.1f})")

        started, cpu = time.perf_counter(), cpu_seconds()
        build.rebuild(store, inst / "index", procs=procs)
        figures["build_s"] = time.perf_counter() - started
        figures["build_cpu_s"] = cpu_seconds() - cpu
        figures["build_load"] = load()
        stats = build.stats(inst / "index")
        figures["index_mb"] = stats["size_mb"]
        figures["records"] = stats["records"]
        folder = build.current_dir(inst / "index")
        figures["sidecar_mb"] = round(sum(f.stat().st_size for f in folder.glob(f"*{SIDECAR_SUFFIX}")) / 1e6, 1)
        print(
            f"x{size}: index build {figures['build_s']:.1f} s, CPU {figures['build_cpu_s']:.1f} s "
            f"(procs={procs}; {stats['size_mb']} MB, of which postings sidecars {figures['sidecar_mb']} MB; "
            f"{stats['records']} records; load {figures['build_load']:.1f})"
        )
    finally:
        store.close()
    recorded.write_text(json.dumps(figures, indent=1))
    return figures


def change_documents(store: Store, docs: list, stamp: str) -> None:
    """Store `docs` changed as an amendment would: a stamp added to the title and the first article."""
    for d in docs:
        d.title = f"{d.title.split(' (sửa đổi')[0]} (sửa đổi {stamp})"
        if d.articles:
            d.articles[0].text += f" Nội dung được bổ sung {stamp}."
    store.upsert_many(docs)


def time_update(inst: Path, runs: int) -> tuple[float, float]:
    """Median seconds to re-index and commit 100 changed documents, and the load average after."""
    store = Store(inst / "kb.sqlite")
    times = []
    try:
        for run in range(runs):
            docs = [d for _, d in zip(range(100), store.iter_documents())]
            change_documents(store, docs, f"{time.time():.0f}-{run}")
            started = time.perf_counter()
            count = build.update(store, inst / "index")
            times.append(time.perf_counter() - started)
            assert count >= 100, count
    finally:
        store.close()
    return statistics.median(times), load()


# --- the HTTP API ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`kb serve` of an instance as a subprocess (this checkout's code), one waitress process."""

    def __init__(self, inst: Path, threads: int = 4, start_timeout: float = 1800.0):
        self.port = free_port()
        self.log = open(inst / "bench-serve.log", "w")
        code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from kbcli.main import cli; cli()"
        cmd = [sys.executable, "-c", code, "-i", str(inst), "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            cmd + ["--threads", str(threads)], stdout=self.log, stderr=subprocess.STDOUT, cwd=str(ROOT)
        )
        started = time.perf_counter()
        self.conn: http.client.HTTPConnection | None = None
        while True:  # the first start of a store written without `kb import` computes its derived data
            if self.process.poll() is not None:
                raise RuntimeError(f"kb serve exited with {self.process.returncode}: see {inst / 'bench-serve.log'}")
            try:
                status, _ = self.get("/api/search", {"q": "khởi động"})
                if status == 200:
                    break
            except OSError:
                self.conn = None
            if time.perf_counter() - started > start_timeout:
                self.stop()
                raise RuntimeError(f"kb serve did not answer in {start_timeout:.0f} s")
            time.sleep(0.5)
        self.ready_s = time.perf_counter() - started

    def get(self, path: str, params: dict) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        self.conn.request("GET", path + "?" + urllib.parse.urlencode(params, doseq=True))
        response = self.conn.getresponse()
        return response.status, response.read()

    def memory(self) -> dict[str, float]:
        """MB: VmRSS (resident), RssAnon (heap: Python objects, numpy arrays, SQLite's cache), RssFile
        (mapped files: the index's segments, shared libraries), VmHWM (the peak of VmRSS), and
        RssFile by kind of file ("mapped" below, from /proc/<pid>/smaps)."""
        out: dict = {}
        for line in open(f"/proc/{self.process.pid}/status"):
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[name] = int(value.split()[0]) / 1024
        out["mapped"] = mapped_files(self.process.pid)
        return out

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def file_kind(path: str) -> str:
    """The kind of a mapped file, for the memory report: the index's postings sidecars, Whoosh's own
    segment files, the SQLite store, shared libraries, anything else."""
    name = os.path.basename(path)
    if name.endswith(SIDECAR_SUFFIX):
        return "sidecars"
    if name.startswith("MAIN_") or name.endswith((".seg", ".toc")):
        return "whoosh segments"
    if ".sqlite" in name or name.endswith(("-wal", "-shm")):
        return "sqlite"
    if ".so" in name:
        return "shared libraries"
    return "other files"


def mapped_files(pid: int) -> dict[str, float]:
    """MB resident per kind of file-backed mapping (/proc/<pid>/smaps), and "anonymous": what
    RssFile and RssAnon are made of (shmem aside)."""
    out: dict[str, float] = {}
    kind = None
    with open(f"/proc/{pid}/smaps") as handle:
        for line in handle:
            head = line.split()
            if not head:
                continue
            # a mapping's first line: range perms offset dev inode [path]
            if "-" in head[0] and not head[0].endswith(":"):
                path = head[5] if len(head) > 5 and head[4] != "0" else ""
                kind = file_kind(path) if path.startswith("/") else "anonymous"
            elif head[0] == "Rss:" and kind is not None:
                out[kind] = out.get(kind, 0.0) + int(head[1]) / 1024
    return {k: round(v, 1) for k, v in sorted(out.items())}


def api_params(q: str, filters: dict) -> dict:
    params: dict = {"q": q, "limit": 20}
    for name, values in filters.items():
        params[FACET_PARAMS[name]] = values
    return params


def time_http(server: Server, classes: dict, runs: int) -> dict[str, dict]:
    """Per class: the median over `runs` of each run's p95 and p50 (ms), and the load after the last run."""
    for queries in classes.values():  # warm-up: one pass (first searcher, columns, caches), not counted
        for q, filters in queries:
            status, body = server.get("/api/search", api_params(q, filters))
            if status != 200:
                raise RuntimeError(f"/api/search {q!r} {filters}: HTTP {status} {body[:200]!r}")
    p95s: dict[str, list[float]] = {name: [] for name in classes}
    p50s: dict[str, list[float]] = {name: [] for name in classes}
    for _ in range(runs):
        for name, queries in classes.items():
            times = []
            for q, filters in queries:
                params = api_params(q, filters)
                started = time.perf_counter()
                server.get("/api/search", params)
                times.append((time.perf_counter() - started) * 1000)
            p95s[name].append(percentile(times, 95))
            p50s[name].append(statistics.median(times))
    return {
        name: {"p95": statistics.median(p95s[name]), "p50": statistics.median(p50s[name]), "load": load()}
        for name in classes
    }


def time_python_api(inst: Path, classes: dict, runs: int) -> dict[str, dict]:
    service = SearchService(inst / "index")
    for queries in classes.values():
        for q, filters in queries:
            service.search(q, filters=filters, per_page=20, facets=True, snippets=True)
    out = {}
    for name, queries in classes.items():
        p95s = []
        for _ in range(runs):
            times = []
            for q, filters in queries:
                started = time.perf_counter()
                service.search(q, filters=filters, per_page=20, facets=True, snippets=True)
                times.append((time.perf_counter() - started) * 1000)
            p95s.append(percentile(times, 95))
        out[name] = {"p95": statistics.median(p95s), "load": load()}
    service.close()
    return out


# --- tantivy, the reference -----------------------------------------------------------------------
def tantivy_reference(inst: Path, classes: dict, runs: int) -> dict:
    """tantivy's p95 per class (median of `runs`), on an index of the same articles built (once) in inst/tantivy."""
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("title", stored=True)
    builder.add_text_field("body", stored=False)
    builder.add_text_field("number", tokenizer_name="raw", stored=True)
    builder.add_text_field("doc_type", tokenizer_name="raw", stored=True)
    builder.add_integer_field("year", indexed=True, fast=True, stored=True)
    schema = builder.build()
    path = inst / "tantivy"
    done = path / "bench-complete"
    out: dict = {}
    if not done.exists():
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir()
        index = tantivy.Index(schema, path=str(path))
        writer = index.writer(heap_size=256_000_000, num_threads=2)
        started = time.perf_counter()
        store = Store(inst / "kb.sqlite")
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
        store.close()
        writer.commit()
        writer.wait_merging_threads()
        out["build_s"] = time.perf_counter() - started
        done.write_text(json.dumps(out))
    else:
        out = json.loads(done.read_text())
    index = tantivy.Index(schema, path=str(path))
    index.reload()
    searcher = index.searcher()

    def run(name: str, q: str, filters: dict) -> None:
        if name == "number":
            query = tantivy.Query.term_query(schema, "number", q)
        else:
            query = index.parse_query(q.replace(":", " "), ["title", "body"], conjunction_by_default=True)
        if filters.get("doc_type"):
            query = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, query),
                    (tantivy.Occur.Must, tantivy.Query.term_query(schema, "doc_type", filters["doc_type"][0])),
                ]
            )
        if filters.get("year"):
            year = int(filters["year"][0])
            years = tantivy.Query.range_query(schema, "year", tantivy.FieldType.Integer, year, year)
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, years)])
        result = searcher.search(query, 20, count=True)
        for _, address in result.hits:
            searcher.doc(address)

    for name, queries in classes.items():
        for q, filters in queries:
            run(name, q, filters)
        p95s = []
        for _ in range(runs):
            times = []
            for q, filters in queries:
                started = time.perf_counter()
                run(name, q, filters)
                times.append((time.perf_counter() - started) * 1000)
            p95s.append(percentile(times, 95))
        out[name] = statistics.median(p95s)
    return out


# --- the report -----------------------------------------------------------------------------------
def measure(size: int, corpus: Path, workdir: Path, classes: dict, args) -> dict:
    inst = workdir / f"x{size}"
    figures = build_instance(size, corpus, inst, workdir, args.procs, args.reuse)
    figures["update_s"], figures["update_load"] = time_update(inst, args.runs)
    print(f"x{size}: update of 100 documents {figures['update_s']:.2f} s (load {figures['update_load']:.1f})")
    server = Server(inst, threads=args.threads)
    try:
        figures["serve_ready_s"] = server.ready_s
        started = time.perf_counter()
        server.get("/api/search", {"q": "thuế"})
        figures["first_query_ms"] = (time.perf_counter() - started) * 1000
        figures["http"] = time_http(server, classes, args.runs)
        figures["memory"] = server.memory()
        figures["memory_load"] = load()
    finally:
        server.stop()
    print(
        f"x{size}: server RSS {figures['memory']['VmRSS']:.0f} MB (anon {figures['memory']['RssAnon']:.0f}, "
        f"file {figures['memory']['RssFile']:.0f}, peak {figures['memory']['VmHWM']:.0f}; load {figures['memory_load']:.1f})"
    )
    print(f"x{size}: resident MB by mapping: {figures['memory']['mapped']}")
    if args.api:
        figures["api"] = time_python_api(inst, classes, args.runs)
    if not args.no_tantivy:
        figures["tantivy"] = tantivy_reference(inst, classes, args.runs)
    return figures


def table(sizes: list[int], results: dict[int, dict]) -> list[str]:
    first, last = sizes[0], sizes[-1]
    width, label_width = 18, 46
    head = f"{'':{label_width}}" + "".join(f"{f'{s}×':>{width}}" for s in sizes)
    head += f"{f'growth {first}×→{last}×':>{width + 4}}" if len(sizes) > 1 else ""
    lines = [head]

    def row(label: str, get, fmt="{:.1f}", load_key: str | None = None) -> None:
        values = [get(results[s]) for s in sizes]
        cells = []
        for s, v in zip(sizes, values):
            text = "—" if v is None else fmt.format(v)
            if load_key and v is not None and results[s].get(load_key) is not None:
                text += f" (l{results[s][load_key]:.1f})"
            cells.append(f"{text:>{width}}")
        line = f"{label:{label_width}}" + "".join(cells)
        if len(sizes) > 1 and values[0] and values[-1]:
            line += f"{values[-1] / values[0]:>{width + 3}.1f}×"
        lines.append(line)

    def pair(label: str, name: str, key: str = "http") -> None:
        cells, growth = [], []
        for s in sizes:
            ours = results[s].get(key, {}).get(name, {}).get("p95")
            ref = results[s].get("tantivy", {}).get(name)
            text = "—" if ours is None else f"{ours:.1f}"
            text += f" | {ref:.2f}" if ref is not None else ""
            cells.append(f"{text:>{width}}")
            growth.append((ours, ref))
        line = f"{label:{label_width}}" + "".join(cells)
        if len(sizes) > 1 and growth[0][0] and growth[-1][0]:
            g = f"{growth[-1][0] / growth[0][0]:.1f}×"
            if growth[0][1] and growth[-1][1]:
                g += f" | {growth[-1][1] / growth[0][1]:.1f}×"
            line += f"{g:>{width + 4}}"
        lines.append(line)

    row("articles", lambda r: r.get("articles"), "{:,.0f}")
    row("text (MB)", lambda r: r.get("text_mb"))
    row("store import (s)", lambda r: r.get("import_s"), load_key="import_load")
    row("  CPU of the store import (s)", lambda r: r.get("import_cpu_s"))
    row("index build (s)", lambda r: r.get("build_s"), load_key="build_load")
    row("  CPU of the build, all processes (s)", lambda r: r.get("build_cpu_s"))
    row(
        "import rate, store+index (MB/s)",
        lambda r: r["text_mb"] / (r["import_s"] + r["build_s"]) if r.get("build_s") else None,
        "{:.2f}",
    )
    row(
        "  estimated on 2 idle cores, from CPU (MB/s)",
        lambda r: r["text_mb"] / (r["import_cpu_s"] + r["build_cpu_s"] / 2) if r.get("build_cpu_s") else None,
        "{:.2f}",
    )
    row("derived legal data (s)", lambda r: r.get("derived_s"), load_key="derived_load")
    row("update, 100 documents (s)", lambda r: r.get("update_s"), "{:.2f}", load_key="update_load")
    row("server start to first answer (s)", lambda r: r.get("serve_ready_s"))
    row("server RSS after queries (MB)", lambda r: r["memory"]["VmRSS"], "{:.0f}", load_key="memory_load")
    row("  of which RssAnon (MB)", lambda r: r["memory"]["RssAnon"], "{:.0f}")
    row("  of which RssFile (MB)", lambda r: r["memory"]["RssFile"], "{:.0f}")
    row("  peak VmHWM (MB)", lambda r: r["memory"]["VmHWM"], "{:.0f}")
    lines.append("p95 ms over HTTP | tantivy p95 ms")
    for name in CLASSES:
        pair(f"  {name}", name)
    if any("api" in results[s] for s in sizes):
        lines.append("p95 ms, Python API | tantivy p95 ms")
        for name in CLASSES:
            pair(f"  {name}", name, "api")
    row("load average during queries", lambda r: r["http"][CLASSES[-1]]["load"])
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus" / "phapdien_articles.jsonl.gz"))
    parser.add_argument("--sizes", default="1,10", help="copies of the corpus per instance, comma-separated")
    parser.add_argument("--copies", type=int, help="one size only (the same as --sizes N)")
    parser.add_argument("--workdir", help="instances go to <workdir>/x<N> (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true", help="keep instances already built in --workdir")
    parser.add_argument("--procs", type=int, default=2, help="index build processes")
    parser.add_argument("--runs", type=int, default=3, help="timings repeated; medians are printed")
    parser.add_argument("--threads", type=int, default=4, help="threads of the `kb serve` process")
    parser.add_argument("--api", action="store_true", help="also time the queries through the Python API")
    parser.add_argument("--no-tantivy", action="store_true")
    parser.add_argument("--table", action="store_true", help="print the table of <workdir>/speed.json and stop")
    args = parser.parse_args()
    if args.table:
        saved = json.loads((Path(args.workdir) / "speed.json").read_text())
        print("\n".join(table(sorted(int(k) for k in saved), {int(k): v for k, v in saved.items()})))
        return
    sizes = [args.copies] if args.copies else sorted(int(s) for s in args.sizes.split(","))
    corpus = Path(args.corpus)
    tmp = tempfile.TemporaryDirectory() if not args.workdir else None
    workdir = Path(args.workdir or tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    classes = make_queries(corpus)
    print(f"code {ROOT}; corpus {corpus}; sizes {sizes}; {os.cpu_count()} cores; load {load():.1f}")
    results = {size: measure(size, corpus, workdir, classes, args) for size in sizes}
    (workdir / "speed.json").write_text(json.dumps({str(k): v for k, v in results.items()}, indent=1))
    print()
    print("\n".join(table(sizes, results)))
    print(f"(l…: 1-minute load average when the figure was taken; p95: median of {args.runs} runs)")


if __name__ == "__main__":
    main()
