"""The rà soát page /ra-soat (web/review.py): grouped by cause, filters in the URL, the annex as CSV and DOCX,
a document's page with its review history and the form that marks it reviewed, the banner on the page of a
provincial document — all without JavaScript."""

import csv
import io
import json
from pathlib import Path

import pytest
from docx import Document as DocxDocument
from web_fixtures import form_post, make_app, page, parse, texts

from index import build
from kb import config as kbconfig
from kb.legal import derived
from kb.model import Document
from kb.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "review"
A, C, D, E, F = (
    "vbpl:laichau-67-2016",
    "vbpl:laichau-12-2022",
    "vbpl:laichau-25-2025",
    "vbpl:laichau-08-2019",
    "vbpl:laichau-qd-21-2020",
)


def build_review_instance(folder: Path) -> Path:
    conf = kbconfig.load(folder, environ={})
    with Store(conf.db_path) as store:
        for line in (FIXTURES / "before.jsonl").read_text(encoding="utf-8").splitlines():
            store.upsert(Document.from_dict(json.loads(line)))
        build.rebuild(store, conf.index_dir)
        derived.refresh(store)  # as the writing commands do (kbcli/sync.py)
    return folder


@pytest.fixture
def instance_dir(tmp_path):
    return build_review_instance(tmp_path / "instance")


@pytest.fixture
def client(instance_dir):
    return make_app(instance_dir).test_client()


def listed(tree) -> list[str]:
    return [a["href"].removeprefix("/van-ban/") for a in tree.select(".review-entry .hit-number")]


def test_the_page_groups_by_cause(client):
    tree = page(client, "/ra-soat")
    assert tree.h1.get_text(strip=True) == "Văn bản của tỉnh cần rà soát"
    assert tree.select_one("nav.site-nav a[aria-current=page]").get_text(strip=True) == "Rà soát"
    assert texts(tree.select(".review-group-title")) == [
        "Căn cứ bị thay thế (2)",
        "Căn cứ được sửa đổi, bổ sung, bãi bỏ ở điều, khoản viện dẫn (1)",
        "Căn cứ được sửa đổi — cần xem điều khoản (1)",
        "Cần xác minh (1)",
    ]
    assert listed(tree)[:2] == [A, F] and D not in listed(tree) and listed(tree)[-1] == E
    first = tree.select_one(".review-entry")
    reasons = texts(first.select(".review-reason"))
    assert "Luật Tổ chức chính quyền địa phương ngày 19/06/2015" in reasons[0]
    assert "Từ ngày 01/03/2025" in reasons[0] and "Đang có hiệu lực: 65/2025/QH15" in reasons[0]
    assert first.select_one(".review-reason a")["href"] == "/van-ban/vbpl:77-2015-qh13"
    assert "Kiến nghị: Thay thế" in first.select_one(".review-actions").get_text()
    assert texts(first.select(".review-ban")) == ["Ban Kinh tế – Ngân sách"]  # lĩnh vực Thương mại
    assert tree.select_one("#nhom-verify .review-reason").get_text(" ", strip=True).startswith("Cần xác minh")


def test_filters_live_in_the_url(client):
    assert listed(page(client, "/ra-soat?coquan=ubnd")) == [F]
    assert listed(page(client, "/ra-soat?ban=Ban Văn hóa – Xã hội")) == [C]
    assert listed(page(client, "/ra-soat?nam=2022")) == [C]
    assert listed(page(client, "/ra-soat?linhvuc=dat dai")) == [F]
    tree = page(client, "/ra-soat?nguyennhan=verify")
    assert listed(tree) == [E]
    assert tree.select_one(".status-tabs [aria-current=page]").get_text(strip=True) == "Cần xác minh (1)"
    tree = page(client, "/ra-soat?coquan=abc&nam=20x&ban=Ban Đô thị")
    assert len(tree.select(".notice")) >= 3 and len(listed(tree)) == 5
    assert "vbpl:laichau-05-2016" in listed(page(client, "/ra-soat?het_hieu_luc=1"))  # no longer in force: on request
    assert listed(page(client, "/ra-soat?sapxep=cu"))[:2] == [F, A]  # oldest change first within each cause
    ban = page(client, "/ra-soat?ban=Ban Văn hóa – Xã hội")
    assert ban.select_one("#rv-ban option[selected]")["value"] == "Ban Văn hóa – Xã hội"
    assert ban.select_one(".review-exports a")["href"].startswith("/ra-soat.csv?ban=Ban")


def test_exports(client):
    response = client.get("/ra-soat.csv?coquan=hdnd")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["STT", "Tên loại văn bản", "Số, ký hiệu"] and len(rows) == 5
    assert "21/2020/QĐ-UBND" not in {r[2] for r in rows}
    data = client.get("/ra-soat.json?ban=Ban Văn hóa – Xã hội").get_json()
    assert data["count"] == 1 and data["entries"][0]["number"] == "12/2022/NQ-HĐND"
    assert (
        data["entries"][0]["bans"] == ["Ban Văn hóa – Xã hội"]
        and data["entries"][0]["reasons"][0]["cause"] == "amended"
    )
    response = client.get("/ra-soat.docx")
    table = DocxDocument(io.BytesIO(response.data)).tables[0]
    assert table.rows[1].cells[2].text == "67/2016/NQ-HĐND" and len(table.rows) == 6


def test_marking_reviewed_on_the_page(client):
    tree = page(client, f"/ra-soat/van-ban/{A}")
    assert tree.h1.get_text(strip=True) == "Nghị quyết số 67/2016/NQ-HĐND"
    assert "Chưa có lần rà soát nào" in tree.get_text()
    response = form_post(client, tree, "form.review-mark", {"verdict": "con_phu_hop", "reviewer": "", "note": "x"})
    assert response.status_code == 400 and "Cần ghi tên người rà soát" in parse(response).get_text()
    response = form_post(
        client,
        tree,
        "form.review-mark",
        {"verdict": "con_phu_hop", "reviewer": "Nguyễn Văn An", "note": "Nội dung còn phù hợp", "day": "02/02/2026"},
    )
    assert response.status_code == 303
    done = page(client, response.headers["Location"])
    assert "Đã ghi nhận kết quả rà soát." in done.get_text()
    assert texts(done.select(".review-history li")) == [
        "Đã rà soát — còn phù hợp — 02/02/2026, Nguyễn Văn An: Nội dung còn phù hợp"
    ]
    assert A not in listed(page(client, "/ra-soat"))
    assert A in listed(page(client, "/ra-soat?da_ra_soat=1"))
    # without the CSRF token the form is refused
    assert client.post(f"/ra-soat/van-ban/{A}", data={"verdict": "con_phu_hop", "reviewer": "X"}).status_code == 400
    assert client.get("/ra-soat/van-ban/vbpl:sonla-15-2016").status_code == 404


def test_banner_on_the_document_page(client):
    tree = page(client, f"/van-ban/{A}")
    banner = tree.select_one(".review-banner")
    assert banner is not None and "Bị thay thế bởi Luật số 65/2025/QH15" in banner.get_text()
    assert banner.select_one("a")["href"] == f"/ra-soat/van-ban/{A}"
    assert page(client, f"/van-ban/{D}").select_one(".review-banner") is None
    assert page(client, "/van-ban/vbpl:77-2015-qh13").select_one(".review-banner") is None
