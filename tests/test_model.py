import pytest

from kb.articles import split_articles
from kb.errors import RecordError
from kb.model import Article, Document


def make(**overrides) -> dict:
    data = {
        "uid": "vbpl:188001",
        "number": "01/2026/NQ-HĐND",
        "title": "Nghị quyết ban hành Quy chế",
        "issuer": "HĐND Tỉnh Đồng Nai",
        "issued": "2026-01-09",
        "status": "CHL",
    }
    data.update(overrides)
    return data


def test_from_dict_normalises_vocabularies_and_text():
    doc = Document.from_dict(
        make(number="Số: 01/2026/NQ – HĐND", issued="2026-01-09T00:00:00", title="  Nghị  quyết\nban hành  ")
    )
    assert doc.source == "vbpl" and doc.source_id == "188001"
    assert doc.number == "01/2026/NQ-HĐND"
    assert doc.doc_type == "Nghị quyết"  # from the number's type code
    assert doc.status == "Còn hiệu lực"
    assert doc.scope == "Địa phương"
    assert doc.issued == "2026-01-09"
    assert doc.title == "Nghị quyết ban hành"


def test_round_trip_through_dict():
    doc = Document.from_dict(
        make(
            articles=[{"number": "1", "heading": "Phạm vi", "text": "1. Một\n2. Hai"}],
            relations=[{"type": 3, "target_number": "103/2025/UBTVQH15"}],
            signers=[{"name": "Tôn Ngọc Hạnh", "title": "Chủ tịch"}],
        )
    )
    again = Document.from_dict(doc.to_dict())
    assert again == doc
    assert again.relations[0].type == "can_cu"
    assert again.articles[0].anchor == "dieu-1"
    assert again.articles[0].clauses() == [("1", "Một"), ("2", "Hai")]


def test_cross_source_key_separates_provinces():
    a = Document.from_dict(make())
    b = Document.from_dict(make(uid="vbpl:9", issuer="HĐND tỉnh Lai Châu"))
    c = Document.from_dict(make(uid="congbao_tinh:x", number="01/2026/nq-hdnd"))
    assert a.key != b.key
    assert a.key == c.key


def test_duplicate_article_numbers_get_unique_anchors():
    doc = Document.from_dict(make(articles=[{"number": "1", "text": "a"}, {"number": "1", "text": "b"}]))
    assert [a.anchor for a in doc.articles] == ["dieu-1", "dieu-1-2"]


@pytest.mark.parametrize(
    "data,reason",
    [
        ({"title": "x"}, "uid"),
        (make(uid="noprefix"), "uid"),
        (make(title="", number=None), "title"),
        (make(issued="31/02/2025"), "không phải là ngày có thật"),
        (make(issued="yesterday"), "không phải là ngày"),
        (make(colour="red"), "trường không có trong lược đồ"),
        (make(articles=[{"number": "1", "txt": "x"}]), "trường không có trong lược đồ của article"),
        (make(articles="Điều 1"), "phải là một danh sách"),
        (make(title=5.5j if False else ["a"]), "phải là chuỗi"),
    ],
)
def test_invalid_records_say_what_is_wrong(data, reason):
    with pytest.raises(RecordError, match=reason):
        Document.from_dict(data)


def test_vietnamese_dates_are_accepted():
    assert Document.from_dict(make(issued="09/01/2026")).issued == "2026-01-09"


def test_split_articles_with_chapters():
    text = (
        "QUỐC HỘI\nLuật số: 1/2025/QH15\nChương I\nNHỮNG QUY ĐỊNH CHUNG\nĐiều 1. Phạm vi điều chỉnh\n"
        "Luật này quy định...\nĐiều 2. Đối tượng áp dụng\n1. Cơ quan.\n2. Tổ chức.\n"
        "Chương II. TỔ CHỨC\nĐiều 3. Hội đồng\nNội dung."
    )
    arts = split_articles(text)
    assert [(a.number, a.heading) for a in arts] == [
        ("1", "Phạm vi điều chỉnh"),
        ("2", "Đối tượng áp dụng"),
        ("3", "Hội đồng"),
    ]
    assert arts[0].chapter == "Chương I. NHỮNG QUY ĐỊNH CHUNG"
    assert arts[2].chapter == "Chương II. TỔ CHỨC"
    assert "Chương II" not in arts[1].text
    assert Article(number="2", text=arts[1].text).clauses() == [("1", "Cơ quan."), ("2", "Tổ chức.")]


def test_article_heading_does_not_swallow_the_next_line():
    arts = split_articles("Điều 1.\nPhạm vi điều chỉnh của nghị quyết này.\nĐiều 2. Hiệu lực\nNghị quyết có hiệu lực.")
    assert arts[0].heading is None and arts[0].text == "Phạm vi điều chỉnh của nghị quyết này."
    assert arts[1].heading == "Hiệu lực"


def test_to_dict_is_dataclasses_asdict():
    """to_dict() is a faster asdict(): the same data, and a copy (changing it leaves the document alone)."""
    from dataclasses import asdict

    doc = Document.from_dict(
        make(
            signers=[{"name": "Nguyễn Văn A", "title": "Chủ tịch"}],
            fields=["Thuế", "Đất đai"],
            articles=[{"number": "1", "heading": "Phạm vi", "text": "Nội dung."}, {"number": "2", "text": "Khác."}],
            relations=[{"type": "sua_doi", "target_number": "02/2020/NQ-HĐND", "note": "khoản 2 Điều 5"}],
            changed_by=[{"type": "bai_bo", "article": "2", "by_number": "03/2024/NQ-HĐND", "whole": False}],
            attachments=[{"name": "a.pdf", "url": "https://example.org/a.pdf", "kind": "original"}],
            provenance={"title": "vbpl"},
            extra={"also_at": [{"uid": "congbao:1", "url": None}], "n": 1.5, "nested": {"a": [1, {"b": True}]}},
        )
    )
    data = doc.to_dict()
    assert data == asdict(doc)
    assert list(data) == list(asdict(doc))  # same key order: to_json sorts, but exports keep it too
    data["extra"]["nested"]["a"].append(2)
    data["articles"][0]["text"] = "changed"
    assert doc.extra["nested"]["a"] == [1, {"b": True}] and doc.articles[0].text == "Nội dung."
    assert Document.from_dict(data).to_dict() == data
