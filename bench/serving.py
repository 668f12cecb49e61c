"""Several serving processes while a refresh writes: `kb serve --workers W` on an instance of the pháp điển
corpus, the realistic mix of bench/load.py (search with facets 70 %, document pages 20 %, JSON API 10 %)
at several concurrencies, while a writer process stores documents in a loop.

    .venv/bin/python bench/serving.py --instance /tmp/servinst [--corpus ../shared/corpus/phapdien_articles.jsonl.gz]
                                      [--workers 1,2] [--clients 1,8,32] [--seconds 30] [--threads 4]
                                      [--every 10] [--changed 100] [--no-writer]

The writer: every `--every` seconds it runs `kb import` of a file holding `--changed` stored documents whose
text changed and one new document carrying a word found nowhere else; the import stores them and updates
the index (one commit each), like `kb refresh`. After each import ends, a prober searches that word through
/api/search (a new connection each time, so either worker may answer) every 0.1 s: the time from the end
of the import to the first search that finds the new document is its *visibility latency*.

Prints, per worker count and concurrency: throughput, latency p50/p95/p99, errors (any status but 200
and 302, connection errors); per worker count: visibility latency p50/max, the imports' durations, and
the resident memory of the serving processes. The instance is filled with `kb import CORPUS` first when
it is empty; it keeps the documents the writer adds. Traffic goes only to 127.0.0.1; every loop is
bounded in time and count.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load import KB, ROOT, WORDS, free_port, percentile, run_level  # noqa: E402  (bench/load.py)

from kb.store import Store  # noqa: E402

VISIBLE_WITHIN = 120.0  # the prober gives up on a document after this long (counted as not seen)


def ensure_filled(env: dict, corpus: str) -> None:
    stats = subprocess.run([KB, "stats", "--json"], env=env, capture_output=True, text=True)
    if stats.returncode != 0 or json.loads(stats.stdout)["documents"] == 0:
        print(f"importing {corpus} (and building the index: minutes) …", flush=True)
        # exit status 1 says some lines were rejected (the corpus has 325 without a document)
        subprocess.run([KB, "import", corpus], env=env, stdout=subprocess.DEVNULL)
        stats = subprocess.run([KB, "stats", "--json"], env=env, capture_output=True, text=True, check=True)
        if json.loads(stats.stdout)["documents"] == 0:
            sys.exit(f"nothing was imported from {corpus}")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the master and its workers), in MB."""
    total = 0.0
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


class Writer(threading.Thread):
    """`kb import` of changed and new documents every `every` seconds, then probing for the new one."""

    def __init__(
        self, env: dict, port: int, uids: list[str], db_path: Path, folder: Path, every: float, changed: int, label: str
    ):
        super().__init__(daemon=True)
        self.env, self.port, self.uids, self.db_path, self.folder = env, port, uids, db_path, folder
        self.every, self.changed, self.label = every, changed, label
        self.stop = threading.Event()
        self.visible: list[float] = []  # seconds from the end of an import to the first search finding it
        self.unseen = 0
        self.imports: list[float] = []  # seconds each import took (store + index update)
        self.failures: list[str] = []
        self.round = 0

    def batch(self) -> tuple[Path, str]:
        """A JSONL file of `changed` stored documents with a changed text and one new document."""
        self.round += 1
        stamp = f"{self.label}{self.round}{int(time.time())}"
        word = "kiemtra" + "".join("abcdefghij"[int(c)] if c.isdigit() else c for c in stamp)  # one syllable
        lines = []
        with Store(self.db_path) as store:
            start = (self.round * self.changed) % max(1, len(self.uids))
            for uid in (self.uids * 2)[start : start + self.changed]:
                doc = store.get(uid)
                if doc is None or not doc.articles:
                    continue
                data = doc.to_dict()
                data["articles"][0]["text"] += f" (sửa đổi lần {stamp})"
                lines.append(data)
            model = store.get(self.uids[0]).to_dict()
        model.update(
            uid=f"import:serving-{stamp}",
            source="import",
            source_id=f"serving-{stamp}",
            number=f"{self.round}/2099/NQ-HĐND",
            title=f"Nghị quyết thử nghiệm {word}",
            relations=[],
        )
        model["articles"] = [{"number": "1", "heading": "Phạm vi", "text": f"Nghị quyết này quy định {word}."}]
        lines.append(model)
        path = self.folder / f"batch-{stamp}.jsonl"
        path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in lines), encoding="utf-8")
        return path, word

    def found(self, word: str) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", "/api/search?" + urllib.parse.urlencode({"q": word, "limit": 5}))
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                self.failures.append(f"prober: {response.status}")
                return False
            return any(word in hit["title"] for hit in json.loads(body)["hits"])
        except (OSError, http.client.HTTPException) as exc:
            self.failures.append(f"prober: {type(exc).__name__}")
            return False
        finally:
            conn.close()

    def run(self) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            path, word = self.batch()
            done = subprocess.run([KB, "import", str(path)], env=self.env, capture_output=True, text=True)
            ended = time.monotonic()
            path.unlink()
            if done.returncode != 0 or "locked" in done.stderr.lower():
                kept = self.folder / f"failed-{stamp_of(path)}.txt"
                kept.write_text(done.stderr, encoding="utf-8")
                self.failures.append(
                    f"import exit {done.returncode} (stderr in {kept}): {done.stderr.strip().splitlines()[-1:]}"
                )
            self.imports.append(ended - began)
            while not self.found(word):
                if time.monotonic() - ended > VISIBLE_WITHIN:
                    self.unseen += 1
                    break
                time.sleep(0.1)
            else:
                self.visible.append(time.monotonic() - ended)
            self.stop.wait(max(0.0, self.every - (time.monotonic() - began)))


def stamp_of(path: Path) -> str:
    return path.stem.removeprefix("batch-")


def wait_ready(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"kb serve exited with status {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/api/search?q=thu%E1%BA%BF&limit=1")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("kb serve did not answer within 120 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus" / "phapdien_articles.jsonl.gz"))
    parser.add_argument("--workers", default="1,2", help="worker counts to measure (kb serve --workers)")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds per concurrency")
    parser.add_argument("--threads", type=int, default=4, help="threads per serving process (kb serve --threads)")
    parser.add_argument("--every", type=float, default=10, help="seconds between the starts of two imports")
    parser.add_argument("--changed", type=int, default=100, help="changed documents per import")
    parser.add_argument("--no-writer", action="store_true", help="measure without the writer")
    args = parser.parse_args()
    env = dict(os.environ, KB_INSTANCE=args.instance)
    ensure_filled(env, args.corpus)
    db_path = Path(args.instance) / "kb.sqlite"
    with Store(db_path) as store:
        all_uids = [u for u in store.uids() if not u.startswith("import:serving-")]
    print(
        f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; "
        f"{os.cpu_count()} CPUs; {len(all_uids)} documents",
        flush=True,
    )
    levels = [int(c) for c in args.clients.split(",")]
    for workers in [int(w) for w in args.workers.split(",")]:
        port = free_port()
        folder = Path(tempfile.mkdtemp(prefix="serving-"))
        log = folder / "serve.log"
        with open(log, "w") as handle:
            server = subprocess.Popen(
                [KB, "serve", "--port", str(port), "--workers", str(workers), "--threads", str(args.threads)],
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        writer = None
        try:
            wait_ready(port, server)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            uids = []
            for word in WORDS:
                conn.request("GET", "/api/search?" + urllib.parse.urlencode({"q": word, "limit": 20}))
                uids += [h["uid"] for h in json.loads(conn.getresponse().read())["hits"]]
            conn.close()
            run_level(port, uids, max(levels), 5)  # warm-up: every thread opens its searcher
            name = "waitress" if workers == 1 else "gunicorn gthread"
            print(
                f"\n== kb serve --workers {workers} --threads {args.threads} ({name}); "
                + (
                    "no writer"
                    if args.no_writer
                    else f"writer: kb import of {args.changed} changed + 1 new document every {args.every:g} s"
                ),
                flush=True,
            )
            if not args.no_writer:
                writer = Writer(env, port, all_uids, db_path, folder, args.every, args.changed, f"w{workers}")
                writer.start()
            for clients in levels:
                load = os.getloadavg()[0]
                out, errors, took = run_level(port, uids, clients, args.seconds)
                print(
                    f"{clients:3} clients: {len(out) / took:6.1f} req/s  p50 {statistics.median(out):7.1f} ms  "
                    f"p95 {percentile(out, 95):7.1f} ms  p99 {percentile(out, 99):7.1f} ms  "
                    f"{len(out)} requests, {len(errors)} errors {errors[:3]}  (load avg {load:.2f})",
                    flush=True,
                )
                if server.poll() is not None:
                    raise SystemExit(f"kb serve exited with status {server.returncode}; its messages: {log}")
            if writer is not None:
                writer.stop.set()
                writer.join(300)
                v = writer.visible
                print(
                    f"writer: {len(writer.imports)} imports, each {statistics.median(writer.imports):.1f} s median "
                    f"(max {max(writer.imports):.1f} s); new document findable after p50 "
                    f"{statistics.median(v) if v else float('nan'):.2f} s, max {max(v) if v else float('nan'):.2f} s "
                    f"({len(v)} documents, {writer.unseen} not found within {VISIBLE_WITHIN:.0f} s); "
                    f"{len(writer.failures)} writer/prober errors {writer.failures[:3]}",
                    flush=True,
                )
            print(
                f"serving processes' memory: {rss_mb(server.pid):.0f} MB RSS in all "
                f"(load avg {' '.join(f'{x:.2f}' for x in os.getloadavg())})",
                flush=True,
            )
        finally:
            if writer is not None:
                writer.stop.set()
            server.terminate()
            server.wait(60)
            print(f"kb serve's messages: {log}", flush=True)


if __name__ == "__main__":
    main()
