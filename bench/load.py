"""Load test of the production WSGI setup on loopback: `kb serve` (waitress; gunicorn with --workers N)
on an instance, a bounded Python load generator with a realistic mix — search with facets 70 %, document pages 20 %,
JSON API 10 % — at several concurrencies. Prints throughput and latency p50/p95/p99 and errors.

    .venv/bin/python bench/load.py --instance /tmp/loadinst [--corpus ../shared/corpus/phapdien_articles.jsonl.gz]
                                   [--clients 1,8,32] [--seconds 20] [--threads 8] [--workers 1]

The instance is filled with `kb import CORPUS` first when it is empty. Traffic goes only to
127.0.0.1; every loop is bounded in time and count.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KB = str(Path(sys.executable).with_name("kb"))
WORDS = [
    "thuế",
    "đất đai",
    "hộ tịch",
    "ngân sách",
    "giáo dục",
    "bảo hiểm xã hội",
    "xây dựng",
    "môi trường",
    "công chức",
    "phí",
    "khoáng sản",
    "thủy lợi",
    "giao thông",
    "đầu tư công",
    "y tế",
    "lao động",
    "hải quan",
    "tài sản công",
    "doanh nghiệp",
    "hội đồng nhân dân",
    "xử phạt vi phạm hành chính",
]
FACETS = [
    ("loai", "Thông tư"),
    ("loai", "Nghị định"),
    ("loai", "Luật"),
    ("nam", "2019"),
    ("nam", "2015"),
    ("coquan", "Chính phủ"),
    ("coquan", "Bộ Tài chính"),
    ("hieuluc", "Chưa xác định"),
]
MAX_REQUESTS = 200_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else 0.0


def request_path(rng: random.Random, uids: list[str]) -> str:
    roll = rng.random()
    if roll < 0.7:
        params = [("q", rng.choice(WORDS))]
        if rng.random() < 0.6:
            params.append(rng.choice(FACETS))
        return "/tim-kiem?" + urllib.parse.urlencode(params)
    if roll < 0.9:
        return "/van-ban/" + urllib.parse.quote(rng.choice(uids), safe=":")
    return "/api/search?" + urllib.parse.urlencode({"q": rng.choice(WORDS), "limit": 20})


def client(port: int, uids, stop_at: float, seed: int, out: list, errors: list) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    count = 0
    while time.monotonic() < stop_at and count < MAX_REQUESTS:
        path = request_path(rng, uids)
        started = time.perf_counter()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status >= 500 or response.status not in (200, 302):
                errors.append(f"{response.status} {path}")
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{type(exc).__name__} {path}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        out.append((time.perf_counter() - started) * 1000)
        count += 1
    conn.close()


def run_level(port: int, uids: list[str], clients: int, seconds: float) -> tuple[list[float], list[str], float]:
    """`clients` threads running the mix for `seconds`: (latencies in ms, errors, seconds taken)."""
    out: list[float] = []
    errors: list[str] = []
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(port, uids, stop_at, i, out, errors)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out, errors, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus" / "phapdien_articles.jsonl.gz"))
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--threads", type=int, default=8, help="threads per process (kb serve --threads)")
    parser.add_argument("--workers", type=int, default=1, help="serving processes (kb serve --workers; 1: waitress)")
    args = parser.parse_args()
    env = dict(os.environ, KB_INSTANCE=args.instance)
    stats = subprocess.run([KB, "stats", "--json"], env=env, capture_output=True, text=True)
    if stats.returncode != 0 or json.loads(stats.stdout)["documents"] == 0:
        print(f"importing {args.corpus} …", flush=True)
        subprocess.run([KB, "import", args.corpus], env=env, stdout=subprocess.DEVNULL)
    port = free_port()
    server = subprocess.Popen(
        [
            KB,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--threads",
            str(args.threads),
            "--workers",
            str(args.workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/")
                break
            except OSError:
                time.sleep(0.3)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        uids = []
        for word in WORDS:
            conn.request("GET", "/api/search?" + urllib.parse.urlencode({"q": word, "limit": 20}))
            uids += [h["uid"] for h in json.loads(conn.getresponse().read())["hits"]]
        kind = "waitress" if args.workers == 1 else f"gunicorn, {args.workers} worker processes of"
        print(f"server: {kind} {args.threads} threads; {len(uids)} document pages in the mix")
        for clients in [int(c) for c in args.clients.split(",")]:
            out, errors, took = run_level(port, uids, clients, args.seconds)
            print(
                f"{clients:3} clients: {len(out) / took:7.1f} req/s  p50 {statistics.median(out):7.1f} ms  "
                f"p95 {percentile(out, 95):7.1f} ms  p99 {percentile(out, 99):7.1f} ms  "
                f"{len(out)} requests, {len(errors)} errors {errors[:3]}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
