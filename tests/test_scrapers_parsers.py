"""The parsers, on real saved material (../shared/pages, read in place) and on hand-made fixtures of
the same structure (tests/fixtures/scrapers): one parametrised harness compares what each parser
makes of each input with an expected JSON file next to the fixtures (juriscraper's habit).

A missing expected file fails. To regenerate after a deliberate change, run with
KB_REGENERATE_EXPECTED=1 and review the diff of tests/fixtures/scrapers/expected/ before committing."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from conftest import shared_file

import scrapers
from kb import vocab
from kb.model import Document, normalise
from scrapers import congbao, congbao_tinh, vbpl
from scrapers.base import Entry, Relevance, html_to_text, province_of, split_signer, usable_text
from scrapers.errors import BadResponse, LayoutChanged

FIXTURES = Path(__file__).parent / "fixtures" / "scrapers"
EXPECTED = FIXTURES / "expected"
CONGBAO = "https://congbao.chinhphu.vn"
SONLA = "https://congbao.sonla.gov.vn/congbao.nsf"


def shared(name: str) -> Path:
    return shared_file("pages", name)


def fixture(name: str) -> Path:
    return FIXTURES / name


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8").replace("{base}", CONGBAO).replace("{cdn}", "https://g7.cdnchinhphu.vn")


def summary(doc: Document) -> dict:
    """A document as JSON, with long text replaced by its length, hash and beginning."""
    data = normalise(doc).to_dict()
    text = data.pop("text")
    data["text"] = {"length": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest()[:16], "start": text[:160]}
    data["articles"] = [
        {
            "number": a["number"],
            "heading": a["heading"],
            "chapter": a["chapter"],
            "anchor": a["anchor"],
            "length": len(a["text"]),
            "start": a["text"][:60],
        }
        for a in data["articles"]
    ]
    return data


def entries(items: list[Entry]) -> list[dict]:
    return [e.to_json() for e in items]


# Each case: (name, input, parser). The parser gets the input's text.
CASES = [
    (
        "vbpl_list_page1",
        lambda: shared("vbpl_api_doc_all_page1_sample.json"),
        lambda text: (lambda r: {"total": r[1], "entries": entries(r[0])})(
            vbpl.parse_list(text, vbpl.DEFAULT_BASE_URL + "/doc/all")
        ),
    ),
    *[
        (
            f"vbpl_detail_{i}",
            (lambda i=i: shared(f"vbpl_api_doc_{i}.json")),
            (lambda text, i=i: summary(vbpl.parse_detail(text, f"{vbpl.DEFAULT_BASE_URL}/doc/{i}"))),
        )
        for i in ("187649", "188001", "19761")
    ],
    *[
        (
            f"vbpl_detail_{i[:8]}",
            (lambda i=i: fixture(f"vbpl/doc_{i}.json")),
            (lambda text, i=i: summary(vbpl.parse_detail(text, f"{vbpl.DEFAULT_BASE_URL}/doc/{i}"))),
        )
        for i in ("c94b9430-424b-11f1-b2c9-df1b860af5cf", "af28f900-429e-11f1-ac02-3babf827b65c")
    ],
    *[
        (
            f"vbpl_tree_{i}",
            (lambda i=i: shared(f"vbpl_api_provision_tree_{i}.json")),
            (
                lambda text, i=i: (
                    lambda r: {
                        "text_length": len(r[0]),
                        "articles": [
                            {"number": a.number, "heading": a.heading, "chapter": a.chapter, "text": a.text}
                            for a in r[1]
                        ],
                    }
                )(vbpl.parse_tree(text, f"{vbpl.DEFAULT_BASE_URL}/doc/provision/tree/{i}"))
            ),
        )
        for i in ("187649", "188001", "19761")
    ],
    (
        "vbpl_files_188001",
        lambda: fixture("vbpl/files_188001.json"),
        lambda text: [f.__dict__ for f in vbpl.parse_files(text, vbpl.DEFAULT_BASE_URL + "/doc/minio/x")],
    ),
    (
        "congbao_rss",
        lambda: fixture("congbao/cac-van-ban-moi-ban-hanh.rss"),
        lambda text: entries(congbao.parse_rss(text, CONGBAO + congbao.RSS_PATH)),
    ),
    *[
        (
            f"congbao_document_{n}",
            (lambda n=n: fixture(f"congbao/{n}.htm")),
            (
                lambda text, n=n: (lambda r: {"document": summary(r[0]), "files": [f.__dict__ for f in r[1]]})(
                    congbao.parse_document(text, f"{CONGBAO}/van-ban/{n}.htm")
                )
            ),
        )
        for n in (
            "nghi-quyet-so-66-14-2026-nq-cp-52001",
            "thong-tu-so-05-2026-tt-btp-51990",
            "nghi-dinh-so-163-2016-nd-cp-20016",
        )
    ],
    (
        "congbao_tinh_issues_2026",
        lambda: shared("congbao_sonla_gazettes_by_year_2026.html"),
        lambda text: [
            i.__dict__
            for i in congbao_tinh.parse_issues(
                text, f"{SONLA}/GazettesByYearMonth?openView&Count=-1&RestrictToCategory=2026"
            )
        ],
    ),
    (
        "congbao_tinh_documents_no47",
        lambda: shared("congbao_sonla_documents_by_gazette_sample.html"),
        lambda text: entries(
            congbao_tinh.parse_gazette_documents(
                text,
                f"{SONLA}/DocumentsByGazette?openView&Count=-1&RestrictToCategory=2026%2FNo.%7B47%7D",
                congbao_tinh.Issue("2026%2FNo.%7B47%7D", "Số 47 Ngày 25/7/2026", "47", "2026-07-25", None),
            )
        ),
    ),
    (
        "congbao_tinh_attributes_2979",
        lambda: fixture("congbao_tinh/ThuocTinh_2979FBD220E3084E47258E33002A7EF2.html"),
        lambda text: congbao_tinh.parse_attributes(text, f"{SONLA}/ThuocTinh?openForm&ParentUNID=2979FBD2"),
    ),
]


@pytest.mark.parametrize("name,source,parser", CASES, ids=[c[0] for c in CASES])
def test_parser_output_matches_expected_json(name, source, parser):
    result = json.loads(json.dumps(parser(read(source())), ensure_ascii=False, default=str))
    expected_path = EXPECTED / f"{name}.json"
    if os.environ.get("KB_REGENERATE_EXPECTED"):
        expected_path.write_text(
            json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    assert expected_path.exists(), f"{expected_path} is missing (regenerate with KB_REGENERATE_EXPECTED=1, then review)"
    assert result == json.loads(expected_path.read_text(encoding="utf-8"))


def test_every_source_is_registered_and_has_fixtures_and_expected_output():
    modules = {p.stem for p in (Path(scrapers.__file__).parent).glob("*.py")} - {
        "__init__",
        "base",
        "errors",
        "http",
        "attachments",
        "refresh",
    }
    assert modules == set(scrapers.SOURCES)
    names = [c[0] for c in CASES]
    for source in scrapers.SOURCES:
        assert any(n.startswith(source + "_") for n in names), f"no parser case for {source}"
        assert any((FIXTURES / source).iterdir()), f"no hand-made fixture for {source}"
    assert {p.stem for p in EXPECTED.glob("*.json")} == set(names), "expected files without a case, or the reverse"


# --- what the expected files pin down, said explicitly --------------------------------------------


def test_vbpl_detail_carries_exactly_what_the_gateway_says():
    raw = json.loads(shared("vbpl_api_doc_188001.json").read_text(encoding="utf-8"))["data"]
    doc = normalise(vbpl.parse_detail(read(shared("vbpl_api_doc_188001.json")), "u"))
    assert (doc.uid, doc.number, doc.doc_type, doc.issuer) == (
        "vbpl:188001",
        "01/2026/NQ-HĐND",
        "Nghị quyết",
        "Hội đồng nhân dân tỉnh Đồng Nai",  # the vocabulary's name (printed "HĐND Tỉnh Đồng Nai"),
    )
    assert (doc.issued, doc.effective, doc.expires, doc.status) == ("2026-04-10", "2026-04-10", None, "Còn hiệu lực")
    assert [(s.name, s.title, s.issuer) for s in doc.signers] == [("Tôn Ngọc Hạnh", "Chủ tịch", "HĐND Tỉnh Đồng Nai")]
    assert [(r.type, r.target_uid, r.target_number, r.target_title) for r in doc.relations] == [
        ("can_cu", f"vbpl:{r['targetDocument']['id']}", r["targetDocument"]["docNum"], r["targetDocument"]["title"])
        for r in raw["references"]
    ]
    assert doc.text == "" and doc.extra["vbpl"]["body"] == "none"  # PDF only
    assert [(a.name, a.kind) for a in doc.attachments] == [
        ("VanBanGoc_01.2026.NQ-HĐND. NGHI QUYET QUY CHE HDND.pdf", "original")
    ]
    assert (doc.scope, doc.province) == (vocab.LOCAL, "Đồng Nai")


def test_vbpl_quirks_uuid_ids_control_characters_css_only_bodies_unknown_relation_codes():
    doc = vbpl.parse_detail(read(fixture("vbpl/doc_c94b9430-424b-11f1-b2c9-df1b860af5cf.json")), "u")
    assert doc.uid == "vbpl:c94b9430-424b-11f1-b2c9-df1b860af5cf"
    assert doc.title.endswith("Cơ sở dữ liệu công chứng")  # the 0x01 is gone
    assert [a.number for a in doc.articles] == ["1", "2"] and "quản lý Cơ sở" in doc.articles[0].text
    assert [(r.type, r.note) for r in doc.relations] == [("can_cu", None), ("lien_quan", "vbpl referenceType 11")]
    shell = vbpl.parse_detail(read(fixture("vbpl/doc_af28f900-429e-11f1-ac02-3babf827b65c.json")), "u")
    assert shell.text == "" and shell.articles == [] and shell.extra["vbpl"]["body"] == "empty"
    assert not usable_text(html_to_text("<html><head><style>p{x:y}</style></head><body><div></div></body></html>"))


def test_vbpl_html_body_keeps_the_articles_of_the_attached_regulation():
    doc = vbpl.parse_detail(read(shared("vbpl_api_doc_187649.json")), "u")
    assert doc.text.startswith("HỘI ĐỒNG NHÂN DÂN\nTHÀNH PHỐ HUẾ\nSố: 01/2026/NQ-HĐND")
    numbers = [a.number for a in doc.articles]
    assert numbers[:3] == ["1", "2", "3"] and numbers[3:6] == ["1", "2", "3"] and numbers[-1] == "35"
    assert doc.articles[3].chapter == "Chương I. NHỮNG QUY ĐỊNH CHUNG"
    assert doc.relations == []  # the response has no references


def test_layout_changes_name_the_source_the_field_or_selector_and_the_url():
    payload = json.loads(read(shared("vbpl_api_doc_19761.json")))
    payload["data"]["documentNumber"] = payload["data"].pop("docNum")
    with pytest.raises(LayoutChanged) as err:
        vbpl.parse_detail(json.dumps(payload), "https://gw/doc/19761")
    assert str(err.value) == "vbpl: trang nguồn đã đổi cấu trúc: không thấy field 'data.docNum' ở https://gw/doc/19761"
    listing = json.loads(read(shared("vbpl_api_doc_all_page1_sample.json")))
    listing["data"]["content"] = listing["data"].pop("items")
    with pytest.raises(LayoutChanged, match=r"không thấy field 'data.items' ở https://gw/doc/all"):
        vbpl.parse_list(json.dumps(listing), "https://gw/doc/all")
    with pytest.raises(
        LayoutChanged,
        match=r"congbao_tinh: trang nguồn đã đổi cấu trúc: không thấy selector 'table.tbl-attributes' ở http://s/x",
    ):
        congbao_tinh.parse_attributes("<html><body><table class='attrs'></table></body></html>", "http://s/x")
    with pytest.raises(LayoutChanged, match=r"selector 'span\[doccate\]'"):
        congbao_tinh.parse_issues("<html><body><p>Trang chủ mới</p></body></html>", "http://s/y")
    with pytest.raises(
        LayoutChanged, match=r"congbao: trang nguồn đã đổi cấu trúc: không thấy selector 'div.row > span.name'"
    ):
        congbao.parse_document(
            "<html><body><table><tr><td>Số ký hiệu</td></tr></table></body></html>", "http://c/van-ban/a-1.htm"
        )
    with pytest.raises(LayoutChanged, match=r"element 'rss > channel'"):
        congbao.parse_rss("<html><body>Bảo trì hệ thống</body></html>", "http://c/feed.rss")
    with pytest.raises(BadResponse, match="success=false"):
        vbpl.parse_detail('{"success": false, "message": "Không tìm thấy văn bản", "data": null}', "http://gw/doc/1")


def test_an_empty_domino_view_is_no_documents_not_a_layout_change():
    empty = "<html><body><h2>No documents found</h2></body></html>"
    assert congbao_tinh.parse_issues(empty, "u") == []
    assert congbao_tinh.parse_gazette_documents(empty, "u") == []


def test_congbao_tinh_document_completes_the_issuer_with_the_province():
    rows = congbao_tinh.parse_gazette_documents(
        read(shared("congbao_sonla_documents_by_gazette_sample.html")), SONLA + "/DocumentsByGazette?x"
    )
    attributes = congbao_tinh.parse_attributes(
        read(fixture("congbao_tinh/ThuocTinh_2979FBD220E3084E47258E33002A7EF2.html")), "u"
    )
    doc = normalise(congbao_tinh.build_document(rows[0], attributes, "Sơn La", "https://s/NoiDung"))
    assert (doc.uid, doc.number, doc.issuer, doc.province) == (
        "congbao_tinh:2979FBD220E3084E47258E33002A7EF2",
        "37/2026/QĐ-UBND",
        "Ủy ban nhân dân tỉnh Sơn La",  # printed "UBND Tỉnh Sơn La",
        "Sơn La",
    )
    assert (doc.doc_type, doc.issued, doc.effective, doc.status) == (
        "Quyết định",
        "2026-07-13",
        "2026-07-23",
        "Còn hiệu lực",
    )
    assert [(s.name, s.title) for s in doc.signers] == [("Nguyễn Thành Công", "Phó Chủ tịch UBND")]
    assert doc.gazette == "Số 47 Ngày 25/7/2026, trang 4" and doc.fields == ["Nông nghiệp", "Tài sản công"]


def test_signers_and_provinces():
    assert split_signer("Chủ tịch HĐND Lò Minh Hùng").name == "Lò Minh Hùng"
    assert split_signer("Phó Chủ tịch TTHĐND Vi Đức Thọ").title == "Phó Chủ tịch TTHĐND"
    assert split_signer("Nguyễn Văn A").title is None
    assert province_of("HĐND Tỉnh Đồng Nai") == "Đồng Nai" and province_of("HĐND Thành phố Huế") == "Huế"
    assert province_of("Bộ Tài chính") is None


def test_relevance_default_is_central_normative_documents_and_the_province_s_own():
    rel = Relevance(provinces=["Lai Châu"])
    local = Entry("1", "f", number="15/2025/NQ-HĐND", title="Nghị quyết về phí trên địa bàn tỉnh Lai Châu")
    other = Entry("2", "f", number="01/2026/NQ-HĐND", title="Quy chế làm việc của HĐND thành phố Huế")
    central = Entry("3", "f", number="72/2025/QH15", title="Luật Tổ chức chính quyền địa phương", doc_type="Luật")
    letter = Entry("4", "f", number="2709/UBND-KTTH", title="Công văn về thuế", doc_type="Công văn")
    assert rel.check_listing(local) is None and rel.check_listing(central) is None
    assert rel.check_listing(other) is False and rel.check_listing(letter) is False
    assert rel.check_listing(other, trusted_local=True) is None
    # "Huế" must match as a word, not inside "thuế"
    assert not Relevance(provinces=["Huế"]).mentions_province("Quản lý thuế")
    assert Relevance(provinces=["Huế"]).mentions_province("HĐND Thành phố Huế")
    assert Relevance(provinces=["Lai Châu"]).fingerprint() != Relevance(provinces=["Sơn La"]).fingerprint()
    # A document of another province that mentions Lai Châu in its title is still not Lai Châu's own.
    neighbour = normalise(vbpl.parse_detail(read(shared("vbpl_api_doc_188001.json")), "u"))
    neighbour.title += " (phối hợp với tỉnh Lai Châu)"
    assert not rel.check(neighbour) and Relevance(provinces=["Đồng Nai"]).check(neighbour)
    ministry = normalise(vbpl.parse_detail(read(shared("vbpl_api_doc_19761.json")), "u"))
    assert rel.check(ministry) and not Relevance(issuers=["Chính phủ"]).check(ministry)
    assert Relevance(all=True).check(normalise(vbpl.parse_detail(read(shared("vbpl_api_doc_187649.json")), "u")))


def test_congbao_document_reads_every_attribute_row_and_names_the_issuer_canonically():
    doc, _ = congbao.parse_document(
        fixture("congbao/nghi-dinh-so-163-2016-nd-cp-20016.htm").read_text(encoding="utf-8"),
        f"{CONGBAO}/van-ban/nghi-dinh-so-163-2016-nd-cp-20016.htm",
    )
    assert doc.issuer == "Chính phủ"  # printed "CHÍNH PHỦ"
    assert doc.fields == ["Tài chính nhà nước", "Ngân sách nhà nước"]  # the "Lĩnh vực" row
    assert (doc.issued, doc.effective, doc.expires) == ("2016-12-21", "2017-01-01", None)
    assert doc.extra[congbao.EXTRA]["Nguồn văn bản"] == "Văn phòng Chính phủ"  # a row no field holds: kept
    assert doc.extra[congbao.EXTRA]["Lĩnh vực"] == "Tài chính nhà nước; Ngân sách nhà nước"
