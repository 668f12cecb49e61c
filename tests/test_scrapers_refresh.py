"""`kb refresh` end to end against a real local HTTP server (http.server on 127.0.0.1) that replays the
real vbpl gateway responses of ../shared/pages, the real Sơn La gazette pages, and hand-made
fixtures where nothing real is saved (tests/fixtures/scrapers, see its README)."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import docx
import pytest
from conftest import shared_file
from test_scrapers_http import LocalServer, Reply, make_pdf, no_internet  # noqa: F401 (fixture)

from kb import config as kbconfig
from kb import vocab
from kb.store import Store
from kbcli.main import cli
from scrapers import build
from scrapers.http import Fetcher
from scrapers.refresh import Refresher

FIXTURES = Path(__file__).parent / "fixtures" / "scrapers"
REAL_IDS = ("187649", "188001", "19761")
UUIDS = ("af28f900-429e-11f1-ac02-3babf827b65c", "c94b9430-424b-11f1-b2c9-df1b860af5cf")
PDF_188001 = [
    [
        "HỘI ĐỒNG NHÂN DÂN TỈNH ĐỒNG NAI",
        "Số: 01/2026/NQ-HĐND",
        "NGHỊ QUYẾT",
        "Ban hành Quy chế làm việc của Hội đồng nhân dân tỉnh Đồng Nai khóa XI, nhiệm kỳ 2026 - 2031",
        "Điều 1. Ban hành kèm theo Nghị quyết này Quy chế làm việc của Hội đồng nhân dân tỉnh.",
    ],
    [
        "Điều 2. Hiệu lực thi hành",
        "Nghị quyết này có hiệu lực kể từ ngày 10 tháng 4 năm 2026.",
        "Điều 3. Tổ chức thực hiện",
        "Giao Thường trực Hội đồng nhân dân tỉnh tổ chức thực hiện.",
    ],
]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"), strict=False)


def list_item(detail: dict) -> dict:
    """A `POST /doc/all` item for a detail response, with the keys of the real list items."""
    d = detail["data"]
    return {
        "id": d["id"],
        "title": d["title"],
        "docAbs": None,
        "docNum": d["docNum"],
        "docType": d["docType"],
        "issueDate": d["issueDate"],
        "effFrom": d["effFrom"],
        "effTo": d["effTo"],
        "publicDate": d["publicDate"],
        "updatedDate": d["updatedDate"],
        "effStatus": d["effStatus"],
        "documentMajors": [],
        "isNew": False,
        "documentRelatedList": d["documentRelatedList"],
        "sourceDocumentId": None,
        "isLw": d["isLw"],
    }


class Gateway:
    """The vbpl gateway (and the vbpl.vn pages under /site) on a LocalServer."""

    def __init__(self, server: LocalServer):
        self.server = server
        self.url = server.url
        sample = load(shared_file("pages", "vbpl_api_doc_all_page1_sample.json"))
        self.details: dict[str, bytes] = {}
        self.trees: dict[str, bytes] = {}
        self.files: dict[str, bytes] = {}
        self.blobs: dict[str, bytes] = {}
        for doc_id in REAL_IDS:  # the real responses, byte for byte
            self.details[doc_id] = shared_file("pages", f"vbpl_api_doc_{doc_id}.json").read_bytes()
            self.trees[doc_id] = shared_file("pages", f"vbpl_api_provision_tree_{doc_id}.json").read_bytes()
        for doc_id in UUIDS:
            self.details[doc_id] = (FIXTURES / "vbpl" / f"doc_{doc_id}.json").read_bytes()
        self.trees[UUIDS[0]] = self.trees["188001"]  # the real empty tree
        self.files["188001"] = (FIXTURES / "vbpl" / "files_188001.json").read_bytes()
        self.files[UUIDS[0]] = (FIXTURES / "vbpl" / f"files_{UUIDS[0]}.json").read_bytes()
        self.blobs["vbpl/188001/VanBanGoc_01.2026.NQ-HĐND. NGHI QUYET QUY CHE HDND.pdf"] = make_pdf(PDF_188001)
        self.blobs[f"vbpl/{UUIDS[0]}/1628_QD_QD_2026.pdf"] = make_pdf([[""], [""]], scanned=True)
        # The list: the two real items, then the three real details, newest updated first.
        self.items = sample["data"]["items"] + [list_item(load_bytes(self.details[i])) for i in REAL_IDS[::-1]]
        self.items.sort(key=lambda item: item["updatedDate"] or "", reverse=True)
        self.total: int | None = None
        self.require_session = False
        server.route("POST", "/doc/all")(self.doc_all)
        server.route("GET", r"/doc/provision/tree/(?P<doc_id>[^/]+)")(
            lambda seen, doc_id: self.serve(self.trees, doc_id, seen)
        )
        server.route("GET", r"/doc/minio/buckets/vbpl/folders/(?P<doc_id>[^/]+)/files")(
            lambda seen, doc_id: self.serve(self.files, doc_id, seen)
        )
        server.route("GET", r"/doc/(?P<doc_id>[^/]+)")(lambda seen, doc_id: self.serve(self.details, doc_id, seen))
        server.route("GET", r"/s3/(?P<key>.+)")(self.s3)
        server.route("GET", r"/site(?P<page>/.*)")(self.site_page)  # vbpl.vn: home and document pages

    def doc_all(self, seen):
        if self.require_session and "session=ok" not in seen.headers.get("Cookie", ""):
            return Reply(401, b'{"success": false, "statusCode": 401, "message": "Unauthorized"}')
        body = seen.json
        size, page = int(body.get("pageSize") or 10), max(1, int(body.get("pageNumber") or 1))
        items = self.items[(page - 1) * size : page * size] or self.items[:size]  # past the end: page 1 again
        return Reply(
            body=json.dumps(
                {
                    "success": True,
                    "statusCode": 200,
                    "message": "OK",
                    "messageCode": "ok",
                    "debugMessage": "",
                    "data": {
                        "current": page,
                        "total": self.total if self.total is not None else len(self.items),
                        "pageNumber": page - 1,
                        "pageSize": size,
                        "items": items,
                    },
                    "total": 1,
                },
                ensure_ascii=False,
            )
        )

    def serve(self, table, doc_id, seen):
        if self.require_session and "session=ok" not in seen.headers.get("Cookie", ""):
            return Reply(401, b'{"success": false, "statusCode": 401, "message": "Unauthorized"}')
        if doc_id not in table:
            return Reply(404, b'{"success": false, "statusCode": 404, "message": "Not found", "data": null}')
        return Reply(body=table[doc_id].replace(b"{base}", self.url.encode()))

    def s3(self, seen, key):
        data = self.blobs.get(unquote(key))
        return Reply(body=data, content_type="application/pdf") if data else Reply(404, b"NoSuchKey")

    def site_page(self, seen, page):
        return Reply(
            body="<html><head><title>vbpl.vn</title></head><body><div id='__next'></div></body></html>",
            headers={"Set-Cookie": "session=ok; Path=/"},
            content_type="text/html; charset=utf-8",
        )

    # --- changing the source between runs --------------------------------------------------------
    def set_status(self, doc_id: str, code: str, name: str, updated: str) -> None:
        """The document's status changes at the source: detail and list item, moved to the top."""
        detail = load_bytes(self.details[doc_id])
        detail["data"]["effStatus"] = {"id": "00000000-0000-0000-0000-0000000000ff", "name": name, "code": code}
        detail["data"]["updatedDate"] = updated
        self.details[doc_id] = json.dumps(detail, ensure_ascii=False, indent=1).encode()
        self.items = [list_item(detail)] + [i for i in self.items if i["id"] != doc_id]

    def requests_for(self, doc_id: str):
        return [s for s in self.server.log if doc_id in unquote(s.path)]


def load_bytes(data: bytes) -> dict:
    return json.loads(data.decode("utf-8"), strict=False)


@pytest.fixture
def fast(monkeypatch, instance):
    """Tiny delays and timeouts for tests; the instance fixture already cleared other KB_ variables."""
    for name, value in {
        "KB_HTTP_DELAY": "0",
        "KB_HTTP_BACKOFF": "0.01",
        "KB_HTTP_TIMEOUT": "2",
        "KB_HTTP_RETRIES": "3",
        "KB_HTTP_MAX_WAIT": "5",
    }.items():
        monkeypatch.setenv(name, value)
    return instance


@pytest.fixture
def gateway(fast, monkeypatch):
    server = LocalServer()
    gw = Gateway(server)
    monkeypatch.setenv("KB_VBPL_SITE_URL", server.url + "/site")
    yield gw
    server.close()


@pytest.fixture
def all_provinces(monkeypatch):
    """The three real documents are from Đồng Nai and Huế: make those provinces relevant."""
    monkeypatch.setenv("KB_RELEVANCE_PROVINCES", "Đồng Nai,Huế")


def open_store(instance: Path) -> Store:
    return Store(instance / "kb.sqlite")


def summary_line(output: str, source: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(source + ":") and " đã xem, " in line)


# --- done when ------------------------------------------------------------------------------------


def test_done_when_refresh_stores_the_real_documents_exactly_as_the_gateway_says(
    runner, gateway, all_provinces, instance
):
    result = runner.invoke(cli, ["refresh", "--base-url", gateway.url, "--source", "vbpl"])
    assert result.exit_code == 0, result.output
    assert summary_line(result.output, "vbpl").startswith("vbpl: 5 đã xem, 5 mới, 0 thay đổi, 0 không đổi, 0 lỗi")
    with open_store(instance) as store:
        for doc_id in REAL_IDS:
            raw = load(shared_file("pages", f"vbpl_api_doc_{doc_id}.json"))["data"]
            doc = store.get(f"vbpl:{doc_id}")
            assert doc is not None, doc_id
            assert doc.number == raw["docNum"]
            assert (doc.issued, doc.effective, doc.expires) == (
                raw["issueDate"][:10],
                raw["effFrom"][:10],
                raw["effTo"][:10] if raw["effTo"] else None,
            )
            assert doc.status == "Còn hiệu lực" and raw["effStatus"]["name"] == "Còn hiệu lực"
            assert doc.issuer == vocab.issuer(raw["agencyName"])  # "HĐND Thành phố Huế": the canonical name
            assert [(s.name, s.title, s.issuer) for s in doc.signers] == [
                (i["personName"], i["jobTitleName"], i["agencyName"]) for i in raw["documentIssues"]
            ]
            assert [(r.type, r.target_uid, r.target_number, r.target_title) for r in doc.relations] == [
                (
                    "can_cu" if r["referenceType"] == 3 else r["referenceType"],
                    "vbpl:" + r["targetDocument"]["id"],
                    r["targetDocument"]["docNum"],
                    r["targetDocument"]["title"],
                )
                for r in raw["references"]
            ]
            assert doc.source_updated == raw["updatedDate"]
        # The same facts, written out.
        huế, đồng_nai, btc = (store.get(f"vbpl:{i}") for i in REAL_IDS)
        assert (huế.number, huế.issuer, huế.issued, huế.effective) == (
            "01/2026/NQ-HĐND",
            "Hội đồng nhân dân thành phố Huế",  # printed "HĐND Thành phố Huế"
            "2026-03-31",
            "2026-04-10",
        )
        assert [s.name for s in huế.signers] == ["Phạm Đức Tiến"] and huế.relations == []
        assert len(huế.articles) == 38 and huế.text.startswith("HỘI ĐỒNG NHÂN DÂN")
        assert [s.name for s in đồng_nai.signers] == ["Tôn Ngọc Hạnh"]
        assert [r.target_number for r in đồng_nai.relations] == [
            "64/2025/QH15",
            "72/2025/QH15",
            "87/2025/QH15",
            "121/2025/QH15",
            "103/2025/UBTVQH15",
        ]
        assert (btc.number, btc.issuer, [s.title for s in btc.signers]) == (
            "107/2003/QĐ-BTC",
            "Bộ Tài chính",
            ["Thứ trưởng"],
        )
        # PDF-only: the text comes from the PDF file (no HTML body, empty provision tree).
        assert [a.number for a in đồng_nai.articles] == ["1", "2", "3"]
        assert "Quy chế làm việc của Hội đồng nhân dân tỉnh Đồng Nai" in đồng_nai.text
        # UUID ids; a CSS-only body and a scanned PDF: stored, flagged, without text.
        scanned = store.get(f"vbpl:{UUIDS[0]}")
        assert scanned.text == "" and [a.scanned for a in scanned.attachments] == [True]
        assert store.get(f"vbpl:{UUIDS[1]}").number == "66.14/2026/NQ-CP"
        run = store.runs()[0]
        assert (run["source"], run["error"], run["counts"]["new"], run["counts"]["failed"]) == ("vbpl", None, 5, 0)
        assert store.integrity_check() == "ok"


def test_second_run_with_one_status_changed_gives_one_event_and_fetches_only_that_document(
    runner, gateway, all_provinces, instance
):
    args = ["refresh", "vbpl", "--base-url", gateway.url, "--no-index"]
    assert runner.invoke(cli, args).exit_code == 0
    with open_store(instance) as store:
        mark = store.last_event_id()
    gateway.server.log.clear()
    gateway.set_status("188001", "HHL", "Hết hiệu lực toàn bộ", "2026-07-01T08:00:00")

    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert summary_line(result.output, "vbpl").startswith("vbpl: 5 đã xem, 0 mới, 1 thay đổi, 4 không đổi, 0 lỗi")
    with open_store(instance) as store:
        events = store.events(mark)
        assert [(e.uid, e.kind) for e in events] == [("vbpl:188001", "status_changed")]
        assert (events[0].detail["old"], events[0].detail["new"]) == ("Còn hiệu lực", "Hết hiệu lực toàn bộ")
        assert store.get("vbpl:188001").status == "Hết hiệu lực toàn bộ"
    # Only the list and the changed document were requested.
    other = [s for s in gateway.server.log if s.path != "/doc/all" and "188001" not in unquote(s.path)]
    assert other == []
    assert {s.path for s in gateway.requests_for("188001")} >= {"/doc/188001"}


def test_default_relevance_takes_central_documents_and_skips_other_provinces_without_fetching(
    runner, gateway, instance, monkeypatch
):
    monkeypatch.setenv("KB_SOURCES_ENABLED", "vbpl,congbao_tinh")  # no SOURCE: the enabled ones
    result = runner.invoke(cli, ["refresh", "--base-url", f"vbpl={gateway.url}", "--no-index"])
    assert result.exit_code == 0, result.output  # an unconfigured gazette is a note
    assert "congbao_tinh: bỏ qua — no provincial gazette configured" in result.output
    assert summary_line(result.output, "vbpl").startswith(
        "vbpl: 5 đã xem, 2 mới, 0 thay đổi, 0 không đổi, 0 lỗi (3 không liên quan)"
    )
    with open_store(instance) as store:
        assert store.uids() == ["vbpl:19761", f"vbpl:{UUIDS[1]}"]
    for doc_id in ("187649", "188001", UUIDS[0]):  # decided from the list alone
        assert gateway.requests_for(doc_id) == []
    bodies = [s.json for s in gateway.server.requests("POST", "/doc/all")]
    assert {"agencyLevel": "TRUNG_UONG"}.items() <= bodies[0].items()
    assert any(b.get("keyword") == "Lai Châu" and b.get("optionDoc") == "title" for b in bodies)


def test_a_401_is_retried_once_after_visiting_the_vbpl_page(runner, gateway, all_provinces, instance):
    gateway.require_session = True
    result = runner.invoke(cli, ["refresh", "vbpl", "--base-url", gateway.url, "--no-index"])
    assert result.exit_code == 0, result.output
    assert "5 mới" in result.output
    site_visits = [s for s in gateway.server.log if s.path.startswith("/site/")]
    assert len(site_visits) == 1  # the session cookie then serves every request


# --- faults ---------------------------------------------------------------------------------------


def test_transient_faults_are_retried_and_a_bad_document_is_recorded_skipped_and_retried_next_run(
    runner, gateway, all_provinces, instance, monkeypatch
):
    args = ["refresh", "vbpl", "--base-url", gateway.url, "--no-index"]
    assert runner.invoke(cli, args).exit_code == 0
    gateway.set_status("187649", "HHL1P", "Hết hiệu lực một phần", "2026-07-02T08:00:00")
    gateway.set_status("19761", "HHL", "Hết hiệu lực toàn bộ", "2026-07-03T08:00:00")
    monkeypatch.setenv("KB_HTTP_TIMEOUT", "0.4")
    monkeypatch.setenv("KB_HTTP_RETRIES", "4")
    gateway.server.fault(r"^/doc/187649$", "timeout:0.8", "500", "close", "429:1")  # all transient
    gateway.server.fault(r"^/doc/19761$", "truncate")  # a cut JSON body
    started = time.monotonic()
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output  # a failed document does not fail the source
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured
    assert summary_line(result.output, "vbpl").startswith("vbpl: 5 đã xem, 0 mới, 1 thay đổi, 3 không đổi, 1 lỗi")
    assert f"vbpl: lỗi ở 19761: GET {gateway.url}/doc/19761: JSON không hợp lệ" in result.output
    with open_store(instance) as store:
        assert store.get("vbpl:187649").status == "Hết hiệu lực một phần"
        assert store.get("vbpl:19761").status == "Còn hiệu lực"  # the stored version is kept
        assert store.runs()[0]["counts"]["failures"][0]["id"] == "19761"

    gateway.server.log.clear()
    gateway.server.fault(r"^/doc/19761$", "html")  # an HTML error page this time
    result = runner.invoke(cli, args)
    assert "nhận được một trang HTML ('502 Bad Gateway') thay vì JSON" in result.output
    gateway.server.log.clear()
    result = runner.invoke(cli, args)  # the source has recovered
    assert summary_line(result.output, "vbpl").startswith("vbpl: 5 đã xem, 0 mới, 1 thay đổi, 4 không đổi, 0 lỗi")
    assert gateway.server.log[0].path == "/doc/19761"  # the retry queue goes first
    with open_store(instance) as store:
        assert store.get("vbpl:19761").status == "Hết hiệu lực toàn bộ"
        assert store.get_state("vbpl:retry") == "{}"


def test_a_changed_schema_stops_the_source_with_one_clear_message_and_keeps_what_is_stored(
    runner, gateway, all_provinces, instance
):
    args = ["refresh", "vbpl", "--base-url", gateway.url, "--no-index"]
    assert runner.invoke(cli, args).exit_code == 0
    with open_store(instance) as store:
        before = {uid: store.get(uid).to_json() for uid in store.uids()}
    for item in gateway.items:
        item["effectStatus"] = item.pop("effStatus")
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert (
        f"Lỗi: vbpl: trang nguồn đã đổi cấu trúc: không thấy field 'data.items[].effStatus' ở {gateway.url}/doc/all"
        in result.output
    )
    assert "Traceback" not in result.output
    with open_store(instance) as store:
        assert {uid: store.get(uid).to_json() for uid in store.uids()} == before
        assert store.runs()[0]["error"].startswith("vbpl: trang nguồn đã đổi cấu trúc")

    for item in gateway.items:  # a detail changes shape instead
        item["effStatus"] = item.pop("effectStatus")
    gateway.set_status("19761", "HHL", "Hết hiệu lực toàn bộ", "2026-07-03T08:00:00")
    detail = load_bytes(gateway.details["19761"])
    detail["data"]["signers"] = detail["data"].pop("documentIssues")
    gateway.details["19761"] = json.dumps(detail, ensure_ascii=False).encode()
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert f"không thấy field 'data.documentIssues' ở {gateway.url}/doc/19761" in result.output


def test_too_many_documents_failing_in_a_row_stop_the_source(runner, gateway, all_provinces, instance, monkeypatch):
    monkeypatch.setenv("KB_REFRESH_MAX_FAILURES", "2")
    for doc_id in REAL_IDS + UUIDS:
        gateway.server.fault(rf"^/doc/{doc_id}$", *["500"] * 4)
    result = runner.invoke(cli, ["refresh", "vbpl", "--base-url", gateway.url, "--no-index"])
    assert result.exit_code == 1
    assert "Lỗi: vbpl: dừng sau 2 văn bản lỗi liên tiếp; lỗi cuối: GET " in result.output
    assert summary_line(result.output, "vbpl").startswith("vbpl: 2 đã xem, 0 mới, 0 thay đổi, 0 không đổi, 2 lỗi")
    with open_store(instance) as store:
        assert len(json.loads(store.get_state("vbpl:retry"))) == 2


def test_a_failing_source_does_not_stop_the_others(runner, gateway, all_provinces, instance, monkeypatch):
    congbao = CongbaoSite(LocalServer())
    try:
        gateway.server.fault(r"^/doc/all$", "500", "500", "500", "500")
        result = runner.invoke(
            cli,
            [
                "refresh",
                "vbpl",
                "congbao",
                "--base-url",
                f"vbpl={gateway.url}",
                "--base-url",
                f"congbao={congbao.url}",
                "--no-index",
            ],
        )
        assert result.exit_code == 1
        assert f"Lỗi: vbpl: POST {gateway.url}/doc/all: HTTP 500" in result.output
        assert summary_line(result.output, "congbao").startswith("congbao: 3 đã xem, 2 mới")
    finally:
        congbao.server.close()


def test_html_error_page_instead_of_the_list_fails_the_source_and_names_the_url(runner, gateway, instance):
    gateway.server.fault(r"^/doc/all$", "html")
    result = runner.invoke(cli, ["refresh", "vbpl", "--base-url", gateway.url, "--no-index"])
    assert result.exit_code == 1
    assert (
        f"Lỗi: vbpl: POST {gateway.url}/doc/all: nhận được một trang HTML ('502 Bad Gateway') thay vì JSON"
        in result.output
    )


# --- interruption, resumption, stopping -------------------------------------------------------------


class Interrupting(Fetcher):
    """Raises KeyboardInterrupt (Ctrl-C) before its n-th request."""

    def __init__(self, after: int, **kwargs):
        super().__init__(**kwargs)
        self.after = after

    def request(self, method, url, **kwargs):
        if self.requests + 1 >= self.after:
            raise KeyboardInterrupt
        return super().request(method, url, **kwargs)


def test_ctrl_c_leaves_the_store_consistent_and_the_next_run_resumes_at_the_page(gateway, fast, monkeypatch):
    monkeypatch.setenv("KB_VBPL_PAGE_SIZE", "2")
    monkeypatch.setenv("KB_RELEVANCE_ALL", "true")
    config = kbconfig.load()
    store = Store(config.db_path)
    try:
        # pages: [af28, c94b] [187649, 19761] [188001]; the 11th request is the detail of 188001 on page 3
        source = build("vbpl", Interrupting(11, delay=0, retries=1), config, base_url=gateway.url)
        with pytest.raises(KeyboardInterrupt):
            Refresher(store).run(source)
        assert store.integrity_check() == "ok"
        assert store.uids() == sorted(["vbpl:187649", "vbpl:19761", f"vbpl:{UUIDS[0]}", f"vbpl:{UUIDS[1]}"])
        assert store.runs()[0]["error"] == "interrupted"
        assert json.loads(store.get_state("vbpl:walk:all"))["pending"]["cursor"] == 3
        for uid in store.uids():  # each stored document has its fingerprint: consistent
            assert store.get_state(f"vbpl:fp:{uid.split(':', 1)[1]}")

        gateway.server.log.clear()
        report = Refresher(store).run(build("vbpl", Fetcher(delay=0), config, base_url=gateway.url))
        assert (report.new, report.failed, report.error) == (1, 0, None)
        pages = [s.json["pageNumber"] for s in gateway.server.requests("POST", "/doc/all")]
        assert pages[0] == 2  # resumed one page before where it stopped
        assert len(store.uids()) == 5
        assert [e.kind for e in store.events()].count("new") == 5
        assert "pending" not in json.loads(store.get_state("vbpl:walk:all"))
    finally:
        store.close()


def count_documents(db: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_killed_refresh_process_leaves_a_consistent_store_and_the_next_run_completes(
    gateway, all_provinces, instance
):
    @gateway.server.route("GET", r"/doc/(?P<doc_id>[^/]+)")
    def slow_detail(seen, doc_id):
        time.sleep(0.4)
        return gateway.serve(gateway.details, doc_id, seen)

    gateway.server.routes.insert(0, gateway.server.routes.pop())  # before the fast route
    kb = str(Path(sys.executable).parent / "kb")
    env = dict(os.environ)
    command = [kb, "refresh", "vbpl", "--base-url", gateway.url, "--no-index"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = instance / "kb.sqlite"
    deadline = time.monotonic() + 20
    stored = 0
    while time.monotonic() < deadline and stored < 2:
        time.sleep(0.05)
        stored = count_documents(db)  # read-only: opening a Store here would race its creation
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert 2 <= stored < 5, "the process should have been killed in the middle"
    with Store(db) as store:
        assert store.integrity_check() == "ok"
        first = store.count()
        assert first < 5
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "vbpl: 5 đã xem, " in done.stdout and " 0 lỗi" in done.stdout
    with Store(db) as store:
        assert store.count() == 5 and [e.kind for e in store.events()].count("new") == 5


def test_the_walk_stops_at_known_documents_past_the_watermark(gateway, fast, monkeypatch):
    monkeypatch.setenv("KB_VBPL_PAGE_SIZE", "2")
    monkeypatch.setenv("KB_RELEVANCE_ALL", "true")
    config = kbconfig.load()
    with Store(config.db_path) as store:
        first = Refresher(store, stop_after=2).run(build("vbpl", Fetcher(delay=0), config, base_url=gateway.url))
        assert first.new == 5 and not first.stopped_early
        gateway.server.log.clear()
        newest = copy.deepcopy(load_bytes(gateway.details[UUIDS[1]]))
        newest["data"]["id"] = "c94b9430-0000-11f1-0000-000000000001"
        newest["data"]["updatedDate"] = "2026-08-01T00:00:00"
        newest["data"]["docNum"] = "66.15/2026/NQ-CP"
        newest["data"]["title"] = "Nghị quyết 66.15/2026/NQ-CP (tài liệu thử)"
        gateway.details[newest["data"]["id"]] = json.dumps(newest, ensure_ascii=False).encode()
        gateway.items.insert(0, list_item(newest))
        second = Refresher(store, stop_after=2).run(build("vbpl", Fetcher(delay=0), config, base_url=gateway.url))
        assert (second.new, second.unchanged, second.stopped_early) == (1, 2, True)
        assert [s.json["pageNumber"] for s in gateway.server.requests("POST", "/doc/all")] == [1, 2]
        assert [s.path for s in gateway.server.requests("GET")] == [f"/doc/{newest['data']['id']}"]


def test_record_then_replay_gives_the_same_store_without_the_network(
    runner, gateway, all_provinces, instance, tmp_path, monkeypatch
):
    recording = tmp_path / "recording"
    result = runner.invoke(
        cli, ["refresh", "vbpl", "--base-url", gateway.url, "--record", str(recording), "--no-index"]
    )
    assert result.exit_code == 0, result.output
    with open_store(instance) as store:
        recorded = {uid: store.get(uid).to_dict() for uid in store.uids()}
    gateway.server.close()
    other = tmp_path / "other"
    monkeypatch.setenv("KB_INSTANCE", str(other))
    result = runner.invoke(
        cli, ["refresh", "vbpl", "--base-url", gateway.url, "--replay", str(recording), "--no-index"]
    )
    assert result.exit_code == 0, result.output
    with Store(other / "kb.sqlite") as store:
        replayed = {uid: store.get(uid).to_dict() for uid in store.uids()}
    assert replayed == recorded and len(replayed) == 5


def test_cli_errors(runner, fast):
    result = runner.invoke(cli, ["refresh", "nowhere"])
    assert result.exit_code == 1 and "không có nguồn nowhere" in result.output
    result = runner.invoke(cli, ["refresh", "vbpl", "congbao", "--base-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "hãy ghi tên nguồn (--base-url SOURCE=URL)" in result.output
    result = runner.invoke(cli, ["refresh", "congbao_tinh"])
    assert (
        result.exit_code == 1
        and "Lỗi: congbao_tinh: no provincial gazette configured (set gazette.base_url" in result.output
    )
    result = runner.invoke(cli, ["refresh", "vbpl", "--since", "31/13/2026"])
    assert result.exit_code == 1 and "không phải là ngày có thật" in result.output


# --- congbao.chinhphu.vn ----------------------------------------------------------------------------


class CongbaoSite:
    """congbao.chinhphu.vn (and its file CDN under /cdn) from the hand-made fixtures."""

    def __init__(self, server: LocalServer):
        self.server = server
        self.url = server.url
        folder = FIXTURES / "congbao"

        def text(name):
            return (
                (folder / name)
                .read_text(encoding="utf-8")
                .replace("{base}", self.url)
                .replace("{cdn}", self.url + "/cdn")
            )

        document = docx.Document()
        for line in [
            "CHÍNH PHỦ",
            "NGHỊ QUYẾT",
            "Điều 1. Phạm vi điều chỉnh",
            "Nghị quyết này quy định biện pháp xử lý.",
            "Điều 2. Hiệu lực thi hành",
            "Nghị quyết này có hiệu lực từ ngày ký.",
        ]:
            document.add_paragraph(line)
        buffer = io.BytesIO()
        document.save(buffer)
        self.docx = buffer.getvalue()

        @server.route("GET", "/cac-van-ban-moi-ban-hanh.rss")
        def rss(seen):
            if seen.headers.get("If-None-Match") == '"rss-1"':
                return Reply(304, b"")
            return Reply(
                body=text("cac-van-ban-moi-ban-hanh.rss"),
                headers={"ETag": '"rss-1"'},
                content_type="application/rss+xml; charset=utf-8",
            )

        server.route("GET", r"/van-ban/(?P<name>[^/]+)\.htm")(
            lambda seen, name: (
                Reply(body=text(f"{name}.htm"), content_type="text/html; charset=utf-8")
                if (folder / f"{name}.htm").exists()
                else Reply(404, b"", content_type="text/html")
            )
        )
        server.route("GET", "/robots.txt")(
            lambda seen: Reply(body="User-agent: *\nAllow: /\n", content_type="text/plain")
        )

        @server.route("GET", "/cdn/api/download/stream")
        def download(seen):
            assert seen.headers.get("Referer", "").startswith(self.url)
            name = seen.query["file_name"][0]
            if name.endswith(".docx"):
                return Reply(body=self.docx, content_type="application/octet-stream")
            return Reply(body=make_pdf([["x"]]), content_type="application/pdf")


def test_congbao_rss_pages_and_files_with_a_conditional_get(runner, fast, instance):
    site = CongbaoSite(LocalServer())
    try:
        args = ["refresh", "congbao", "--base-url", site.url, "--no-index"]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert summary_line(result.output, "congbao").startswith(
            "congbao: 3 đã xem, 2 mới, 0 thay đổi, 0 không đổi, 0 lỗi (1 không liên quan)"
        )
        assert not site.server.requests(path="thong-bao")  # a Thông báo is not fetched
        with open_store(instance) as store:
            nq = store.get("congbao:52001")
            assert (nq.number, nq.issuer, nq.issued, nq.status) == (
                "66.14/2026/NQ-CP",
                "Chính phủ",
                "2026-02-10",
                "Chưa xác định",
            )
            assert [a.number for a in nq.articles] == ["1", "2"] and nq.gazette == "Số 301 + 302, ngày 20/02/2026"
            tt = store.get("congbao:51990")
            assert [(s.name, s.title) for s in tt.signers] == [("Lê Văn C", "Thứ trưởng")]
        site.server.log.clear()
        result = runner.invoke(cli, args)  # nothing new: 304
        assert summary_line(result.output, "congbao").startswith("congbao: 0 đã xem")
        assert [s.path for s in site.server.log if s.path != "/robots.txt"] == ["/cac-van-ban-moi-ban-hanh.rss"]
    finally:
        site.server.close()


def test_the_same_document_from_vbpl_and_congbao_becomes_one_record(runner, gateway, all_provinces, instance):
    site = CongbaoSite(LocalServer())
    try:
        result = runner.invoke(
            cli,
            [
                "refresh",
                "vbpl",
                "congbao",
                "--base-url",
                f"vbpl={gateway.url}",
                "--base-url",
                f"congbao={site.url}",
                "--no-index",
            ],
        )
        assert result.exit_code == 0, result.output
        with open_store(instance) as store:
            merged = store.get("congbao:52001")
            assert merged.uid == f"vbpl:{UUIDS[1]}"  # one record, reachable both ways
            assert merged.status == "Còn hiệu lực"  # the gazette's "unknown" never wins
            assert merged.gazette == "Công báo ngày 20/02/2026"  # vbpl ranks higher
            assert store.count() == 6
    finally:
        site.server.close()


# --- the provincial gazette (Lotus Domino congbao.nsf) -----------------------------------------------


class GazetteSite:
    """congbao.sonla.gov.vn from its real saved pages; ThuocTinh of other documents is generated
    from the real listing in the structure of the hand-made fixture."""

    EMPTY = "<html><head><meta name='robots' content='noindex'></head><body><h2>No documents found</h2></body></html>"

    def __init__(self, server: LocalServer):
        self.server = server
        self.url = server.url
        year_page = shared_file("pages", "congbao_sonla_gazettes_by_year_2026.html").read_text(encoding="utf-8")
        issue_page = shared_file("pages", "congbao_sonla_documents_by_gazette_sample.html").read_text(encoding="utf-8")
        template = (FIXTURES / "congbao_tinh" / "ThuocTinh_2979FBD220E3084E47258E33002A7EF2.html").read_text(
            encoding="utf-8"
        )
        rows = re.findall(
            r"<td style='width: 80px; vertical-align: top'>([^<]+)</td><td[^>]*><a href='NoiDung\?openForm"
            r"&ParentUNID=([0-9A-F]{32})'><span class='doc-cate'>([^<]+)</span> <span class='doc-notation'>"
            r"số ([^<]+)</span>([^<]+)</a>",
            issue_page,
        )
        document = docx.Document()
        for line in [
            "ỦY BAN NHÂN DÂN TỈNH SƠN LA",
            "QUYẾT ĐỊNH",
            "Điều 1. Quy định khung số lượng phòng chuyên môn.",
            "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.",
        ]:
            document.add_paragraph(line)
        buffer = io.BytesIO()
        document.save(buffer)

        server.route("GET", "/congbao.nsf/GazettesByYearMonth")(
            lambda seen: Reply(
                body=year_page if seen.query.get("RestrictToCategory") == ["2026"] else self.EMPTY,
                content_type="text/html; charset=utf-8",
            )
        )
        server.route("GET", "/congbao.nsf/DocumentsByGazette")(
            lambda seen: Reply(
                body=issue_page if seen.query.get("RestrictToCategory") == ["2026/No.{47}"] else self.EMPTY,
                content_type="text/html; charset=utf-8",
            )
        )

        @server.route("GET", "/congbao.nsf/ThuocTinh")
        def attributes(seen):
            unid = seen.query["ParentUNID"][0]
            if unid == "2979FBD220E3084E47258E33002A7EF2":
                return Reply(body=template, content_type="text/html; charset=utf-8")
            date, _, cate, number, title = next(r for r in rows if r[1] == unid)
            page = re.sub(r"<td>37/2026/QĐ-UBND</td>", f"<td>{number}</td>", template)
            page = re.sub(r"<th>Trích yếu</th><td>[^<]+</td>", f"<th>Trích yếu</th><td>{title.strip()}</td>", page)
            page = re.sub(r"<th>Loại văn bản</th><td>[^<]+</td>", f"<th>Loại văn bản</th><td>{cate}</td>", page)
            page = page.replace("<td>13/7/2026</td>", f"<td>{date}</td>")
            return Reply(body=page, content_type="text/html; charset=utf-8")

        server.route("GET", r"/congbao.nsf/(?P<unid>[0-9A-F]{32})/\$file/(?P<name>.+)")(
            lambda seen, unid, name: Reply(
                body=buffer.getvalue() if name.endswith(".docx") else b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,
                content_type="application/octet-stream",
            )
        )


def test_provincial_gazette_documents_are_stored_and_the_next_run_stops_early(runner, fast, instance, monkeypatch):
    site = GazetteSite(LocalServer())
    try:
        monkeypatch.setenv("KB_GAZETTE_BASE_URL", site.url)
        monkeypatch.setenv("KB_GAZETTE_PROVINCE", "Sơn La")
        monkeypatch.setenv("KB_GAZETTE_FIRST_YEAR", "2026")
        monkeypatch.setattr("shutil.which", lambda name: None)  # no antiword: .doc files keep no text
        result = runner.invoke(cli, ["refresh", "congbao_tinh", "--no-index"])
        assert result.exit_code == 0, result.output
        assert summary_line(result.output, "congbao_tinh").startswith(
            "congbao_tinh: 11 đã xem, 11 mới, 0 thay đổi, 0 không đổi, 0 lỗi"
        )
        with open_store(instance) as store:
            doc = store.get("congbao_tinh:2979FBD220E3084E47258E33002A7EF2")
            assert (doc.number, doc.issuer, doc.province, doc.status) == (
                "37/2026/QĐ-UBND",
                "Ủy ban nhân dân tỉnh Sơn La",  # printed "UBND Tỉnh Sơn La"
                "Sơn La",
                "Còn hiệu lực",
            )
            assert doc.gazette == "Số 47 Ngày 25/7/2026, trang 4" and doc.text == ""
            with_docx = store.get("congbao_tinh:0812CA146F5FEC7447258E3D002529A0")
            assert (with_docx.number, with_docx.doc_type) == ("1782/QĐ-UBND", "Quyết định")
            assert [a.number for a in with_docx.articles] == ["1", "2"]
        monkeypatch.setenv("KB_REFRESH_STOP_AFTER", "5")
        site.server.log.clear()
        result = runner.invoke(cli, ["refresh", "congbao_tinh", "--no-index"])
        assert summary_line(result.output, "congbao_tinh").startswith(
            "congbao_tinh: 5 đã xem, 0 mới, 0 thay đổi, 5 không đổi"
        )
        assert [s.path for s in site.server.log if s.path != "/robots.txt"] == [
            "/congbao.nsf/GazettesByYearMonth",
            "/congbao.nsf/DocumentsByGazette",
        ]
    finally:
        site.server.close()


def test_since_walks_back_to_a_date_and_full_rereads_everything(runner, gateway, all_provinces, instance):
    result = runner.invoke(cli, ["refresh", "vbpl", "--base-url", gateway.url, "--since", "28/04/2026", "--no-index"])
    assert result.exit_code == 0, result.output
    assert summary_line(result.output, "vbpl").startswith("vbpl: 2 đã xem, 2 mới")  # updated on 28/4 only
    with open_store(instance) as store:
        assert store.uids() == sorted(f"vbpl:{u}" for u in UUIDS)
    result = runner.invoke(cli, ["refresh", "vbpl", "--base-url", gateway.url, "--no-index"])
    assert summary_line(result.output, "vbpl").startswith("vbpl: 5 đã xem, 3 mới, 0 thay đổi, 2 không đổi")
    gateway.server.log.clear()
    result = runner.invoke(cli, ["refresh", "vbpl", "--base-url", gateway.url, "--full", "--no-index"])
    assert summary_line(result.output, "vbpl").startswith("vbpl: 5 đã xem, 0 mới, 0 thay đổi, 5 không đổi")
    assert {s.path for s in gateway.server.requests("GET", r"^/doc/[^/]+$")} == {f"/doc/{i}" for i in REAL_IDS + UUIDS}


def test_docs_mention_every_refresh_option_and_setting():
    text = (Path(__file__).parent.parent / "docs" / "SOURCES.md").read_text(encoding="utf-8")
    command = cli.commands["refresh"]
    for param in command.params:
        for flag in getattr(param, "opts", []):
            if flag.startswith("--") and flag != "--help":
                assert flag in text, flag
    for section in ("refresh", "relevance", "vbpl", "congbao", "gazette", "http"):
        for key in kbconfig.defaults(section):
            assert f"`{section}.{key}`" in text and f"KB_{section.upper()}_{key.upper()}" in text, (section, key)
    for source in ("vbpl", "congbao", "congbao_tinh"):
        assert f"### `{source}`" in text
