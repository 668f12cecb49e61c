#!/usr/bin/env python3
"""Crash consistency: kill `kb refresh` and `kb import` with SIGKILL at random moments, many times,
and check after each kill that nothing is damaged, that the search index never serves a document the
store does not have, and that a rerun completes with nothing lost.

    .venv/bin/python scripts/kill_test.py                       # 60 runs, both variants
    .venv/bin/python scripts/kill_test.py --runs 200 --seed 7 --import-docs 300 --refresh-copies 40
    .venv/bin/python scripts/kill_test.py --variants import --import-docs 0 --empty-every 1 --signal TERM

What one run does (the variant alternates: refresh, import, refresh, …):

1. copy the starting instance: a small *base* (documents already stored and indexed, so the kill
   hits the incremental index update) or, every `--empty-every`-th run of a variant, an empty one (the
   kill hits the first full index build);
2. start the command and SIGKILL it (or SIGTERM/SIGINT with `--signal`) after a random delay, uniform
   between 0 and the duration of a clean run of the same command (measured at the start, then averaged
   with the runs that ended before their kill moment, so the estimate follows the machine's load). The
   signal goes to the command's own process only, as a scheduler, the OOM killer or `kill PID` sends it;
   every process it had started (the index writers of a full build) must be gone within 10 s
   (`orphans` in the summary);
3. check the instance as the kill left it: the store opens, `PRAGMA integrity_check` says ok, the
   index agrees with the store (`index.build.check`: no uid in the index that the store lacks; missing
   uids only as far as the index's watermark is behind the store's events), and every hit of several
   searches (browse-all pages, words, article unit) is a document the store has;
4. on every other run of a variant, `kb index check` then `kb index check --repair` (or `kb index
   rebuild` when the kill left no index): afterwards the index must agree with the store (on the other
   runs the rerun alone must bring the index up to date);
5. rerun the same command to completion, and compare with a clean run: the same documents (uids and
   content digest), articles, change events by kind, and an index that agrees with the store.

The phase the kill hit is read from the state it left: *startup* (no document stored yet: Python
start-up, reading the input or the first listing pages), *storing* (some of the documents stored),
*indexing* (every document stored, the index behind), *after* (all done; the process was about to
exit or had exited).

Inputs (read in place, never copied into the project):
- refresh: the real vbpl gateway responses of `<shared>/pages` (documents 187649, 19761, 188001) served
  by a local HTTP server, each document repeated `--refresh-copies` times under other ids and numbers
  (so a walk has several pages and many document transactions), recorded once with
  `kb refresh vbpl --record`, then every run replays it with `--replay` (no network);
- import: the first `--import-docs` documents of `<shared>/corpus/phapdien_articles.jsonl.gz`
  (all 3 590 with `--import-docs 0`), imported once and exported with `kb export`: each run imports
  that export (document records, stored in batches of 200 as they are read), then updates the index;
- import-corpus (only when asked with `--variants`): `kb import --no-index` of the whole corpus file
  itself (42 544 article records, 3 590 documents stored in 18 batches once the file is read); the
  index is checked for documents the store lacks, not for completeness (--no-index leaves it behind).

Exit status 0 when every run passed, 1 otherwise. `--json FILE` writes every run's record.
"""

from __future__ import annotations

import argparse
import collections
import copy
import gzip
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import build  # noqa: E402
from index.errors import IndexError_  # noqa: E402
from index.search import SearchService  # noqa: E402
from kb.errors import KBError  # noqa: E402
from kb.store import Store  # noqa: E402

PHASES = ("startup", "storing", "indexing", "after")
SEARCHES = [
    ("", "document"),
    ("quy định", "document"),
    ("nghị quyết hội đồng nhân dân", "document"),
    ("trách nhiệm", "article"),
    ("thuế", "article"),
]
REAL_IDS = ("187649", "19761", "188001")
PAGE_SIZE = 10  # vbpl.page_size of every run: several pages, so a kill can land between two


# --- the recorded refresh --------------------------------------------------------------------------
class Gateway:
    """The vbpl gateway on 127.0.0.1: the real responses, and copies of them under other ids."""

    def __init__(self, pages: Path, copies: int):
        self.details: dict[str, bytes] = {}
        self.trees: dict[str, bytes] = {}
        items = []
        for number, doc_id in enumerate(REAL_IDS):
            raw = (pages / f"vbpl_api_doc_{doc_id}.json").read_bytes()
            tree = (pages / f"vbpl_api_provision_tree_{doc_id}.json").read_bytes()
            payload = json.loads(raw.decode("utf-8"), strict=False)
            for k in range(copies):
                if k == 0:
                    new_id, body = doc_id, raw  # the real response, byte for byte
                    data = payload["data"]
                else:
                    variant = copy.deepcopy(payload)
                    data = variant["data"]
                    new_id = f"{doc_id}{k:04d}"
                    data["id"] = new_id
                    so, _, rest = data["docNum"].partition("/")
                    data["docNum"] = f"{int(so) + 100 * k + number}/{rest}"
                    data["title"] = f"{data['title']} (bản thử {k})"
                    body = json.dumps(variant, ensure_ascii=False).encode("utf-8")
                # newest updated first, as the gateway orders its list
                updated = f"2026-05-{1 + k % 28:02d}T{(number * 7 + k) % 24:02d}:{k % 60:02d}:00"
                data = dict(data, updatedDate=updated)
                if k:
                    variant["data"]["updatedDate"] = updated
                    body = json.dumps(variant, ensure_ascii=False).encode("utf-8")
                self.details[new_id] = body
                self.trees[new_id] = tree
                items.append(
                    {
                        "id": new_id,
                        "title": data["title"],
                        "docAbs": None,
                        "docNum": data["docNum"],
                        "docType": data["docType"],
                        "issueDate": data["issueDate"],
                        "effFrom": data["effFrom"],
                        "effTo": data["effTo"],
                        "publicDate": data.get("publicDate"),
                        "updatedDate": updated if k else payload["data"]["updatedDate"],
                        "effStatus": data["effStatus"],
                        "documentMajors": [],
                        "isNew": False,
                        "documentRelatedList": data.get("documentRelatedList"),
                        "sourceDocumentId": None,
                        "isLw": data.get("isLw"),
                    }
                )
        items.sort(key=lambda item: item["updatedDate"] or "", reverse=True)
        self.items = items

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if method == "POST" and path == "/doc/all":
            query = json.loads(body or b"{}")
            size, page = int(query.get("pageSize") or 10), max(1, int(query.get("pageNumber") or 1))
            items = self.items[(page - 1) * size : page * size] or self.items[:size]  # past the end: page 1
            # no `total`: the walk ends on the page past the end, so a resumed walk finds it recorded too
            return 200, json.dumps(
                {
                    "success": True,
                    "statusCode": 200,
                    "message": "OK",
                    "data": {"current": page, "pageNumber": page - 1, "pageSize": size, "items": items},
                },
                ensure_ascii=False,
            ).encode("utf-8")
        for prefix, table in (("/doc/provision/tree/", self.trees), ("/doc/", self.details)):
            if method == "GET" and path.startswith(prefix) and path[len(prefix) :] in table:
                return 200, table[path[len(prefix) :]]
        return 404, b'{"success": false, "statusCode": 404, "message": "Not found", "data": null}'


def serve(gateway: Gateway) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _reply(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, content = gateway.answer(method, self.path.split("?")[0], body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def do_GET(self):
            self._reply("GET")

        def do_POST(self):
            self._reply("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- commands --------------------------------------------------------------------------------------
def kb_executable() -> str:
    beside = Path(sys.executable).parent / "kb"
    found = str(beside) if beside.exists() else shutil.which("kb")
    if not found:
        sys.exit("cannot find the `kb` command: run this script with the project's virtualenv python")
    return found


def environment(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    # the `kb` of this checkout, even when the virtualenv's editable install points at another one
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env.update(
        KB_INSTANCE=str(instance),
        KB_RELEVANCE_ALL="true",
        KB_VBPL_PAGE_SIZE=str(PAGE_SIZE),
        KB_REFRESH_ATTACHMENTS="false",
        KB_HTTP_DELAY="0",
        KB_HTTP_RETRIES="0",
        KB_HTTP_TIMEOUT="5",
    )
    return env


def run_kb(args: list[str], instance: Path, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [kb_executable(), *args], env=environment(instance), capture_output=True, text=True, timeout=timeout
    )


@dataclass
class Variant:
    name: str
    args: list[str]
    ok_codes: tuple[int, ...]  # the exit codes of a clean run (an import with rejected lines exits 1)
    indexes: bool = True  # False: run with --no-index (the index is left behind on purpose)


# --- processes (read from /proc: Linux) ----------------------------------------------------------------
ORPHAN_GRACE = 10.0  # seconds the children of a killed command may take to notice and end


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (empty where there is no /proc)."""
    if not Path("/proc").is_dir():
        return []
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat and stat[0] != "Z":
                parents[int(entry)] = stat[1]
    found, frontier = [], {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found.extend(frontier)
    return found


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    """The processes of `pids` still running (not zombies) after waiting up to `seconds`."""
    deadline = time.monotonic() + seconds
    alive = list(pids)
    while alive:
        alive = [p for p in alive if (stat := _proc_stat(p)) is not None and stat[0] != "Z"]
        if not alive or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    return alive


# --- state of an instance ----------------------------------------------------------------------------
def snapshot(instance: Path) -> dict:
    """What must be equal to a clean run's: documents (uids, content digest), articles, events by kind."""
    with Store(instance / "kb.sqlite") as store:
        digest = hashlib.sha256()
        uids = []
        for doc in store.iter_documents():
            uids.append(doc.uid)
            digest.update(doc.to_json().encode("utf-8") + b"\n")
        stats = store.stats()
        kinds = collections.Counter(r[0] for r in store.db.execute("SELECT kind FROM events"))
        return {
            "documents": len(uids),
            "articles": stats["articles"],
            "digest": digest.hexdigest(),
            "uids": uids,
            "events": dict(sorted(kinds.items())),
            "versions": stats["versions"],
        }


def document_count(db: Path) -> int:
    """Read-only count, without creating or migrating anything."""
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


@dataclass
class IndexState:
    present: bool
    missing: int = 0
    extra: int = 0
    watermark: int = 0
    store_event_id: int = 0
    ok: bool = False
    error: str | None = None

    @property
    def behind(self) -> bool:
        return self.watermark < self.store_event_id


def index_state(store: Store, index_dir: Path) -> IndexState:
    if build.current_dir(index_dir) is None:
        return IndexState(present=False, store_event_id=store.last_event_id())
    try:
        report = build.check(store, index_dir)
    except (IndexError_, KBError) as exc:
        return IndexState(present=True, error=str(exc), store_event_id=store.last_event_id())
    return IndexState(True, len(report.missing), len(report.extra), report.watermark, report.store_event_id, report.ok)


def search_hits_outside_store(store: Store, index_dir: Path) -> list[str]:
    """Every hit uid of the test searches that the store does not have ([] when there is no index)."""
    if build.current_dir(index_dir) is None:
        return []
    uids = set(store.uids())
    service = SearchService(index_dir)
    bad: list[str] = []
    try:
        for query, unit in SEARCHES:
            page = 1
            while True:
                result = service.search(query, unit=unit, page=page, per_page=100, facets=False, snippets=False)
                bad += [h.uid for h in result.hits + result.exact if h.uid not in uids]
                if page >= result.pages or page >= 20:
                    break
                page += 1
    finally:
        service.close()
    return bad


# --- one run -----------------------------------------------------------------------------------------
@dataclass
class RunRecord:
    number: int
    variant: str
    start: str
    kill_after: float
    killed: bool = False
    exited_after: float | None = None  # the command ended by itself before the kill moment, after this long
    phase: str = ""
    new_documents: int = 0
    index_present: bool = False
    index_behind: bool = False
    missing: int = 0
    extra: int = 0
    drift: bool = False  # the index disagrees with the store beyond its watermark lag
    bad_hits: int = 0
    orphans: int = 0  # processes the killed command started that were still running 10 s after the kill
    repair: str = ""  # "", "check --repair", "rebuild"
    repaired_ok: bool | None = None
    rerun_code: int | None = None
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def one_run(
    number: int,
    variant: Variant,
    start: str,
    starts: dict[str, Path],
    reference: dict,
    duration: float,
    work: Path,
    rng: random.Random,
    repair_first: bool,
    kill_signal: signal.Signals = signal.SIGKILL,
) -> RunRecord:
    began = time.monotonic()
    instance = work / f"run-{number:04d}"
    shutil.rmtree(instance, ignore_errors=True)
    shutil.copytree(starts[start], instance)
    record = RunRecord(number, variant.name, start, round(rng.uniform(0, duration), 3))
    fail = record.failures.append
    before = document_count(instance / "kb.sqlite")
    expected_new = reference["documents"] - before

    log = work / f"run-{number:04d}.stderr"
    with open(log, "w+", encoding="utf-8") as err:
        process = subprocess.Popen(
            [kb_executable(), *variant.args],
            env=environment(instance),
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
        started = time.monotonic()
        deadline = started + record.kill_after
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if process.poll() is None:
            children = descendants(process.pid)  # the index writers, when the kill hits a full build
            process.send_signal(kill_signal)  # the parent only, as a scheduler, the OOM killer or `kill PID` does
            record.killed = True
            survivors = wait_gone(children, ORPHAN_GRACE)
            if survivors:
                record.orphans = len(survivors)
                fail(f"{len(survivors)} child process(es) outlived the killed command by {ORPHAN_GRACE:.0f} s")
                for pid in survivors:
                    os.kill(pid, signal.SIGKILL)
        else:
            record.exited_after = round(time.monotonic() - started, 2)
        process.wait(60)
        err.seek(0)
        stderr = err.read()
    log.unlink()
    if not record.killed and process.returncode not in variant.ok_codes:
        fail(f"the command ended with {process.returncode} before the kill: {stderr.strip()[-300:]}")

    index_dir = instance / "index"
    # 1. the store as the kill left it
    try:
        store = Store(instance / "kb.sqlite")
    except KBError as exc:
        fail(f"the store does not open after the kill: {exc}")
        return finish(record, began, instance)
    try:
        integrity = store.integrity_check()
        if integrity != "ok":
            fail(f"integrity_check after the kill: {integrity}")
        record.new_documents = store.count() - before
        state = index_state(store, index_dir)
        record.index_present, record.index_behind = state.present, state.behind
        record.missing, record.extra = state.missing, state.extra
        if state.error:
            fail(f"the index cannot be read after the kill: {state.error}")
        if state.extra:
            fail(f"the index has {state.extra} document(s) the store does not have")
        # missing documents are expected only while the watermark is behind the store's events
        record.drift = bool(state.extra or (state.present and state.missing and not state.behind))
        if state.present and state.missing and not state.behind:
            fail(f"{state.missing} document(s) missing from the index although its watermark is up to date")
        try:
            bad = search_hits_outside_store(store, index_dir)
        except Exception as exc:  # noqa: BLE001 - any failure to search is a finding
            fail(f"searching after the kill failed: {type(exc).__name__}: {exc}")
            bad = []
        record.bad_hits = len(bad)
        if bad:
            fail(f"searches return {len(bad)} hit(s) the store does not have, e.g. {bad[:3]}")
        if record.new_documents <= 0 and expected_new > 0:
            record.phase = "startup"
        elif record.new_documents < expected_new:
            record.phase = "storing"
        elif variant.indexes and (not state.present or state.behind or state.missing):
            record.phase = "indexing"
        else:
            record.phase = "after"
    finally:
        store.close()

    # 2. the repair tools, on the state the kill left (every other run)
    if repair_first and variant.indexes:
        if record.index_present:
            checked = run_kb(["index", "check"], instance)
            consistent = not (record.missing or record.extra or record.index_behind)
            if consistent != (checked.returncode == 0):
                fail(
                    f"`kb index check` exited {checked.returncode} on an index that "
                    f"{'agrees' if consistent else 'disagrees'}: {checked.stdout.strip()[-200:]}"
                )
            if checked.returncode != 0:
                record.repair = "check --repair"
                repaired = run_kb(["index", "check", "--repair"], instance)
                if repaired.returncode != 0:
                    fail(f"`kb index check --repair` exited {repaired.returncode}: {repaired.stderr.strip()[-300:]}")
        else:
            record.repair = "rebuild"
            rebuilt = run_kb(["index", "rebuild"], instance)
            if rebuilt.returncode != 0:
                fail(f"`kb index rebuild` exited {rebuilt.returncode}: {rebuilt.stderr.strip()[-300:]}")
        if record.repair:
            with Store(instance / "kb.sqlite") as store:
                after = index_state(store, index_dir)
            record.repaired_ok = after.ok
            if not after.ok:
                fail(f"after `kb index {record.repair}` the index still disagrees: {after}")

    # 3. the rerun completes, and nothing is lost
    rerun = run_kb(variant.args, instance)
    record.rerun_code = rerun.returncode
    if rerun.returncode not in variant.ok_codes:
        fail(f"the rerun exited {rerun.returncode}: {rerun.stderr.strip()[-400:]}")
    try:
        final = snapshot(instance)
    except KBError as exc:
        fail(f"the store does not open after the rerun: {exc}")
        return finish(record, began, instance)
    for key in ("documents", "articles", "digest", "events", "versions"):
        if final[key] != reference[key]:
            if key == "digest" and final["uids"] != reference["uids"]:
                lost = sorted(set(reference["uids"]) - set(final["uids"]))
                more = sorted(set(final["uids"]) - set(reference["uids"]))
                fail(f"after the rerun: {len(lost)} document(s) lost {lost[:3]}, {len(more)} extra {more[:3]}")
            else:
                fail(f"after the rerun: {key} {str(final[key])[:120]} != clean run's {str(reference[key])[:120]}")
    with Store(instance / "kb.sqlite") as store:
        if store.integrity_check() != "ok":
            fail("integrity_check after the rerun is not ok")
        final_index = index_state(store, index_dir)
        if variant.indexes and not final_index.ok:
            fail(f"after the rerun the index disagrees with the store: {final_index}")
        if final_index.extra or final_index.error:
            fail(f"after the rerun the index has documents the store lacks, or cannot be read: {final_index}")
        bad = search_hits_outside_store(store, index_dir)
        if bad:
            fail(f"after the rerun searches return {len(bad)} hit(s) the store does not have")
    return finish(record, began, instance)


def finish(record: RunRecord, began: float, instance: Path) -> RunRecord:
    record.seconds = round(time.monotonic() - began, 1)
    if not record.failures:
        shutil.rmtree(instance, ignore_errors=True)  # failed runs are kept for inspection
    return record


# --- preparation ---------------------------------------------------------------------------------------
def make_import_file(corpus: Path, work: Path, docs: int) -> tuple[Path, Path]:
    """(export of the first `docs` documents of the corpus, a base instance with a few other documents)."""
    articles = work / "subset-articles.jsonl"
    base_articles = work / "base-articles.jsonl"
    seen: list[str] = []
    with (
        gzip.open(corpus, "rt", encoding="utf-8") as src,
        open(articles, "w", encoding="utf-8") as out,
        open(base_articles, "w", encoding="utf-8") as base,
    ):
        for line in src:
            try:
                doc_id = json.loads(line).get("doc_id")
            except ValueError:
                continue
            if doc_id and doc_id not in seen:
                seen.append(doc_id)
            position = seen.index(doc_id) if doc_id in seen else -1
            if docs == 0 or 0 <= position < docs:
                out.write(line)
            elif docs and docs <= position < docs + 20:
                base.write(line)
            elif docs and position >= docs + 20:
                break
    scratch = work / "scratch-import"
    result = run_kb(["import", str(articles), "--no-index"], scratch)
    if result.returncode not in (0, 1):
        sys.exit(f"preparing the import input failed: {result.stderr}")
    export = work / "import-input.jsonl"
    result = run_kb(["export", "-o", str(export)], scratch)
    if result.returncode != 0:
        sys.exit(f"exporting the import input failed: {result.stderr}")
    shutil.rmtree(scratch)
    return export, base_articles


def prepare(args) -> tuple[list[Variant], dict[str, Path], Path]:
    work = Path(args.work or tempfile.mkdtemp(prefix="kb-kill-test-"))
    work.mkdir(parents=True, exist_ok=True)
    shared = Path(args.shared).resolve()
    pages, corpus = shared / "pages", shared / "corpus" / "phapdien_articles.jsonl.gz"
    for path in (pages / "vbpl_api_doc_187649.json", corpus):
        if not path.exists():
            sys.exit(f"{path} is missing: give --shared DIR (the shared/ folder beside the checkout)")
    print(f"work folder: {work}", flush=True)

    # the recording of one refresh, made once against the local gateway
    recording = work / "recording"
    url_file = work / "recording-url.txt"  # a replay must name the same base URL as the recording
    if not recording.exists():
        gateway = Gateway(pages, args.refresh_copies)
        server = serve(gateway)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = run_kb(
            ["refresh", "vbpl", "--base-url", url, "--record", str(recording), "--no-index"], work / "scratch-record"
        )
        if result.returncode != 0:
            sys.exit(f"recording the refresh failed: {result.stdout}{result.stderr}")
        # A walk that resumes in the middle reads past the end once more than a fresh walk does (the gateway
        # answers a page past the end with page 1 again, new to a walk that began later): record those pages.
        from scrapers.http import Fetcher

        fetcher = Fetcher(delay=0, retries=0, record_dir=recording)
        last = -(-len(gateway.items) // PAGE_SIZE)
        for page in range(last + 1, last + 4):
            fetcher.request("POST", f"{url}/doc/all", json_body={"pageNumber": page, "pageSize": PAGE_SIZE})
        server.shutdown()
        server.server_close()
        url_file.write_text(url, encoding="utf-8")
        print(f"recorded: {result.stdout.strip()} ({len(list(recording.glob('*.json')))} responses)", flush=True)
        shutil.rmtree(work / "scratch-record")

    export, base_articles = make_import_file(corpus, work, args.import_docs)
    starts = {"empty": work / "start-empty", "base": work / "start-base"}
    for path in starts.values():
        shutil.rmtree(path, ignore_errors=True)
    starts["empty"].mkdir()
    if base_articles.stat().st_size:
        result = run_kb(["import", str(base_articles)], starts["base"])  # stored and indexed
        if result.returncode not in (0, 1):
            sys.exit(f"preparing the base instance failed: {result.stderr}")
    else:
        shutil.copytree(starts["empty"], starts["base"], dirs_exist_ok=True)
    variants = [
        Variant(
            "refresh",
            ["refresh", "vbpl", "--base-url", url_file.read_text(encoding="utf-8"), "--replay", str(recording)],
            (0,),
        ),
        Variant("import", ["import", str(export)], (0, 1)),
        # the whole real corpus file, read in place; --no-index: its first index build alone takes minutes
        Variant("import-corpus", ["import", str(corpus), "--no-index"], (0, 1), indexes=False),
    ]
    return variants, starts, work


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=60, help="runs in all (default 60)")
    parser.add_argument(
        "--variants",
        default="refresh,import",
        help="comma-separated: refresh, import, import-corpus (the whole 42 544-article corpus "
        "file with --no-index: the kill hits the store's batches)",
    )
    parser.add_argument(
        "--shared",
        default=str(ROOT.parent / "shared"),
        help="the shared/ folder with pages/ and corpus/ (default ../shared beside the checkout)",
    )
    parser.add_argument("--work", help="working folder (default a new temporary folder)")
    parser.add_argument(
        "--import-docs",
        type=int,
        default=300,
        help="documents of phapdien_articles.jsonl.gz in the import input (0 = all 3 590)",
    )
    parser.add_argument(
        "--refresh-copies",
        type=int,
        default=40,
        help="how many times each real vbpl document is served (under other ids)",
    )
    parser.add_argument(
        "--empty-every",
        type=int,
        default=4,
        help="every N-th run of a variant starts from an empty instance (first index build), the others from "
        "the base instance (incremental index update)",
    )
    parser.add_argument(
        "--signal",
        choices=["KILL", "TERM", "INT"],
        default="KILL",
        help="the signal sent to the command's own process only (never its children): KILL as the OOM killer, "
        "TERM as `kill PID` or systemd; either way no child may outlive it by 10 s (default KILL)",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (printed; reuse it to repeat a series)")
    parser.add_argument("--json", help="write every run's record to this file")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"seed {seed}", flush=True)

    variants, starts, work = prepare(args)
    chosen = [v for v in variants if v.name in args.variants.split(",")]
    if not chosen:
        sys.exit(f"no such variant in {args.variants!r}")

    # clean runs: the reference state and the duration the kill moments are drawn from
    references: dict[tuple[str, str], dict] = {}
    durations: dict[tuple[str, str], float] = {}
    for variant in chosen:
        for start in starts:
            instance = work / f"clean-{variant.name}-{start}"
            shutil.rmtree(instance, ignore_errors=True)
            shutil.copytree(starts[start], instance)
            began = time.monotonic()
            result = run_kb(variant.args, instance)
            durations[variant.name, start] = time.monotonic() - began
            if result.returncode not in variant.ok_codes:
                sys.exit(f"the clean {variant.name} run failed ({result.returncode}): {result.stderr[-1000:]}")
            references[variant.name, start] = snapshot(instance)
            with Store(instance / "kb.sqlite") as store:
                state = index_state(store, instance / "index")
            if (variant.indexes and not state.ok) or state.extra or state.error:
                sys.exit(f"after a clean {variant.name} run the index disagrees with the store: {state}")
            print(
                f"clean {variant.name} from {start}: {durations[variant.name, start]:.1f} s, "
                f"{references[variant.name, start]['documents']} documents, "
                f"{references[variant.name, start]['articles']} articles",
                flush=True,
            )
            shutil.rmtree(instance)

    records: list[RunRecord] = []
    began = time.monotonic()
    try:
        for number in range(1, args.runs + 1):
            variant = chosen[(number - 1) % len(chosen)]
            nth = (number - 1) // len(chosen) + 1  # the nth run of this variant
            start = "empty" if args.empty_every and nth % args.empty_every == 0 else "base"
            record = one_run(
                number,
                variant,
                start,
                starts,
                references[variant.name, start],
                durations[variant.name, start],
                work,
                rng,
                repair_first=nth % 2 == 0,
                kill_signal=signal.Signals["SIG" + args.signal],
            )
            records.append(record)
            if record.exited_after is not None:  # the machine is faster now than during the clean run
                durations[variant.name, start] = (durations[variant.name, start] + record.exited_after) / 2
            status = "FAIL " + "; ".join(record.failures) if record.failures else "ok"
            print(
                f"run {number:3d} {variant.name:<13} from {start:<5} kill at {record.kill_after:5.1f} s "
                f"{'(had exited)' if not record.killed else '':<12} phase {record.phase:<8} "
                f"index {'behind' if record.index_behind else 'level' if record.index_present else 'none':<6} "
                f"{('repair: ' + record.repair) if record.repair else '':<22} {record.seconds:5.1f} s  {status}",
                flush=True,
            )
    except KeyboardInterrupt:  # Ctrl-C: the summary of the runs done so far
        print(f"\ninterrupted after {len(records)} run(s)")

    print_summary(records, seed, args)
    print(f"\n{len(records)} runs in {(time.monotonic() - began) / 60:.1f} min")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"seed": seed, "args": vars(args), "runs": [asdict(r) for r in records]}, indent=1),
            encoding="utf-8",
        )
    failed = [r for r in records if r.failures]
    if not failed:
        shutil.rmtree(work, ignore_errors=True) if not args.work else None
    return 1 if failed else 0


def print_summary(records: list[RunRecord], seed: int, args) -> None:
    print(f"\nSummary (seed {seed})")
    header = (
        f"{'variant':<14}{'runs':>5}{'killed':>8}"
        + "".join(f"{p:>10}" for p in PHASES)
        + f"{'behind':>8}{'drift':>7}{'badhits':>9}{'orphans':>9}{'repaired':>10}{'failed':>8}"
    )
    print(header)
    print("-" * len(header))
    for name in sorted({r.variant for r in records}) + ["all"]:
        rows = [r for r in records if name in ("all", r.variant)]
        killed = [r for r in rows if r.killed]
        phases = collections.Counter(r.phase for r in killed)
        repaired = sum(1 for r in rows if r.repair and r.repaired_ok)
        print(
            f"{name:<14}{len(rows):>5}{len(killed):>8}"
            + "".join(f"{phases.get(p, 0):>10}" for p in PHASES)
            + f"{sum(r.index_behind for r in rows):>8}{sum(r.drift for r in rows):>7}"
            f"{sum(r.bad_hits for r in rows):>9}{sum(r.orphans for r in rows):>9}{repaired:>10}{sum(bool(r.failures) for r in rows):>8}"
        )
    print("\nbehind: the kill left the index behind the store's events (expected; the next update catches up)")
    print("drift: the index disagreed with the store beyond that (a failure); badhits: search hits the store lacks")
    print("orphans: child processes (index writers) still running 10 s after their command was killed (a failure)")
    print(
        "repaired: runs where `kb index check --repair` / `kb index rebuild` was run on the killed state and "
        "left an index that agrees with the store"
    )
    for r in records:
        if r.failures:
            print(f"run {r.number} ({r.variant} from {r.start}, kill at {r.kill_after} s, phase {r.phase}):")
            for failure in r.failures:
                print(f"    {failure}")


if __name__ == "__main__":
    sys.exit(main())
