"""The delegation tracker: which clauses of central documents assign the provincial HĐND to regulate or
decide, and which are answered by a resolution of the province."""

import gzip
import json
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import shared_file

from kb.legal.delegation import ANSWERED, OPEN, find_delegations, is_central_parent, track_delegations
from kb.model import Document
from kbcli.main import cli

FIXTURES = Path(__file__).parent / "fixtures" / "checker"


@pytest.fixture
def kb(store):
    for line in (FIXTURES / "store.jsonl").read_text(encoding="utf-8").splitlines():
        store.upsert(Document.from_dict(json.loads(line)))
    return store


def decree(*articles, doc_type="Nghị định", number="9100/2025/NĐ-CP", issuer="Chính phủ", **extra):
    return Document.from_dict(
        {
            "uid": "t:" + number,
            "number": number,
            "title": "Văn bản thử",
            "doc_type": doc_type,
            "issuer": issuer,
            "issued": "2025-01-01",
            "effective": "2025-02-01",
            "articles": [{"number": n, "text": t} for n, t in articles],
            **extra,
        }
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "Hội đồng nhân dân cấp tỉnh quy định mức hỗ trợ cụ thể.",
        "Ủy ban nhân dân cấp tỉnh trình Hội đồng nhân dân cấp tỉnh quyết định danh mục dự án.",
        "Căn cứ khả năng ngân sách, Hội đồng nhân dân tỉnh, thành phố trực thuộc trung ương quyết định mức chi.",
        "Mức thu cụ thể do HĐND tỉnh quyết định.",
        "Giao Hội đồng nhân dân cấp tỉnh ban hành chính sách đặc thù.",
        "Hội đồng nhân dân cấp tỉnh xem xét, quyết định mức hỗ trợ cao hơn.",
        "Hội đồng nhân dân các tỉnh, thành phố trực thuộc trung ương quy định cụ thể đối tượng được miễn.",
    ],
)
def test_delegating_sentences(sentence):
    (found,) = find_delegations(decree(("4", sentence)))
    assert found.excerpt == sentence and found.article == "4" and found.clause is None


@pytest.mark.parametrize(
    "sentence",
    [
        "Căn cứ vào Nghị quyết của Hội đồng nhân dân cấp tỉnh, Ủy ban nhân dân cấp tỉnh quyết định giao dự toán.",
        "Trường hợp Hội đồng nhân dân cấp tỉnh chưa ban hành mức thu mới thì tiếp tục thực hiện.",
        "Chủ tịch Hội đồng nhân dân cấp tỉnh quyết định việc ký kết thỏa thuận quốc tế.",
        "Văn phòng Đoàn đại biểu Quốc hội và Hội đồng nhân dân cấp tỉnh tổ chức thực hiện theo quy định.",
        "Thường trực Hội đồng nhân dân cấp tỉnh quyết định triệu tập kỳ họp.",
        "Người có thẩm quyền được Hội đồng nhân dân cấp tỉnh phân cấp quyết định mua sắm tài sản.",
        "Kế hoạch phát triển kinh tế - xã hội được Hội đồng nhân dân cấp tỉnh thông qua.",
        "Hội đồng nhân dân cấp xã quyết định mức hỗ trợ.",
        "Không vượt định mức đã được Hội đồng nhân dân cấp tỉnh quyết định.",
    ],
)
def test_sentences_that_are_not_delegations(sentence):
    assert find_delegations(decree(("4", sentence))) == []


def test_clauses_and_which_documents_are_central():
    doc = decree(("5", "1. Nhà nước khuyến khích đầu tư.\n2. Hội đồng nhân dân cấp tỉnh quy định chính sách hỗ trợ."))
    (found,) = find_delegations(doc)
    assert (found.provision, found.key) == ("khoản 2 Điều 5", "t:9100/2025/NĐ-CP#dieu-5-khoan-2")
    text = "Hội đồng nhân dân cấp tỉnh quy định mức chi."
    assert (
        find_delegations(
            decree(
                ("1", text), doc_type="Nghị quyết", number="01/2025/NQ-HĐND", issuer="Hội đồng nhân dân tỉnh Lai Châu"
            )
        )
        == []
    )
    assert not is_central_parent(decree(("1", text), doc_type="Nghị quyết", number="01/2025/NQ-CP"))
    assert is_central_parent(
        decree(("1", text), doc_type="Nghị quyết", number="103/2025/UBTVQH15", issuer="Ủy ban Thường vụ Quốc hội")
    )
    assert is_central_parent(
        decree(("1", text), doc_type="Quyết định", number="12/2025/QĐ-TTg", issuer="Thủ tướng Chính phủ")
    )
    assert not is_central_parent(
        decree(("1", text), doc_type="Quyết định", number="12/2025/QĐ-BTC", issuer="Bộ Tài chính")
    )
    # A document stored with its text only is split into articles first.
    plain = Document.from_dict(
        {
            "uid": "t:x",
            "number": "9101/2025/NĐ-CP",
            "title": "x",
            "doc_type": "Nghị định",
            "issuer": "Chính phủ",
            "text": "Điều 1. Phạm vi\nVăn bản.\nĐiều 2. Mức chi\n" + text,
        }
    )
    assert [d.article for d in find_delegations(plain)] == ["2"]


def test_tracker_on_the_fixture_store(kb):
    items = track_delegations(kb, "Lai Châu")
    assert [(d.parent_number, d.provision, d.status) for d in items] == [
        ("9006/2025/TT-BTC", "khoản 1 Điều 3", ANSWERED),  # newest parent first (in force 01/07/2025)
        ("60/2024/NĐ-CP", "khoản 2 Điều 5", ANSWERED),
        ("60/2024/NĐ-CP", "Điều 7", OPEN),  # only Sơn La answered it
    ]
    assert [(a.number, a.match) for a in items[1].answers] == [("9004/2025/NQ-HĐND", "clause")]
    assert [(a.number, a.match) for a in items[0].answers] == [("9007/2025/NQ-HĐND", "document")]
    # Sơn La's resolution answers Điều 7 for Sơn La, not for Lai Châu.
    son_la = track_delegations(kb, "Sơn La", status=ANSWERED)
    assert [(d.provision, d.answers[0].number) for d in son_la] == [("Điều 7", "9005/2025/NQ-HĐND")]
    assert [d.provision for d in track_delegations(kb, "Lai Châu", status=OPEN)] == ["Điều 7"]
    assert [d.parent_number for d in track_delegations(kb, "Lai Châu", field="tai chinh")] == ["9006/2025/TT-BTC"]
    assert track_delegations(kb, "Lai Châu", since="2025-06-01")[0].parent_number == "9006/2025/TT-BTC"
    assert len(track_delegations(kb, "Lai Châu", since="2025-06-01")) == 1
    data = json.loads(json.dumps([d.to_dict() for d in items], ensure_ascii=False))
    assert data[2]["status_label"] == "Chưa ban hành" and data[2]["parent_effective"] == "2024-07-20"


def test_a_document_level_citation_does_not_answer_every_delegation(kb):
    kb.upsert(
        Document.from_dict(
            {
                "uid": "t:lc-9008",
                "number": "9008/2026/NQ-HĐND",
                "doc_type": "Nghị quyết",
                "province": "Lai Châu",
                "issuer": "Hội đồng nhân dân tỉnh Lai Châu",
                "issued": "2026-01-10",
                "title": "Về một việc khác hẳn",
                "text": "Căn cứ Nghị định số 60/2024/NĐ-CP ngày 05 tháng 6 năm 2024 của Chính phủ;",
            }
        )
    )
    open_item = track_delegations(kb, "Lai Châu", status=OPEN)[0]
    assert open_item.provision == "Điều 7" and [a.number for a in open_item.related] == ["9008/2026/NQ-HĐND"]


def test_kb_delegations_command(runner):
    assert runner.invoke(cli, ["import", "--no-index", str(FIXTURES / "store.jsonl")]).exit_code == 0
    result = runner.invoke(cli, ["delegations", "--province", "Lai Châu"])
    assert result.exit_code == 0, result.output
    assert "3 nội dung; 1 chưa ban hành, 2 đã ban hành." in result.output
    result = runner.invoke(cli, ["delegations", "--province", "Lai Châu", "--status", "open", "--json"])
    data = json.loads(result.output)
    assert data["count"] == 1 and data["items"][0]["provision"] == "Điều 7"
    result = runner.invoke(cli, ["delegations", "--since", "not a date"])
    assert result.exit_code == 1 and "không hợp lệ" in result.output


def test_real_phapdien_documents():
    """The tracker's clause finder on the real pháp điển articles (read in place)."""
    path = shared_file("corpus", "phapdien_articles.jsonl.gz")
    wanted = {"62/2022/TT-BTC", "27/2023/NĐ-CP", "1004/2020/UBTVQH14"}
    articles = defaultdict(list)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("doc_number") in wanted:
                articles[r["doc_number"]].append(r)
    found = {}
    for number, records in articles.items():
        r0 = records[0]
        doc = Document.from_dict(
            {
                "uid": "pd:" + number,
                "number": number,
                "title": r0["doc_title"] or number,
                "doc_type": r0["doc_type"],
                "issuer": r0["issuer"],
                "articles": [{"number": r["article_id"].split("~")[0], "text": r["text"]} for r in records],
            }
        )
        found[number] = [d.provision for d in find_delegations(doc)]
    # "… Hội đồng nhân dân cấp tỉnh xem xét, quyết định mức hỗ trợ cụ thể" (Thông tư 62/2022/TT-BTC, Điều 5)
    assert "khoản 8 Điều 5" in found["62/2022/TT-BTC"]
    # "trường hợp Hội đồng nhân dân cấp tỉnh chưa ban hành mức thu phí mới …" is transitional, not a delegation
    assert "khoản 2 Điều 10" not in found["27/2023/NĐ-CP"]
