#!/usr/bin/env python3
"""Rerun of the outside tester's attacks of issue 20 against a real `kb serve`, on loopback; prints figures.

    .venv/bin/python scripts/attacks_issue20.py --instance /path/to/instance [--workers 1|2]

The instance must hold documents and an index (e.g. `kb import ../shared/corpus/phapdien_articles.jsonl.gz`).
Attacks: the 130,000-citation check with a small check at once, a cross-site check, a body declared 1,000 MB,
--slow slow sockets then a search, a hostile Host header; then the modes of the instance's private files.
The login throttle is rerun by tests/test_web_admin_throttle.py. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KB = str(Path(sys.executable).parent / "kb")
FORMS = (
    "Luật Ngân sách nhà nước số 83/2015/QH13",
    "Nghị định số 163/2016/NĐ-CP",
    "Thông tư số 342/2016/TT-BTC",
    "Nghị quyết số 05/2023/NQ-HĐND",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(instance: Path, workers: int, env: dict) -> tuple[int, subprocess.Popen]:
    port = free_port()
    process = subprocess.Popen(
        [KB, "serve", "--workers", str(workers), "--port", str(port)],
        env=dict(env, KB_INSTANCE=str(instance)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            if request(port, "GET", "/api/search?q=thu%E1%BA%BF", timeout=5)[0] == 200:
                return port, process
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit("the server did not start")


def request(port: int, method: str, path: str, body: bytes | None = None, headers=None, timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def checker(port: int, pid: int) -> None:
    huge = "\n".join(f"Căn cứ {FORMS[i % 4]};" for i in range(130_000)).encode()
    small = json.dumps({"text": "Căn cứ Luật Ngân sách nhà nước số 83/2015/QH13;"}).encode()
    results = {}

    def send(name, body):
        began = time.monotonic()
        status, data = request(port, "POST", "/api/check", body, {"Content-Type": "application/json"})
        results[name] = (status, len(data), time.monotonic() - began, data[:160])

    big = json.dumps({"text": huge.decode()}).encode()
    large = threading.Thread(target=send, args=("large", big))
    large.start()
    time.sleep(0.5)
    send("small", small)
    large.join()
    print(
        f"checker: 130,000 citations ({len(big) / 1e6:.1f} MB): status {results['large'][0]}, "
        f"{results['large'][1]} bytes in {results['large'][2]:.1f} s: {results['large'][3].decode(errors='replace')}"
    )
    print(f"checker: small check meanwhile: status {results['small'][0]} in {results['small'][2]:.2f} s")
    print(f"checker: server peak resident size {rss_mb(pid):.0f} MB")
    status, data = request(
        port, "POST", "/api/check", small, {"Content-Type": "application/json", "Origin": "https://evil.example"}
    )
    print(f"checker: cross-site POST (Origin evil.example): status {status}")


def oversized(port: int, spool: Path) -> None:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"POST /api/check HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (1000 * 2**20))
    sent, answer = 0, b""
    sock.settimeout(0.05)
    began = time.monotonic()
    while sent < 1000 * 2**20 and time.monotonic() - began < 120:
        try:
            sock.sendall(b"x" * 2**20)
            sent += 2**20
            answer = sock.recv(100)
            if answer:
                break
        except TimeoutError:
            continue
        except OSError:
            break
    sock.close()
    largest = max((p.stat().st_size for p in spool.rglob("*") if p.is_file()), default=0)
    print(
        f"oversized body (1,000 MB declared): {answer[:12]!r} after {sent / 2**20:.0f} MB sent; "
        f"largest temporary file {largest / 2**20:.1f} MB"
    )


def slow(port: int, n: int) -> None:
    held = []
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            held.append(s)
        except OSError:
            break
    began = time.monotonic()
    try:
        status = request(port, "GET", "/api/search?q=ng%C3%A2n+s%C3%A1ch", timeout=90)[0]
    except OSError as exc:
        status = f"no answer ({exc})"
    print(
        f"slow clients: {len(held)} slow sockets open: a search answered {status} in {time.monotonic() - began:.1f} s"
    )
    for s in held:
        s.close()


def hostile_host(port: int) -> None:
    status, data = request(port, "GET", "/opensearch.xml", headers={"Host": "evil.example"})
    print(f"Host: evil.example: opensearch.xml names evil.example: {b'evil.example' in data}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--slow", type=int, default=300)
    args = parser.parse_args()
    instance = Path(args.instance)
    spool = Path(tempfile.mkdtemp(prefix="kb-spool-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(TMPDIR=str(spool), KB_WEB_CHECK_LIMIT="0")
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    port, process = start(instance, args.workers, env)
    try:
        print(f"kb serve --workers {args.workers} on port {port}")
        checker(port, process.pid)
        oversized(port, spool)
        slow(port, args.slow)
        hostile_host(port)
        for name in ("kb.sqlite", "kb.sqlite-wal", "kb.sqlite-shm", "secret.key"):
            path = instance / name
            if path.exists():
                print(f"{name}: mode {oct(path.stat().st_mode & 0o777)}")
    finally:
        process.terminate()
        process.wait(60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
