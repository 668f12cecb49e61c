"""Commands started at the same time, as cron and an administrator start them: `kb refresh`, `kb alerts run`
and `kb digest` as real subprocesses on one instance, with a local vbpl gateway (tests/test_scrapers_refresh)
and a local SMTP server.

The overlap is made certain, not likely: in the tests of two runs of one command, the gateway and the mail
server hold every request behind a gate (a threading.Event) until one of the two processes has exited, so
the process that took the lock is still holding it when the other one asks, whatever the machine's load.
When the three commands start together, the gateway holds the refresh's documents until the alerts run and
the digest have finished: the refresh is running (it holds its lock and its run) while they work, and what
they see of it is always the same (none of its documents), so what each address receives is always the same.

Nothing may be corrupted, duplicated or missed; a second run of a command that must not overlap stops at
once with "… đang chạy (tiến trình N); tệp khóa …" and exit status 1."""

from __future__ import annotations

import asyncio
import collections
import fcntl
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from test_mail import Inbox, free_port
from test_scrapers_http import no_internet  # noqa: F401 (fixture)
from test_scrapers_refresh import all_provinces, fast, gateway  # noqa: F401 (fixtures)

from index import build
from kb import config as kbconfig
from kb.locks import instance_lock
from kb.store import Store

KB = str(Path(sys.executable).parent / "kb")
FIXTURES = Path(__file__).parent / "fixtures" / "alerts"
SITE = "https://vanban.laichau.example"
FEES = "a@laichau.example"  # follows the search "học phí" (the week's fixtures change its results)
RULES = "b@laichau.example"  # follows "quy chế làm việc" (two documents the refresh brings)
DIGEST = "d@laichau.example"  # receives the weekly digest
# what a sequential run alerts: three new documents, and the old resolution the new one replaces
FEES_ALERTS = [
    "congbao_tinh:laichau-05-2024",
    "congbao_tinh:laichau-12-2026",
    "congbao_tinh:sonla-20-2026",
    "vbpl:9101-2026-nd-cp",
]
GATE_TIMEOUT = 120  # seconds a held request waits at most for its gate (a failing test does not hang)


class Gate:
    """Open by default; `hold()` makes the gateway and the mail server keep every request waiting until
    `release()`."""

    def __init__(self):
        self.open = threading.Event()
        self.open.set()

    def hold(self) -> None:
        self.open.clear()

    def release(self) -> None:
        self.open.set()

    def wait(self) -> None:
        self.open.wait(GATE_TIMEOUT)


GATEWAY, MAIL = Gate(), Gate()  # the vbpl gateway's documents; the SMTP server's messages


class GatedInbox(Inbox):
    async def handle_DATA(self, server, session, envelope):
        await asyncio.get_running_loop().run_in_executor(None, MAIL.wait)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(autouse=True)
def gates():
    for gate in (GATEWAY, MAIL):
        gate.release()
    yield
    for gate in (GATEWAY, MAIL):
        gate.release()


@pytest.fixture
def inbox():
    box = GatedInbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """An instance with the alert fixtures stored and indexed, three confirmed subscribers, and the week's
    documents stored after they subscribed (so alerts are due). Built once; each test gets a copy."""
    folder = tmp_path_factory.mktemp("concurrency") / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_INSTANCE=str(folder), KB_SITE_URL=SITE)
    kb("import", str(FIXTURES / "before.jsonl"), env=env)
    kb("alerts", "add", FEES, "--query", "học phí", "--every", "immediate", "--confirmed", env=env)
    kb("alerts", "add", RULES, "--query", "quy chế làm việc", "--every", "immediate", "--confirmed", env=env)
    kb("alerts", "add", DIGEST, "--digest", "--confirmed", env=env)
    with Store(folder / "kb.sqlite") as store:  # subscribed weeks ago: has not received last week's digest
        store.db.execute("UPDATE alert_subscriptions SET sent_through=NULL WHERE kind='digest'")
    kb("import", str(FIXTURES / "week.jsonl"), env=env)
    return folder


@pytest.fixture
def site(template, instance, gateway, all_provinces, inbox, monkeypatch):
    """A copy of the template; mail to the gated server; a gateway whose documents wait at the gate."""
    shutil.copytree(template, instance)
    for name, value in {
        "KB_SITE_URL": SITE,
        "KB_SMTP_HOST": "127.0.0.1",
        "KB_SMTP_PORT": str(inbox.port),
        "KB_SMTP_TIMEOUT": str(GATE_TIMEOUT),  # a request held at the gate is waiting, not lost
        "KB_HTTP_TIMEOUT": str(GATE_TIMEOUT),
        "KB_MAIL_FROM": "vanban@laichau.example",
    }.items():
        monkeypatch.setenv(name, value)

    @gateway.server.route("GET", r"/doc/(?P<doc_id>[^/]+)")
    def gated_detail(seen, doc_id):
        GATEWAY.wait()
        return gateway.serve(gateway.details, doc_id, seen)

    gateway.server.routes.insert(0, gateway.server.routes.pop())  # before the fast route
    return instance


def kb(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([KB, *args], env=env or dict(os.environ), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [KB, *args], env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def together(*commands: tuple[str, ...], held_until: int | None = None) -> list[tuple[int, str, str]]:
    """Start every command at once; wait for all; (exit status, stdout, stderr) of each, in order.
    held_until=k: the gateway holds its documents until the commands after the k-th have exited."""
    if held_until is not None:
        GATEWAY.hold()
    processes = [start(*command) for command in commands]
    results: list = [None] * len(processes)
    try:
        if held_until is not None:
            for i in range(held_until + 1, len(processes)):
                out, err = processes[i].communicate(timeout=300)
                results[i] = (processes[i].returncode, out, err)
    finally:
        GATEWAY.release()
    for i, process in enumerate(processes):
        if results[i] is None:
            out, err = process.communicate(timeout=300)
            results[i] = (process.returncode, out, err)
    return results


def overlapping(first: tuple[str, ...], second: tuple[str, ...]) -> list[tuple[int, str, str]]:
    """Start two commands at once with the gate held: the one that takes the lock waits at the gateway or
    the mail server until the other has exited, then the gate opens. (exit status, stdout, stderr) of each."""
    GATEWAY.hold()
    MAIL.hold()
    processes = [start(*first), start(*second)]
    finished: queue.Queue = queue.Queue()
    results: dict[int, tuple[int, str, str]] = {}

    def wait(i: int, process: subprocess.Popen) -> None:
        out, err = process.communicate(timeout=300)
        results[i] = (process.returncode, out, err)
        finished.put(i)

    threads = [threading.Thread(target=wait, args=(i, p), daemon=True) for i, p in enumerate(processes)]
    for thread in threads:
        thread.start()
    try:
        finished.get(timeout=300)  # the one refused by the lock (the other is held at the gate)
    finally:
        GATEWAY.release()
        MAIL.release()
    for thread in threads:
        thread.join(300)
    return [results[0], results[1]]


def refresh_args(gateway) -> tuple[str, ...]:
    return ("refresh", "vbpl", "--base-url", gateway.url)


def check_store(instance: Path, documents: int) -> Store:
    """The store is sound, holds `documents` documents each with one "new" event, and the index agrees."""
    store = Store(instance / "kb.sqlite")
    assert store.integrity_check() == "ok"
    assert store.count() == documents
    news = collections.Counter(e.uid for e in store.events() if e.kind == "new")
    assert set(news) == set(store.uids()) and set(news.values()) == {1}
    report = build.check(store, instance / "index")
    assert (report.missing, report.extra, report.ok) == ([], [], True)
    return store


def sent(store: Store, email: str) -> list[str]:
    """The uids alerted to `email`, one entry per time a document was sent."""
    rows = store.db.execute(
        "SELECT s.uid FROM alert_sent s JOIN alert_subscriptions a ON a.id = s.subscription_id WHERE a.email=?"
        " ORDER BY s.uid",
        (email,),
    )
    return [r[0] for r in rows]


def test_refresh_alerts_and_digest_started_together_corrupt_duplicate_and_miss_nothing(site, gateway, inbox):
    results = together(refresh_args(gateway), ("alerts", "run"), ("digest",), held_until=0)
    for (code, out, err), name in zip(results, ("refresh", "alerts run", "digest")):
        assert code == 0, (name, out, err)
        assert "Traceback" not in err
    assert "vbpl: 5 đã xem, 5 mới, 0 thay đổi, 0 không đổi, 0 lỗi" in results[0][1]
    # what the alerts run did not see yet (the refresh was still storing) the next run sends
    kb("alerts", "run")
    again = together(("digest",), ("alerts", "run"))
    assert [code for code, _, _ in again] == [0, 0]
    assert "Đã nhận bản tin tuần này từ trước: d@laichau.example" in again[0][1]

    with check_store(site, documents=3 + 6 + 5) as store:
        assert sent(store, FEES) == FEES_ALERTS
        assert sent(store, RULES) == ["vbpl:187649", "vbpl:188001"]
        digests = store.db.execute("SELECT email FROM alert_deliveries WHERE kind='digest'").fetchall()
        assert [r[0] for r in digests] == [DIGEST]
        assert [r["source"] for r in store.runs()] == ["vbpl"]
    assert sorted(rcpt[0] for _, rcpt, _ in inbox.received) == sorted([FEES, RULES, DIGEST])


def test_two_refreshes_started_together_one_says_already_running(site, gateway):
    (first, out1, err1), (second, out2, err2) = overlapping(refresh_args(gateway), refresh_args(gateway))
    assert sorted([first, second]) == [0, 1], (out1, err1, out2, err2)  # both outputs if not
    loser = err1 if first else err2
    assert "Lỗi: kb refresh đang chạy (tiến trình " in loser
    assert f"tệp khóa {site / 'refresh.lock'}" in loser and "Traceback" not in loser
    assert "vbpl: 5 đã xem, 5 mới" in (out2 if first else out1)
    with check_store(site, documents=3 + 6 + 5) as store:
        assert [r["source"] for r in store.runs()] == ["vbpl"]  # one run walked the source


def test_two_digests_started_together_send_one_message(site, inbox):
    (first, out1, err1), (second, out2, err2) = overlapping(("digest",), ("digest",))
    assert sorted([first, second]) == [0, 1], (out1, err1, out2, err2)  # both outputs if not
    assert "Lỗi: kb digest đang chạy (tiến trình " in (err1 if first else err2)
    assert f"đã gửi tới {DIGEST}" in (out2 if first else out1)
    assert [rcpt for _, rcpt, _ in inbox.received] == [[DIGEST]]


def test_two_alert_runs_started_together_send_each_alert_once(site, inbox):
    (first, out1, err1), (second, out2, err2) = overlapping(("alerts", "run"), ("alerts", "run"))
    assert sorted([first, second]) == [0, 1], (out1, err1, out2, err2)  # both outputs if not
    assert "Lỗi: kb alerts run đang chạy (tiến trình " in (err1 if first else err2)
    assert "Đã gửi 0 e-mail xác nhận và 1 thư thông báo" in (out2 if first else out1)
    kb("alerts", "run")
    assert [rcpt for _, rcpt, _ in inbox.received] == [[FEES]]
    with Store(site / "kb.sqlite") as store:
        assert sent(store, FEES) == FEES_ALERTS


@pytest.mark.parametrize(
    "name,what,args",
    [
        ("refresh", "kb refresh", ("refresh", "vbpl", "--no-index")),
        ("digest", "kb digest", ("digest",)),
        ("alerts", "kb alerts run", ("alerts", "run")),
    ],
)
def test_a_command_whose_lock_is_held_stops_at_once_with_a_clear_message(site, name, what, args, inbox):
    config = kbconfig.load()
    with instance_lock(config, name, what):
        began = time.monotonic()
        done = subprocess.run([KB, *args], env=dict(os.environ), capture_output=True, text=True, timeout=120)
        assert time.monotonic() - began < 30
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"Lỗi: {what} đang chạy (tiến trình {os.getpid()}); tệp khóa {site / (name + '.lock')}"
    )
    assert not inbox.received
    with Store(site / "kb.sqlite") as store:
        assert store.runs() == [] and store.count() == 9


def test_an_alerts_run_waits_for_a_rebuild_of_the_index_running_in_another_process(site, inbox):
    # After an upgrade that changes the index schema (or with the index deleted), the first command to
    # update the index rebuilds it, which takes minutes on a real corpus; `kb alerts run` from cron meanwhile
    # should wait for it, not fail. The other process is played by this one, holding the rebuild lock.
    shutil.rmtree(site / "index")
    (site / "index").mkdir()
    with open(site / "index" / ".rebuild.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        process = start("alerts", "run")
        time.sleep(3)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "Đã gửi 0 e-mail xác nhận và 1 thư thông báo" in out
