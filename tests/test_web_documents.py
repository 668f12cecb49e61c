"""The document page: metadata with sources, status with dates, text with a table of contents and
article anchors, relations both ways, history with a readable text diff, attachments, print view."""

import json

import pytest
from web_fixtures import (  # noqa: F401
    AMENDMENT,
    DECREE,
    LAW,
    REPLACEMENT,
    RESOLUTION,
    XSS,
    XSS_TEXT,
    app,
    client,
    kb_instance,
    make_app,
    page,
    texts,
)

from kb import vocab
from kb.model import Document
from web.diff import diff_lines


def meta(tree) -> dict[str, str]:
    return {
        row.dt.get_text(strip=True): " ".join(row.dd.get_text(" ", strip=True).split())
        for row in tree.select("dl.meta .meta-row")
    }


def test_metadata_with_source_and_link_to_the_original(client):
    tree = page(client, f"/van-ban/{RESOLUTION}")
    assert tree.h1.get_text(strip=True).startswith("Nghị quyết quy định mức thu học phí")
    rows = meta(tree)
    assert rows["Số ký hiệu"] == "05/2023/NQ-HĐND"
    assert rows["Loại văn bản"] == "Nghị quyết"
    assert rows["Cơ quan ban hành"] == "Hội đồng nhân dân tỉnh Lai Châu"
    assert rows["Người ký"] == "Giàng A Tính (Chủ tịch)"
    assert rows["Ngày ban hành"] == "20/07/2023"
    assert rows["Lĩnh vực"] == "Giáo dục" and rows["Phạm vi"] == "Địa phương"
    assert rows["Công báo"].startswith("Công báo tỉnh Lai Châu số 15")
    assert rows["Nguồn"].startswith("Công báo tỉnh")
    original = tree.select_one(".doc-actions a.button")
    assert original["href"] == "https://congbao.laichau.gov.vn/congbao.nsf/LC-2023-05"
    assert "bản gốc" in original.get_text()
    assert tree.select_one("a.source-link")["href"] == original["href"]


def test_a_field_from_another_source_says_so(client):
    tree = page(client, f"/van-ban/{LAW}")
    status_row = next(r for r in tree.select("dl.meta .meta-row") if r.dt.get_text() == "Tình trạng hiệu lực")
    assert "theo Công báo Chính phủ" in status_row.select_one(".provenance").get_text()
    number_row = next(r for r in tree.select("dl.meta .meta-row") if r.dt.get_text() == "Số ký hiệu")
    assert number_row.select_one(".provenance") is None  # the document's own source is said once


def test_status_badge_with_dates(client):
    tree = page(client, f"/van-ban/{RESOLUTION}")
    status = tree.select_one(".doc-status")
    badge = status.select_one(".badge")
    assert badge.get_text() == vocab.EXPIRED and "badge-expired" in badge["class"]
    said = " ".join(status.get_text(" ", strip=True).split())
    assert "Có hiệu lực từ 01/08/2023" in said and "Hết hiệu lực từ 01/08/2025" in said
    future = page(client, f"/van-ban/{REPLACEMENT}").select_one(".doc-status .badge")
    assert future.get_text() == vocab.NOT_YET and "badge-not-yet" in future["class"]


def test_table_of_contents_links_to_an_anchor_per_article(client):
    tree = page(client, f"/van-ban/{LAW}")
    toc = tree.select("nav.toc a")
    assert texts(toc) == [
        "Điều 1. Phạm vi điều chỉnh",
        "Điều 2. Mục tiêu giáo dục",
        "Điều 99. Học phí, chi phí dịch vụ giáo dục",
        "Điều 100. Chế độ thu, quản lý học phí",
    ]
    for link in toc:
        target = tree.find(id=link["href"][1:])
        assert target is not None and target.name == "section" and "article" in target["class"]
    assert texts(tree.select("nav.toc .toc-chapter")) == [
        "Chương I. NHỮNG QUY ĐỊNH CHUNG",
        "Chương VIII. ĐẦU TƯ VÀ TÀI CHÍNH TRONG GIÁO DỤC",
    ]
    article = tree.find(id="dieu-99")
    assert article.select_one("a.anchor-link")["href"] == "#dieu-99"
    assert texts(article.select("p"))[0].startswith("1. Học phí là khoản tiền")
    assert len(article.select("p")) == 2  # one paragraph per line


def test_preamble_of_the_text_is_kept_before_the_articles(client):
    tree = page(client, f"/van-ban/{RESOLUTION}")
    preamble = texts(tree.select(".legal-text .preamble p"))
    assert preamble[0] == "HỘI ĐỒNG NHÂN DÂN TỈNH LAI CHÂU" and "QUYẾT NGHỊ:" in preamble
    assert "Điều 1" not in " ".join(preamble)


def relation_groups(section) -> dict[str, list]:
    return {g.h4.get_text(strip=True): g.select("li") for g in section.select(".relation-group")}


def test_relations_both_ways_grouped_by_type(client):
    tree = page(client, f"/van-ban/{RESOLUTION}")
    out = relation_groups(tree.select_one(".relations-out"))
    assert list(out) == ["Căn cứ"]
    stored = {li.a["href"]: li for li in out["Căn cứ"] if li.a}
    assert set(stored) == {f"/van-ban/{DECREE}", f"/van-ban/{LAW}"}  # the decree found by number only
    assert stored[f"/van-ban/{DECREE}"].select_one(".badge").get_text() == vocab.PARTLY_EXPIRED
    unstored = [li for li in out["Căn cứ"] if "unstored" in li["class"]]
    assert len(unstored) == 1 and not unstored[0].a
    said = unstored[0].get_text(" ", strip=True)
    assert "77/2015/QH13" in said and "Luật Tổ chức chính quyền địa phương" in said
    assert "chưa có trong cơ sở dữ liệu" in said

    incoming = relation_groups(tree.select_one(".relations-in"))
    assert list(incoming) == ["Được sửa đổi, bổ sung bởi", "Bị thay thế bởi"]
    amended = incoming["Được sửa đổi, bổ sung bởi"][0]
    assert amended.a["href"] == f"/van-ban/{AMENDMENT}" and "(khoản 1 Điều 2)" in amended.get_text()
    assert incoming["Bị thay thế bởi"][0].a["href"] == f"/van-ban/{REPLACEMENT}"


def test_guidance_shows_on_the_guided_law(client):
    tree = page(client, f"/van-ban/{LAW}")
    incoming = relation_groups(tree.select_one(".relations-in"))
    assert [li.a["href"] for li in incoming["Được hướng dẫn, quy định chi tiết bởi"]] == [f"/van-ban/{DECREE}"]
    assert {li.a["href"] for li in incoming["Là căn cứ của"]} == {f"/van-ban/{DECREE}", f"/van-ban/{RESOLUTION}"}


def test_history_lists_every_change_with_a_link_to_the_text_diff(client):
    tree = page(client, f"/van-ban/{RESOLUTION}")
    events = tree.select("ol.history li.event")
    kinds = [next(c for c in e["class"] if c.startswith("event-"))[6:] for e in events]
    assert kinds == ["relation_added", "metadata_changed", "status_changed", "text_changed", "relation_added", "new"]
    status = next(e for e in events if "event-status_changed" in e["class"])
    assert [b.get_text() for b in status.select(".badge")] == [vocab.IN_FORCE, vocab.EXPIRED]
    metadata = next(e for e in events if "event-metadata_changed" in e["class"])
    assert "Ngày hết hiệu lực: (trống) → 01/08/2025" in metadata.get_text()
    incoming = [e for e in events if "event-relation_added" in e["class"]]
    assert any(
        e.a and e.a["href"] == f"/van-ban/{AMENDMENT}" and "Được sửa đổi, bổ sung bởi" in e.get_text() for e in incoming
    )
    text = next(e for e in events if "event-text_changed" in e["class"])
    diff_url = text.a["href"]
    assert diff_url == f"/van-ban/{RESOLUTION}/phien-ban/2"

    diff = page(client, diff_url)
    assert texts(diff.select(".diff del")) == ["300.000"]
    assert texts(diff.select(".diff ins")) == ["320.000"]
    assert (diff.select_one(".diff-del-count").get_text(), diff.select_one(".diff-ins-count").get_text()) == (
        "−1",
        "+1",
    )
    assert diff.select(".diff-skip") or diff.select(".diff-same")


def test_diff_of_a_version_that_does_not_exist_is_404(client):
    page(client, f"/van-ban/{RESOLUTION}/phien-ban/9", status=404)
    page(client, f"/van-ban/{RESOLUTION}/phien-ban/1", status=404)  # nothing before version 1


def test_diff_lines_marks_words_and_collapses_unchanged_paragraphs():
    old = [f"Đoạn {i}" for i in range(10)] + ["Mức thu là 300.000 đồng/tháng."]
    new = [f"Đoạn {i}" for i in range(10)] + ["Mức thu là 320.000 đồng/tháng.", "Khoản mới."]
    result = diff_lines(old, new)
    assert (result.removed, result.added) == (1, 2)
    kinds = [b.kind for b in result.blocks]
    assert kinds == ["skip", "same", "same", "change", "ins"]
    assert ("-", "300.000") in result.blocks[3].parts and ("+", "320.000") in result.blocks[3].parts
    assert not diff_lines(old, old).changed


def test_attachments(client):
    tree = page(client, f"/van-ban/{RESOLUTION}")
    items = tree.select("#tep-dinh-kem ul.attachments > li")
    assert [li.a.get_text() for li in items] == ["05-2023-NQ-HDND.pdf", "Phụ lục mức thu.docx"]
    assert items[0].a["href"] == "https://congbao.laichau.gov.vn/files/05-2023.pdf"
    assert "Bản quét, không có lớp chữ" in items[0].get_text() and "Bản gốc" in items[0].get_text()
    assert items[1].details.summary and "mức thu học phí theo vùng" in items[1].details.get_text()


def test_print_view_is_the_text_without_the_site_around_it(client):
    tree = page(client, f"/van-ban/{RESOLUTION}")
    print_url = tree.find("a", string="Bản in")["href"]
    assert print_url == f"/van-ban/{RESOLUTION}/ban-in"
    response = client.get(print_url)
    assert response.status_code == 200
    from bs4 import BeautifulSoup

    printed = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert printed.find("link", rel="stylesheet")["href"].endswith("print.css")
    assert not printed.select("header.site-header, nav, form, aside")
    assert printed.h1.get_text(strip=True).startswith("Nghị quyết quy định mức thu học phí")
    assert printed.select_one("td.status").get_text() == vocab.EXPIRED
    assert [s["id"] for s in printed.select("section.article")] == ["dieu-1", "dieu-2", "dieu-3"]
    assert "Được sửa đổi, bổ sung bởi" in printed.select_one("table.facts").get_text()


def test_scraped_html_in_title_and_text_is_escaped(client):
    response = client.get(f"/van-ban/{XSS}")
    body = response.get_data(as_text=True)
    assert "<script>alert" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    tree = page(client, f"/van-ban/{XSS}")
    assert XSS_TEXT in tree.h1.get_text()
    assert not tree.find("img", src="x") and not tree.find("b")
    assert "<img src=x onerror=alert(2)>" in tree.select_one(".legal-text").get_text()
    assert XSS_TEXT in tree.title.get_text()


def test_unknown_document_is_a_404_page_with_a_search_box(client):
    tree = page(client, "/van-ban/vbpl:khong-co", status=404)
    assert tree.select_one("form.search-form input[name=q]")
    assert "Không tìm thấy" in tree.h1.get_text()


def test_an_alias_redirects_to_the_merged_document(tmp_path):
    from index import build
    from kb import config as kbconfig
    from kb.store import Store

    conf = kbconfig.load(tmp_path / "instance", environ={})
    base = dict(number="7/2024/NQ-HĐND", title="Nghị quyết về phí", issuer="HĐND tỉnh Lai Châu", issued="2024-05-02")
    with Store(conf.db_path) as store:
        store.upsert(Document.from_dict(dict(uid="vbpl:7", **base)))
        store.upsert(Document.from_dict(dict(uid="congbao_tinh:X7", gazette="Công báo tỉnh số 9", **base)))
        build.rebuild(store, conf.index_dir)
    client = make_app(conf.instance).test_client()
    response = client.get("/van-ban/congbao_tinh:X7")
    assert response.status_code == 301 and response.headers["Location"] == "/van-ban/vbpl:7"
    tree = page(client, "/van-ban/vbpl:7")
    said = tree.select_one("dl.meta").get_text(" ", strip=True)
    assert "Cũng có tại: Công báo tỉnh" in said
    gazette = next(r for r in tree.select("dl.meta .meta-row") if r.dt.get_text() == "Công báo")
    assert gazette.select_one(".provenance").get_text() == "theo Công báo tỉnh"


@pytest.mark.parametrize("uid", [LAW, DECREE, RESOLUTION, AMENDMENT, REPLACEMENT, XSS, "vbpl:9000"])
def test_every_document_page_renders(client, uid):
    tree = page(client, f"/van-ban/{uid}")
    assert tree.select_one("nav.doc-sections a[href='#lich-su']")
    assert tree.find("link", rel="alternate", type="application/json")["href"] == f"/api/documents/{uid}"


def test_document_addresses_are_ascii_and_an_old_percent_encoded_one_redirects(tmp_path):
    from index import build
    from kb import config as kbconfig
    from kb import jsonl
    from kb.store import Store

    conf = kbconfig.load(tmp_path / "instance", environ={})
    record = {
        "id": "phapdien:x1",
        "doc_id": "163-2016-nđ-cp",
        "doc_number": "163/2016/NĐ-CP",
        "doc_title": "Quy định chi tiết thi hành một số điều của Luật ngân sách nhà nước",
        "doc_type": "Nghị định",
        "issuer": "CHÍNH PHỦ",
        "article_id": "1",
        "text": "Nghị định này quy định chi tiết.",
    }
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    with Store(conf.db_path) as store:
        jsonl.import_file(store, path)
        build.rebuild(store, conf.index_dir)
    client = make_app(conf.instance).test_client()
    tree = page(client, "/van-ban/phapdien:163-2016-nd-cp")
    assert "Bộ Pháp điển (nhập từ tệp)" in tree.select_one("dl.meta").get_text(" ", strip=True)  # not "phapdien"
    assert "Chính phủ" in tree.select_one("dl.meta").get_text(" ", strip=True)  # printed "CHÍNH PHỦ"
    response = client.get("/van-ban/phapdien:163-2016-n%C4%91-cp")  # the address an earlier version gave
    assert response.status_code == 301 and response.headers["Location"] == "/van-ban/phapdien:163-2016-nd-cp"
    assert client.get("/van-ban/phapdien:163-2016-n%C4%91-cp/ban-in").status_code == 301
