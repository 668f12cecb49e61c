"""Several serving processes while other processes write (issue 8): `kb serve --workers 2` (gunicorn, two
worker processes) runs as a real subprocess on a loopback port; client threads search, open document
pages and call the API without a pause while `kb import` stores new and changed documents in other
processes, and a second writer (`kb index update`) runs beside them.

No request may fail (anything but 2xx, a connection error, a lock timeout); both workers must keep
serving (none restarted); every new document must become findable through the search API, in every
worker. How long that took is printed (run with -s), never asserted: the machine is shared."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner

from kbcli.main import cli

KB = str(Path(sys.executable).parent / "kb")
ROUNDS = 3  # imports of new documents, one after another
NEW_PER_ROUND = 2
CHANGED_PER_ROUND = 3  # base documents whose text changes in each import (deletes in the index)
CLIENTS = 4
VISIBLE_WITHIN = 30.0  # generous bound: a failure means "never", not "slow"
WORDS = (
    "ngân sách địa phương học phí giáo dục đất đai thuế phí lệ phí hội đồng nhân dân tỉnh quyết định quy"
    " định mức thu chi hỗ trợ người dân cán bộ công chức viên chức xây dựng giao thông y tế"
).split()
TAGS = ("kiemtraalpha", "kiemtrabeta", "kiemtragamma", "kiemtradelta")  # one unique word per round

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="gunicorn workers and /proc: Linux only"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def document(i: int, tag: str = "", version: int = 0) -> dict:
    """A provincial resolution with five articles; `tag` is a word found nowhere else."""
    words = [WORDS[(i * 7 + k * 3 + version) % len(WORDS)] for k in range(60)]
    articles = [
        {
            "number": str(a),
            "heading": " ".join(words[a : a + 4]),
            "text": " ".join(words[a * 5 :] + words[: a * 5]) + (f" {tag}" if tag else "") + f" phiên bản {version}",
        }
        for a in range(1, 6)
    ]
    return {
        "uid": f"import:nq-{i}",
        "number": f"{i}/2024/NQ-HĐND",
        "title": f"Nghị quyết quy định {' '.join(words[:6])} {tag}".strip(),
        "doc_type": "Nghị quyết",
        "issuer": "HĐND tỉnh Lai Châu",
        "issued": "2024-05-01",
        "status": "Còn hiệu lực",
        "articles": articles,
    }


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return path


def run_kb(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([KB, *args], env=env, capture_output=True, text=True, timeout=120)


def children(pid: int) -> set[int]:
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def open_index_files(pid: int, index_dir: Path) -> int:
    """How many files of the index the process holds open: a worker that searched holds its searchers'."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith(str(index_dir))
        except OSError:
            pass
    return count


class Clients:
    """Threads sending a mix of requests without a pause; every failure is kept with its path."""

    def __init__(self, port: int, uids: list[str]):
        self.port, self.uids = port, uids
        self.stop = threading.Event()
        self.count = 0
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(CLIENTS)]

    def path(self, n: int) -> str:
        word = WORDS[(self.count + n) % len(WORDS)]
        uid = urllib.parse.quote(self.uids[(self.count * 3 + n) % len(self.uids)], safe=":")
        return [
            f"/api/search?q={urllib.parse.quote(word)}&limit=20",
            f"/tim-kiem?q={urllib.parse.quote(word)}&loai=Ngh%E1%BB%8B+quy%E1%BA%BFt",
            f"/van-ban/{uid}",
            f"/api/documents/{uid}",
            "/van-ban-moi",
            f"/tim-kiem?q={urllib.parse.quote(word)}&unit=article",
        ][(self.count + n) % 6]

    def run(self, n: int) -> None:
        conn, sent = None, 0
        while not self.stop.is_set():
            if conn is None or sent % 5 == 0:  # new connections now and then: accepted by either worker
                if conn is not None:
                    conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            path = self.path(n)
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
                if not 200 <= response.status < 300:
                    self.fail(f"{response.status} {path}: {body[:300]!r}")
            except (OSError, http.client.HTTPException) as exc:
                self.fail(f"{type(exc).__name__}: {exc} {path}")
                conn = None
            sent += 1
            with self.lock:
                self.count += 1
        if conn is not None:
            conn.close()

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)


def search_finds(port: int, word: str, uids: set[str]) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)  # a new connection: either worker
    try:
        conn.request("GET", f"/api/search?q={urllib.parse.quote(word)}&limit=20")
        response = conn.getresponse()
        data = json.loads(response.read())
        assert response.status == 200, data
        return uids <= {hit["uid"] for hit in data["hits"]}
    finally:
        conn.close()


@pytest.fixture
def base(instance, tmp_path) -> dict:
    """An instance with 30 stored and indexed documents; the environment of the commands run on it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env["KB_INSTANCE"] = str(instance)
    done = run_kb("import", str(write_jsonl(tmp_path / "base.jsonl", [document(i) for i in range(30)])), env=env)
    assert done.returncode == 0, done.stderr
    return env


# runs a command with its descriptors 3 to 3 + N - 1 taken, so that whatever it opens is numbered past them
FILL_FDS = """import os, resource, sys
n = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < n + 200:
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 200, hard))
for _ in range(n):
    os.set_inheritable(os.open(os.devnull, os.O_RDONLY), True)
os.execv(sys.argv[2], sys.argv[2:])
"""


def start_server(env: dict, log: Path, workers: int = 2, fill_fds: int = 0):
    """`kb serve` on a free port, answering searches; (port, process). The caller stops it.
    fill_fds: the server starts with that many descriptors open."""
    port = free_port()
    command = [KB, "serve", "--workers", str(workers), "--threads", "4", "--port", str(port)]
    if fill_fds:
        command = [sys.executable, "-c", FILL_FDS, str(fill_fds), *command]
    with open(log, "w") as handle:
        process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", "/api/search?q=thu%E1%BA%BF")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            finally:
                conn.close()
            assert time.monotonic() < deadline, "the server did not answer within 30 s:\n" + log.read_text()
            time.sleep(0.2)
    except BaseException:
        stop_server(process)
        raise
    return port, process


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def server(base, tmp_path):
    log = tmp_path / "serve.log"
    port, process = start_server(base, log)
    try:
        yield port, process, log
    finally:
        stop_server(process)


def test_two_worker_processes_serve_without_errors_while_imports_and_an_index_update_write(
    server, base, instance, tmp_path
):
    port, master, log = server
    deadline = time.monotonic() + 30  # the first worker may answer before the second has booted
    while True:
        booted = {int(p) for p in re.findall(r"Booting worker with pid: (\d+)", log.read_text())}
        if len(booted) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(booted) == 2 and children(master.pid) == booted, log.read_text()

    clients = Clients(port, [f"import:nq-{i}" for i in range(30)])
    for thread in clients.threads:
        thread.start()

    updates: list[subprocess.CompletedProcess] = []
    writing = threading.Event()

    def second_writer():  # `kb index update` again and again, beside the imports' own updates
        while not writing.is_set():
            updates.append(run_kb("index", "update", env=base))

    updater = threading.Thread(target=second_writer, daemon=True)
    updater.start()
    visible_after: list[float] = []
    imports = []
    try:
        for round_ in range(ROUNDS):
            tag = TAGS[round_]
            new = [document(100 + round_ * 10 + k, tag) for k in range(NEW_PER_ROUND)]
            changed = [
                document((round_ * CHANGED_PER_ROUND + k) % 30, version=round_ + 1) for k in range(CHANGED_PER_ROUND)
            ]
            done = run_kb("import", str(write_jsonl(tmp_path / f"new-{round_}.jsonl", new + changed)), env=base)
            committed = time.monotonic()  # the store and the index update are committed
            imports.append(done)
            assert done.returncode == 0, done.stderr
            wanted = {d["uid"] for d in new}
            while not search_finds(port, tag, wanted):
                assert time.monotonic() - committed < VISIBLE_WITHIN, (
                    f"{wanted} not found {VISIBLE_WITHIN} s after the import"
                )
                time.sleep(0.1)
            visible_after.append(time.monotonic() - committed)
    finally:
        writing.set()
        updater.join(150)
        time.sleep(1.5)  # searchers of threads that were idle notice the last commit too
        clients.stop.set()
        for thread in clients.threads:
            thread.join(90)

    # every new document is found by every worker: many new connections, each served by either
    for round_ in range(ROUNDS):
        wanted = {f"import:nq-{100 + round_ * 10 + k}" for k in range(NEW_PER_ROUND)}
        assert all(search_finds(port, TAGS[round_], wanted) for _ in range(12))
    print(
        f"\n{clients.count} requests by {CLIENTS} clients, {len(updates)} `kb index update` runs;"
        f" new documents findable {', '.join(f'{s:.2f}' for s in visible_after)} s after each import ended"
    )

    assert clients.failures == [], clients.failures[:10]
    assert clients.count > 50
    for done in imports + updates:
        assert done.returncode == 0, done.stderr
        assert "locked" not in done.stderr.lower() and "Traceback" not in done.stderr, done.stderr
    text = log.read_text()
    assert not re.search(r"Traceback|\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT|locked", text), text
    assert children(master.pid) == booted, text  # no worker died or was restarted
    for pid in booted:  # and each of them served searches
        assert open_index_files(pid, instance / "index") > 0, f"worker {pid} holds no searcher"


def test_serve_stops_gracefully_on_sigterm(server):
    port, master, log = server
    workers = children(master.pid)
    master.terminate()
    assert master.wait(40) == 0, log.read_text()
    text = log.read_text()
    assert "Shutting down: Master" in text and text.rstrip().endswith("Đã dừng."), text
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)


def test_one_process_serves_sockets_numbered_past_1023(base, tmp_path):
    # Each thread's searcher holds every file of the index open: a few hundred on a real corpus, so a
    # connection's socket may get a descriptor past 1,023. waitress's default select() loop then raised
    # "filedescriptor out of range in select()" and the server exited. Here the server starts with 1,100
    # descriptors open, so every socket it opens is numbered past 1,023.
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 1300:
        pytest.skip(f"the limit on open files ({hard}) is too low for this test")
    log = tmp_path / "serve.log"
    port, process = start_server(base, log, workers=1, fill_fds=1100)
    try:
        for _ in range(3):
            assert search_finds(port, "ngân", set())
        assert process.poll() is None, log.read_text()
    finally:
        stop_server(process)
    assert process.returncode == 0 and "Traceback" not in log.read_text(), log.read_text()


def test_several_workers_without_gunicorn_is_a_clear_error(instance, monkeypatch):
    monkeypatch.setitem(sys.modules, "gunicorn.app.base", None)  # as on Windows, or not installed
    result = CliRunner().invoke(cli, ["serve", "--workers", "2", "--port", str(free_port())])
    assert result.exit_code == 1
    assert "Lỗi: --workers 2 cần gunicorn, không dùng được" in result.output
    assert "hãy phục vụ bằng --workers 1 (waitress)" in result.output
