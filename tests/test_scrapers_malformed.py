"""Malformed responses for each scraper, made from the real recorded ones (../shared/pages, read in place)
and the hand-made fixtures: cut short, emptied, an error page instead of the data, fields removed or
null, elements and attributes removed, values of the wrong type.

The contract (scrapers/errors.py): a parser returns what it could read, or raises a ScraperError that
names the source and the URL (BadResponse, LayoutChanged); an impossible date is a RecordError. Nothing
else escapes. End to end (`kb refresh` against local servers): a malformed document fails that document
(recorded, retried next run) or, when it looks like a layout change, stops its source with one line;
nothing of a malformed response is stored; the other documents are; no traceback.

tests/test_scrapers_parsers.py and tests/test_scrapers_refresh.py already cover a renamed field in the
vbpl list and detail, success=false, a truncated or HTML vbpl document, a missing selector in each HTML
parser, an empty Domino view; this file adds the systematic variants and the other sources end to end."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from conftest import shared_file
from test_scrapers_http import LocalServer, no_internet  # noqa: F401 (fixture)
from test_scrapers_refresh import (  # noqa: F401
    UUIDS,
    CongbaoSite,
    GazetteSite,
    all_provinces,
    fast,
    gateway,
    open_store,
    summary_line,
)

from kb.errors import RecordError
from kbcli.main import cli
from scrapers import congbao, congbao_tinh, vbpl
from scrapers.errors import ScraperError

pytestmark = pytest.mark.filterwarnings("ignore::bs4.XMLParsedAsHTMLWarning")  # XML junk given to HTML parsers
FIXTURES = Path(__file__).parent / "fixtures" / "scrapers"
CONGBAO = "https://congbao.chinhphu.vn"
SONLA = "https://congbao.sonla.gov.vn/congbao.nsf"
GW = vbpl.DEFAULT_BASE_URL


def shared(name: str) -> Path:
    return shared_file("pages", name)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8").replace("{base}", CONGBAO).replace("{cdn}", "https://g7.cdnchinhphu.vn")


JSON_CASES = [
    ("vbpl_list", lambda: shared("vbpl_api_doc_all_page1_sample.json"), lambda t: vbpl.parse_list(t, GW + "/doc/all")),
    *[
        (
            f"vbpl_detail_{i[:8]}",
            (lambda i=i: shared(f"vbpl_api_doc_{i}.json")),
            (lambda t, i=i: vbpl.parse_detail(t, f"{GW}/doc/{i}")),
        )
        for i in ("187649", "188001", "19761")
    ],
    *[
        (
            f"vbpl_detail_{i[:8]}",
            (lambda i=i: FIXTURES / "vbpl" / f"doc_{i}.json"),
            (lambda t, i=i: vbpl.parse_detail(t, f"{GW}/doc/{i}")),
        )
        for i in UUIDS
    ],
    *[
        (
            f"vbpl_tree_{i}",
            (lambda i=i: shared(f"vbpl_api_provision_tree_{i}.json")),
            (lambda t, i=i: vbpl.parse_tree(t, f"{GW}/doc/provision/tree/{i}")),
        )
        for i in ("187649", "188001", "19761")
    ],
    ("vbpl_files", lambda: FIXTURES / "vbpl" / "files_188001.json", lambda t: vbpl.parse_files(t, GW + "/files")),
]
HTML_CASES = [
    (
        "congbao_rss",
        lambda: FIXTURES / "congbao" / "cac-van-ban-moi-ban-hanh.rss",
        lambda t: congbao.parse_rss(t, CONGBAO + congbao.RSS_PATH),
        "xml",
    ),
    *[
        (
            f"congbao_document_{n[:12]}",
            (lambda n=n: FIXTURES / "congbao" / f"{n}.htm"),
            (lambda t, n=n: congbao.parse_document(t, f"{CONGBAO}/van-ban/{n}.htm")),
            "lxml",
        )
        for n in ("nghi-quyet-so-66-14-2026-nq-cp-52001", "thong-tu-so-05-2026-tt-btp-51990")
    ],
    (
        "congbao_tinh_issues",
        lambda: shared("congbao_sonla_gazettes_by_year_2026.html"),
        lambda t: congbao_tinh.parse_issues(t, f"{SONLA}/GazettesByYearMonth?openView&RestrictToCategory=2026"),
        "lxml",
    ),
    (
        "congbao_tinh_documents",
        lambda: shared("congbao_sonla_documents_by_gazette_sample.html"),
        lambda t: congbao_tinh.parse_gazette_documents(t, f"{SONLA}/DocumentsByGazette?openView"),
        "lxml",
    ),
    (
        "congbao_tinh_attributes",
        lambda: FIXTURES / "congbao_tinh" / "ThuocTinh_2979FBD220E3084E47258E33002A7EF2.html",
        lambda t: congbao_tinh.parse_attributes(t, f"{SONLA}/ThuocTinh?openForm&ParentUNID=2979FBD2"),
        "lxml",
    ),
]
JUNK = [
    "",
    "   \n",
    "null",
    "[]",
    "{}",
    "0",
    '"OK"',
    "\x00\x01\x02",
    "\ufffd\ufffd PNG \ufffd",
    "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>",
    "<html><body><h1>Hệ thống đang bảo trì</h1></body></html>",
    '{"success": false, "statusCode": 500, "message": "Lỗi hệ thống", "data": null}',
    '{"success": true, "data": null}',
    '{"success": true, "data": []}',
    '{"success": true, "data": {}}',
    '<?xml version="1.0"?><rss><channel></channel></rss>',
]


def outcome(parser, text: str, allowed: tuple[type[BaseException], ...] = (ScraperError, RecordError)) -> str | None:
    """None when the parser returned or raised an allowed error; else what escaped."""
    try:
        parser(text)
    except allowed:
        return None
    except Exception as exc:  # noqa: BLE001 - any other exception is the finding
        return f"{type(exc).__name__}: {exc}"
    return None


def mojibake(text: str) -> str:
    """UTF-8 read as Latin-1: what a wrong charset header gives."""
    return text.encode("utf-8").decode("latin-1")


def cuts(text: str, count: int = 25) -> list[str]:
    step = max(1, len(text) // count)
    return [text[:n] for n in range(0, len(text), step)]


ALL_CASES = [(name, source, parser) for name, source, parser in JSON_CASES] + [
    (name, source, parser) for name, source, parser, _ in HTML_CASES
]


@pytest.mark.parametrize("name,source,parser", ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_cut_short_emptied_or_replaced_by_an_error_page_raises_only_scraper_errors(name, source, parser):
    text = read(source())
    variants = cuts(text) + JUNK + [mojibake(text), text.replace("\n", "\r\n"), "\ufeff" + text, text + "\x00garbage"]
    escaped = {repr(v[:60]): problem for v in variants if (problem := outcome(parser, v))}
    assert not escaped, escaped


def _paths(value, prefix=()):
    """Paths of every key and of the first two items of every list."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield prefix + (key,)
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value[:2]):
            yield prefix + (index,)
            yield from _paths(child, prefix + (index,))


def _variants(data, replacement):
    """(path, JSON text) with the value at each path removed (replacement is None: deleted) or replaced."""
    for path in _paths(data):
        changed = copy.deepcopy(data)
        holder = changed
        for key in path[:-1]:
            holder = holder[key]
        if replacement == "delete":
            del holder[path[-1]]
        else:
            holder[path[-1]] = replacement
        yield path, json.dumps(changed, ensure_ascii=False)


def _shorter(data):
    """The response with a long HTML body cut to its first 3 000 characters (still a usable body): each variant
    is parsed whole, and the body's length adds time, not cases."""
    content = (data.get("data") or {}).get("documentContent") if isinstance(data.get("data"), dict) else None
    if isinstance(content, dict) and isinstance(content.get("content"), str):
        content["content"] = content["content"][:3000]
    return data


@pytest.mark.parametrize("name,source,parser", JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_every_json_field_removed_or_null_raises_only_scraper_errors(name, source, parser):
    data = _shorter(json.loads(read(source()), strict=False))
    escaped = {}
    for replacement in ("delete", None):
        for path, text in _variants(data, replacement):
            problem = outcome(parser, text)
            if problem:
                escaped[f"{'.'.join(map(str, path))} {'removed' if replacement else 'null'}"] = problem
    assert not escaped, escaped


WRONG_TYPES = ["x", 0, True, [], {}, ["x"], {"x": 1}]


@pytest.mark.parametrize("name,source,parser", [pytest.param(*case, id=case[0]) for case in JSON_CASES])
def test_every_json_value_of_the_wrong_type_raises_only_scraper_errors(name, source, parser):
    data = _shorter(json.loads(read(source()), strict=False))
    for replacement in WRONG_TYPES:
        for path, text in _variants(data, replacement):
            problem = outcome(parser, text)
            assert problem is None, f"{'.'.join(map(str, path))} = {replacement!r}: {problem}"


@pytest.mark.parametrize("name,source,parser,kind", HTML_CASES, ids=[c[0] for c in HTML_CASES])
def test_every_html_element_removed_emptied_or_stripped_raises_only_scraper_errors(name, source, parser, kind):
    from bs4 import BeautifulSoup

    text = read(source())
    count = len(BeautifulSoup(text, kind).find_all(True))
    escaped = {}
    for index in range(0, count, max(1, count // 60)):  # at most about 60 elements of a long page
        for mutation in ("removed", "emptied", "attributes stripped", "attributes garbled"):
            soup = BeautifulSoup(text, kind)
            element = soup.find_all(True)[index]
            if mutation == "removed":
                element.decompose()
            elif mutation == "emptied":
                element.clear()
            elif mutation == "attributes stripped":
                element.attrs = {}
            else:
                element.attrs = {key: "??/%%" for key in element.attrs}
            problem = outcome(parser, str(soup))
            if problem:
                escaped[f"<{element.name}> #{index} {mutation}"] = problem
    assert not escaped, escaped


def test_a_gazette_row_whose_document_id_is_malformed_is_a_scraper_error():
    page = read(shared("congbao_sonla_documents_by_gazette_sample.html"))
    broken = page.replace("ParentUNID=", "ParentUNID=zz", 1)
    assert outcome(lambda t: congbao_tinh.parse_gazette_documents(t, f"{SONLA}/DocumentsByGazette"), broken) is None


def test_an_impossible_date_in_a_gazette_issue_label_is_a_record_error_naming_it():
    page = read(shared("congbao_sonla_gazettes_by_year_2026.html"))
    broken = page.replace("Ngày 25/7/2026", "Ngày 31/02/2026", 1)
    assert broken != page
    with pytest.raises(RecordError, match="31/02/2026"):
        congbao_tinh.parse_issues(broken, f"{SONLA}/GazettesByYearMonth")


# --- end to end ---------------------------------------------------------------------------------------


def test_vbpl_malformed_tree_and_wrongly_typed_detail_fail_only_their_documents(
    runner, gateway, all_provinces, instance
):
    # 188001 has no HTML body: its text comes from the provision tree, here an error page
    gateway.server.fault(r"^/doc/provision/tree/188001$", "html")
    detail = json.loads(gateway.details["19761"].decode("utf-8"), strict=False)
    detail["data"]["effStatus"] = "CHL"  # a code where an object was
    gateway.details["19761"] = json.dumps(detail, ensure_ascii=False).encode("utf-8")
    args = ["refresh", "vbpl", "--base-url", gateway.url, "--no-index"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output  # failed documents do not fail the source
    assert "Traceback" not in result.output
    assert summary_line(result.output, "vbpl").startswith("vbpl: 5 đã xem, 3 mới, 0 thay đổi, 0 không đổi, 2 lỗi")
    assert (
        f"vbpl: lỗi ở 188001: GET {gateway.url}/doc/provision/tree/188001: nhận được một trang HTML ('502 Bad Gateway') "
        "thay vì JSON"
    ) in result.output
    assert "vbpl: lỗi ở 19761: " in result.output
    with open_store(instance) as store:
        assert store.uids() == sorted(["vbpl:187649", *(f"vbpl:{u}" for u in UUIDS)])
        assert store.integrity_check() == "ok"
    gateway.details["19761"] = shared("vbpl_api_doc_19761.json").read_bytes()  # the source is well again
    result = runner.invoke(cli, args)
    assert summary_line(result.output, "vbpl").startswith("vbpl: 5 đã xem, 2 mới")
    with open_store(instance) as store:
        assert store.count() == 5 and store.get_state("vbpl:retry") == "{}"


def test_congbao_error_page_stops_the_source_with_one_line_and_the_next_run_stores_it(runner, fast, instance):
    site = CongbaoSite(LocalServer())
    try:
        page = "/van-ban/thong-tu-so-05-2026-tt-btp-51990.htm"
        site.server.fault(r"^" + page.replace(".", r"\.") + "$", "html")
        args = ["refresh", "congbao", "--base-url", site.url, "--no-index"]
        result = runner.invoke(cli, args)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert (
            f"Lỗi: congbao: trang nguồn đã đổi cấu trúc: không thấy selector 'div.row > span.name' ở {site.url}{page}"
            in result.output
        )
        with open_store(instance) as store:
            assert "congbao:51990" not in store and store.integrity_check() == "ok"
            assert store.runs()[0]["error"].startswith("congbao: trang nguồn đã đổi cấu trúc")
        result = runner.invoke(cli, args)  # the page is back
        assert result.exit_code == 0, result.output
        with open_store(instance) as store:
            assert store.uids() == ["congbao:51990", "congbao:52001"]
    finally:
        site.server.close()


def test_congbao_rss_cut_short_stores_the_complete_items_only(runner, fast, instance):
    site = CongbaoSite(LocalServer())
    try:
        site.server.fault(r"^/cac-van-ban-moi-ban-hanh\.rss$", "truncate")
        result = runner.invoke(cli, ["refresh", "congbao", "--base-url", site.url, "--no-index"])
        assert "Traceback" not in result.output
        with open_store(instance) as store:
            for uid in store.uids():  # whatever was stored is whole
                doc = store.get(uid)
                assert doc.number and doc.title and doc.issued
    finally:
        site.server.close()


@pytest.mark.parametrize("where", ["issues", "documents", "attributes"])
def test_congbao_tinh_error_page_or_cut_page_stops_the_source_and_stores_nothing_of_it(
    runner, fast, instance, monkeypatch, where
):
    site = GazetteSite(LocalServer())
    try:
        monkeypatch.setenv("KB_GAZETTE_BASE_URL", site.url)
        monkeypatch.setenv("KB_GAZETTE_PROVINCE", "Sơn La")
        monkeypatch.setenv("KB_GAZETTE_FIRST_YEAR", "2026")
        monkeypatch.setattr("shutil.which", lambda name: None)
        path = {"issues": "GazettesByYearMonth", "documents": "DocumentsByGazette", "attributes": "ThuocTinh"}[where]
        site.server.fault(rf"^/congbao\.nsf/{path}$", "html" if where != "attributes" else "truncate")
        result = runner.invoke(cli, ["refresh", "congbao_tinh", "--no-index"])
        assert "Traceback" not in result.output
        with open_store(instance) as store:
            assert store.integrity_check() == "ok"
            if where == "attributes":  # the first document's attributes were cut short
                assert result.exit_code in (0, 1)
                for uid in store.uids():
                    assert store.get(uid).number
            else:
                assert result.exit_code == 1
                assert "Lỗi: congbao_tinh: trang nguồn đã đổi cấu trúc: không thấy selector" in result.output
                assert f"{site.url}/congbao.nsf/{path}" in result.output
                assert store.count() == 0
    finally:
        site.server.close()
